import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Accounts } from '../../src/pubsub/accounts.js';
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
