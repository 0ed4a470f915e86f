import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sqliteBroadcastStores } from '../../src/store/sqlite/broadcast.js';
import { type Db, openDatabase } from '../../src/store/sqlite/database.js';
import { SqliteLeaseStore } from '../../src/store/sqlite/leases.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations/index.js';
import { SqliteScheduleStore } from '../../src/store/sqlite/schedules.js';
import { type AlertingStores, alertingStoreContract, incidentOf } from './alerting-contract.js';

/** The alerting store contract against SQLite: a database file per test; a "peer" is a second connection. */
function storesOf(db: Db): AlertingStores {
  return {
    ...sqliteBroadcastStores(db),
    schedules: new SqliteScheduleStore(db),
    leases: new SqliteLeaseStore(db),
  };
}

alertingStoreContract({
  name: 'SQLite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'sb-alerting-contract-'));
    const db = openDatabase({ dataDir: dir });
    const dbs = [db];
    return {
      ...storesOf(db),
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

describe('SQLite broadcast migration 4 (incident exactly-once)', () => {
  it('fills source_device of existing incidents and leaves them unclaimed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-alerting-mig-'));
    try {
      const before = { ...MIGRATIONS, broadcast: MIGRATIONS.broadcast!.filter((m) => m.version < 4) };
      const old = openDatabase({ dataDir: dir, migrations: before });
      const i = incidentOf('inc-old', '2026-01-05T09:00:00.000Z', { callKey: '1:5', pbx: 'ipo-9' });
      old
        .prepare('INSERT INTO incidents (id, created_at, call_key, body) VALUES (?, ?, ?, ?)')
        .run(i.id, i.createdAt, i.callKey, JSON.stringify(i));
      old.close();
      const db = openDatabase({ dataDir: dir, keepBackups: 0 });
      expect(db.prepare('SELECT source_device, call_live FROM incidents').all()).toEqual([
        { source_device: 'ipo-9', call_live: 0 },
      ]);
      // The old incident does not hold the call: a claim of its key creates one.
      const stores = storesOf(db);
      const claim = await stores.incidents.claimCall(
        incidentOf('inc-new', '2026-01-05T09:00:01.000Z', { callKey: '1:5', pbx: 'ipo-9' }),
        { staleBefore: '2026-01-05T08:00:00.000Z' },
      );
      expect(claim.created).toBe(true);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
