import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/load.js';
import { ManualClock } from '../../src/core/clock.js';
import { Accounts, Sessions } from '../../src/pubsub/accounts.js';
import { resolvePubSubSettings } from '../../src/pubsub/config.js';
import { PubSubService } from '../../src/pubsub/service.js';
import { type Db, openDatabase } from '../../src/store/sqlite/database.js';
import { SqlitePubSubStore } from '../../src/store/sqlite/pubsub.js';

let db: Db;
let store: SqlitePubSubStore;
let clock: ManualClock;
beforeEach(() => {
  db = openDatabase({ dataDir: ':memory:' });
  store = new SqlitePubSubStore(db);
  clock = new ManualClock();
});
afterEach(() => db.close());

describe('accounts, sessions and the SQLite store', () => {
  it('stores only a scrypt hash of the AuthToken and verifies in constant time', async () => {
    const acc = new Accounts(store, clock);
    const a = await acc.create('crm');
    const row = db.prepare('SELECT * FROM pubsub_accounts WHERE sid = ?').get(a.accountSid) as Record<
      string,
      string
    >;
    expect(JSON.stringify(row)).not.toContain(a.authToken);
    expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await acc.verify(a.accountSid, a.authToken)).toBe(true);
    expect(await acc.verify(a.accountSid, a.authToken)).toBe(true); // cached path
    expect(await acc.verify(a.accountSid, `${a.authToken}x`)).toBe(false);
    expect(await acc.verify('AC00000000000000000000000000000000', a.authToken)).toBe(false);
    const r = await acc.rotate(a.accountSid);
    expect(await acc.verify(a.accountSid, a.authToken)).toBe(false);
    expect(await acc.verify(a.accountSid, r.authToken)).toBe(true);
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

    const svc = new PubSubService({
      store,
      clock,
      hostname: 'h',
      retentionMs: 1000,
      leaseMs: 1000,
      dedupWindowMs: 1000,
      idempotencyWindowMs: 1000,
      maxMessageBytes: 10_000,
      maxQueueLength: 100,
      maxQueuesPerAccount: 100,
      maxPollsPerSession: 1,
      maxTimeoutMs: 1000,
    });
    for (const q of ['a', 'b', 'b'])
      await svc.publish({
        accountSid: a.accountSid,
        queue: q,
        url: '/',
        formParams: { q, n: Math.random() },
        dedupContent: String(Math.random()),
      });
    expect((await store.queueStats()).map((q) => [q.queue, q.depth])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(
      (db.prepare('SELECT queue, depth FROM pubsub_queues ORDER BY queue').all() as unknown[]).length,
    ).toBe(2);
    await acc.remove(a.accountSid);
    for (const t of ['pubsub_sessions', 'pubsub_messages', 'pubsub_dedup', 'pubsub_queues']) {
      expect((db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n, t).toBe(0);
    }
    await expect(acc.remove(a.accountSid)).rejects.toMatchObject({
      code: 'PUBSUB_UNKNOWN_ACCOUNT',
      status: 404,
    });
  });

  it('session ttl bounds and expiry', async () => {
    const acc = new Accounts(store, clock);
    const a = await acc.create();
    const sessions = new Sessions(store, {
      clock,
      defaultTtlMs: 60_000,
      maxTtlMs: 120_000,
      maxPerAccount: 10,
    });
    await expect(sessions.create(a.accountSid, 120_001)).rejects.toMatchObject({
      code: 'PUBSUB_TTL_TOO_LONG',
    });
    const s = await sessions.create(a.accountSid);
    clock.advance(59_999);
    await expect(sessions.authorize(s.token, a.accountSid)).resolves.toMatchObject({
      accountSid: a.accountSid,
    });
    await expect(sessions.authorize(s.token, 'AC11111111111111111111111111111111')).rejects.toMatchObject({
      status: 403,
    });
    clock.advance(1);
    await expect(sessions.resolve(s.token)).rejects.toMatchObject({ code: 'PUBSUB_SESSION_EXPIRED' });
  });

  it('config: durations resolve, bad ones and inconsistent ones are refused', () => {
    const s = resolvePubSubSettings(defaultConfig().pubsub);
    expect(s).toMatchObject({
      retentionMs: 7 * 86_400_000,
      leaseMs: 30_000,
      defaultTimeoutMs: 30_000,
      maxTimeoutMs: 300_000,
      callXmlTimeoutMs: 25_000,
    });
    expect(() => defaultConfig({ 'pubsub.retention': 'forever' })).toThrow(/pubsub.retention/);
    expect(() => resolvePubSubSettings(defaultConfig({ 'pubsub.defaultTimeout': '10m' }).pubsub)).toThrow(
      /defaultTimeout/,
    );
  });
});
