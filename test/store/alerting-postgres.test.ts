import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { postgresBroadcastStores } from '../../src/store/postgres/broadcast.js';
import { PostgresDatabase } from '../../src/store/postgres/database.js';
import { PostgresLeaseStore } from '../../src/store/postgres/leases.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations/index.js';
import { PostgresScheduleStore } from '../../src/store/postgres/schedules.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations/index.js';
import { describePostgres, freshPostgresDatabase, postgresStoreSets } from '../helpers/postgres.js';
import { alertingStoreContract, broadcastOf, deliveryOf, incidentOf } from './alerting-contract.js';

/**
 * The alerting store contract against PostgreSQL (a throw-away cluster from Debian's binaries, a fresh
 * database per test; a "peer" is a second pool), plus what only a server backend has: the schema is the
 * SQLite one (a table copier can move a site), and losing and regaining the server.
 */

function storesOf(db: PostgresDatabase) {
  return {
    ...postgresBroadcastStores(db),
    schedules: new PostgresScheduleStore(db),
    leases: new PostgresLeaseStore(db),
  };
}

/** The modules whose PostgreSQL tables must match SQLite's column for column. */
const MODULES = ['broadcast', 'schedules', 'avaya', 'ipoffice'] as const;

describePostgres('PostgreSQL alerting stores', ({ cluster }) => {
  alertingStoreContract({
    name: 'PostgreSQL',
    create: () => postgresStoreSets(cluster(), storesOf),
  });

  it('has the tables and columns of the SQLite schema, module by module, at the same versions', async () => {
    const db = new PostgresDatabase({ url: await freshPostgresDatabase(cluster()) });
    const dir = mkdtempSync(join(tmpdir(), 'sb-alerting-schema-'));
    const lite = openDatabase({ dataDir: dir });
    try {
      await db.open();
      for (const m of MODULES) {
        const v = (list: { version: number }[]) => list.map((x) => x.version);
        expect(v(POSTGRES_MIGRATIONS[m]!), m).toEqual(v(MIGRATIONS[m]!));
      }
      const pgCols = await db.query<{ table_name: string; column_name: string }>(
        `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'`,
      );
      const liteTables = (
        lite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
      ).map((t) => t.name);
      const tables = [
        'broadcasts',
        'broadcast_deliveries',
        'broadcast_targets',
        'broadcast_templates',
        'rules',
        'webhook_deliveries',
        'locations',
        'incidents',
        'broadcast_schedules',
        'avaya_content',
        'smdr_records',
      ];
      for (const t of tables) {
        expect(liteTables, t).toContain(t);
        const liteCols = (lite.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map(
          (c) => c.name,
        );
        // `seq` stands in for SQLite's implicit rowid (insertion order).
        const cols = pgCols
          .filter((c) => c.table_name === t && c.column_name !== 'seq')
          .map((c) => c.column_name);
        expect(cols.sort(), t).toEqual(liteCols.sort());
      }
    } finally {
      lite.close();
      rmSync(dir, { recursive: true, force: true });
      await db.close();
    }
  });

  it('broadcast migration 4 fills source_device of existing incidents (NUL-safe) and leaves them unclaimed', async () => {
    const url = await freshPostgresDatabase(cluster());
    const before = {
      ...POSTGRES_MIGRATIONS,
      broadcast: POSTGRES_MIGRATIONS.broadcast!.filter((m) => m.version < 4),
    };
    const old = new PostgresDatabase({ url, migrations: before });
    const i = incidentOf('inc-old', '2026-01-05T09:00:00.000Z', {
      callKey: '1:5',
      pbx: 'ipo-9',
      caller: { ...incidentOf('x', '').caller, name: 'nul\u0000name' },
    });
    await old.query('INSERT INTO incidents (id, created_at, call_key, body) VALUES ($1, $2, $3, $4)', [
      i.id,
      i.createdAt,
      i.callKey,
      JSON.stringify(i),
    ]);
    await old.close();
    const db = new PostgresDatabase({ url });
    await db.open();
    expect(await db.query('SELECT source_device, call_live FROM incidents')).toEqual([
      { source_device: 'ipo-9', call_live: 0 },
    ]);
    const claim = await storesOf(db).incidents.claimCall(
      incidentOf('inc-new', '2026-01-05T09:00:01.000Z', { callKey: '1:5', pbx: 'ipo-9' }),
      { staleBefore: '2026-01-05T08:00:00.000Z' },
    );
    expect(claim.created).toBe(true);
    expect((await storesOf(db).incidents.get('inc-old'))?.caller.name).toBe('nul\u0000name');
    await db.close();
  });

  it('server stopped: every store fails fast with STORE_UNAVAILABLE (503); started again: it recovers by itself', async () => {
    const url = await freshPostgresDatabase(cluster());
    const db = new PostgresDatabase({ url, connectTimeoutMs: 2000, poolSize: 2 });
    const s = storesOf(db);
    await s.broadcasts.insertBroadcast(broadcastOf('bc-1', '2026-01-05T09:00:00.000Z'));
    cluster().stopServer();
    try {
      const calls: Array<() => Promise<unknown>> = [
        () => s.broadcasts.getBroadcast('bc-1'),
        () =>
          s.broadcasts.insertBroadcast(broadcastOf('bc-2', '2026-01-05T09:00:01.000Z'), [
            { deviceId: 'p', kind: 'cisco' },
          ]),
        () => s.broadcasts.saveDeliveries([deliveryOf('bc-1', 1)]),
        () => s.broadcasts.pageBroadcasts({ limit: 5, sort: 'createdAt', order: 'desc' }, {}),
        () => s.templates.list(),
        () => s.schedules.remove('x'),
        () => s.rules.get('x'),
        () => s.locations.upsertMany([]),
        () =>
          s.incidents.claimCall(incidentOf('inc-1', '2026-01-05T09:00:00.000Z', { callKey: '1:1' }), {
            staleBefore: '2026-01-05T08:00:00.000Z',
          }),
        () => s.incidents.list({ limit: 5 }),
        () => s.webhooks.prune(10),
      ];
      for (const call of calls) {
        const t0 = Date.now();
        await expect(call()).rejects.toMatchObject({
          code: 'STORE_UNAVAILABLE',
          status: 503,
          retryable: true,
        });
        expect(Date.now() - t0).toBeLessThan(5000);
      }
    } finally {
      cluster().startServer();
    }
    // Back without a restart of the store: the next statements reconnect.
    expect((await s.broadcasts.getBroadcast('bc-1'))?.id).toBe('bc-1');
    const claim = await s.incidents.claimCall(
      incidentOf('inc-1', '2026-01-05T09:00:00.000Z', { callKey: '1:1' }),
      {
        staleBefore: '2026-01-05T08:00:00.000Z',
      },
    );
    expect(claim.created).toBe(true);
    // Nothing of the failed writes reached the database.
    expect(await s.broadcasts.getBroadcast('bc-2')).toBeUndefined();
    expect(await s.broadcasts.listDeliveries('bc-1')).toEqual([]);
    await db.close();
    await expect(s.templates.list()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  }, 120_000);
});
