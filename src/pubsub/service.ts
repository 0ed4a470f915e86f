import { createHash, randomUUID } from 'node:crypto';
import { type Clock, systemClock, type TimerHandle } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/logger.js';
import { KeyedSerialQueue } from '../core/serial.js';
import { PubSubLimitError, PubSubValidationError } from './errors.js';
import {
  formatCreated,
  formatDuration,
  type JsonValue,
  MAX_BATCH,
  newMessageId,
  type PubSubMessage,
} from './protocol.js';
import type { PubSubStore, QueueStats, StoredMessage } from './store.js';

/**
 * The queue service: durable competing-consumer queues with leases (seed 001 semantics).
 *
 * - publish: stored (committed) first, then handed to the oldest waiting subscriber of the queue.
 * - poll: acknowledges what this session received before, then takes up to 10 ready messages (FIFO) or
 *   waits for the first one until the timeout. Taken messages are leased to the session; the session's
 *   next poll acknowledges them; a lease that runs out makes them ready again (at-least-once).
 * - a poll cancelled before its response completed (client disconnect) returns its messages at once.
 */
export interface PubSubServiceOptions {
  store: PubSubStore;
  clock?: Clock;
  logger?: Logger;
  /** `Hostname` field of messages. */
  hostname: string;
  /** How long an unconsumed message is kept (seed: 7 days). */
  retentionMs: number;
  /** How long a delivered, unacknowledged message stays leased before it is delivered again. */
  leaseMs: number;
  /** Same queue + same body within this window is stored once. 0 disables. */
  dedupWindowMs: number;
  /** An `Idempotency-Key` is remembered this long. */
  idempotencyWindowMs: number;
  maxMessageBytes: number;
  maxQueueLength: number;
  maxQueuesPerAccount: number;
  maxPollsPerSession: number;
  maxTimeoutMs: number;
  /** After the first message of a poll, wait this long for more (up to 10) before closing the list. */
  lingerMs?: number;
  /** How often ran-out leases are checked for waiting subscribers. */
  leaseCheckMs?: number;
  /** How often expired messages, sessions and dedup keys are deleted. */
  sweepIntervalMs?: number;
  /** Minutes east of UTC for `Created` (default: the process time zone). */
  utcOffsetMinutes?: number;
}

export interface PublishInput {
  accountSid: string;
  queue: string;
  /** `Url` of the message (path + query without `session`). */
  url: string;
  formParams: Record<string, JsonValue>;
  /** Raw body for non-parameter publishes (Call XML). */
  body?: string;
  /** Content type + raw body: what "the same body" means for deduplication. */
  dedupContent: string;
  idempotencyKey?: string;
}

export interface PublishResult {
  id: string;
  duplicate: boolean;
  /** A waiting subscriber took the message before the publish returned. */
  delivered: boolean;
  message: PubSubMessage;
}

export interface PollInput {
  accountSid: string;
  queue: string;
  /** Lease owner: the session token hash (or an internal id). */
  session: string;
  timeoutMs: number;
  /** Called for each message as it is taken (stream it out). */
  onMessage: (m: PubSubMessage, index: number) => void;
  /** Acknowledge this session's earlier deliveries first (default true). */
  ackPrevious?: boolean;
  /** At most this many messages (1..10, default 10). */
  maxMessages?: number;
}

export interface Poll {
  /** Resolves with the messages of this poll when the list is complete (got some, or timed out). */
  readonly result: Promise<PubSubMessage[]>;
  /** True once the list is complete (result has resolved or is about to). */
  settled(): boolean;
  /** The response reached the client: the messages stay leased until acknowledged or the lease runs out. */
  delivered(): void;
  /** The client went away first: the messages are ready again at once. */
  cancel(): void;
  /** Delete the messages now (internal consumers that do not poll again, e.g. the Call XML bridge). */
  ack(): Promise<void>;
}

interface Waiter {
  session: string;
  accountSid: string;
  queue: string;
  capacity: number;
  messages: StoredMessage[];
  onMessage: (m: PubSubMessage, index: number) => void;
  closed: boolean;
  timer: TimerHandle | undefined;
  finish: () => void;
  deliver: (got: StoredMessage[]) => void;
}

