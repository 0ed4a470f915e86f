import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteContentStore } from '../../src/store/sqlite/avaya-content.js';
import { type Db, openDatabase } from '../../src/store/sqlite/database.js';
import { SqliteSmdrStore } from '../../src/store/sqlite/smdr.js';
import { type DriverStores, driverStoresContract } from './driver-stores-contract.js';

/** The driver store contracts against SQLite: a database file per test; a "peer" is a second connection. */
const storesOf = (db: Db): DriverStores => ({
  content: new SqliteContentStore(db),
  smdr: new SqliteSmdrStore(db),
});

driverStoresContract({
  name: 'SQLite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'sb-driver-contract-'));
    const db = openDatabase({ dataDir: dir });
    const dbs = [db];
    const sets = [storesOf(db)];
    return {
      ...sets[0]!,
      async peer() {
        const other = openDatabase({ dataDir: dir });
        dbs.push(other);
        const set = storesOf(other);
        sets.push(set);
        return set;
      },
      async close() {
        // Write-behind content is written before its connection closes (as the Avaya service does).
        for (const set of sets) set.content.flush?.();
        for (const d of dbs) d.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
