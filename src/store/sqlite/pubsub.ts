import {
  PubSubLimitError,
  queueFullError,
  tooManyQueuesError,
  tooManySessionsError,
} from '../../pubsub/errors.js';
import { encodeMessage } from '../../pubsub/protocol.js';
import {
  type AccountRecord,
  type InsertOptions,
  type InsertResult,
  type PubSubStore,
  pendingLease,
  type QueueStats,
  type SessionRecord,
  type StoredMessage,
} from '../../pubsub/store.js';
import {
  type AccountRow,
  type MessageRow,
  type SessionRow,
  type StatsRow,
  toAccount,
  toMessage,
  toSession,
  toStats,
} from '../pubsub-rows.js';
import type { Db } from './database.js';

/**
 * SQLite implementation of the PubSub store over the hub's database (WAL). Every write is one
 * transaction committed before the promise resolves, so an acknowledged publish survives `kill -9`.
 * Works from several processes at once (the CLI manages accounts while the hub runs).
 */
export class SqlitePubSubStore implements PubSubStore {
  private readonly s;
  private readonly insertRaw;
  private readonly claimRaw;
  private readonly batchTx;
  private readonly singleTx;
  /** Writes waiting for the next group commit (all that arrived in the same event-loop turn). */
  private pendingWrites: Array<{
    run: () => unknown;
    resolve: (r: never) => void;
    reject: (e: unknown) => void;
  }> = [];

  /**
   * Accounts and sessions read on every request, cached (undefined ones too, bounded). Dropped on this
   * connection's own writes to them, and whenever another connection (the CLI rotating or deleting an
   * account, another process) committed anything: `PRAGMA data_version` changes then. Session expiry is
   * checked by the caller against the record's expiresAt, cached or not.
   */
  private readonly authCache = {
    version: -1,
    accounts: new Map<string, AccountRecord | undefined>(),
    sessions: new Map<string, SessionRecord | undefined>(),
  };
  private static readonly AUTH_CACHE_MAX = 10_000;
  private readonly dataVersion;