export interface RecentPublish {
  id: string;
  accountSid: string;
  queue: string;
  at: number;
  bytes: number;
  delivered: boolean;
  duplicate: boolean;
}

const RECENT_MAX = 200;

export class PubSubService {
  readonly store: PubSubStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly dispatchQueue = new KeyedSerialQueue();
  private readonly pollsPerSession = new Map<string, number>();
  private readonly inflight = new Map<string, Set<string>>();
  private readonly pendingPublishes = new Map<string, boolean>();
  private readonly recent: RecentPublish[] = [];
  private leaseTimer: TimerHandle | undefined;
  private sweepTimer: TimerHandle | undefined;
  private unwatch: (() => void) | undefined;
  private stopped = false;
  private waiterCount = 0;
  /** Monotonic counters since start (Prometheus). */
  readonly counters = { published: 0, duplicates: 0, delivered: 0, returned: 0 };

  constructor(readonly opts: PubSubServiceOptions) {
    this.store = opts.store;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
  }

  /** Starts the lease and expiry timers. */
  start(): void {
    this.stopped = false;
    this.scheduleLeaseCheck();
    this.scheduleSweep();
    // A store shared by several hubs wakes this hub's waiting polls when another hub publishes.
    this.unwatch ??= this.store.watch?.({
      ready: (accountSid, queue) => this.wake(accountSid, queue),
      resync: () => {
        for (const list of this.waiters.values()) if (list[0]) this.wake(list[0].accountSid, list[0].queue);
      },
    });
  }

  private wake(accountSid: string, queue: string): void {
    this.dispatch(accountSid, queue).catch((e) =>
      this.log.warn({ err: errorMessage(e) }, 'pubsub dispatch after wake-up failed'),
    );
  }

  /** Stops timers and ends every waiting poll with what it has. */
  stop(): void {
    this.stopped = true;
    this.unwatch?.();
    this.unwatch = undefined;
    if (this.leaseTimer) this.clock.clearTimeout(this.leaseTimer);
    if (this.sweepTimer) this.clock.clearTimeout(this.sweepTimer);
    for (const list of this.waiters.values()) for (const w of [...list]) w.finish();
  }

  private key(accountSid: string, queue: string): string {
    return `${accountSid}\u0000${queue}`;
  }

