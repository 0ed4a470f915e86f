import { randomUUID } from 'node:crypto';
import { GroupCommit, type GroupMember, KeyedSerialQueue } from '../../core/serial.js';
import { queueFullError, tooManyQueuesError, tooManySessionsError } from '../../pubsub/errors.js';
import { encodeMessage } from '../../pubsub/protocol.js';
import {
  type AccountRecord,
  type InsertOptions,
  type InsertResult,
  type PubSubStore,
  pendingLease,
  type QueueStats,
  type QueueWatcher,
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
import { PostgresDatabase, type PostgresOptions } from './database.js';
import { NO_FLUSH_WAIT } from './sql.js';

/** NOTIFY channel of PubSub wake-ups. The payload is JSON `[origin, accountSid, queue]`. */
export const PUBSUB_CHANNEL = 'switchboard_pubsub';
/** NOTIFY channel of account and session changes (triggers, migration 2): hubs drop their auth cache. */
export const PUBSUB_AUTH_CHANNEL = 'switchboard_pubsub_auth';
/** A cached account or session is read again after this long, notice or not (a bound, not the mechanism). */
const AUTH_CACHE_MAX_AGE_MS = 10_000;
const AUTH_CACHE_MAX = 10_000;
/** NOTIFY payloads must stay under 8,000 bytes; a longer one becomes a "re-check everything". */
const MAX_NOTIFY_BYTES = 7000;

type SeqRow = MessageRow & { seq: number };

const MSG_COLS = 'seq, id, account_sid, queue, payload, bytes, created_at, expires_at';

/*
 * The statements that move a message's lease (claim, delivery mark, acknowledgement) join NO_FLUSH_WAIT:
 * losing such a change in a crash of PostgreSQL itself (not of a hub) redelivers messages, as a lease that
 * runs out does; it never loses one. Publishes keep waiting for the flush: an acknowledged publish is
 * durable.
 */

/** Group commit: publishes arriving while this many batches are in flight wait and go together. */
const INSERT_BATCHES_IN_FLIGHT = 2;
/** Largest group of publishes in one statement. */
const INSERT_BATCH_MAX = 200;

type PendingInsert = GroupMember<{ m: StoredMessage; o: InsertOptions }, InsertResult>;

/**
 * PostgreSQL implementation of the PubSub store, for several hubs sharing one site's queues. Same
 * semantics as the SQLite store (the contract suite runs against both): FIFO by insertion sequence,
 * competing consumers (`FOR UPDATE SKIP LOCKED`: two hubs claiming at once take different messages),
 * leases that run out, dedup keys, 7-day retention by the service's sweep. Every write is committed
 * before its promise resolves, so an acknowledged publish survives `kill -9` of the hub.
 *
 * `LISTEN/NOTIFY` is only a wake-up: a publish or release NOTIFYs `[origin, account, queue]` at commit,
 * and the other hubs' services look at that queue in the table. A hub ignores its own notifications (it
 * dispatches locally already).
 */
export class PostgresPubSubStore implements PubSubStore {
  readonly db: PostgresDatabase;
  /** This store instance's id in NOTIFY payloads. */
  readonly origin = randomUUID();
  /**
   * A session's markDelivered and its next poll's ackSession run in that order (SQLite gets this from its
   * one write queue): otherwise the acknowledgement could overtake the delivery mark and leave the
   * messages to be redelivered when their lease runs out.
   */
  private readonly perSession = new KeyedSerialQueue();
  /** Publishes, committed in groups (see `insert`). */
  private readonly inserts = new GroupCommit<PendingInsert['item'], InsertResult>(
    (b) => this.insertBatch(b),
    {
      inFlight: INSERT_BATCHES_IN_FLIGHT,
      max: INSERT_BATCH_MAX,
      // A limit (queue full, too many queues) rolled the group back whole: each publish again alone.
      alone: (e) => {
        const code = (e as { code?: string }).code;
        return code === 'SBQ01' || code === 'SBQ02';
      },
    },
  );

  constructor(opts: PostgresOptions | PostgresDatabase) {
    this.db = opts instanceof PostgresDatabase ? opts : new PostgresDatabase(opts);
  }

  /**
   * Accounts and sessions read on every PubSub request, cached while this hub hears the database's
   * notices of their changes (`PUBSUB_AUTH_CHANNEL`, sent by triggers whoever changes them). Dropped on
   * every notice, on this store's own changes, and when the LISTEN connection comes back (notices may have
   * been missed); not used at all while that connection is down; an entry is read again after
   * AUTH_CACHE_MAX_AGE_MS in any case. A look-up that was in flight when a notice came is not cached.
   * Sessions that were not found are never cached. Session expiry is checked by the caller against the
   * record's expiresAt, cached or not.
   */
  private readonly auth = {
    live: false,
    generation: 0,
    accounts: new Map<string, { v: AccountRecord | undefined; at: number }>(),
    sessions: new Map<string, { v: SessionRecord; at: number }>(),
  };
  private unlistenAuth: (() => void) | undefined;

  open(): Promise<void> {
    return this.db.open();
  }
  close(): Promise<void> {
    this.unlistenAuth?.();
    this.auth.live = false;
    this.dropAuthCache();
    return this.db.close();
  }

  private dropAuthCache(): void {
    this.auth.generation++;
    this.auth.accounts.clear();
    this.auth.sessions.clear();
  }
  /**
   * True when cached entries may be used: the notices are heard. The first look-up starts listening (the
   * CLI, which looks up nothing, opens no LISTEN connection for it).
   */
  private authCacheOn(): boolean {
    this.unlistenAuth ??= this.db.listen(PUBSUB_AUTH_CHANNEL, {
      notify: () => this.dropAuthCache(),
      reconnected: () => {
        this.dropAuthCache();
        this.auth.live = true;
      },
    });
    return this.auth.live && this.db.listening();
  }
  private static fresh<V>(e: { v: V; at: number } | undefined): e is { v: V; at: number } {
    return e !== undefined && Date.now() - e.at < AUTH_CACHE_MAX_AGE_MS;
  }
  private static keep<V>(m: Map<string, { v: V; at: number }>, k: string, v: V): void {
    if (m.size >= AUTH_CACHE_MAX) m.clear();
    m.set(k, { v, at: Date.now() });
  }

  watch(w: QueueWatcher): () => void {
    return this.db.listen(PUBSUB_CHANNEL, {
      notify: (payload) => {
        let v: unknown;
        try {
          v = JSON.parse(payload);
        } catch {
          return;
        }
        if (!Array.isArray(v) || v[0] === this.origin) return;
        if (typeof v[1] === 'string' && typeof v[2] === 'string') w.ready(v[1], v[2]);
        else w.resync();
      },
      reconnected: () => w.resync(),
    });
  }

  private notifyPayload(accountSid: string, queue: string): string {
    const p = JSON.stringify([this.origin, accountSid, queue]);
    return Buffer.byteLength(p) <= MAX_NOTIFY_BYTES ? p : JSON.stringify([this.origin]);
  }

  async createAccount(a: AccountRecord): Promise<void> {
    this.dropAuthCache();
    await this.db.query(
      'INSERT INTO pubsub_accounts (sid, name, token_hash, token_salt, created_at, rotated_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [a.sid, a.name, a.tokenHash, a.tokenSalt, a.createdAt, a.rotatedAt],
    );
  }
  async getAccount(sid: string): Promise<AccountRecord | undefined> {
    const on = this.authCacheOn();
    const hit = on ? this.auth.accounts.get(sid) : undefined;
    if (PostgresPubSubStore.fresh(hit)) return hit.v;
    const gen = this.auth.generation;
    const [r] = await this.db.query<AccountRow>('SELECT * FROM pubsub_accounts WHERE sid = $1', [sid]);
    const v = r ? toAccount(r) : undefined;
    if (on && gen === this.auth.generation) PostgresPubSubStore.keep(this.auth.accounts, sid, v);
    return v;
  }
  async listAccounts(): Promise<AccountRecord[]> {
    return (
      await this.db.query<AccountRow>('SELECT * FROM pubsub_accounts ORDER BY created_at, sid COLLATE "C"')
    ).map(toAccount);
  }
  async updateAccountToken(sid: string, tokenHash: string, tokenSalt: string, at: number): Promise<boolean> {
    this.dropAuthCache();
    // A rotated AuthToken ends every session made with the old one (same statement: atomic).
    const [r] = await this.db.query<{ n: number }>(
      `WITH u AS (UPDATE pubsub_accounts SET token_hash = $1, token_salt = $2, rotated_at = $3 WHERE sid = $4 RETURNING sid),
            d AS (DELETE FROM pubsub_sessions WHERE account_sid IN (SELECT sid FROM u))
       SELECT COUNT(*) AS n FROM u`,
      [tokenHash, tokenSalt, at, sid],
    );
    return (r?.n ?? 0) > 0;
  }
  async deleteAccount(sid: string): Promise<boolean> {
    this.dropAuthCache();
    const r = await this.db.query('DELETE FROM pubsub_accounts WHERE sid = $1 RETURNING sid', [sid]);
    return r.length > 0;
  }

  async createSession(s: SessionRecord, maxPerAccount: number, now: number): Promise<void> {
    await this.db.tx(async (q) => {
      // One session creation at a time per account, so that the limit holds across hubs.
      await q('SELECT 1 FROM pubsub_accounts WHERE sid = $1 FOR NO KEY UPDATE', [s.accountSid]);
      const [c] = await q<{ n: number }>(
        'SELECT COUNT(*) AS n FROM (SELECT 1 FROM pubsub_sessions WHERE account_sid = $1 AND expires_at > $2 LIMIT $3) x',
        [s.accountSid, now, maxPerAccount],
      );
      const n = c?.n ?? 0;
      if (n >= maxPerAccount) throw tooManySessionsError(s.accountSid, n, maxPerAccount);
      await q(
        'INSERT INTO pubsub_sessions (token_hash, account_sid, created_at, expires_at) VALUES ($1, $2, $3, $4)',
        [s.tokenHash, s.accountSid, s.createdAt, s.expiresAt],
      );
    });
  }
  async getSession(tokenHash: string): Promise<SessionRecord | undefined> {
    const on = this.authCacheOn();
    const hit = on ? this.auth.sessions.get(tokenHash) : undefined;
    if (PostgresPubSubStore.fresh(hit)) return hit.v;
    const gen = this.auth.generation;
    const [r] = await this.db.query<SessionRow>(
      'SELECT token_hash, account_sid, created_at, expires_at FROM pubsub_sessions WHERE token_hash = $1',
      [tokenHash],
    );
    const v = r ? toSession(r) : undefined;
    if (v && on && gen === this.auth.generation) PostgresPubSubStore.keep(this.auth.sessions, tokenHash, v);
    return v;
  }

  /**
   * Group commit. A publish made while fewer than INSERT_BATCHES_IN_FLIGHT batches are running goes at
   * once; the publishes made meanwhile wait and go together, in one statement (one transaction, one commit,
   * one WAL flush): a transaction that NOTIFYs holds a database-wide lock through its commit, so publishes
   * committed one by one are serialised behind each other's flush. Each publish still resolves only after
   * the statement that stored it has committed. If the batch fails on a limit (queue full, too many queues),
   * nothing of it was stored and each publish runs again alone, so only the one over the limit fails.
   */
  insert(m: StoredMessage, o: InsertOptions): Promise<InsertResult> {
    return this.inserts.add({ m, o });
  }

  private async insertBatch(batch: PendingInsert[]): Promise<void> {
    if (batch.length === 1) {
      const p = batch[0]!;
      p.resolve(await this.insertOne(p.item.m, p.item.o));
      return;
    }
    // Queue rows are locked in (account, queue) order, the order every hub's batches and the count
    // triggers use, so two hubs' batches do not deadlock. The sort is stable: FIFO within a queue holds.
    const sorted = [...batch].sort(({ item: a }, { item: b }) =>
      a.m.accountSid === b.m.accountSid
        ? a.m.queue < b.m.queue
          ? -1
          : a.m.queue > b.m.queue
            ? 1
            : 0
        : a.m.accountSid < b.m.accountSid
          ? -1
          : 1,
    );
    const col = <T>(f: (p: PendingInsert['item']) => T) => sorted.map((p) => f(p.item));
    const rows = await this.db.query<{ ord: number; dup: string | null }>(
      `SELECT x.ord::int AS ord, pubsub_insert(x.id, x.account, x.queue, x.payload, x.bytes, x.created, x.expires, x.now,
                x.dkey, x.dexp, x.maxlen, x.maxq, $14, x.notify) AS dup
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::bigint[],
                   $8::bigint[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::text[])
            WITH ORDINALITY AS x(id, account, queue, payload, bytes, created, expires, now, dkey, dexp, maxlen, maxq, notify, ord)
       ORDER BY x.ord`,
      [
        col((p) => p.m.id),
        col((p) => p.m.accountSid),
        col((p) => p.m.queue),
        col((p) => encodeMessage(p.m.message)),
        col((p) => p.m.bytes),
        col((p) => p.m.createdAt),
        col((p) => p.m.expiresAt),
        col((p) => p.o.now),
        col((p) => p.o.dedup?.key ?? null),
        col((p) => p.o.dedup?.expiresAt ?? null),
        col((p) => p.o.maxQueueLength),
        col((p) => p.o.maxQueuesPerAccount),
        col((p) => this.notifyPayload(p.m.accountSid, p.m.queue)),
        PUBSUB_CHANNEL,
      ],
    );
    const dup = new Map(rows.map((r) => [r.ord, r.dup]));
    for (const [i, p] of sorted.entries()) {
      const d = dup.get(i + 1) ?? null;
      p.resolve(d === null ? { stored: true } : { stored: false, duplicateOf: d });
    }
  }

  private async insertOne(m: StoredMessage, o: InsertOptions): Promise<InsertResult> {
    let dup: string | null;
    try {
      const [r] = await this.db.query<{ dup: string | null }>(
        'SELECT pubsub_insert($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) AS dup',
        [
          m.id,
          m.accountSid,
          m.queue,
          encodeMessage(m.message),
          m.bytes,
          m.createdAt,
          m.expiresAt,
          o.now,
          o.dedup?.key ?? null,
          o.dedup?.expiresAt ?? null,
          o.maxQueueLength,
          o.maxQueuesPerAccount,
          PUBSUB_CHANNEL,
          this.notifyPayload(m.accountSid, m.queue),
        ],
      );
      dup = r?.dup ?? null;
    } catch (e) {
      const code = (e as { code?: string }).code;
      const n = Number((e as Error).message);
      if (code === 'SBQ01') throw queueFullError(m.queue, n, o.maxQueueLength);
      if (code === 'SBQ02') throw tooManyQueuesError(m.accountSid, n, o.maxQueuesPerAccount);
      throw e;
    }
    return dup === null ? { stored: true } : { stored: false, duplicateOf: dup };
  }

  async claim(
    accountSid: string,
    queue: string,
    session: string,
    limit: number,
    now: number,
    leaseUntil: number,
  ): Promise<StoredMessage[]> {
    if (limit <= 0) return [];
    // Rows another hub is claiming right now are skipped, not waited for: competing consumers.
    const rows = await this.db.query<SeqRow>(
      `WITH c AS (
         SELECT seq FROM pubsub_messages
         WHERE account_sid = $1 AND queue = $2 AND expires_at > $3 AND (lease_until IS NULL OR lease_until <= $3)
         ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED)
       UPDATE pubsub_messages m SET lease_session = $5, lease_until = $6, deliveries = m.deliveries + 1
       FROM c, ${NO_FLUSH_WAIT} WHERE m.seq = c.seq
       RETURNING ${MSG_COLS.replace(/(\w+)/g, 'm.$1')}`,
      [accountSid, queue, now, limit, pendingLease(session), leaseUntil],
    );
    return rows.sort((a, b) => a.seq - b.seq).map(toMessage);
  }

  async markDelivered(ids: string[], session: string): Promise<void> {
    if (ids.length === 0) return;
    await this.perSession.run(session, () =>
      this.db.query(
        `UPDATE pubsub_messages SET lease_session = $1 FROM ${NO_FLUSH_WAIT}
         WHERE id = ANY($2::text[]) AND lease_session = $3`,
        [session, ids, pendingLease(session)],
      ),
    );
  }

  async release(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    // Ready again at once, and a wake-up for every other hub waiting on those queues.
    await this.db.query(
      `WITH r AS (UPDATE pubsub_messages SET lease_session = NULL, lease_until = NULL
                  WHERE id = ANY($1::text[]) RETURNING account_sid, queue)
       SELECT pg_notify($2, json_build_array($3::text, account_sid, queue)::text)
       FROM (SELECT DISTINCT account_sid, queue FROM r) q`,
      [ids, PUBSUB_CHANNEL, this.origin],
    );
  }

  async ack(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const r = await this.db.query('DELETE FROM pubsub_messages WHERE id = ANY($1::text[]) RETURNING seq', [
      ids,
    ]);
    return r.length;
  }

  async ackSession(session: string, except: string[]): Promise<number> {
    const r = await this.perSession.run(session, () =>
      this.db.query(
        `DELETE FROM pubsub_messages USING ${NO_FLUSH_WAIT}
         WHERE lease_session = $1 AND NOT (id = ANY($2::text[])) RETURNING seq`,
        [session, except],
      ),
    );
    return r.length;
  }

  async expiredLeaseQueues(
    now: number,
    limit: number,
  ): Promise<Array<{ accountSid: string; queue: string }>> {
    const rows = await this.db.query<{ account_sid: string; queue: string }>(
      'SELECT DISTINCT account_sid, queue FROM pubsub_messages WHERE lease_until IS NOT NULL AND lease_until <= $1 LIMIT $2',
      [now, limit],
    );
    return rows.map((r) => ({ accountSid: r.account_sid, queue: r.queue }));
  }

  async resetExpiredLeases(now: number): Promise<number> {
    const r = await this.db.query(
      'UPDATE pubsub_messages SET lease_session = NULL, lease_until = NULL WHERE lease_until IS NOT NULL AND lease_until <= $1 RETURNING seq',
      [now],
    );
    return r.length;
  }

  async sweep(now: number): Promise<{ messages: number; sessions: number; dedup: number; queues: number }> {
    return this.db.tx(async (q) => {
      const count = async (sql: string, params: unknown[] = []) => (await q(sql, params)).length;
      return {
        messages: await count('DELETE FROM pubsub_messages WHERE expires_at <= $1 RETURNING seq', [now]),
        sessions: await count('DELETE FROM pubsub_sessions WHERE expires_at <= $1 RETURNING 1', [now]),
        dedup: await count('DELETE FROM pubsub_dedup WHERE expires_at <= $1 RETURNING 1', [now]),
        queues: await count('DELETE FROM pubsub_queues WHERE depth <= 0 RETURNING 1'),
      };
    });
  }

  async queueStats(accountSid?: string, limit = 1000): Promise<QueueStats[]> {
    const rows = await this.db.query<StatsRow>(
      `SELECT account_sid, queue, COUNT(*) AS depth, COUNT(lease_until) AS leased, MIN(created_at) AS oldest
       FROM pubsub_messages WHERE ($1::text IS NULL OR account_sid = $1)
       GROUP BY account_sid, queue ORDER BY account_sid COLLATE "C", queue COLLATE "C" LIMIT $2`,
      [accountSid ?? null, limit],
    );
    return rows.map(toStats);
  }

  async depth(accountSid: string, queue: string): Promise<number> {
    const [r] = await this.db.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM pubsub_messages WHERE account_sid = $1 AND queue = $2',
      [accountSid, queue],
    );
    return r?.n ?? 0;
  }
}