  constructor(private readonly db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.s = {
      accInsert: p(
        'INSERT INTO pubsub_accounts (sid, name, token_hash, token_salt, created_at, rotated_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      accGet: p('SELECT * FROM pubsub_accounts WHERE sid = ?'),
      accList: p('SELECT * FROM pubsub_accounts ORDER BY created_at, sid'),
      accToken: p('UPDATE pubsub_accounts SET token_hash = ?, token_salt = ?, rotated_at = ? WHERE sid = ?'),
      accSessionsDrop: p('DELETE FROM pubsub_sessions WHERE account_sid = ?'),
      accDelete: p('DELETE FROM pubsub_accounts WHERE sid = ?'),
      sessCount: p(
        'SELECT COUNT(*) AS n FROM (SELECT 1 FROM pubsub_sessions WHERE account_sid = ? AND expires_at > ? LIMIT ?)',
      ),
      sessInsert: p(
        'INSERT INTO pubsub_sessions (token_hash, account_sid, created_at, expires_at) VALUES (?, ?, ?, ?)',
      ),
      sessGet: p(
        'SELECT token_hash, account_sid, created_at, expires_at FROM pubsub_sessions WHERE token_hash = ?',
      ),
      dedupGet: p(
        'SELECT message_id, expires_at FROM pubsub_dedup WHERE account_sid = ? AND queue = ? AND key = ?',
      ),
      dedupPut: p(
        'INSERT OR REPLACE INTO pubsub_dedup (account_sid, queue, key, message_id, expires_at) VALUES (?, ?, ?, ?, ?)',
      ),
      queueDepth: p('SELECT depth FROM pubsub_queues WHERE account_sid = ? AND queue = ?'),
      queueCount: p('SELECT COUNT(*) AS n FROM pubsub_queues WHERE account_sid = ? AND depth > 0'),
      queuesDropEmpty: p('DELETE FROM pubsub_queues WHERE depth <= 0'),
      depth: p('SELECT COUNT(*) AS n FROM pubsub_messages WHERE account_sid = ? AND queue = ?'),
      msgInsert: p(
        'INSERT INTO pubsub_messages (id, account_sid, queue, payload, bytes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      msgInsertLeased: p(
        `INSERT INTO pubsub_messages (id, account_sid, queue, payload, bytes, created_at, expires_at, lease_session, lease_until, deliveries)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
      ),
      claimSelect: p(
        `SELECT id, account_sid, queue, payload, bytes, created_at, expires_at FROM pubsub_messages
         WHERE account_sid = ? AND queue = ? AND expires_at > ? AND (lease_until IS NULL OR lease_until <= ?)
         ORDER BY seq LIMIT ?`,
      ),
      lease: p(
        'UPDATE pubsub_messages SET lease_session = ?, lease_until = ?, deliveries = deliveries + 1 WHERE id = ?',
      ),
      release: p('UPDATE pubsub_messages SET lease_session = NULL, lease_until = NULL WHERE id = ?'),
      markDelivered: p('UPDATE pubsub_messages SET lease_session = ? WHERE id = ? AND lease_session = ?'),
      ack: p('DELETE FROM pubsub_messages WHERE id = ?'),
      ackSession: p('DELETE FROM pubsub_messages WHERE lease_session = ?'),
      leasedIds: p('SELECT id FROM pubsub_messages WHERE lease_session = ?'),
      expiredLeaseQueues: p(
        'SELECT DISTINCT account_sid, queue FROM pubsub_messages WHERE lease_until IS NOT NULL AND lease_until <= ? LIMIT ?',
      ),
      resetLeases: p(
        'UPDATE pubsub_messages SET lease_session = NULL, lease_until = NULL WHERE lease_until IS NOT NULL AND lease_until <= ?',
      ),
      sweepMsgs: p('DELETE FROM pubsub_messages WHERE expires_at <= ?'),
      sweepSess: p('DELETE FROM pubsub_sessions WHERE expires_at <= ?'),
      sweepDedup: p('DELETE FROM pubsub_dedup WHERE expires_at <= ?'),
      stats: p(
        `SELECT account_sid, queue, COUNT(*) AS depth, SUM(CASE WHEN lease_until IS NOT NULL THEN 1 ELSE 0 END) AS leased,
                MIN(created_at) AS oldest FROM pubsub_messages WHERE (? IS NULL OR account_sid = ?)
         GROUP BY account_sid, queue ORDER BY account_sid, queue LIMIT ?`,
      ),
    };

    // Runs inside the group commit's transaction. Its only deliberate failures (the limits) are thrown before
    // its first write, so a refused publish leaves nothing behind and needs no savepoint of its own.
    this.insertRaw = (m: StoredMessage, o: InsertOptions): InsertResult => {
      if (o.dedup) {
        const d = this.s.dedupGet.get(m.accountSid, m.queue, o.dedup.key) as
          | { message_id: string; expires_at: number }
          | undefined;
        if (d && d.expires_at > o.now) return { stored: false, duplicateOf: d.message_id };
      }
      const depth =
        (this.s.queueDepth.get(m.accountSid, m.queue) as { depth: number } | undefined)?.depth ?? 0;
      if (depth <= 0) {
        const n = (this.s.queueCount.get(m.accountSid) as { n: number }).n;
        if (n >= o.maxQueuesPerAccount) throw tooManyQueuesError(m.accountSid, n, o.maxQueuesPerAccount);
      } else {
        if (depth >= o.maxQueueLength) throw queueFullError(m.queue, depth, o.maxQueueLength);
      }
      // An empty queue (no message ready or leased) with a subscriber of this hub waiting: stored leased to
      // it, as a claim would lease it, so the waiting poll gets it without a claim.
      const leased = o.leaseTo !== undefined && depth <= 0;
      const row = [m.id, m.accountSid, m.queue, encodeMessage(m.message), m.bytes, m.createdAt, m.expiresAt];
      if (leased) this.s.msgInsertLeased.run(...row, pendingLease(o.leaseTo!.session), o.leaseTo!.leaseUntil);
      else this.s.msgInsert.run(...row);
      if (o.dedup) this.s.dedupPut.run(m.accountSid, m.queue, o.dedup.key, m.id, o.dedup.expiresAt);
      return leased ? { stored: true, leased: true } : { stored: true };
    };

    // One transaction per batch, no savepoint per write (each cost two more statements per publish). A write
    // refused by a limit (PubSubLimitError, thrown before it writes anything, see insertRaw) rejects alone;
    // any other error (disk full, a constraint) may come after a partial write, so it aborts the whole batch,
    // which flushWrites then runs again one write per transaction: only the failing write is rejected.
    this.batchTx = db.transaction(
      (
        batch: Array<{ run: () => unknown }>,
        results: Array<{ ok: true; r: unknown } | { ok: false; e: unknown }>,
      ) => {
        for (const w of batch) {
          try {
            results.push({ ok: true, r: w.run() });
          } catch (e) {
            if (!(e instanceof PubSubLimitError)) throw e;
            results.push({ ok: false, e });
          }
        }
      },
    );
    this.singleTx = db.transaction((fn: () => unknown) => fn());

    this.claimRaw = (
      ...[accountSid, queue, session, limit, now, leaseUntil]: Parameters<PubSubStore['claim']>
    ): StoredMessage[] => {
      const rows = this.s.claimSelect.all(accountSid, queue, now, now, limit) as MessageRow[];
      for (const r of rows) this.s.lease.run(pendingLease(session), leaseUntil, r.id);
      return rows.map(toMessage);
    };
  }

  /**
   * The auth cache, emptied first when another connection committed since the last look. The database is
   * asked (`PRAGMA data_version`, a statement) at most once per event-loop turn: the requests of one turn
   * share the answer, and a change made by another process is seen from the next turn.
   */
  private cache(): SqlitePubSubStore['authCache'] {
    const c = this.authCache;
    if (this.versionCheckedThisTurn) return c;
    this.versionCheckedThisTurn = true;
    setImmediate(() => {
      this.versionCheckedThisTurn = false;
    });
    const v = this.dataVersion.get() as number;
    if (v !== c.version) {
      c.version = v;
      this.dropAuthCache();
    }
    return c;
  }
  private versionCheckedThisTurn = false;
  private dropAuthCache(): void {
    this.authCache.accounts.clear();
    this.authCache.sessions.clear();
  }
  private static remember<V>(m: Map<string, V>, k: string, v: V): V {
    if (m.size >= SqlitePubSubStore.AUTH_CACHE_MAX) m.clear();
    m.set(k, v);
    return v;
  }

  async createAccount(a: AccountRecord): Promise<void> {
    this.dropAuthCache();
    this.s.accInsert.run(a.sid, a.name, a.tokenHash, a.tokenSalt, a.createdAt, a.rotatedAt);
  }
  async getAccount(sid: string): Promise<AccountRecord | undefined> {
    const c = this.cache().accounts;
    if (c.has(sid)) return c.get(sid);
    const r = this.s.accGet.get(sid) as AccountRow | undefined;
    return SqlitePubSubStore.remember(c, sid, r ? toAccount(r) : undefined);
  }
  async listAccounts(): Promise<AccountRecord[]> {
    return (this.s.accList.all() as AccountRow[]).map(toAccount);
  }
  async updateAccountToken(sid: string, tokenHash: string, tokenSalt: string, at: number): Promise<boolean> {
    this.dropAuthCache();
    return this.db.transaction(() => {
      const ok = this.s.accToken.run(tokenHash, tokenSalt, at, sid).changes > 0;
      // A rotated AuthToken ends every session made with the old one.
      if (ok) this.s.accSessionsDrop.run(sid);
      return ok;
    })();
  }
  async deleteAccount(sid: string): Promise<boolean> {
    this.dropAuthCache();
    return this.s.accDelete.run(sid).changes > 0;
  }

  async createSession(s: SessionRecord, maxPerAccount: number, now: number): Promise<void> {
    this.authCache.sessions.delete(s.tokenHash);
    this.db.transaction(() => {
      const n = (this.s.sessCount.get(s.accountSid, now, maxPerAccount) as { n: number }).n;
      if (n >= maxPerAccount) throw tooManySessionsError(s.accountSid, n, maxPerAccount);
      this.s.sessInsert.run(s.tokenHash, s.accountSid, s.createdAt, s.expiresAt);
    })();
  }
  async getSession(tokenHash: string): Promise<SessionRecord | undefined> {
    const c = this.cache().sessions;
    if (c.has(tokenHash)) return c.get(tokenHash);
    const r = this.s.sessGet.get(tokenHash) as SessionRow | undefined;
    return SqlitePubSubStore.remember(c, tokenHash, r ? toSession(r) : undefined);
  }

  /**
   * Group commit: the writes of the hot path (publish, claim, acknowledge, release) that arrive in the
   * same event-loop turn share one transaction (a limit error rejects only its own publish; see batchTx).
   * Every promise resolves after the commit, so an answered publish is on disk.
   */
  private write<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pendingWrites.push({ run, resolve: resolve as (r: never) => void, reject });
      if (this.pendingWrites.length === 1) setImmediate(() => this.flushWrites());
    });
  }

  private flushWrites(): void {
    const batch = this.pendingWrites;
    this.pendingWrites = [];
    let results: Array<{ ok: true; r: unknown } | { ok: false; e: unknown }> = [];
    try {
      this.batchTx.immediate(batch, results);
    } catch {
      // Rolled back as a whole: each write again in its own transaction, so that one bad write does not
      // fail the others (rare: only errors other than the limits get here).
      results = batch.map((w) => {
        try {
          return { ok: true as const, r: this.singleTx.immediate(w.run) };
        } catch (e) {
          return { ok: false as const, e };
        }
      });
    }
    batch.forEach((w, i) => {
      const r = results[i]!;
      if (r.ok) w.resolve(r.r as never);
      else w.reject(r.e);
    });
  }

  insert(m: StoredMessage, opts: InsertOptions): Promise<InsertResult> {
    return this.write(() => this.insertRaw(m, opts));
  }
  claim(
    accountSid: string,
    queue: string,
    session: string,
    limit: number,
    now: number,
    leaseUntil: number,
  ): Promise<StoredMessage[]> {
    return this.write(() => this.claimRaw(accountSid, queue, session, limit, now, leaseUntil));
  }
  async markDelivered(ids: string[], session: string): Promise<void> {
    if (ids.length === 0) return;
    await this.write(() => {
      for (const id of ids) this.s.markDelivered.run(session, id, pendingLease(session));
    });
  }
  async release(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.write(() => {
      for (const id of ids) this.s.release.run(id);
    });
  }
  async ack(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.write(() => {
      let n = 0;
      for (const id of ids) n += this.s.ack.run(id).changes;
      return n;
    });
  }
  /**
   * Group-committed after any queued markDelivered of the same session (FIFO). Claims still being
   * written are leased as pending and are never touched here.
   */
  ackSession(session: string, except: string[]): Promise<number> {
    const keep = new Set(except);
    return this.write(() => {
      if (keep.size === 0) return this.s.ackSession.run(session).changes;
      let n = 0;
      for (const r of this.s.leasedIds.all(session) as Array<{ id: string }>)
        if (!keep.has(r.id)) n += this.s.ack.run(r.id).changes;
      return n;
    });
  }
  async expiredLeaseQueues(
    now: number,
    limit: number,
  ): Promise<Array<{ accountSid: string; queue: string }>> {
    return (this.s.expiredLeaseQueues.all(now, limit) as Array<{ account_sid: string; queue: string }>).map(
      (r) => ({
        accountSid: r.account_sid,
        queue: r.queue,
      }),
    );
  }
  async resetExpiredLeases(now: number): Promise<number> {
    return this.s.resetLeases.run(now).changes;
  }
  async sweep(now: number): Promise<{ messages: number; sessions: number; dedup: number; queues: number }> {
    this.dropAuthCache();
    return this.db.transaction(() => ({
      messages: this.s.sweepMsgs.run(now).changes,
      sessions: this.s.sweepSess.run(now).changes,
      dedup: this.s.sweepDedup.run(now).changes,
      queues: this.s.queuesDropEmpty.run().changes,
    }))();
  }
  async queueStats(accountSid?: string, limit = 1000): Promise<QueueStats[]> {
    const a = accountSid ?? null;
    return (this.s.stats.all(a, a, limit) as StatsRow[]).map(toStats);
  }
  async depth(accountSid: string, queue: string): Promise<number> {
    return (this.s.depth.get(accountSid, queue) as { n: number }).n;
  }
}
