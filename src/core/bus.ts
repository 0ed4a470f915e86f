import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from './clock.js';
import { systemClock } from './clock.js';
import { isSwitchboardError, ValidationError } from './errors.js';
import {
  type EventEmitter,
  type EventFilter,
  type EventInput,
  type HubEvent,
  matchesFilter,
} from './events.js';
import { type Logger, silentLogger } from './logger.js';
import { backoffDelay } from './retry.js';
import { scheduleWrite } from './serial.js';
import type { EventListQuery, EventStore } from './store.js';

export type EventHandler = (e: HubEvent) => void;

export interface Subscription {
  unsubscribe(): void;
  /**
   * Settles when the replay of stored events (`after`) is done and the stream is live; rejects when the
   * replay failed (the store is unavailable): the subscriber then missed events and must say so.
   */
  ready: Promise<void>;
}

export interface EventBusOptions {
  clock?: Clock;
  /** A subscriber threw. */
  onError?: (e: unknown) => void;
  /** Where storage trouble is reported (a store that does not take writes, dropped events). */
  logger?: Logger;
  /**
   * Most events held in memory while the store does not take them (PostgreSQL unreachable). Past it the
   * oldest unwritten events are dropped, with an error in the log. Default 100,000.
   */
  bufferMax?: number;
  /** Most events per write. Default 1,000. */
  batchMax?: number;
  /** First and longest delay between attempts to write while the store refuses. Default 100 ms … 5 s. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /**
   * How often the feed of a shared store reads the table for other hubs' events, in case a wake-up was
   * lost (only while someone follows the feed). Default 2 s.
   */
  feedPollMs?: number;
  /** Write-behind delay of the event batches (`scheduleWrite`); 0 (the default) writes on the next turn. */
  writeDelayMs?: number;
}

export const EVENT_BUS_DEFAULTS = {
  bufferMax: 100_000,
  batchMax: 1000,
  retryInitialMs: 100,
  retryMaxMs: 5000,
  feedPollMs: 2000,
} as const;

type Limits = Required<Pick<EventBusOptions, keyof typeof EVENT_BUS_DEFAULTS>>;

function limitsOf(o: EventBusOptions): Limits {
  const out = { ...EVENT_BUS_DEFAULTS } as Limits;
  for (const k of Object.keys(EVENT_BUS_DEFAULTS) as Array<keyof Limits>) {
    const v = o[k] ?? EVENT_BUS_DEFAULTS[k];
    if (!Number.isSafeInteger(v) || v < 1)
      throw new ValidationError('EVENT_BUS_BAD_OPTION', `${k} must be a positive integer, got ${String(v)}`, {
        field: k,
      });
    out[k] = v;
  }
  if (out.batchMax > out.bufferMax)
    throw new ValidationError('EVENT_BUS_BAD_OPTION', 'batchMax must not exceed bufferMax', {
      field: 'batchMax',
    });
  return out;
}

interface LocalEntry {
  filter: EventFilter | undefined;
  handler: EventHandler;
}

interface FeedEntry extends LocalEntry {
  /** Highest seq handed to this subscriber. */
  cursor: number;
  /** Events the feed delivered while the replay ran; null once live. */
  held: HubEvent[] | null;
}

/** Log at most one error per this many dropped events in one outage. */
const DROP_LOG_EVERY = 10_000;
/** Report a write that keeps failing as an error every this many attempts. */
const FAIL_LOG_EVERY = 10;

/**
 * The typed event bus, with two kinds of subscribers:
 *
 * - `subscribe`: THIS hub's own events, delivered synchronously inside `emit`, before any storage. For
 *   the subscribers that act (the rule engine, the 911 service, the broadcast engine, drivers' waits,
 *   macros, the audit of hub actions): several hubs on one database each act on their own events only, so
 *   nothing runs once per hub, and the 911 path never waits for a database.
 * - `feed`: every STORED event, of every hub sharing the store, in seq order, once; with `after`, stored
 *   events are replayed first (no gap, no duplicate). For readers: SSE, the console. The feed is woken by
 *   this hub's writes, by the store's wake-ups (`EventStore.watch`: another hub's commit) and by a slow
 *   poll while someone follows it.
 *
 * Numbering: on a store one hub owns (`numbering: 'bus'`, SQLite) `emit` numbers events at once, as it
 * always did. On a shared store (`'store'`, PostgreSQL) the database numbers them at commit, one global
 * sequence; until then `seq` is 0 (local subscribers see 0 and use `id`), and the bus sets it on the same
 * object once stored. Either way the seq a reader sees (the feed, `list`, SSE ids) is the stored one: the
 * same on every hub and after a restart.
 *
 * Storage is behind: events are written in order, up to `batchMax` per write, one write per event-loop turn
 * (a burst of DevLink3 records costs one commit). A store that refuses (unreachable) keeps them in memory,
 * in order, retried with backoff, at most `bufferMax` (past it the oldest are dropped, loudly). An event
 * the store can never take (a NUL in its type) is dropped alone, loudly. `flush()` writes what is pending;
 * readers (`list`, `feed` with `after`) flush first; `close()` flushes.
 */
