import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { Accounts } from '../../src/pubsub/accounts.js';
import type { QueueWatcher } from '../../src/pubsub/store.js';
import { PostgresDatabase } from '../../src/store/postgres/database.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations/index.js';
import { PostgresPubSubStore } from '../../src/store/postgres/pubsub.js';
import {
  freshPostgresDatabase,
  type PostgresCluster,
  postgresAvailability,
  startPostgres,
} from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';
import { pubsubStoreContract } from './pubsub-contract.js';

/**
 * The PubSub store contract against PostgreSQL (a throw-away cluster from Debian's binaries, one per
 * file, a fresh database per test), plus what only a server backend has: migrations shared by hubs
 * starting at once, STORE_TOO_NEW, and losing and regaining the server.
 */
const pgAvail = postgresAvailability();
let cluster: PostgresCluster;
const freshDatabase = () => freshPostgresDatabase(cluster);

describe.skipIf(!pgAvail.bin)(
  `PostgreSQL PubSub store${pgAvail.skip ? ` (skipped: ${pgAvail.skip})` : ''}`,
  () => {
    beforeAll(async () => {
      cluster = await startPostgres();
    }, 180_000);
    afterAll(async () => {
      await cluster?.stop();
    });

    pubsubStoreContract({
      name: 'PostgreSQL',
      shared: true,
      async create() {
        const url = await freshDatabase();
        const stores: PostgresPubSubStore[] = [];
        const open = async () => {
          const s = new PostgresPubSubStore({ url, poolSize: 4 });
          stores.push(s);
          await s.open();
          return s;
        };
        const store = await open();
        return {
          store,
          peer: open,
          async rows(table) {
            const [r] = await store.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`);
            return r!.n;
          },
          async close() {
            for (const s of stores) await s.close();
          },
        };
      },
    });

    it('hubs starting at once migrate once; a database newer than the code is refused with STORE_TOO_NEW', async () => {
      const url = await freshDatabase();
      const dbs = Array.from({ length: 4 }, () => new PostgresDatabase({ url }));
      await Promise.all(dbs.map((d) => d.open()));
      const rows = await dbs[0]!.query<{ module: string; version: number }>(
        'SELECT module, version FROM schema_migrations ORDER BY module, version',
      );
      expect(rows.filter((r) => r.module === 'pubsub')).toEqual([
        { module: 'pubsub', version: 1 },
        { module: 'pubsub', version: 2 },
      ]);
      expect(new Set(rows.map((r) => r.module))).toEqual(new Set(Object.keys(POSTGRES_MIGRATIONS)));
      const newer = {
        ...POSTGRES_MIGRATIONS,
        pubsub: [
          ...POSTGRES_MIGRATIONS.pubsub!,
          { version: 3, name: 'three', sql: 'CREATE TABLE t3 (x int)' },
        ],
      };
      const next = new PostgresDatabase({ url, migrations: newer });
      await next.open();
      // This code knows pubsub versions 1 and 2 only.
      const old = new PostgresPubSubStore({ url });
      await expect(old.open()).rejects.toMatchObject({
        code: 'STORE_TOO_NEW',
        message: expect.stringContaining(
          'pubsub schema version 3 but this version of Switchboard knows up to 2',
        ),
      });
      await expect(old.getAccount('x')).rejects.toMatchObject({ code: 'STORE_TOO_NEW' });
      // A failing migration is rolled back whole.
      const broken = new PostgresDatabase({
        url,
        migrations: {
          ...newer,
          bad: [{ version: 1, name: 'bad', sql: 'CREATE TABLE ok1 (x int); SELECT nope' }],
        },
      });
      await expect(broken.open()).rejects.toThrow(/nope/);
      expect(await next.query("SELECT 1 FROM pg_tables WHERE tablename = 'ok1'")).toEqual([]);
      for (const d of [...dbs, next, broken]) await d.close();
      await old.close();
    });

    it('a publish that waits past the statement timeout (a lock held elsewhere) fails with STORE_BUSY (503, retryable), and the next one works', async () => {
      const url = await freshDatabase();
      const store = new PostgresPubSubStore({ url, poolSize: 2, statementTimeoutMs: 300 });
      await store.open();
      const sid = (await new Accounts(store).create('busy')).accountSid;
      const m = (id: string) => ({
        id,
        accountSid: sid,
        queue: 'q',
        message: {
          Url: `/${sid}/q`,
          Hostname: 'hub',
          AccountSid: sid,
          FormParams: { k: id },
          Created: new Date().toISOString(),
          Id: id,
        },
        bytes: 10,
        createdAt: Date.now(),
        expiresAt: Date.now() + 60_000,
      });
      const opts = () => ({ now: Date.now(), maxQueueLength: 100, maxQueuesPerAccount: 10 });
      await store.insert(m('m1'), opts());
      // Another connection holds the queue's count row (as a long transaction of another hub would).
      const other = new PostgresDatabase({ url, poolSize: 1 });
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => {
        locked = r;
      });
      const tx = other.tx(async (q) => {
        await q('SELECT depth FROM pubsub_queues WHERE account_sid = $1 AND queue = $2 FOR UPDATE', [
          sid,
          'q',
        ]);
        locked();
        await held;
      });
      await isLocked;
      await expect(store.insert(m('m2'), opts())).rejects.toMatchObject({
        code: 'STORE_BUSY',
        status: 503,
        retryable: true,
        details: { retryAfterSeconds: 1 },
      });
      release();
      await tx;
      // The connection is fine: the store stays reachable and the publish goes through when retried.
      expect(store.db.reachable).toBe(true);
      expect(await store.insert(m('m2'), opts())).toEqual({ stored: true });
      await other.close();
      await store.close();
    });

    it('two hubs cache accounts and sessions; a rotation, a deletion or a change in psql reaches the other hub at once', async () => {
      const url = await freshDatabase();
      const a = new PostgresPubSubStore({ url, poolSize: 2 });
      const b = new PostgresPubSubStore({ url, poolSize: 2 });
      const psql = new PostgresDatabase({ url, poolSize: 1 });
      await Promise.all([a.open(), b.open(), psql.open()]);
      let reads = 0;
      const query = b.db.query;
      Object.defineProperty(b.db, 'query', {
        value: (sql: string, params?: unknown[]) => {
          if (/FROM pubsub_(accounts|sessions) WHERE/.test(sql)) reads++;
          return query(sql, params);
        },
      });
      const accA = new Accounts(a);
      const accB = new Accounts(b);
      const sid = (await accA.create('cached')).accountSid;
      const hash = 'f'.repeat(64);
      await a.createSession(
        { tokenHash: hash, accountSid: sid, createdAt: Date.now(), expiresAt: Date.now() + 60_000 },
        10,
        Date.now(),
      );
      // The first look-ups read and start listening; once the LISTEN is in, look-ups come from memory.
      await waitFor(async () => {
        const before = reads;
        await b.getAccount(sid);
        await b.getSession(hash);
        return reads === before;
      });
      expect(await b.getSession(hash)).toMatchObject({ accountSid: sid });

      // Rotation on hub A ends the session everywhere: hub B hears it and reads again.
      const rotated = await accA.rotate(sid);
      await waitFor(async () => (await b.getSession(hash)) === undefined);
      expect(await accB.verify(sid, rotated.authToken)).toBe(true);

      // A change made outside any hub (an operator in psql) is heard too.
      await b.getAccount(sid);
      await psql.query("UPDATE pubsub_accounts SET name = 'renamed' WHERE sid = $1", [sid]);
      await waitFor(async () => (await b.getAccount(sid))?.name === 'renamed');

      // Deletion on hub A: gone on hub B.
      await accA.remove(sid);
      await waitFor(async () => (await b.getAccount(sid)) === undefined);
      expect(await accB.exists(sid)).toBe(false);
      await psql.close();
      await a.close();
      await b.close();
    });

    it('refuses a URL that is not postgres:// and bad timeouts, naming the field', () => {
      expect(() => new PostgresDatabase({ url: 'mysql://x' })).toThrow(/postgres:\/\//);
      expect(() => new PostgresDatabase({ url: 'postgres://x/y', connectTimeoutMs: 0 })).toThrow(
        expect.objectContaining({ code: 'STORE_BAD_OPTION', field: 'connectTimeoutMs' }),
      );
    });

    it('server stopped: clear STORE_UNAVAILABLE (503) at once; started again: it recovers by itself and re-checks waiters', async () => {
      const url = await freshDatabase();
      const store = new PostgresPubSubStore({
        url,
        connectTimeoutMs: 2000,
        reconnectInitialMs: 50,
        reconnectMaxMs: 500,
      });
      const clock = new ManualClock();
      const sid = (await new Accounts(store, clock).create()).accountSid;
      let resyncs = 0;
      const w: QueueWatcher = { ready: () => {}, resync: () => resyncs++ };
      const unwatch = store.watch(w);
      await waitFor(() => store.db.listening(), 10_000, 'LISTEN up');
      const before = resyncs;
      cluster.stopServer();
      try {
        await expect(store.getAccount(sid)).rejects.toMatchObject({
          code: 'STORE_UNAVAILABLE',
          status: 503,
          retryable: true,
        });
        const e = await store.getAccount(sid).catch((x: unknown) => x as Error);
        expect(String((e as Error).message)).not.toContain('password');
        await waitFor(() => !store.db.listening(), 10_000, 'LISTEN lost');
      } finally {
        cluster.startServer();
      }
      // Back without any call from us: statements work again and the watcher was told to re-check.
      await waitFor(() => store.db.listening(), 30_000, 'LISTEN back');
      expect(resyncs).toBeGreaterThan(before);
      expect((await store.getAccount(sid))?.sid).toBe(sid);
      unwatch();
      await store.close();
      await expect(store.getAccount(sid)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    }, 120_000);
  },
);
