import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteBroadcastStores } from '../../src/store/sqlite/broadcast.js';
import { SqliteConfigChanges } from '../../src/store/sqlite/config-changes.js';
import { sqliteCoreStores } from '../../src/store/sqlite/core-stores.js';
import { type Db, openDatabase } from '../../src/store/sqlite/database.js';
import { SqliteScheduleStore } from '../../src/store/sqlite/schedules.js';
import { type ConfigStores, configChangesContract } from './config-changes-contract.js';

/** The configuration versions contract against SQLite: a file per test; a "peer" is a second connection (the CLI). */
const storesOf = (db: Db): ConfigStores => {
  const core = sqliteCoreStores(db);
  const b = sqliteBroadcastStores(db);
  return {
    configChanges: new SqliteConfigChanges(db),
    devices: core.devices,
    groups: core.groups,
    apiKeys: core.apiKeys,
    users: core.users,
    templates: b.templates,
    rules: b.rules,
    locations: b.locations,
    schedules: new SqliteScheduleStore(db),
  };
};

configChangesContract({
  name: 'SQLite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'sb-config-contract-'));
    const dbs = [openDatabase({ dataDir: dir })];
    return {
      ...storesOf(dbs[0]!),
      async peer() {
        const other = openDatabase({ dataDir: dir });
        dbs.push(other);
        return storesOf(other);
      },
      async close() {
        for (const d of dbs) d.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
