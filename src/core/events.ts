/**
 * Events on the hub's bus. Every event is stored (append-only, monotonically increasing `seq`) and fans
 * out to subscribers: SSE clients, rules, PubSub topics, webhooks and the console.
 */
export interface HubEvent<D = Record<string, unknown>> {
  /**
   * The stored sequence number, one sequence for every hub sharing the store (resume with `after=seq`).
   * Assigned by the bus at emit on a store one hub owns (SQLite); by the store when it is stored on a shared
   * one (PostgreSQL), 0 until then: this hub's local subscribers see 0 and name the event by `id`.
   */
  seq: number;
  /** Globally unique id (`evt_…`). */
  id: string;
  /** ISO-8601 time the event was emitted. */
  time: string;
  /** What produced it: a device id (`ipo-1`), `hub`, `pubsub`, … */
  source: string;
  /** Dotted type name: `call.started`, `phone.subscribed`, `pbx.link`, `broadcast.delivery` … */
  type: string;
  data: D;
}

export type EventInput<D = Record<string, unknown>> = Pick<HubEvent<D>, 'source' | 'type' | 'data'> & {
  time?: string;
};

/** What producers are given: they emit, they never read. */
export interface EventEmitter {
  emit<D extends Record<string, unknown>>(event: EventInput<D>): HubEvent<D>;
}

export interface EventFilter {
  /** Exact types or prefixes ending in `.*` (`call.*`). Empty/undefined = all. */
  types?: string[];
  source?: string;
}

export function matchesFilter(e: Pick<HubEvent, 'type' | 'source'>, f: EventFilter | undefined): boolean {
  if (!f) return true;
  if (f.source && e.source !== f.source) return false;
  if (!f.types || f.types.length === 0) return true;
  return f.types.some((t) =>
    t.endsWith('.*') ? e.type.startsWith(t.slice(0, -1)) : t === '*' || e.type === t,
  );
}
