import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { SqlitePubSubStore } from '../../src/store/sqlite/pubsub.js';
import { pubsubStoreContract } from './pubsub-contract.js';

/** The PubSub store contract against SQLite: a database file per test; a "peer" is a second connection. */
pubsubStoreContract({
  name: 'SQLite',
  shared: false,
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'sb-pubsub-contract-'));
    const db = openDatabase({ dataDir: dir });
    const dbs = [db];
    return {
      store: new SqlitePubSubStore(db),
      async peer() {
        const other = openDatabase({ dataDir: dir });
        dbs.push(other);
        return new SqlitePubSubStore(other);
      },
      async rows(table) {
        return (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      },
      async close() {
        for (const d of dbs) d.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
