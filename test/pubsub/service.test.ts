import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { Accounts } from '../../src/pubsub/accounts.js';
import type { PubSubMessage } from '../../src/pubsub/protocol.js';
import { type PollInput, PubSubService, type PubSubServiceOptions } from '../../src/pubsub/service.js';
import { type Db, openDatabase } from '../../src/store/sqlite/database.js';
import { SqlitePubSubStore } from '../../src/store/sqlite/pubsub.js';

const DAY = 86_400_000;

let db: Db;
let clock: ManualClock;
let store: SqlitePubSubStore;
let svc: PubSubService;
let sid: string;

function make(over: Partial<PubSubServiceOptions> = {}): PubSubService {
  return new PubSubService({
    store,
    clock,
    hostname: 'relay-1',
    retentionMs: 7 * DAY,
    leaseMs: 30_000,
    dedupWindowMs: 600_000,
    idempotencyWindowMs: DAY,
    maxMessageBytes: 65_536,
    maxQueueLength: 10_000,
    maxQueuesPerAccount: 1000,
    maxPollsPerSession: 10,
    maxTimeoutMs: 300_000,
    utcOffsetMinutes: 0,
    ...over,
  });
}

beforeEach(async () => {
  db = openDatabase({ dataDir: ':memory:' });
  clock = new ManualClock(Date.UTC(2016, 11, 6, 18, 26, 19, 42));
  store = new SqlitePubSubStore(db);
  svc = make();
  sid = (await new Accounts(store, clock).create('t')).accountSid;
});
afterEach(() => {
  svc.stop();
  db.close();
});

let n = 0;
const pub = (
  queue: string,
  params: Record<string, string> = { N: String(++n) },
  extra: { key?: string; svc?: PubSubService } = {},
) =>
  (extra.svc ?? svc).publish({
    accountSid: sid,
    queue,
    url: `/${sid}/${queue}`,
    formParams: params,
    dedupContent: JSON.stringify(params),
    ...(extra.key ? { idempotencyKey: extra.key } : {}),
  });

async function pollOnce(queue: string, session: string, timeoutMs = 0, over: Partial<PollInput> = {}) {
  const streamed: PubSubMessage[] = [];
  const p = await svc.poll({
    accountSid: sid,
    queue,
    session,
    timeoutMs,
    onMessage: (m) => streamed.push(m),
    ...over,
  });
  if (timeoutMs > 0) clock.advance(timeoutMs);
  const msgs = await p.result;
  expect(msgs).toEqual(streamed);
  return { p, msgs };
}

