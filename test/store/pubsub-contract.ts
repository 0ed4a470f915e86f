import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { Accounts, Sessions } from '../../src/pubsub/accounts.js';
import { newMessageId, type PubSubMessage } from '../../src/pubsub/protocol.js';
import { PubSubService, type PubSubServiceOptions } from '../../src/pubsub/service.js';
import type { InsertOptions, PubSubStore, StoredMessage } from '../../src/pubsub/store.js';
import { waitFor } from '../helpers/wait.js';

/**
 * THE contract of the PubSub store port (src/pubsub/store.ts), run against every backend by one runner
 * each (pubsub-sqlite.test.ts, pubsub-postgres.test.ts). A backend passes when it behaves the same:
 * FIFO, competing consumers, leases, pending leases after a crash, dedup, limits atomic under
 * concurrency, retention, account deletion. "Two hubs" are two store instances over the same data
 * (`peer()`): two SQLite connections to one file, or two PostgreSQL pools.
 */
export interface PubSubBackendInstance {
  store: PubSubStore;
  /** A second, independent store instance over the same data (what a second hub or process has). */
  peer(): Promise<PubSubStore>;
  /** Rows in a table; every backend has the same table names. */
  rows(table: string): Promise<number>;
  close(): Promise<void>;
}

export interface PubSubBackend {
  name: string;
  /** A fresh, empty, migrated store. */
  create(): Promise<PubSubBackendInstance>;
  /** The backend wakes waiting polls of other processes (store.watch): the cross-hub tests apply. */
  shared: boolean;
}

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

function serviceOptions(s: PubSubStore, hostname: string): PubSubServiceOptions {
  return {
    store: s,
    hostname,
    retentionMs: 7 * DAY,
    leaseMs: 30_000,
    dedupWindowMs: 600_000,
    idempotencyWindowMs: DAY,
    maxMessageBytes: 65_536,
    maxQueueLength: 10_000,
    maxQueuesPerAccount: 1000,
    maxPollsPerSession: 10,
    maxTimeoutMs: 300_000,
    leaseCheckMs: 200,
  };
}
const DAY = 86_400_000;
const LIMITS = { maxQueueLength: 10_000, maxQueuesPerAccount: 1000 };

let n = 0;
function msg(accountSid: string, queue: string, params: Record<string, string>, at = T0): StoredMessage {
  const id = newMessageId();
  const message: PubSubMessage = {
    Hostname: 'relay-1',
    AccountSid: accountSid,
    Url: `/${accountSid}/${queue}`,
    FormParams: params,
    Created: new Date(at).toISOString(),
    Id: id,
  };
  return {
    id,
    accountSid,
    queue,
    message,
    bytes: Buffer.byteLength(JSON.stringify(message)),
    createdAt: at,
    expiresAt: at + 7 * DAY,
  };
}