  async publish(p: PublishInput): Promise<PublishResult> {
    const now = this.clock.now();
    const id = newMessageId();
    const message: PubSubMessage = {
      Hostname: this.opts.hostname,
      AccountSid: p.accountSid,
      Url: p.url,
      FormParams: p.formParams,
      Created: formatCreated(now, this.opts.utcOffsetMinutes),
      Id: id,
    };
    if (p.body !== undefined) message.Body = p.body;
    const bytes = Buffer.byteLength(JSON.stringify(message));
    if (bytes > this.opts.maxMessageBytes) {
      throw new PubSubLimitError(
        'PUBSUB_MESSAGE_TOO_LARGE',
        `message is ${bytes} bytes, more than pubsub.maxMessageBytes = ${this.opts.maxMessageBytes}`,
        { status: 413, field: 'body', details: { limit: this.opts.maxMessageBytes } },
      );
    }
    if (p.idempotencyKey !== undefined && (p.idempotencyKey.length === 0 || p.idempotencyKey.length > 200)) {
      throw new PubSubValidationError(
        'PUBSUB_BAD_IDEMPOTENCY_KEY',
        'Idempotency-Key must be 1 to 200 characters',
        { field: 'Idempotency-Key' },
      );
    }
    let dedup: { key: string; expiresAt: number } | undefined;
    if (p.idempotencyKey !== undefined)
      dedup = { key: `idem:${p.idempotencyKey}`, expiresAt: now + this.opts.idempotencyWindowMs };
    else if (this.opts.dedupWindowMs > 0) {
      dedup = {
        key: `body:${createHash('sha256').update(p.dedupContent).digest('hex')}`,
        expiresAt: now + this.opts.dedupWindowMs,
      };
    }
    const key = this.key(p.accountSid, p.queue);
    // A poll of this hub waits on the queue: the store may lease the message to it as it stores it (when the
    // queue holds nothing else), which saves the claim that would follow.
    const waiting = this.waiters.get(key)?.[0];
    const stored: StoredMessage = {
      id,
      accountSid: p.accountSid,
      queue: p.queue,
      message,
      bytes,
      createdAt: now,
      expiresAt: now + this.opts.retentionMs,
    };
    const res = await this.store.insert(stored, {
      now,
      dedup,
      maxQueueLength: this.opts.maxQueueLength,
      maxQueuesPerAccount: this.opts.maxQueuesPerAccount,
      ...(waiting && !waiting.closed
        ? { leaseTo: { session: waiting.session, leaseUntil: now + this.opts.leaseMs } }
        : {}),
    });
    if (!res.stored) {
      this.counters.duplicates++;
      this.remember({
        id: res.duplicateOf,
        accountSid: p.accountSid,
        queue: p.queue,
        at: now,
        bytes,
        delivered: false,
        duplicate: true,
      });
      return {
        id: res.duplicateOf,
        duplicate: true,
        delivered: false,
        message: { ...message, Id: res.duplicateOf },
      };
    }
    this.counters.published++;
    this.pendingPublishes.set(id, false);
    try {
      if (res.leased && waiting) await this.handOff(waiting, stored);
      await this.dispatch(p.accountSid, p.queue);
    } catch (e) {
      // The message is stored; a failed hand-off only delays it to the next poll.
      this.log.warn({ err: errorMessage(e) }, 'pubsub dispatch after publish failed');
    }
    const delivered = this.pendingPublishes.get(id) === true;
    this.pendingPublishes.delete(id);
    this.remember({
      id,
      accountSid: p.accountSid,
      queue: p.queue,
      at: now,
      bytes,
      delivered,
      duplicate: false,
    });
    return { id, duplicate: false, delivered, message };
  }

  private remember(r: RecentPublish): void {
    this.recent.push(r);
    if (this.recent.length > RECENT_MAX) this.recent.splice(0, this.recent.length - RECENT_MAX);
  }

  recentPublishes(limit = 50): RecentPublish[] {
    return this.recent.slice(-limit).reverse();
  }