describe('queue service', () => {
  it('stores a publish with the seed message shape and delivers it', async () => {
    const r = await pub('SMS', { Body: 'Hello from my cell phone', From: '+18457026652' });
    expect(r).toMatchObject({ duplicate: false, delivered: false });
    const { msgs, p } = await pollOnce('SMS', 's1');
    p.delivered();
    expect(msgs).toHaveLength(1);
    expect(Object.keys(msgs[0]!)).toEqual(['Hostname', 'AccountSid', 'Url', 'FormParams', 'Created', 'Id']);
    expect(msgs[0]).toMatchObject({
      Hostname: 'relay-1',
      AccountSid: sid,
      Url: `/${sid}/SMS`,
      FormParams: { Body: 'Hello from my cell phone', From: '+18457026652' },
      Created: '2016-12-06T18:26:19.042Z',
      Id: r.id,
    });
  });

  it('returns at most 10 messages per poll, FIFO, and the rest on the next poll', async () => {
    for (let i = 0; i < 25; i++) await pub('q', { I: String(i) });
    const order: string[] = [];
    for (let k = 0; k < 3; k++) {
      const { msgs, p } = await pollOnce('q', 's1');
      p.delivered();
      expect(msgs.length).toBe(k < 2 ? 10 : 5);
      order.push(...msgs.map((m) => m.FormParams.I as string));
    }
    expect(order).toEqual(Array.from({ length: 25 }, (_, i) => String(i)));
    // The last 5 stay leased until the session polls again.
    expect(await store.depth(sid, 'q')).toBe(5);
    expect((await pollOnce('q', 's1')).msgs).toEqual([]);
    expect(await store.depth(sid, 'q')).toBe(0);
  });

  it('a waiting subscriber gets the message published later, and the publish says so', async () => {
    const got: PubSubMessage[] = [];
    const p = await svc.poll({
      accountSid: sid,
      queue: 'a/b',
      session: 's1',
      timeoutMs: 5000,
      onMessage: (m) => got.push(m),
    });
    expect(svc.waiting(sid, 'a/b')).toBe(1);
    const r = await pub('a/b', { Custom: '123', Param: 'abc' });
    expect(r.delivered).toBe(true);
    expect(got).toHaveLength(1);
    expect((await p.result)[0]!.FormParams).toEqual({ Custom: '123', Param: 'abc' });
    expect(svc.waiting(sid, 'a/b')).toBe(0);
  });

  it('a publish to an empty queue with a poll waiting is stored leased to it (no claim), and is acknowledged by its next poll', async () => {
    const p = await svc.poll({
      accountSid: sid,
      queue: 'h',
      session: 's1',
      timeoutMs: 5000,
      onMessage: () => {},
    });
    let claims = 0;
    const claim = store.claim.bind(store);
    store.claim = (...a) => {
      claims++;
      return claim(...a);
    };
    const r = await pub('h', { K: 'one' });
    expect(r.delivered).toBe(true);
    expect((await p.result).map((m) => m.FormParams.K)).toEqual(['one']);
    expect(claims).toBe(0);
    // Leased as pending, as a claim leases: not acknowledged before its response completed…
    const row = db.prepare('SELECT lease_session, deliveries FROM pubsub_messages WHERE id = ?').get(r.id);
    expect(row).toEqual({ lease_session: 's1\u0001pending', deliveries: 1 });
    p.delivered();
    await new Promise((res) => setImmediate(res));
    // …and acknowledged by the session's next poll.
    expect((await pollOnce('h', 's1')).msgs).toEqual([]);
    expect(await store.depth(sid, 'h')).toBe(0);
  });

  it('hand-off keeps FIFO: a later message claimed in the same commit does not overtake it', async () => {
    const got: string[] = [];
    const p = await svc.poll({
      accountSid: sid,
      queue: 'f',
      session: 's1',
      timeoutMs: 5000,
      onMessage: (m) => got.push(m.FormParams.K as string),
    });
    // A (handed off), B (stored ready, since the queue is no longer empty) and a claim, in one commit.
    const a = pub('f', { K: 'A' });
    const b = pub('f', { K: 'B' });
    const second = svc.poll({
      accountSid: sid,
      queue: 'f',
      session: 's2',
      timeoutMs: 5000,
      onMessage: () => {},
    });
    await Promise.all([a, b]);
    expect(got).toEqual(['A']);
    expect((await p.result).map((m) => m.FormParams.K)).toEqual(['A']);
    const q2 = await second;
    expect((await q2.result).map((m) => m.FormParams.K)).toEqual(['B']);
  });

  it('no hand-off when the queue holds a message (FIFO); a poll that ended meanwhile releases what was leased to it', async () => {
    await pub('g', { K: 'first' });
    const late = await pub('g', { K: 'second' });
    const row = db.prepare('SELECT lease_session FROM pubsub_messages WHERE id = ?').get(late.id);
    expect(row).toEqual({ lease_session: null });
    expect((await pollOnce('g', 's1')).msgs.map((m) => m.FormParams.K)).toEqual(['first', 'second']);

    // The waiting poll is cancelled (client gone) while the publish is being stored: released, ready again.
    const p = await svc.poll({
      accountSid: sid,
      queue: 'e',
      session: 's3',
      timeoutMs: 5000,
      onMessage: () => {},
    });
    const r = pub('e', { K: 'x' });
    p.cancel();
    const done = await r;
    expect(done.delivered).toBe(false);
    const again = db.prepare('SELECT lease_session FROM pubsub_messages WHERE id = ?').get(done.id);
    expect(again).toEqual({ lease_session: null });
    expect((await pollOnce('e', 's4')).msgs.map((m) => m.FormParams.K)).toEqual(['x']);
  });

  it('times out with an empty list', async () => {
    const p = await svc.poll({
      accountSid: sid,
      queue: 'x',
      session: 's1',
      timeoutMs: 5000,
      onMessage: () => {},
    });
    clock.advance(4999);
    let done = false;
    void p.result.then(() => {
      done = true;
    });
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    expect(await p.result).toEqual([]);
  });

  it('competing subscribers each get distinct messages', async () => {
    const polls = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        svc.poll({
          accountSid: sid,
          queue: 'work',
          session: `s${i}`,
          timeoutMs: 10_000,
          onMessage: () => {},
        }),
      ),
    );
    for (let i = 0; i < 5; i++) await pub('work', { I: String(i) });
    const results = await Promise.all(polls.map((p) => p.result));
    const ids = results.flat().map((m) => m.FormParams.I);
    expect(results.every((r) => r.length === 1)).toBe(true);
    expect(new Set(ids).size).toBe(5);
    // Oldest waiter first.
    expect(results.map((r) => r[0]!.FormParams.I)).toEqual(['0', '1', '2', '3', '4']);
  });

  it('next poll with the same session acknowledges; an unacknowledged lease is redelivered after it runs out', async () => {
    await pub('q', { I: 'a' });
    await pub('q', { I: 'b' });
    const first = await pollOnce('q', 's1', 0, { maxMessages: 1 });
    first.p.delivered();
    expect(first.msgs[0]!.FormParams.I).toBe('a');
    // Same session polls again: 'a' is acknowledged (deleted), 'b' delivered.
    const second = await pollOnce('q', 's1');
    second.p.delivered();
    expect(second.msgs.map((m) => m.FormParams.I)).toEqual(['b']);
    expect(await store.depth(sid, 'q')).toBe(1);
    // 's1' never polls again: another subscriber sees nothing until the lease runs out.
    expect((await pollOnce('q', 's2')).msgs).toEqual([]);
    clock.advance(30_000);
    const third = await pollOnce('q', 's2');
    expect(third.msgs.map((m) => m.FormParams.I)).toEqual(['b']);
  });

  it('a waiting subscriber is served when a lease runs out', async () => {
    svc.start();
    await pub('q', { I: 'a' });
    (await pollOnce('q', 's1')).p.delivered();
    const got: PubSubMessage[] = [];
    const p = await svc.poll({
      accountSid: sid,
      queue: 'q',
      session: 's2',
      timeoutMs: 60_000,
      onMessage: (m) => got.push(m),
    });
    clock.advance(29_000);
    await new Promise((r) => setTimeout(r, 5));
    expect(got).toEqual([]);
    clock.advance(2000);
    await new Promise((r) => setTimeout(r, 20));
    expect(got.map((m) => m.FormParams.I)).toEqual(['a']);
    expect((await p.result).length).toBe(1);
  });

  it('after a crash, a lease whose response never completed is redelivered, not acknowledged', async () => {
    await pub('crash', { I: 'a' });
    // The poll took 'a', then the process died before the response completed (no delivered/cancel).
    const lost = await svc.poll({
      accountSid: sid,
      queue: 'crash',
      session: 's1',
      timeoutMs: 0,
      onMessage: () => {},
    });
    expect((await lost.result).map((m) => m.FormParams.I)).toEqual(['a']);
    const restarted = make();
    // The same session polls again after the restart: this must not acknowledge 'a'.
    const next = await restarted.poll({
      accountSid: sid,
      queue: 'crash',
      session: 's1',
      timeoutMs: 0,
      onMessage: () => {},
    });
    expect(await next.result).toEqual([]);
    next.delivered();
    await new Promise((r) => setTimeout(r, 5));
    expect(await store.depth(sid, 'crash')).toBe(1);
    clock.advance(30_000);
    const later = await restarted.poll({
      accountSid: sid,
      queue: 'crash',
      session: 's1',
      timeoutMs: 0,
      onMessage: () => {},
    });
    expect((await later.result).map((m) => m.FormParams.I)).toEqual(['a']);
    later.delivered();
    restarted.stop();
  });

  it('a cancelled poll (client disconnect) returns its messages at once', async () => {
    await pub('q', { I: 'a' });
    const { p, msgs } = await pollOnce('q', 's1');
    expect(msgs).toHaveLength(1);
    p.cancel();
    await new Promise((r) => setTimeout(r, 5));
    const again = await pollOnce('q', 's2');
    expect(again.msgs.map((m) => m.FormParams.I)).toEqual(['a']);
  });

  it('a message released by a disconnect goes to a subscriber that is already waiting', async () => {
    await pub('q', { I: 'a' });
    const first = await pollOnce('q', 's1');
    const got: PubSubMessage[] = [];
    await svc.poll({
      accountSid: sid,
      queue: 'q',
      session: 's2',
      timeoutMs: 60_000,
      onMessage: (m) => got.push(m),
    });
    first.p.cancel();
    await new Promise((r) => setTimeout(r, 20));
    expect(got.map((m) => m.FormParams.I)).toEqual(['a']);
  });

  it('deduplicates the same queue and body within the window, and by Idempotency-Key', async () => {
    const a = await pub('hook', { CallSid: 'CA1' });
    const b = await pub('hook', { CallSid: 'CA1' });
    expect(b).toMatchObject({ duplicate: true, id: a.id });
    expect(await store.depth(sid, 'hook')).toBe(1);
    // Other queue: not a duplicate.
    expect((await pub('hook2', { CallSid: 'CA1' })).duplicate).toBe(false);
    // After the window the same body is a new message.
    clock.advance(600_001);
    expect((await pub('hook', { CallSid: 'CA1' })).duplicate).toBe(false);
    // Idempotency-Key: different bodies, same key → stored once; a consumed message stays deduplicated.
    const k1 = await pub('k', { X: '1' }, { key: 'abc' });
    (await pollOnce('k', 's9')).p.delivered();
    await pollOnce('k', 's9'); // acknowledges
    const k2 = await pub('k', { X: '2' }, { key: 'abc' });
    expect(k2).toMatchObject({ duplicate: true, id: k1.id });
    expect(await store.depth(sid, 'k')).toBe(0);
  });

  it('expires messages after 7 days (clock driven)', async () => {
    await pub('old', { I: '1' });
    clock.advance(7 * DAY - 1);
    await pub('old', { I: '2' });
    expect(await store.depth(sid, 'old')).toBe(2);
    clock.advance(1);
    // Expired messages are not delivered even before the sweep…
    const { msgs } = await pollOnce('old', 's1');
    expect(msgs.map((m) => m.FormParams.I)).toEqual(['2']);
    // …and the sweep deletes them.
    expect((await svc.sweep()).messages).toBe(1);
  });

  it('enforces limits with typed errors', async () => {
    const small = make({
      maxQueueLength: 3,
      maxQueuesPerAccount: 2,
      maxMessageBytes: 400,
      maxPollsPerSession: 1,
      maxTimeoutMs: 1000,
    });
    for (let i = 0; i < 3; i++) await pub('full', { I: String(i) }, { svc: small });
    await expect(pub('full', { I: 'x' }, { svc: small })).rejects.toMatchObject({
      code: 'PUBSUB_QUEUE_FULL',
      status: 429,
    });
    await pub('second', { I: '1' }, { svc: small });
    await expect(pub('third', { I: '1' }, { svc: small })).rejects.toMatchObject({
      code: 'PUBSUB_TOO_MANY_QUEUES',
    });
    await expect(pub('full', { Big: 'x'.repeat(500) }, { svc: small })).rejects.toMatchObject({
      code: 'PUBSUB_MESSAGE_TOO_LARGE',
      status: 413,
    });
    await expect(
      small.poll({ accountSid: sid, queue: 'z', session: 's', timeoutMs: 2000, onMessage: () => {} }),
    ).rejects.toMatchObject({
      code: 'PUBSUB_TIMEOUT_TOO_LONG',
    });
    const held = await small.poll({
      accountSid: sid,
      queue: 'z',
      session: 's',
      timeoutMs: 1000,
      onMessage: () => {},
    });
    await expect(
      small.poll({ accountSid: sid, queue: 'z', session: 's', timeoutMs: 1000, onMessage: () => {} }),
    ).rejects.toMatchObject({
      code: 'PUBSUB_TOO_MANY_POLLS',
    });
    held.cancel();
    const again = await small.poll({
      accountSid: sid,
      queue: 'z',
      session: 's',
      timeoutMs: 0,
      onMessage: () => {},
    });
    again.delivered();
    small.stop();
  });

  it('concurrent publishes share a commit; a limit error rejects only its own publish', async () => {
    const small = make({ maxQueueLength: 3 });
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => pub('burst', { I: String(i) }, { svc: small })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.map((r) => (r.reason as { code: string }).code)).toEqual([
      'PUBSUB_QUEUE_FULL',
      'PUBSUB_QUEUE_FULL',
    ]);
    expect(await store.depth(sid, 'burst')).toBe(3);
    // Same body twice in one batch: stored once.
    const [a, b] = await Promise.all([pub('twin', { X: '1' }), pub('twin', { X: '1' })]);
    expect(b!.duplicate).toBe(true);
    expect(b!.id).toBe(a!.id);
    small.stop();
  });

  it('a concurrent poll of the same session does not acknowledge messages still being delivered', async () => {
    await pub('q', { I: 'a' });
    const p1 = await svc.poll({
      accountSid: sid,
      queue: 'q',
      session: 's1',
      timeoutMs: 10,
      onMessage: () => {},
      maxMessages: 1,
    });
    // p1 took 'a' but its response has not completed; a second poll of s1 must not delete 'a'.
    const p2 = await svc.poll({
      accountSid: sid,
      queue: 'q',
      session: 's1',
      timeoutMs: 0,
      onMessage: () => {},
    });
    p2.delivered();
    expect(await store.depth(sid, 'q')).toBe(1);
    p1.cancel();
    await new Promise((r) => setTimeout(r, 5));
    expect((await pollOnce('q', 's3')).msgs.map((m) => m.FormParams.I)).toEqual(['a']);
  });
});
