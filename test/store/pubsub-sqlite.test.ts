import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Accounts, Sessions } from '../../src/pubsub/accounts.js';
import type { StoredMessage } from '../../src/pubsub/store.js';
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

describe('SQLite PubSub store: group commit without savepoints', () => {
  it('an error other than a limit in a batch rejects only its own write; the others are committed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-pubsub-batch-'));
    const db = openDatabase({ dataDir: dir });
    try {
      const store = new SqlitePubSubStore(db);
      const sid = (await new Accounts(store).create('batch')).accountSid;
      const now = Date.now();
      const mk = (id: string): StoredMessage => {
        const message = {
          Hostname: 'relay-1',
          AccountSid: sid,
          Url: `/${sid}/q`,
          FormParams: { id },
          Created: new Date(now).toISOString(),
          Id: id,
        };
        return {
          id,
          accountSid: sid,
          queue: 'q',
          message,
          bytes: 100,
          createdAt: now,
          expiresAt: now + 60_000,
        };
      };
      const limits = { maxQueueLength: 3, maxQueuesPerAccount: 10, now };
      await store.insert(mk('m-0'), limits);
      // Same event-loop turn, so one batch: a duplicate id (a constraint error, not a limit), two good
      // publishes and one over the queue limit.
      const r = await Promise.allSettled([
        store.insert(mk('m-1'), limits),
        store.insert(mk('m-0'), limits),
        store.insert(mk('m-2'), limits),
        store.insert(mk('m-3'), limits),
      ]);
      expect(r.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
      expect((r[1] as PromiseRejectedResult).reason).toMatchObject({
        code: expect.stringMatching(/^SQLITE_CONSTRAINT/),
      });
      expect((r[3] as PromiseRejectedResult).reason).toMatchObject({ code: 'PUBSUB_QUEUE_FULL' });
      expect(await store.depth(sid, 'q')).toBe(3);
      const ids = (await store.claim(sid, 'q', 's', 10, now, now + 1000)).map((m) => m.id).sort();
      expect(ids).toEqual(['m-0', 'm-1', 'm-2']);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SQLite PubSub store: cached accounts and sessions', () => {
  it('serves repeated look-ups from memory, and drops them on rotation, deletion and expiry, here or in another process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-pubsub-cache-'));
    const db = openDatabase({ dataDir: dir });
    const cli = openDatabase({ dataDir: dir }); // another process (the CLI) on the same database file
    try {
      let now = Date.now();
      const clock = { now: () => now, setTimeout, clearTimeout } as never;
      const store = new SqlitePubSubStore(db);
      const other = new SqlitePubSubStore(cli);
      const opts = { clock, defaultTtlMs: 60_000, maxTtlMs: 3_600_000, maxPerAccount: 10 };
      const accounts = new Accounts(store, clock);
      const sessions = new Sessions(store, opts);
      // A change made by another process is seen from the next event-loop turn (the next request): the
      // database is asked at most once per turn whether another connection committed.
      const nextTurn = () => new Promise((r) => setImmediate(r));
      const a = await accounts.create('cache');
      const s1 = await sessions.create(a.accountSid);
      expect((await sessions.resolve(s1.token)).accountSid).toBe(a.accountSid);

      // Cached: a row changed behind the store's back on its own connection is not re-read…
      db.prepare('UPDATE pubsub_sessions SET expires_at = 1 WHERE account_sid = ?').run(a.accountSid);
      expect((await sessions.resolve(s1.token)).accountSid).toBe(a.accountSid);
      // …but any commit by another connection empties the cache (PRAGMA data_version).
      cli.prepare("UPDATE pubsub_accounts SET name = 'renamed' WHERE sid = ?").run(a.accountSid);
      await nextTurn();
      await expect(sessions.resolve(s1.token)).rejects.toMatchObject({ code: 'PUBSUB_SESSION_EXPIRED' });
      db.prepare('UPDATE pubsub_sessions SET expires_at = ? WHERE account_sid = ?').run(
        now + 60_000,
        a.accountSid,
      );

      // Rotation in another process: the old token and its sessions stop working here at once.
      const s2 = await sessions.create(a.accountSid);
      expect((await sessions.resolve(s2.token)).accountSid).toBe(a.accountSid);
      expect(await accounts.verify(a.accountSid, a.authToken)).toBe(true);
      const rotated = await new Accounts(other, clock).rotate(a.accountSid);
      await nextTurn();
      await expect(sessions.resolve(s2.token)).rejects.toMatchObject({ code: 'PUBSUB_SESSION_INVALID' });
      expect(await accounts.verify(a.accountSid, a.authToken)).toBe(false);
      expect(await accounts.verify(a.accountSid, rotated.authToken)).toBe(true);

      // Rotation here: the same.
      const s3 = await sessions.create(a.accountSid);
      expect((await sessions.resolve(s3.token)).accountSid).toBe(a.accountSid);
      const again = await accounts.rotate(a.accountSid);
      await expect(sessions.resolve(s3.token)).rejects.toMatchObject({ code: 'PUBSUB_SESSION_INVALID' });
      expect(await accounts.verify(a.accountSid, rotated.authToken)).toBe(false);

      // Expiry: a cached session is refused once its time is up.
      const s4 = await sessions.create(a.accountSid, 5_000);
      expect((await sessions.resolve(s4.token)).accountSid).toBe(a.accountSid);
      now += 5_001;
      await expect(sessions.resolve(s4.token)).rejects.toMatchObject({ code: 'PUBSUB_SESSION_EXPIRED' });

      // Deletion in another process: the account and its sessions are gone here too.
      const s5 = await sessions.create(a.accountSid);
      expect(await accounts.exists(a.accountSid)).toBe(true);
      expect(await accounts.verify(a.accountSid, again.authToken)).toBe(true);
      await new Accounts(other, clock).remove(a.accountSid);
      await nextTurn();
      expect(await accounts.exists(a.accountSid)).toBe(false);
      expect(await accounts.verify(a.accountSid, again.authToken)).toBe(false);
      await expect(sessions.resolve(s5.token)).rejects.toMatchObject({ code: 'PUBSUB_SESSION_INVALID' });
    } finally {
      db.close();
      cli.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
