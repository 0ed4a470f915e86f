import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { isSwitchboardError } from './errors.js';
import {
  type EventEmitter,
  type EventFilter,
  type EventInput,
  type HubEvent,
  matchesFilter,
} from './events.js';
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

/**
 * The typed event bus. `emit` assigns the next sequence number, queues the event for storage (written in
 * one transaction per tick, so a burst of DevLink3 records costs one commit) and notifies subscribers
 * synchronously. `flush()` writes what is pending (one write at a time, in order); `close()` flushes.
 * Readers (`list`, `subscribe` with `after`) flush first, so nothing emitted is ever invisible.
 */
export class EventBus implements EventEmitter {
  private seq: number;
  private pending: HubEvent[] = [];
  private scheduled = false;
  /** The write in progress: flushes are serialised so events reach the store in seq order. */
  private writing: Promise<void> = Promise.resolve();
  private subs = new Set<{ filter: EventFilter | undefined; handler: EventHandler }>();
  private closed = false;

  /** Opens a bus over `store`, continuing its sequence. */
  static async open(
    store: EventStore,
    opts: { clock?: Clock; onError?: (e: unknown) => void } = {},
  ): Promise<EventBus> {
    return new EventBus(store, await store.lastSeq(), opts);
  }

  constructor(
    private readonly store: EventStore,
    lastSeq: number,
    private readonly opts: { clock?: Clock; onError?: (e: unknown) => void } = {},
  ) {
    this.seq = lastSeq;
  }

  get lastSeq(): number {
    return this.seq;
  }

  emit<D extends Record<string, unknown>>(input: EventInput<D>): HubEvent<D> {
    if (this.closed) throw new Error('event bus is closed');
    const clock = this.opts.clock ?? systemClock;
    const event: HubEvent<D> = {
      seq: ++this.seq,
      id: `evt_${randomUUID()}`,
      time: input.time ?? new Date(clock.now()).toISOString(),
      source: input.source,
      type: input.type,
      data: input.data,
    };
    this.pending.push(event as HubEvent);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
    for (const s of this.subs) {
      if (!matchesFilter(event, s.filter)) continue;
      try {
        s.handler(event as HubEvent);
      } catch (e) {
        this.opts.onError?.(e);
      }
    }
    return event;
  }

  /** Writes pending events to the store; settles when everything emitted before the call is written (or failed). */
  flush(): Promise<void> {
    this.scheduled = false;
    this.writing = this.writing.then(async () => {
      if (this.pending.length === 0) return;
      const batch = this.pending;
      this.pending = [];
      try {
        await this.store.append(batch);
      } catch (e) {
        if (isSwitchboardError(e) && e.code === 'STORE_CONFLICT') {
          // Another hub sharing the store used these sequence numbers: the batch moves past the store's
          // last one (kept, never dropped; live subscribers here saw the numbers they had). One sequence
          // across hubs is docs/high-availability.md's open item.
          const last = await this.store.lastSeq().catch(() => this.seq);
          const from = Math.max(last, this.seq);
          batch.forEach((ev, i) => {
            ev.seq = from + 1 + i;
          });
          this.seq = from + batch.length;
          this.opts.onError?.(
            new Error(`event sequence shared with another hub: ${batch.length} event(s) renumbered`),
          );
        }
        // Keep them so a later flush retries; report once.
        this.pending = batch.concat(this.pending);
        this.opts.onError?.(e);
      }
    });
    return this.writing;
  }

  /** Stored events, after writing pending ones (see EventStore.list). */
  async list(q: EventListQuery = {}): Promise<HubEvent[]> {
    await this.flush();
    return this.store.list(q);
  }

  /**
   * Subscribes to new events. With `after`, first replays stored events with seq > after (in order, no
   * gap and no duplicate with the live stream: live events are held until the replay is done), then
   * continues live.
   */
  subscribe(handler: EventHandler, opts: { filter?: EventFilter; after?: number } = {}): Subscription {
    if (opts.after === undefined) {
      const entry = { filter: opts.filter, handler };
      this.subs.add(entry);
      return { unsubscribe: () => this.subs.delete(entry), ready: Promise.resolve() };
    }
    let held: HubEvent[] | null = [];
    let cursor = opts.after;
    let active = true;
    const deliver = (e: HubEvent) => {
      if (!active || e.seq <= cursor) return;
      cursor = e.seq;
      handler(e);
    };
    const entry = {
      filter: opts.filter,
      handler: (e: HubEvent) => (held ? held.push(e) : deliver(e)),
    };
    this.subs.add(entry);
    const ready = (async () => {
      await this.flush();
      for (;;) {
        const page = await this.store.list({
          after: cursor,
          limit: 1000,
          ...(opts.filter ? { filter: opts.filter } : {}),
        });
        for (const e of page) deliver(e);
        if (page.length < 1000 || !active) break;
      }
      const rest = held ?? [];
      held = null;
      for (const e of rest) deliver(e);
    })();
    ready.catch(() => {});
    return {
      unsubscribe: () => {
        active = false;
        this.subs.delete(entry);
      },
      ready,
    };
  }

  get subscriberCount(): number {
    return this.subs.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    this.subs.clear();
  }
}
