import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Db, openDatabase } from '../../src/store/sqlite/database.js';
import { SqliteLeaseStore } from '../../src/store/sqlite/leases.js';
import { leaseContract } from './leases-contract.js';

/** The lease contract against SQLite: a database file per test; a "peer" is a second connection. */
leaseContract({
  name: 'SQLite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'sb-lease-contract-'));
    const dbs: Db[] = [openDatabase({ dataDir: dir })];
    return {
      leases: new SqliteLeaseStore(dbs[0]!),
      async peer() {
        const other = openDatabase({ dataDir: dir });
        dbs.push(other);
        return { leases: new SqliteLeaseStore(other) };
      },
      async close() {
        for (const d of dbs) d.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
