import type { PubSubMessage } from './protocol.js';

/**
 * Storage contract of the PubSub relay. The SQLite implementation (store/sqlite/pubsub.ts) is the
 * embedded default; the PostgreSQL one (store/postgres/pubsub.ts) lets several hubs share the queues.
 * One contract test suite (test/store/pubsub-contract.ts) runs against every implementation.
 * All times are epoch milliseconds from the service's clock; the store never reads the wall clock.
 *
 * A message is *ready* (lease fields empty), or *leased* to a session until `leaseUntil`. A lease whose
 * time has passed counts as ready again. Acknowledged and expired messages are deleted.
 */

/**
 * A claimed message is leased to `pendingLease(session)` until its response completed (markDelivered);
 * only completed deliveries are acknowledged by the session's next poll. After a crash, a lease whose
 * response may never have reached the client is thus redelivered when it runs out, never acknowledged.
 */
export const pendingLease = (session: string): string => `${session}\u0001pending`;

/**
 * Wake-ups from other processes sharing the store. A hint only: the message is always in the store, and
 * a missed wake-up costs latency (the next poll or lease check finds it), never a message.
 */
export interface QueueWatcher {
  /** A message may have become ready in this queue (published or released by another process). */
  ready(accountSid: string, queue: string): void;
  /** Wake-ups may have been missed (the store's connection was lost and is back): re-check every queue. */
  resync(): void;
}

export interface AccountRecord {
  sid: string;
  name: string;
  /** scrypt hash of the AuthToken, hex. */
  tokenHash: string;
  tokenSalt: string;
  createdAt: number;
  rotatedAt: number | null;
}

export interface SessionRecord {
  /** sha256 of the session token, hex (tokens are random UUIDs: no slow hash needed). */
  tokenHash: string;
  accountSid: string;
  createdAt: number;
  expiresAt: number;
}

export interface StoredMessage {
  id: string;
  accountSid: string;
  queue: string;
  message: PubSubMessage;
  bytes: number;
  createdAt: number;
  expiresAt: number;
}

export interface InsertOptions {
  now: number;
  /** Dedup key (`idem:<Idempotency-Key>` or `body:<sha256>`) and until when it holds. */
  dedup?: { key: string; expiresAt: number };
  maxQueueLength: number;
  maxQueuesPerAccount: number;
  /**
   * A subscriber of this hub is waiting on the queue: when the queue holds no other message (so FIFO
   * cannot be broken), the message is stored already leased to this session (pending, as a claim leases
   * it), in the same transaction, and the result says `leased: true`; the caller hands it to that poll
   * without a claim. A backend may ignore it (then the message is stored ready and claimed as usual).
   */
  leaseTo?: { session: string; leaseUntil: number };
}

export type InsertResult = { stored: true; leased?: boolean } | { stored: false; duplicateOf: string };

export interface QueueStats {
  accountSid: string;
  queue: string;
  /** Messages stored (ready + leased). */
  depth: number;
  leased: number;
  oldestCreatedAt: number | null;
}

export interface PubSubStore {
  // accounts
  createAccount(a: AccountRecord): Promise<void>;
  getAccount(sid: string): Promise<AccountRecord | undefined>;
  listAccounts(): Promise<AccountRecord[]>;
  updateAccountToken(sid: string, tokenHash: string, tokenSalt: string, at: number): Promise<boolean>;
  /** Deletes the account with its sessions, messages and dedup entries. */
  deleteAccount(sid: string): Promise<boolean>;

  // sessions
  createSession(s: SessionRecord, maxPerAccount: number, now: number): Promise<void>;
  getSession(tokenHash: string): Promise<SessionRecord | undefined>;

  // messages
  /**
   * Stores a message durably (committed before the promise resolves) unless its dedup key is live.
   * Throws `PUBSUB_QUEUE_FULL` / `PUBSUB_TOO_MANY_QUEUES` limit errors atomically with the check.
   */
  insert(m: StoredMessage, opts: InsertOptions): Promise<InsertResult>;
  /** Leases up to `limit` ready, unexpired messages of a queue, oldest first, to `session`. */
  claim(
    accountSid: string,
    queue: string,
    session: string,
    limit: number,
    now: number,
    leaseUntil: number,
  ): Promise<StoredMessage[]>;
  /**
   * The response carrying these messages completed: from now on the session's next poll acknowledges
   * them. Until then a lease is "pending" and is never acknowledged, only redelivered when it runs out.
   */
  markDelivered(ids: string[], session: string): Promise<void>;
  /** Makes leased messages ready again at once (client went away before the response completed). */
  release(ids: string[]): Promise<void>;
  /** Deletes the given messages (acknowledged). */
  ack(ids: string[]): Promise<number>;
  /** Deletes every message whose delivery to `session` completed (see markDelivered), except `except`. */
  ackSession(session: string, except: string[]): Promise<number>;
  /** Queues that have a message whose lease ran out (so waiting subscribers can be served). */
  expiredLeaseQueues(now: number, limit: number): Promise<Array<{ accountSid: string; queue: string }>>;
  /** Clears ran-out leases so they are ready again; returns how many. */
  resetExpiredLeases(now: number): Promise<number>;
  /** Deletes expired messages, sessions and dedup entries (and forgets empty queues); returns counts. */
  sweep(now: number): Promise<{ messages: number; sessions: number; dedup: number; queues: number }>;
  queueStats(accountSid?: string, limit?: number): Promise<QueueStats[]>;
  depth(accountSid: string, queue: string): Promise<number>;

  /**
   * Backends shared by several processes tell the service when another process made a message ready
   * (an embedded single-process store has no such other writer and leaves this out). Returns a function
   * that stops watching.
   */
  watch?(watcher: QueueWatcher): () => void;
  /** Connects and migrates now (the first operation does it otherwise); throws `STORE_TOO_NEW`. */
  open?(): Promise<void>;
  /** Releases connections the store owns (not a database handed in by its owner). */
  close?(): Promise<void>;
}

declare module '../core/module.js' {
  interface StorePorts {
    pubsub: PubSubStore;
  }
}