export function pubsubStoreContract(backend: PubSubBackend): void {
  describe(`PubSub store contract: ${backend.name}`, () => {
    let inst: PubSubBackendInstance;
    let store: PubSubStore;
    let clock: ManualClock;
    let sid: string;
    const extra: PubSubStore[] = [];
    const services: PubSubService[] = [];

    beforeEach(async () => {
      inst = await backend.create();
      store = inst.store;
      clock = new ManualClock(T0);
      sid = (await new Accounts(store, clock).create('contract')).accountSid;
    });
    afterEach(async () => {
      for (const s of services.splice(0)) s.stop();
      for (const s of extra.splice(0)) await s.close?.();
      await inst.close();
    });

    const peer = async () => {
      const p = await inst.peer();
      extra.push(p);
      return p;
    };
    const put = (s: PubSubStore, m: StoredMessage, o: Partial<InsertOptions> = {}) =>
      s.insert(m, { now: T0, ...LIMITS, ...o });
    const ids = (list: StoredMessage[]) => list.map((m) => m.message.FormParams.I);

    it('keeps only a scrypt hash of the AuthToken, verifies it, and rotation replaces it', async () => {
      const acc = new Accounts(store, clock);
      const a = await acc.create('crm');
      const rec = await store.getAccount(a.accountSid);
      expect(JSON.stringify(rec)).not.toContain(a.authToken);
      expect(rec!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
      expect(await acc.verify(a.accountSid, a.authToken)).toBe(true);
      expect(await acc.verify(a.accountSid, a.authToken)).toBe(true); // cached path
      expect(await acc.verify(a.accountSid, `${a.authToken}x`)).toBe(false);
      expect(await acc.verify('AC00000000000000000000000000000000', a.authToken)).toBe(false);
      const r = await acc.rotate(a.accountSid);
      expect(await acc.verify(a.accountSid, a.authToken)).toBe(false);
      expect(await acc.verify(a.accountSid, r.authToken)).toBe(true);
      // Another hub (no cache) agrees.
      expect(await new Accounts(await peer(), clock).verify(a.accountSid, r.authToken)).toBe(true);
      expect((await store.listAccounts()).map((x) => x.sid)).toContain(a.accountSid);
    });

    it('rotation ends sessions; deletion removes sessions, messages, dedup keys and queue counts', async () => {
      const acc = new Accounts(store, clock);
      const sessions = new Sessions(store, {
        clock,
        defaultTtlMs: 3_600_000,
        maxTtlMs: 86_400_000,
        maxPerAccount: 2,
      });
      const a = await acc.create();
      const s1 = await sessions.create(a.accountSid);
      expect((await sessions.resolve(s1.token)).accountSid).toBe(a.accountSid);
      await sessions.create(a.accountSid);
      await expect(sessions.create(a.accountSid)).rejects.toMatchObject({ code: 'PUBSUB_TOO_MANY_SESSIONS' });
      await acc.rotate(a.accountSid);
      await expect(sessions.resolve(s1.token)).rejects.toMatchObject({ code: 'PUBSUB_SESSION_INVALID' });

      for (const q of ['a', 'b', 'b'])
        await put(store, msg(a.accountSid, q, { q, n: String(++n) }), {
          dedup: { key: `body:${n}`, expiresAt: T0 + 1000 },
        });
      expect((await store.queueStats(a.accountSid)).map((q) => [q.queue, q.depth])).toEqual([
        ['a', 1],
        ['b', 2],
      ]);
      expect(await inst.rows('pubsub_queues')).toBe(2);
      await sessions.create(a.accountSid);
      await acc.remove(a.accountSid);
      for (const t of ['pubsub_sessions', 'pubsub_messages', 'pubsub_dedup', 'pubsub_queues'])
        expect(await inst.rows(t), t).toBe(0);
      await expect(acc.remove(a.accountSid)).rejects.toMatchObject({
        code: 'PUBSUB_UNKNOWN_ACCOUNT',
        status: 404,
      });
    });

    it('session ttl bounds and expiry', async () => {
      const sessions = new Sessions(store, {
        clock,
        defaultTtlMs: 60_000,
        maxTtlMs: 120_000,
        maxPerAccount: 10,
      });
      await expect(sessions.create(sid, 120_001)).rejects.toMatchObject({ code: 'PUBSUB_TTL_TOO_LONG' });
      const s = await sessions.create(sid);
      clock.advance(59_999);
      await expect(sessions.authorize(s.token, sid)).resolves.toMatchObject({ accountSid: sid });
      await expect(sessions.authorize(s.token, 'AC11111111111111111111111111111111')).rejects.toMatchObject({
        status: 403,
      });
      clock.advance(1);
      await expect(sessions.resolve(s.token)).rejects.toMatchObject({ code: 'PUBSUB_SESSION_EXPIRED' });
    });

    it('the session limit holds when two hubs create sessions at once', async () => {
      const other = await peer();
      const mk = (s: PubSubStore, i: number) =>
        s.createSession(
          { tokenHash: `h${i}`, accountSid: sid, createdAt: T0, expiresAt: T0 + 60_000 },
          3,
          T0,
        );
      const r = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => mk(i % 2 ? other : store, i)));
      expect(r.filter((x) => x.status === 'fulfilled')).toHaveLength(3);
      expect(await inst.rows('pubsub_sessions')).toBe(3);
    });

    it('round-trips a message exactly (unicode, a raw Body, numbers in FormParams)', async () => {
      const m = msg(sid, 'calls/in', { Body: 'Grüße 👋 <&> "x"\r\nzwei', From: '+18457026652' });
      m.message.Body = '<Response><Say>Hallo, wie geht’s?</Say></Response>';
      m.message.FormParams.N = 42;
      await put(store, m);
      const [got] = await store.claim(sid, 'calls/in', 's1', 10, T0, T0 + 30_000);
      expect(got).toEqual(m);
    });

    it('claims FIFO, at most `limit`, and never a leased message before its lease runs out', async () => {
      for (let i = 0; i < 25; i++) await put(store, msg(sid, 'q', { I: String(i) }));
      const a = await store.claim(sid, 'q', 's1', 10, T0, T0 + 30_000);
      const b = await store.claim(sid, 'q', 's2', 10, T0, T0 + 30_000);
      expect(ids(a)).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
      expect(ids(b)).toEqual(Array.from({ length: 10 }, (_, i) => String(i + 10)));
      expect(await store.depth(sid, 'q')).toBe(25);
      const stats = (await store.queueStats(sid))[0]!;
      expect(stats).toMatchObject({ queue: 'q', depth: 25, leased: 20, oldestCreatedAt: T0 });
      // The leases run out at T0+30 s: before, only the 5 never claimed; at it, the first 10 again.
      expect(ids(await store.claim(sid, 'q', 's3', 10, T0 + 29_999, T0 + 60_000))).toEqual([
        '20',
        '21',
        '22',
        '23',
        '24',
      ]);
      expect(await store.expiredLeaseQueues(T0 + 29_999, 10)).toEqual([]);
      expect(await store.expiredLeaseQueues(T0 + 30_000, 10)).toEqual([{ accountSid: sid, queue: 'q' }]);
      expect(ids(await store.claim(sid, 'q', 's4', 10, T0 + 30_000, T0 + 60_000))).toEqual(ids(a));
    });

    it('competing consumers on two hubs never get the same message', async () => {
      const other = await peer();
      for (let i = 0; i < 60; i++) await put(store, msg(sid, 'work', { I: String(i) }));
      const claims = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          (i % 2 ? other : store).claim(sid, 'work', `s${i}`, 5, T0, T0 + 30_000),
        ),
      );
      const all = claims.flat().map((m) => m.id);
      expect(new Set(all).size).toBe(all.length);
      expect(all.length).toBe(60);
      for (const c of claims) {
        const seq = ids(c).map(Number);
        expect([...seq].sort((x, y) => x - y)).toEqual(seq); // each batch in FIFO order
      }
    });

    it('a pending lease is never acknowledged; a delivered one is, by the next poll of its session', async () => {
      for (const i of ['a', 'b', 'c']) await put(store, msg(sid, 'q', { I: i }));
      const got = await store.claim(sid, 'q', 's1', 2, T0, T0 + 30_000);
      expect(ids(got)).toEqual(['a', 'b']);
      // The process died before the response completed: the next poll of s1 must not delete them.
      expect(await store.ackSession('s1', [])).toBe(0);
      expect(await store.depth(sid, 'q')).toBe(3);
      await store.markDelivered([got[0]!.id, got[1]!.id], 's1');
      // `except`: a delivery still in flight on a concurrent poll of the same session is kept.
      expect(await store.ackSession('s1', [got[1]!.id])).toBe(1);
      expect(await store.ackSession('s1', [])).toBe(1);
      expect(await store.depth(sid, 'q')).toBe(1);
      // markDelivered of another session's lease changes nothing.
      const c = await store.claim(sid, 'q', 's2', 10, T0, T0 + 30_000);
      await store.markDelivered([c[0]!.id], 's1');
      expect(await store.ackSession('s1', [])).toBe(0);
      expect(await store.ack([c[0]!.id, 'MSnope'])).toBe(1);
      expect(await store.depth(sid, 'q')).toBe(0);
      expect(await store.ack([])).toBe(0);
    });

    it('release makes messages ready at once; resetExpiredLeases clears only run-out leases', async () => {
      for (const i of ['a', 'b']) await put(store, msg(sid, 'q', { I: i }));
      const [a] = await store.claim(sid, 'q', 's1', 1, T0, T0 + 1000);
      const [b] = await store.claim(sid, 'q', 's2', 1, T0, T0 + 5000);
      await store.release([a!.id]);
      expect(ids(await store.claim(sid, 'q', 's3', 10, T0, T0 + 1000))).toEqual(['a']);
      expect(await store.resetExpiredLeases(T0 + 999)).toBe(0);
      expect(await store.resetExpiredLeases(T0 + 1000)).toBe(1);
      expect((await store.queueStats(sid))[0]).toMatchObject({ depth: 2, leased: 1 });
      expect(b!.message.FormParams.I).toBe('b');
    });

    it('dedup: a live key answers with the first id; other queues and expired keys store anew', async () => {
      const d = { key: 'body:abc', expiresAt: T0 + 600_000 };
      const first = msg(sid, 'hook', { CallSid: 'CA1' });
      expect(await put(store, first, { dedup: d })).toEqual({ stored: true });
      expect(await put(store, msg(sid, 'hook', { CallSid: 'CA1' }), { dedup: d })).toEqual({
        stored: false,
        duplicateOf: first.id,
      });
      expect(await put(store, msg(sid, 'hook2', {}), { dedup: d })).toEqual({ stored: true });
      // A consumed message stays deduplicated while its key lives.
      const [c] = await store.claim(sid, 'hook', 's', 1, T0, T0 + 1000);
      await store.ack([c!.id]);
      expect(await put(store, msg(sid, 'hook', {}), { dedup: d, now: T0 + 599_999 })).toMatchObject({
        stored: false,
      });
      const later = msg(sid, 'hook', { CallSid: 'CA1' });
      expect(
        await put(store, later, { now: T0 + 600_000, dedup: { key: d.key, expiresAt: T0 + 1_200_000 } }),
      ).toEqual({ stored: true });
      expect(await put(store, msg(sid, 'hook', {}), { dedup: d, now: T0 + 600_001 })).toEqual({
        stored: false,
        duplicateOf: later.id,
      });
    });

    it('dedup holds when two hubs publish the same key at once: stored once', async () => {
      const other = await peer();
      const d = { key: 'idem:order-17', expiresAt: T0 + DAY };
      const tries = Array.from({ length: 10 }, (_, i) => msg(sid, 'orders', { I: String(i) }));
      const r = await Promise.all(tries.map((m, i) => put(i % 2 ? other : store, m, { dedup: d })));
      const stored = r.filter((x) => x.stored);
      expect(stored).toHaveLength(1);
      const winner = tries[r.findIndex((x) => x.stored)]!.id;
      for (const x of r) if (!x.stored) expect(x.duplicateOf).toBe(winner);
      expect(await store.depth(sid, 'orders')).toBe(1);
    });

    it('limits are typed errors, checked atomically with the insert even across two hubs', async () => {
      const other = await peer();
      const o = { maxQueueLength: 3, maxQueuesPerAccount: 2 };
      const r = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          put(i % 2 ? other : store, msg(sid, 'full', { I: String(i) }), o),
        ),
      );
      expect(r.filter((x) => x.status === 'fulfilled')).toHaveLength(3);
      for (const x of r)
        if (x.status === 'rejected')
          expect(x.reason).toMatchObject({
            code: 'PUBSUB_QUEUE_FULL',
            status: 429,
            message: expect.stringContaining('already holds 3 messages (limit pubsub.maxQueueLength = 3)'),
          });
      expect(await store.depth(sid, 'full')).toBe(3);
      // A limit error rolls back its dedup key too: the same key stores once there is room.
      const d = { key: 'idem:x', expiresAt: T0 + DAY };
      await expect(put(store, msg(sid, 'full', {}), { ...o, dedup: d })).rejects.toMatchObject({
        code: 'PUBSUB_QUEUE_FULL',
      });
      await put(store, msg(sid, 'second', {}), o);
      const q = await Promise.allSettled([
        put(store, msg(sid, 'third', {}), o),
        put(other, msg(sid, 'fourth', {}), o),
      ]);
      expect(q.map((x) => x.status)).toEqual(['rejected', 'rejected']);
      expect((q[0] as PromiseRejectedResult).reason).toMatchObject({
        code: 'PUBSUB_TOO_MANY_QUEUES',
        message: expect.stringContaining('already has 2 queues holding messages'),
      });
      // Draining a queue frees its place.
      const all = await store.claim(sid, 'second', 's', 10, T0, T0 + 1000);
      await store.ack(all.map((m) => m.id));
      expect(await put(store, msg(sid, 'third', {}), o)).toEqual({ stored: true });
      const [f] = await store.claim(sid, 'full', 's', 1, T0, T0 + 1000);
      await store.ack([f!.id]);
      expect(await put(store, msg(sid, 'full', {}), { ...o, dedup: d })).toEqual({ stored: true });
    });

    it('many publishes at once (one group commit on PostgreSQL): each stored once, a key repeated in the group answers the first id, only the publish over a limit fails', async () => {
      const o = { maxQueueLength: 20, maxQueuesPerAccount: 100 };
      const d = { key: 'idem:group', expiresAt: T0 + DAY };
      const ms = Array.from({ length: 61 }, (_, i) => msg(sid, `g${i % 3}`, { I: String(i) }));
      const r = await Promise.allSettled(
        ms.map((m, i) => put(store, m, i === 10 || i === 13 ? { ...o, dedup: d } : o)),
      );
      const full = r.flatMap((x, i) => (x.status === 'rejected' ? [i] : []));
      // g0 got 21 publishes for 20 places: exactly one of them is refused, with the typed error.
      expect(full).toHaveLength(1);
      expect(full[0]! % 3).toBe(0);
      expect((r[full[0]!] as PromiseRejectedResult).reason).toMatchObject({ code: 'PUBSUB_QUEUE_FULL' });
      const first = r[10] as PromiseFulfilledResult<unknown>;
      const second = r[13] as PromiseFulfilledResult<unknown>;
      const dupOf = [first.value, second.value].find((v) => (v as { stored: boolean }).stored === false);
      expect(dupOf).toBeDefined();
      expect([ms[10]!.id, ms[13]!.id]).toContain((dupOf as { duplicateOf: string }).duplicateOf);
      expect([
        await store.depth(sid, 'g0'),
        await store.depth(sid, 'g1'),
        await store.depth(sid, 'g2'),
      ]).toEqual([20, 19, 20]);
      const got = await store.claim(sid, 'g1', 's', 100, T0, T0 + 1000);
      expect(new Set(got.map((m) => m.id)).size).toBe(19);
    });

    it('retention: expired messages are never claimed, and the sweep deletes them, old sessions and keys', async () => {
      await put(store, msg(sid, 'old', { I: '1' }));
      await put(store, msg(sid, 'old', { I: '2' }, T0 + 7 * DAY - 1), {
        dedup: { key: 'body:k', expiresAt: T0 + 600_000 },
      });
      await store.createSession(
        { tokenHash: 'x', accountSid: sid, createdAt: T0, expiresAt: T0 + 1000 },
        10,
        T0,
      );
      const at = T0 + 7 * DAY;
      expect(ids(await store.claim(sid, 'old', 's', 10, at, at + 1000))).toEqual(['2']);
      expect(await store.sweep(at)).toEqual({ messages: 1, sessions: 1, dedup: 1, queues: 0 });
      const [m] = await store.claim(sid, 'old', 's', 10, at + 2000, at + 3000);
      await store.ack([m!.id]);
      expect((await store.sweep(at + 2000)).queues).toBe(1);
      expect(await inst.rows('pubsub_queues')).toBe(0);
      expect(await store.queueStats()).toEqual([]);
      expect(await store.getSession('x')).toBeUndefined();
    });

    it('queue stats are per account and ordered by account, then queue', async () => {
      const other = (await new Accounts(store, clock).create('b')).accountSid;
      for (const [a, q] of [
        [sid, 'b'],
        [sid, 'B'],
        [other, 'a'],
        [sid, 'a/x'],
      ] as const)
        await put(store, msg(a, q, {}));
      const all = await store.queueStats();
      const key = (x: { accountSid: string; queue: string }) => `${x.accountSid} ${x.queue}`;
      const sorted = [...all].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
      expect(all.map(key)).toEqual(sorted.map(key));
      expect((await store.queueStats(sid)).map((x) => x.queue)).toEqual(['B', 'a/x', 'b']);
      expect(await store.queueStats(undefined, 2)).toHaveLength(2);
    });

    it('through the service on the real clock, a poll with timeout 0 takes the ready messages (FIFO)', async () => {
      const svc = new PubSubService({ ...serviceOptions(store, 'relay-1'), leaseCheckMs: 1000 });
      svc.start();
      services.push(svc);
      for (let i = 0; i < 12; i++)
        await svc.publish({
          accountSid: sid,
          queue: 'now',
          url: '/',
          formParams: { I: String(i) },
          dedupContent: `${i}`,
        });
      for (const [want, timeoutMs] of [
        [10, 0],
        [2, 1],
      ] as const) {
        const p = await svc.poll({
          accountSid: sid,
          queue: 'now',
          session: 's',
          timeoutMs,
          onMessage: () => {},
        });
        expect((await p.result).length).toBe(want);
        p.delivered();
      }
    });

    it('through the service, the next poll of a session acknowledges what the previous one delivered', async () => {
      const svc = new PubSubService(serviceOptions(store, 'relay-1'));
      services.push(svc);
      for (let i = 0; i < 4; i++)
        await svc.publish({
          accountSid: sid,
          queue: 'ack',
          url: '/',
          formParams: { I: `${i}` },
          dedupContent: `${i}`,
        });
      for (let i = 0; i < 4; i++) {
        const p = await svc.poll({
          accountSid: sid,
          queue: 'ack',
          session: 's',
          timeoutMs: 0,
          maxMessages: 1,
          onMessage: () => {},
        });
        expect((await p.result).map((m) => m.FormParams.I)).toEqual([`${i}`]);
        expect(await store.depth(sid, 'ack')).toBe(4 - i);
        p.delivered(); // the response completed; the very next poll must acknowledge it
      }
      const last = await svc.poll({
        accountSid: sid,
        queue: 'ack',
        session: 's',
        timeoutMs: 0,
        onMessage: () => {},
      });
      expect(await last.result).toEqual([]);
      expect(await store.depth(sid, 'ack')).toBe(0);
    });

    if (backend.shared) {
      const service = (s: PubSubStore, hostname: string) => {
        const svc = new PubSubService(serviceOptions(s, hostname));
        svc.start();
        services.push(svc);
        return svc;
      };

      it('a publish on hub A wakes a long-poll waiting on hub B, and a released message goes back to A', async () => {
        const a = service(store, 'hub-a');
        const b = service(await peer(), 'hub-b');
        // No waiting for B's wake-up channel to come up: when it does, B re-checks its waiting polls.
        const got: PubSubMessage[] = [];
        const poll = await b.poll({
          accountSid: sid,
          queue: 'alerts/911',
          session: 'sb',
          timeoutMs: 60_000,
          onMessage: (m) => got.push(m),
        });
        const r = await a.publish({
          accountSid: sid,
          queue: 'alerts/911',
          url: '/x',
          formParams: { Ext: '201' },
          dedupContent: 'x',
        });
        expect(r.delivered).toBe(false); // nobody waits on A itself
        await waitFor(() => got.length === 1, 10_000, 'hub B woken by hub A');
        expect(got[0]!.Id).toBe(r.id);
        expect(await poll.result).toHaveLength(1);
        // B's client goes away before the response completed: A's waiting poll gets it back.
        const back: PubSubMessage[] = [];
        await a.poll({
          accountSid: sid,
          queue: 'alerts/911',
          session: 'sa',
          timeoutMs: 60_000,
          onMessage: (m) => back.push(m),
        });
        poll.cancel();
        await waitFor(() => back.length === 1, 10_000, 'hub A woken by the release on hub B');
        expect(back[0]!.Id).toBe(r.id);
      });
    }
  });
}
