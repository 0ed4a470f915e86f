import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import {
  type EventEmitter,
  type EventFilter,
  type EventInput,
  type HubEvent,
  matchesFilter,
} from './events.js';
import type { EventStore } from './store.js';

export type EventHandler = (e: HubEvent) => void;

export interface Subscription {
  unsubscribe(): void;
}

/**
 * The typed event bus. `emit` assigns the next sequence number, queues the event for storage (written in
 * one transaction per tick, so a burst of DevLink3 records costs one commit) and notifies subscribers
 * synchronously. `flush()` writes what is pending; `close()` flushes. Readers (`list`, `subscribe` with
 * `after`) always see pending events too, so nothing emitted is ever invisible.
 */
export class EventBus implements EventEmitter {
  private seq: number;
  private pending: HubEvent[] = [];
  private scheduled = false;
  private subs = new Set<{ filter: EventFilter | undefined; handler: EventHandler }>();
  private closed = false;

  constructor(
    private readonly store: EventStore,
    private readonly opts: { clock?: Clock; onError?: (e: unknown) => void } = {},
  ) {
    this.seq = store.lastSeq();
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
      setImmediate(() => this.flush());
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

  /** Writes pending events to the store. */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.store.append(batch);
    } catch (e) {
      // Keep them so a later flush retries; report once.
      this.pending = batch.concat(this.pending);
      this.opts.onError?.(e);
    }
  }

  /** Stored (and pending) events with seq > after. */
  list(q: { after?: number; limit?: number; filter?: EventFilter } = {}): HubEvent[] {
    this.flush();
    return this.store.list(q);
  }

  /**
   * Subscribes to new events. With `after`, first replays stored events with seq > after (in order, no
   * gap and no duplicate with the live stream), then continues live.
   */
  subscribe(handler: EventHandler, opts: { filter?: EventFilter; after?: number } = {}): Subscription {
    const entry = { filter: opts.filter, handler };
    if (opts.after !== undefined) {
      this.flush();
      let cursor = opts.after;
      for (;;) {
        const page = this.store.list({
          after: cursor,
          limit: 1000,
          ...(opts.filter ? { filter: opts.filter } : {}),
        });
        for (const e of page) handler(e);
        if (page.length < 1000) break;
        cursor = page[page.length - 1]!.seq;
      }
    }
    this.subs.add(entry);
    return { unsubscribe: () => this.subs.delete(entry) };
  }

  get subscriberCount(): number {
    return this.subs.size;
  }

  close(): void {
    this.flush();
    this.closed = true;
    this.subs.clear();
  }
}