export class EventBus implements EventEmitter {
  /** Last seq assigned by this bus (bus numbering). */
  private seq: number;
  /** Highest stored seq the feed has delivered (or, with no feed subscriber, knows of). */
  private feedSeq: number;
  private pending: HubEvent[] = [];
  private scheduled = false;
  /** The write in progress: writes are serialised so events reach the store in order. */
  private writing: Promise<void> = Promise.resolve();
  private retryTimer: TimerHandle | undefined;
  private failures = 0;
  private droppedInOutage = 0;
  private droppedTotal = 0;
  private readonly local = new Set<LocalEntry>();
  private readonly feeds = new Set<FeedEntry>();
  /** Feed work (deliveries after a write, reads of the table), one at a time, in order. */
  private feedChain: Promise<void> = Promise.resolve();
  private tailQueued = false;
  private tailFailed = false;
  private pollTimer: TimerHandle | undefined;
  private readonly unwatch: (() => void) | undefined;
  private readonly limits: Limits;
  private readonly writeDelayMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private closed = false;

  /** Opens a bus over `store`, continuing its sequence. */
  static async open(store: EventStore, opts: EventBusOptions = {}): Promise<EventBus> {
    return new EventBus(store, await store.lastSeq(), opts);
  }

  constructor(
    private readonly store: EventStore,
    lastSeq: number,
    private readonly opts: EventBusOptions = {},
  ) {
    this.limits = limitsOf(opts);
    this.writeDelayMs = opts.writeDelayMs ?? 0;
    if (!Number.isSafeInteger(this.writeDelayMs) || this.writeDelayMs < 0)
      throw new ValidationError(
        'EVENT_BUS_BAD_OPTION',
        `writeDelayMs must be an integer ≥ 0, got ${String(opts.writeDelayMs)}`,
        { field: 'writeDelayMs' },
      );
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.seq = lastSeq;
    this.feedSeq = lastSeq;
    this.unwatch = store.watch?.({
      stored: (seq) => {
        if (seq <= this.feedSeq) return;
        if (this.feeds.size === 0) this.feedSeq = seq;
        else this.requestTail();
      },
      reconnected: () => this.requestTail(),
    });
  }

  /** The highest seq this hub has assigned or seen stored. */
  get lastSeq(): number {
    return Math.max(this.seq, this.feedSeq);
  }

  /** Events emitted here and not yet stored. */
  get unwritten(): number {
    return this.pending.length;
  }

  /** Events dropped unwritten since start (the buffer was full while the store refused writes). */
  get dropped(): number {
    return this.droppedTotal;
  }

  private get numbers(): boolean {
    return this.store.numbering === 'bus';
  }

  emit<D extends Record<string, unknown>>(input: EventInput<D>): HubEvent<D> {
    if (this.closed) throw new Error('event bus is closed');
    const event: HubEvent<D> = {
      seq: this.numbers ? ++this.seq : 0,
      id: `evt_${randomUUID()}`,
      time: input.time ?? new Date(this.clock.now()).toISOString(),
      source: input.source,
      type: input.type,
      data: input.data,
    };
    this.pending.push(event as HubEvent);
    this.bound();
    // While a retry is waiting the store is refusing: the retry writes these too.
    if (!this.scheduled && this.retryTimer === undefined) {
      this.scheduled = true;
      scheduleWrite(this.writeDelayMs, () => void this.flush());
    }
    for (const s of this.local) {
      if (!matchesFilter(event, s.filter)) continue;
      try {
        s.handler(event as HubEvent);
      } catch (e) {
        this.opts.onError?.(e);
      }
    }
    return event;
  }

  /** Drops the oldest unwritten events past `bufferMax`, loudly. */
  private bound(): void {
    const over = this.pending.length - this.limits.bufferMax;
    if (over <= 0) return;
    const gone = this.pending.splice(0, over);
    const before = this.droppedInOutage;
    this.droppedInOutage += over;
    this.droppedTotal += over;
    if (
      before === 0 ||
      Math.floor(before / DROP_LOG_EVERY) !== Math.floor(this.droppedInOutage / DROP_LOG_EVERY)
    )
      this.log.error(
        {
          dropped: this.droppedInOutage,
          bufferMax: this.limits.bufferMax,
          oldest: gone[0]?.id,
          type: gone[0]?.type,
        },
        'event buffer full while the store refuses writes: the oldest unwritten events are dropped (alerts go on; the event log will miss them)',
      );
  }

