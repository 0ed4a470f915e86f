import { expect, it } from 'vitest';
import { PostgresContentStore } from '../../src/store/postgres/avaya-content.js';
import { PostgresDatabase } from '../../src/store/postgres/database.js';
import { PostgresSmdrStore } from '../../src/store/postgres/smdr.js';
import { describePostgres, freshPostgresDatabase, postgresStoreSets } from '../helpers/postgres.js';
import { driverStoresContract } from './driver-stores-contract.js';

/**
 * The driver store contracts against PostgreSQL (a throw-away cluster, a fresh database per test; a "peer"
 * is a second pool), plus losing and regaining the server.
 */

const storesOf = (db: PostgresDatabase) => ({
  content: new PostgresContentStore(db),
  smdr: new PostgresSmdrStore(db),
});

describePostgres('PostgreSQL driver stores', ({ cluster }) => {
  driverStoresContract({
    name: 'PostgreSQL',
    create: () => postgresStoreSets(cluster(), storesOf),
  });

  it('a burst of puts with one value PostgreSQL refuses (a NUL): only that put fails, the others are stored', async () => {
    const db = new PostgresDatabase({ url: await freshPostgresDatabase(cluster()) });
    const s = storesOf(db);
    const now = Date.now();
    const item = (body: string) => ({
      kind: 'display' as const,
      contentType: 'text/xml',
      body,
      createdAt: now,
      expiresAt: now + 60_000,
    });
    const r = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => s.content.put(item(i === 7 ? 'a\u0000b' : `<x>${i}</x>`))),
    );
    expect(r.filter((x) => x.status === 'rejected')).toHaveLength(1);
    expect((r[7] as PromiseRejectedResult).reason).toMatchObject({
      code: 'STORE_VALUE_INVALID',
      status: 400,
    });
    for (const [i, x] of r.entries())
      if (i !== 7 && x.status === 'fulfilled')
        expect((await s.content.get(x.value.id))?.body).toBe(`<x>${i}</x>`);
    expect(await s.content.count()).toBe(19);
    await db.close();
  });

  it('two hubs fetching the same items at once, in opposite orders: every fetch counted, no deadlock', async () => {
    const url = await freshPostgresDatabase(cluster());
    const dbs = [new PostgresDatabase({ url }), new PostgresDatabase({ url })];
    const [a, b] = dbs.map((d) => storesOf(d)) as [ReturnType<typeof storesOf>, ReturnType<typeof storesOf>];
    const now = Date.now();
    const items = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        a.content.put({
          kind: 'display',
          contentType: 'text/xml',
          body: `<x>${i}</x>`,
          createdAt: now,
          expiresAt: now + 60_000,
        }),
      ),
    );
    const deadlocks = async () =>
      Number(
        (
          await dbs[0]!.query<{ n: string }>(
            'SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()',
          )
        )[0]!.n,
      );
    const before = await deadlocks();
    for (let round = 0; round < 10; round++)
      await Promise.all([
        ...items.map((it) => a.content.fetch(it.id, now + 1)),
        ...[...items].reverse().map((it) => b.content.fetch(it.id, now + 1)),
      ]);
    for (const it of items) expect((await a.content.get(it.id))?.fetches).toBe(20);
    // pg_stat_database is updated when a backend reports: give the statistics a moment.
    await new Promise((r) => setTimeout(r, 1200));
    expect(await deadlocks()).toBe(before);
    for (const d of dbs) await d.close();
  }, 60_000);

  it('server stopped: content and SMDR fail fast with STORE_UNAVAILABLE; started again: they recover', async () => {
    const db = new PostgresDatabase({ url: await freshPostgresDatabase(cluster()), connectTimeoutMs: 2000 });
    const s = storesOf(db);
    const now = Date.now();
    const item = {
      kind: 'display' as const,
      contentType: 'text/xml',
      body: '<x/>',
      createdAt: now,
      expiresAt: now + 60_000,
    };
    const kept = await s.content.put(item);
    cluster().stopServer();
    try {
      const calls: Array<() => Promise<unknown>> = [
        () => s.content.put(item),
        () => s.content.fetch(kept.id, now),
        () => s.content.sweep(now),
        () => s.smdr.list({ deviceId: 'ipo-1', limit: 5 }),
        () => s.smdr.setDevlinkCallKey('x', '1:1'),
      ];
      for (const call of calls)
        await expect(call()).rejects.toMatchObject({
          code: 'STORE_UNAVAILABLE',
          status: 503,
          retryable: true,
        });
    } finally {
      cluster().startServer();
    }
    expect((await s.content.fetch(kept.id, now))?.fetches).toBe(1);
    expect(await s.content.count()).toBe(1);
    await db.close();
  }, 120_000);
});