  /**
   * Starts a long-poll. Throws limit/validation errors before anything is taken, so the caller can
   * answer with an error status; after it returns, the caller streams `onMessage` and awaits `result`.
   */
  async poll(p: PollInput): Promise<Poll> {
    if (!(p.timeoutMs >= 0) || p.timeoutMs > this.opts.maxTimeoutMs) {
      throw new PubSubValidationError(
        'PUBSUB_TIMEOUT_TOO_LONG',
        `timeout: ${formatDuration(p.timeoutMs)} is longer than the maximum pubsub.maxTimeout = ${formatDuration(this.opts.maxTimeoutMs)}`,
        { field: 'timeout' },
      );
    }
    const active = this.pollsPerSession.get(p.session) ?? 0;
    if (active >= this.opts.maxPollsPerSession) {
      throw new PubSubLimitError(
        'PUBSUB_TOO_MANY_POLLS',
        `this session already has ${active} long-polls open (limit pubsub.maxPollsPerSession = ${this.opts.maxPollsPerSession})`,
        { field: 'session' },
      );
    }
    this.pollsPerSession.set(p.session, active + 1);
    let inflight = this.inflight.get(p.session);
    if (!inflight) {
      inflight = new Set();
      this.inflight.set(p.session, inflight);
    }
    const sessionInflight = inflight;
    let released = false;
    const releaseSlot = () => {
      if (released) return;
      released = true;
      const n = (this.pollsPerSession.get(p.session) ?? 1) - 1;
      if (n <= 0) this.pollsPerSession.delete(p.session);
      else this.pollsPerSession.set(p.session, n);
    };
    // Acknowledge this session's completed deliveries. Not awaited before claiming: claims are leased as
    // pending and are never touched by the acknowledgement, so both share one group commit.
    const acking =
      p.ackPrevious !== false
        ? this.store
            .ackSession(p.session, [...sessionInflight])
            .then(() => undefined)
            .catch((e) => this.log.warn({ err: errorMessage(e) }, 'pubsub acknowledge failed'))
        : Promise.resolve();

    let resolve!: (v: PubSubMessage[]) => void;
    const result = new Promise<PubSubMessage[]>((r) => {
      resolve = r;
    });
    const linger = this.opts.lingerMs ?? 0;
    const key = this.key(p.accountSid, p.queue);
    const w: Waiter = {
      session: p.session,
      accountSid: p.accountSid,
      queue: p.queue,
      capacity: Math.max(1, Math.min(MAX_BATCH, p.maxMessages ?? MAX_BATCH)),
      messages: [],
      onMessage: p.onMessage,
      closed: false,
      timer: undefined,
      finish: () => {
        if (w.closed) return;
        w.closed = true;
        if (w.timer) this.clock.clearTimeout(w.timer);
        this.removeWaiter(key, w);
        resolve(w.messages.map((m) => m.message));
      },
      deliver: (got) => deliver(got),
    };
    const deliver = (got: StoredMessage[]) => {
      const first = w.messages.length === 0;
      this.counters.delivered += got.length;
      for (const m of got) {
        sessionInflight.add(m.id);
        const index = w.messages.length;
        w.messages.push(m);
        if (this.pendingPublishes.has(m.id)) this.pendingPublishes.set(m.id, true);
        try {
          w.onMessage(m.message, index);
        } catch (e) {
          this.log.warn({ err: errorMessage(e) }, 'pubsub subscriber write failed');
        }
      }
      if (w.messages.length >= w.capacity || linger <= 0) w.finish();
      else if (first) {
        if (w.timer) this.clock.clearTimeout(w.timer);
        w.timer = this.clock.setTimeout(() => w.finish(), linger);
      }
    };
    let list = this.waiters.get(key);
    if (!list) {
      list = [];
      this.waiters.set(key, list);
    }
    list.push(w);
    this.waiterCount++;
    await this.dispatch(p.accountSid, p.queue).catch((e) =>
      this.log.warn({ err: errorMessage(e) }, 'pubsub dispatch failed'),
    );
    await acking;
    if (this.stopped || p.timeoutMs <= 0) w.finish();
    // The timeout runs from when the ready messages were taken: with a store over the network, a timer
    // started before the first claim returned would close a short poll empty while messages are ready.
    else if (!w.closed && w.timer === undefined)
      w.timer = this.clock.setTimeout(() => w.finish(), p.timeoutMs);

    let settled = false;
    const settle = () => {
      settled = true;
      for (const m of w.messages) sessionInflight.delete(m.id);
      if (
        sessionInflight.size === 0 &&
        this.inflight.get(p.session) === sessionInflight &&
        !this.pollsPerSession.has(p.session)
      ) {
        this.inflight.delete(p.session);
      }
    };
    return {
      result,
      settled: () => w.closed,
      delivered: () => {
        if (settled) return;
        w.finish();
        releaseSlot();
        const ids = w.messages.map((m) => m.id);
        settle();
        if (ids.length > 0) {
          void this.store
            .markDelivered(ids, p.session)
            .catch((e) => this.log.warn({ err: errorMessage(e) }, 'pubsub markDelivered failed'));
        }
      },
      cancel: () => {
        if (settled) return;
        w.finish();
        releaseSlot();
        const ids = w.messages.map((m) => m.id);
        settle();
        this.counters.returned += ids.length;
        if (ids.length > 0) {
          void this.store
            .release(ids)
            .then(() => this.dispatch(p.accountSid, p.queue))
            .catch((e) => this.log.warn({ err: errorMessage(e) }, 'pubsub release failed'));
        }
      },
      ack: async () => {
        w.finish();
        releaseSlot();
        const ids = w.messages.map((m) => m.id);
        settle();
        await this.store.ack(ids);
      },
    };
  }

  private removeWaiter(key: string, w: Waiter): void {
    const list = this.waiters.get(key);
    if (!list) return;
    const i = list.indexOf(w);
    if (i >= 0) {
      list.splice(i, 1);
      this.waiterCount--;
    }
    if (list.length === 0) this.waiters.delete(key);
  }

