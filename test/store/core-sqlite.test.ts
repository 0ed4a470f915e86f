import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteCoreStores } from '../../src/store/sqlite/core-stores.js';
import { type Db, openDatabase } from '../../src/store/sqlite/database.js';
import { type CoreStoresUnderTest, coreStoreContract } from './core-contract.js';

/** The core store contract against SQLite: a database file per test; a "peer" is a second connection. */
function storesOf(db: Db): CoreStoresUnderTest {
  const s = sqliteCoreStores(db);
  return s;
}

coreStoreContract({
  name: 'SQLite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'sb-core-contract-'));
    const db = openDatabase({ dataDir: dir });
    const dbs = [db];
    return {
      stores: storesOf(db),
      async peer() {
        const other = openDatabase({ dataDir: dir });
        dbs.push(other);
        return storesOf(other);
      },
      async exec(sql) {
        db.exec(sql);
      },
      async close() {
        for (const d of dbs) d.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
