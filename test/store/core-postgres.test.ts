import { expect, it } from 'vitest';
import { type PostgresCoreStores, postgresCoreStores } from '../../src/store/postgres/core-stores.js';
import { PostgresDatabase } from '../../src/store/postgres/database.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations/index.js';
import { describePostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';
import { type CoreStoresUnderTest, coreStoreContract } from './core-contract.js';

/**
 * The core store contract against PostgreSQL (a throw-away cluster from Debian's binaries, one per file,
 * a fresh database per test; a "peer" is a second pool, as a second hub has), plus what only a server
 * backend has: losing and regaining the server.
 */
function storesOf(db: PostgresDatabase): CoreStoresUnderTest {
  const s = postgresCoreStores(db);
  return s;
}

describePostgres('PostgreSQL core stores', ({ cluster, db: freshDatabase }) => {
  coreStoreContract({
    name: 'PostgreSQL',
    async create() {
      const url = await freshDatabase();
      const dbs: PostgresDatabase[] = [];
      const open = async () => {
        const db = new PostgresDatabase({ url, poolSize: 4 });
        dbs.push(db);
        await db.open();
        return db;
      };
      const db = await open();
      return {
        stores: storesOf(db),
        peer: async () => storesOf(await open()),
        async exec(sql) {
          await db.query(sql);
        },
        async close() {
          for (const d of dbs) await d.close();
        },
      };
    },
  });

  it('server stopped: STORE_UNAVAILABLE (503, retryable, no password) at once; started again: it recovers', async () => {
    const url = (await freshDatabase()).replace('postgres@', 'postgres:s3cret-pw@');
    const db = new PostgresDatabase({ url, connectTimeoutMs: 2000 });
    const s = postgresCoreStores(db);
    await s.devices.insert({
      id: 'x1',
      kind: 'cisco',
      name: 'x1',
      address: '10.0.0.1',
      labels: [],
      groups: [],
      location: {},
      settings: {},
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(await s.ready()).toBe(true);
    cluster().stopServer();
    try {
      const calls: Array<() => Promise<unknown>> = [
        () => s.devices.get('x1'),
        () => s.events.append([{ seq: 1, id: 'e1', time: 't', source: 's', type: 't', data: {} }]),
        () => s.audit.list({ limit: 1 }),
        () => s.kv.set('ns', 'k', 1),
        () => s.apiKeys.revoke('k', 't'),
        () => s.users.list(),
        () => s.groups.list(),
      ];
      for (const call of calls) {
        const e = (await call().catch((x: unknown) => x)) as Error & { code?: string };
        expect(e).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503, retryable: true });
        expect(e.message).not.toContain('s3cret-pw');
      }
      expect(await s.ready()).toBe(false);
    } finally {
      cluster().startServer();
    }
    // The next statement reconnects by itself.
    expect((await s.devices.get('x1'))?.id).toBe('x1');
    expect(await s.ready()).toBe(true);
    await s.close();
    await expect(s.devices.get('x1')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  }, 120_000);

  it('one global sequence: a seq is never handed out twice, even after pruning every event; NOTIFY wakes the other hubs', async () => {
    const url = await freshDatabase();
    const dbs = [new PostgresDatabase({ url }), new PostgresDatabase({ url })];
    const [a, b] = dbs.map((d) => postgresCoreStores(d)) as [PostgresCoreStores, PostgresCoreStores];
    expect(a.events.numbering).toBe('store');
    const woken: number[] = [];
    let reconnects = 0;
    const stop = a.events.watch({ stored: (seq) => woken.push(seq), reconnected: () => reconnects++ });
    await waitFor(() => reconnects > 0 || dbs[0]!.listening(), 10_000, 'the LISTEN connection');
    const d = (x: string) => ({
      id: `evt_${x}`,
      time: '2026-01-01T00:00:00.000Z',
      source: 's',
      type: 't',
      data: {},
    });
    expect(await a.events.insert([d('1'), d('2')])).toEqual([1, 2]);
    expect(await b.events.insert([d('3')])).toEqual([3]);
    // Only the other hub's insert wakes A (its own it knows of); the payload names the highest seq.
    await waitFor(() => woken.length > 0, 10_000, 'the wake-up');
    expect(woken).toEqual([3]);
    // A retried batch (idempotent) stores nothing and wakes nobody.
    expect(await b.events.insert([d('3')])).toEqual([3]);
    expect(await a.events.prune({ before: '2999-01-01T00:00:00.000Z', keep: 0 })).toBe(3);
    expect(await a.events.lastSeq()).toBe(3);
    expect(await b.events.insert([d('4')])).toEqual([4]);
    await waitFor(() => woken.length > 1, 10_000, 'the second wake-up');
    expect(woken).toEqual([3, 4]);
    stop();
    for (const x of dbs) await x.close();
  });

  it('events_insert finds stored ids by index as the table grows: no plan from when it was small scans it whole', async () => {
    const url = await freshDatabase();
    const db = new PostgresDatabase({ url });
    await db.open();
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const call = (ids: string[]) =>
      c.query<{ event_id: string; event_seq: string }>(
        'SELECT event_id, event_seq FROM events_insert($1, $2, $3, $4, $5, $6)',
        [
          ids,
          ids.map(() => '2026-01-01T00:00:00.000Z'),
          ids.map(() => 's'),
          ids.map(() => 't'),
          ids.map(() => '{}'),
          'o',
        ],
      );
    try {
      // A hub's first batches, on a small table: PL/pgSQL would settle on a plan for this size.
      for (let b = 0; b < 10; b++) await call(Array.from({ length: 5 }, (_, i) => `evt_${b * 5 + i + 1}`));
      // The table grows (a busy hour), with no ANALYZE in between.
      await c.query(
        `INSERT INTO events (seq, id, time, source, type, data)
         SELECT 50 + g, 'evt_' || (50 + g), '2026-01-01T00:00:00.000Z', 's', 't', '{}' FROM generate_series(1, 20000) g`,
      );
      await c.query('BEGIN');
      // A retried batch: two ids stored already, three new.
      const r = await call(['evt_7', 'evt_20050', 'evt_new1', 'evt_new2', 'evt_new3']);
      expect(Object.fromEntries(r.rows.map((x) => [x.event_id, Number(x.event_seq)]))).toEqual({
        evt_7: 7,
        evt_20050: 20050,
        evt_new1: 20051,
        evt_new2: 20052,
        evt_new3: 20053,
      });
      const scans = await c.query<{ seq_scan: string; idx_scan: string }>(
        "SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'events'",
      );
      // Version 1 of the function kept hashing the whole table (sequential scans) for every batch.
      expect(Number(scans.rows[0]!.seq_scan)).toBe(0);
      expect(Number(scans.rows[0]!.idx_scan)).toBeGreaterThan(0);
      await c.query('COMMIT');
    } finally {
      await c.end();
      await db.close();
    }
  });

  it('a NUL character in a text column is refused with STORE_VALUE_INVALID (400); nothing is stored', async () => {
    const db = new PostgresDatabase({ url: await freshDatabase() });
    const s = postgresCoreStores(db);
    await expect(s.groups.upsert({ id: 'g', name: 'a\u0000b' })).rejects.toMatchObject({
      code: 'STORE_VALUE_INVALID',
      status: 400,
    });
    expect(await s.groups.list()).toEqual([]);
    await db.close();
  });

  it('the schema has the SQLite names: every core table and column, with PostgreSQL types', async () => {
    const db = new PostgresDatabase({ url: await freshDatabase() });
    await db.open();
    const cols = await db.query<{ table_name: string; column_name: string; data_type: string }>(
      `SELECT table_name, column_name, data_type FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name IN ('events', 'audit_log', 'api_keys')
         ORDER BY table_name, ordinal_position`,
    );
    const of = (t: string) =>
      cols.filter((c) => c.table_name === t).map((c) => `${c.column_name}:${c.data_type}`);
    expect(of('events')).toEqual([
      'seq:bigint',
      'id:text',
      'time:text',
      'source:text',
      'type:text',
      'data:text',
    ]);
    expect(of('audit_log')[0]).toBe('seq:bigint');
    expect(of('api_keys')).toContain('idle_seconds:integer');
    const mods = await db.query<{ module: string; v: number }>(
      'SELECT module, MAX(version) AS v FROM schema_migrations GROUP BY module ORDER BY module',
    );
    // The core modules at their SQLite versions (the other modules' tables come with them, one database).
    expect(mods).toEqual(
      expect.arrayContaining([
        { module: 'audit', v: 1 },
        { module: 'core', v: 2 },
        { module: 'pubsub', v: 2 },
        { module: 'security', v: 2 },
      ]),
    );
    expect(mods.map((m) => m.module)).toEqual(Object.keys(POSTGRES_MIGRATIONS).sort());
    await db.close();
  });
});