  /**
   * Writes pending events; settles when everything emitted before the call is written, or the store
   * refused (then a retry is scheduled with backoff and the events stay pending, in order).
   */
  flush(): Promise<void> {
    this.scheduled = false;
    if (this.retryTimer !== undefined) {
      this.clock.clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    this.writing = this.writing.then(() => this.writeAll());
    return this.writing;
  }

  private async writeAll(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.limits.batchMax);
      const left = await this.write(batch);
      if (left.length > 0) {
        this.pending = left.concat(this.pending);
        this.bound();
        this.scheduleRetry();
        return;
      }
    }
  }

  /** Writes a batch; answers the events still to write (the store refused), in order. */
  private async write(batch: HubEvent[]): Promise<HubEvent[]> {
    try {
      await this.store1(batch);
      this.wrote(batch);
      return [];
    } catch (e) {
      if (this.transient(e)) {
        this.refused(e, batch.length);
        return batch;
      }
      if (this.numbers && isSwitchboardError(e) && e.code === 'STORE_CONFLICT') {
        // Someone else wrote this store's sequence numbers (it should have one hub): move past them.
        const last = await this.store.lastSeq().catch(() => this.seq);
        this.seq = Math.max(last, this.seq);
        for (const ev of [...batch, ...this.pending]) ev.seq = ++this.seq;
        this.log.error(
          { err: e, events: batch.length },
          'event sequence taken by another writer: renumbered',
        );
        return batch;
      }
      // Something in the batch can never be stored: write the events one by one, to lose only that one.
      if (batch.length > 1) {
        for (let i = 0; i < batch.length; i++) {
          const left = await this.write([batch[i]!]);
          if (left.length > 0) return left.concat(batch.slice(i + 1));
        }
        return [];
      }
      const ev = batch[0]!;
      this.log.error(
        { err: e, id: ev.id, type: ev.type.slice(0, 200), source: ev.source.slice(0, 200) },
        'event refused by the store: dropped from the event log (subscribers here had it)',
      );
      this.droppedTotal++;
      return [];
    }
  }

  /** One write: `append` with the bus's numbers, or `insert` and take the store's. */
  private async store1(batch: HubEvent[]): Promise<void> {
    if (this.numbers) return this.store.append(batch);
    const seqs = await this.store.insert(batch.map(({ seq: _, ...draft }) => draft));
    batch.forEach((ev, i) => {
      ev.seq = seqs[i]!;
    });
  }

  /** A failure worth retrying: the store is unreachable, or something we cannot classify. */
  private transient(e: unknown): boolean {
    return !isSwitchboardError(e) || e.retryable;
  }

  private refused(e: unknown, n: number): void {
    this.failures++;
    const info = { err: e, unwritten: this.pending.length + n, attempt: this.failures };
    if (this.failures === 1) this.log.warn(info, 'events not stored: the store refused; retrying');
    else if (this.failures % FAIL_LOG_EVERY === 0) this.log.error(info, 'events still not stored; retrying');
  }

  private wrote(batch: HubEvent[]): void {
    if (this.failures > 0 || this.droppedInOutage > 0)
      this.log.info(
        { attempts: this.failures, dropped: this.droppedInOutage },
        this.droppedInOutage > 0
          ? 'the store takes events again; some were dropped while it refused (see the earlier errors)'
          : 'the store takes events again; the buffered events are written in order',
      );
    this.failures = 0;
    this.droppedInOutage = 0;
    this.onFeed(() => this.afterWrite(batch));
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    const delay = backoffDelay(this.failures - 1, {
      initialMs: this.limits.retryInitialMs,
      maxMs: this.limits.retryMaxMs,
    });
    const h = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.flush();
    }, delay);
    h.unref?.();
    this.retryTimer = h;
  }

  // ---- the feed

  private onFeed(job: () => Promise<void> | void): void {
    this.feedChain = this.feedChain.then(job).catch((e: unknown) => this.opts.onError?.(e));
  }

  /** Delivers one stored event to every feed subscriber (held while its replay runs). */
  private deliver(e: HubEvent): void {
    if (e.seq > this.feedSeq) this.feedSeq = e.seq;
    for (const f of this.feeds) {
      if (f.held) f.held.push(e);
      else this.hand(f, e);
    }
  }

  private hand(f: FeedEntry, e: HubEvent): void {
    if (e.seq <= f.cursor) return;
    f.cursor = e.seq;
    if (!matchesFilter(e, f.filter)) return;
    try {
      f.handler(e);
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  /** After this hub's write: hand the batch on directly when nothing can lie before it, else read. */
  private async afterWrite(batch: HubEvent[]): Promise<void> {
    const seqs = batch.map((e) => e.seq);
    const top = Math.max(...seqs);
    if (top <= this.feedSeq) return;
    if (this.feeds.size === 0) {
      this.feedSeq = top;
      return;
    }
    // Bus numbering: this hub is the only writer. Store numbering: only when the batch follows the last
    // seq delivered without a hole (another hub's events may have committed in between otherwise).
    const follows = seqs.every((s, i) => s === this.feedSeq + 1 + i);
    if (this.numbers || follows) {
      for (const e of [...batch].sort((a, b) => a.seq - b.seq)) if (e.seq > this.feedSeq) this.deliver(e);
      return;
    }
    await this.tail();
  }

  /** Queues one read of the table (coalesced: one queued read covers every wake-up before it starts). */
  private requestTail(): void {
    if (this.tailQueued || this.closed) return;
    this.tailQueued = true;
    this.onFeed(async () => {
      this.tailQueued = false;
      try {
        await this.tail();
        if (this.tailFailed) this.log.info('event feed reads the store again');
        this.tailFailed = false;
      } catch (e) {
        // The poll (or the next wake-up) reads again; said once per outage.
        if (!this.tailFailed) this.log.warn({ err: e }, 'event feed could not read the store; retrying');
        this.tailFailed = true;
      }
    });
  }

  /** Reads stored events past the feed's position and delivers them in order. */
  private async tail(): Promise<void> {
    if (this.feeds.size === 0) return;
    for (;;) {
      const page = await this.store.list({ after: this.feedSeq, limit: this.limits.batchMax });
      for (const e of page) this.deliver(e);
      if (page.length < this.limits.batchMax) return;
    }
  }

  private armPoll(): void {
    if (this.numbers || this.closed || this.pollTimer !== undefined || this.feeds.size === 0) return;
    const h = this.clock.setTimeout(() => {
      this.pollTimer = undefined;
      this.requestTail();
      this.armPoll();
    }, this.limits.feedPollMs);
    h.unref?.();
    this.pollTimer = h;
  }

  /** Stored events, after writing pending ones (see EventStore.list): every hub's. */
  async list(q: EventListQuery = {}): Promise<HubEvent[]> {
    await this.flush();
    return this.store.list(q);
  }

  /**
   * THIS hub's events, synchronously at `emit`, before they are stored (on a shared store `seq` is 0 then:
   * use `id`). For subscribers that act on events.
   */
  subscribe(handler: EventHandler, opts: { filter?: EventFilter } = {}): Subscription {
    const entry: LocalEntry = { filter: opts.filter, handler };
    this.local.add(entry);
    return { unsubscribe: () => this.local.delete(entry), ready: Promise.resolve() };
  }

  /**
   * Every stored event, of every hub sharing the store, in seq order, once. With `after`, first replays
   * stored events with seq > after (no gap and no duplicate with the live part: live events are held until
   * the replay is done), then continues live. For readers (SSE, the console), never for subscribers that act.
   */
  feed(handler: EventHandler, opts: { filter?: EventFilter; after?: number } = {}): Subscription {
    const entry: FeedEntry = {
      filter: opts.filter,
      handler,
      cursor: opts.after ?? this.feedSeq,
      held: opts.after === undefined ? null : [],
    };
    let active = true;
    this.feeds.add(entry);
    this.armPoll();
    const unsubscribe = () => {
      active = false;
      this.feeds.delete(entry);
      if (this.feeds.size === 0 && this.pollTimer !== undefined) {
        this.clock.clearTimeout(this.pollTimer);
        this.pollTimer = undefined;
      }
    };
    if (!entry.held) return { unsubscribe, ready: Promise.resolve() };
    const ready = (async () => {
      await this.flush();
      for (;;) {
        const page = await this.store.list({
          after: entry.cursor,
          limit: this.limits.batchMax,
          ...(opts.filter ? { filter: opts.filter } : {}),
        });
        for (const e of page) if (active) this.hand(entry, e);
        if (page.length < this.limits.batchMax || !active) break;
      }
      const rest = entry.held ?? [];
      entry.held = null;
      for (const e of rest) if (active) this.hand(entry, e);
    })();
    ready.catch(() => {});
    return { unsubscribe, ready };
  }

  get subscriberCount(): number {
    return this.local.size + this.feeds.size;
  }

  /** Writes what is pending (one attempt) and stops; events the store refused at this point are lost, loudly. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unwatch?.();
    for (const t of [this.retryTimer, this.pollTimer]) if (t !== undefined) this.clock.clearTimeout(t);
    this.pollTimer = undefined;
    await this.flush();
    if (this.retryTimer !== undefined) {
      this.clock.clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    if (this.pending.length > 0)
      this.log.error(
        { unwritten: this.pending.length },
        'events not stored at shutdown: the store refused them (the event log misses them)',
      );
    await this.feedChain;
    this.local.clear();
    this.feeds.clear();
  }
}