  /**
   * A message the store leased to `w`'s session as it stored it: delivered to that poll, in the order of the
   * queue's dispatches. If the poll ended meanwhile, the lease is released and the message goes to the next
   * waiter (or the next poll) like any ready message.
   */
  private async handOff(w: Waiter, m: StoredMessage): Promise<void> {
    // Synchronously, in the insert's own continuation: a claim committed in the same batch resolves after
    // this insert, so a later message a dispatch claimed cannot reach the poll before this one (FIFO).
    if (!w.closed) {
      w.deliver([m]);
      return;
    }
    await this.store.release([m.id]);
  }

  /** Hands ready messages of a queue to its waiting subscribers, oldest waiter first. */
  private dispatch(accountSid: string, queue: string): Promise<void> {
    const key = this.key(accountSid, queue);
    if (!this.waiters.get(key)?.length) return Promise.resolve();
    return this.dispatchQueue.run(key, async () => {
      for (let guard = 0; guard < 10_000; guard++) {
        const w = this.waiters.get(key)?.[0];
        if (!w) return;
        const now = this.clock.now();
        const got = await this.store.claim(
          accountSid,
          queue,
          w.session,
          w.capacity - w.messages.length,
          now,
          now + this.opts.leaseMs,
        );
        if (got.length === 0) return;
        if (w.closed) {
          await this.store.release(got.map((m) => m.id));
          continue;
        }
        // A message handed to this poll by a publish while the claim was in flight took a place.
        const over = got.splice(Math.max(0, w.capacity - w.messages.length));
        if (got.length > 0) w.deliver(got);
        if (over.length > 0) await this.store.release(over.map((m) => m.id));
      }
    });
  }

  /** Number of subscribers waiting, per queue key or in total. */
  waiting(accountSid?: string, queue?: string): number {
    if (accountSid !== undefined && queue !== undefined)
      return this.waiters.get(this.key(accountSid, queue))?.length ?? 0;
    return this.waiterCount;
  }

  async queueStats(
    accountSid?: string,
  ): Promise<Array<QueueStats & { waiting: number; oldestAgeMs: number | null }>> {
    const now = this.clock.now();
    return (await this.store.queueStats(accountSid)).map((q) => ({
      ...q,
      waiting: this.waiting(q.accountSid, q.queue),
      oldestAgeMs: q.oldestCreatedAt === null ? null : Math.max(0, now - q.oldestCreatedAt),
    }));
  }

  /** Serves waiting subscribers of queues whose leases ran out. */
  async checkLeases(): Promise<void> {
    if (this.waiterCount === 0) return;
    const now = this.clock.now();
    const queues = await this.store.expiredLeaseQueues(now, 1000);
    for (const q of queues)
      if (this.waiting(q.accountSid, q.queue) > 0) await this.dispatch(q.accountSid, q.queue);
  }

  async sweep(): Promise<{ messages: number; sessions: number; dedup: number; queues: number }> {
    const r = await this.store.sweep(this.clock.now());
    if (r.messages > 0) this.log.info({ expired: r.messages }, 'pubsub expired messages deleted');
    return r;
  }

  private scheduleLeaseCheck(): void {
    if (this.stopped) return;
    const h = this.clock.setTimeout(() => {
      void this.checkLeases()
        .catch((e) => this.log.warn({ err: errorMessage(e) }, 'pubsub lease check failed'))
        .finally(() => this.scheduleLeaseCheck());
    }, this.opts.leaseCheckMs ?? 1000);
    h.unref?.();
    this.leaseTimer = h;
  }

  private scheduleSweep(): void {
    if (this.stopped) return;
    const h = this.clock.setTimeout(() => {
      void this.sweep()
        .catch((e) => this.log.warn({ err: errorMessage(e) }, 'pubsub sweep failed'))
        .finally(() => this.scheduleSweep());
    }, this.opts.sweepIntervalMs ?? 60_000);
    h.unref?.();
    this.sweepTimer = h;
  }
}

/** A private lease owner for internal consumers. */
export function internalSession(prefix: string): string {
  return `${prefix}:${randomUUID()}`;
}
