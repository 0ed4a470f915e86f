import { describe, expect, it } from 'vitest';
import { EventBus, type EventBusOptions } from '../../src/core/bus.js';
import { ManualClock } from '../../src/core/clock.js';
import { type HubEvent, matchesFilter } from '../../src/core/events.js';
import type { Logger } from '../../src/core/logger.js';
import type { EventDraft, EventListQuery, EventStore, EventWatcher } from '../../src/core/store.js';
import { StoreUnavailableError, StoreValueError } from '../../src/store/errors.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The event bus against an in-memory store that behaves like the contract says (test/store/core-contract.ts
 * proves the real backends do): one table several "hubs" share, numbered by the store (`store`) or by the
 * bus (`bus`), wake-ups to the other hubs, and switches to make it refuse writes or lose answers.
 */
class Table {
  rows: HubEvent[] = [];
  last = 0;
  watchers = new Map<MemStore, Set<EventWatcher>>();
}

class MemStore implements EventStore {
  down = false;
  /** The next insert commits but its answer is lost (the connection broke after COMMIT). */
  loseAnswer = false;
  /** Events the store can never take (a NUL in a text column). */
  refuse: (e: EventDraft) => boolean = () => false;
  /** Wake-ups are lost (the LISTEN connection was away). */
  deaf = false;
  writes = 0;
  constructor(
    readonly table: Table,
    readonly numbering: 'bus' | 'store' = 'store',
  ) {}
  private check(events: EventDraft[]): void {
    if (this.down) throw new StoreUnavailableError('test: down');
    if (events.some(this.refuse)) throw new StoreValueError(new Error('NUL'));
  }
  async append(events: HubEvent[]): Promise<void> {
    this.check(events);
    this.writes++;
    this.table.rows.push(...events.map((e) => structuredClone(e)));
    this.table.last = Math.max(this.table.last, ...events.map((e) => e.seq));
  }
  async insert(events: EventDraft[]): Promise<number[]> {
    this.check(events);
    this.writes++;
    const seqs = events.map((e) => {
      const old = this.table.rows.find((r) => r.id === e.id);
      if (old) return old.seq;
      const seq = ++this.table.last;
      this.table.rows.push(structuredClone({ ...e, seq }));
      return seq;
    });
    for (const [store, set] of this.table.watchers)
      if (store !== this && !store.deaf) for (const w of set) w.stored(this.table.last);
    if (this.loseAnswer) {
      this.loseAnswer = false;
      throw new StoreUnavailableError('test: answer lost after commit');
    }
    return seqs;
  }
  watch(w: EventWatcher): () => void {
    const set = this.table.watchers.get(this) ?? new Set<EventWatcher>();
    this.table.watchers.set(this, set);
    set.add(w);
    return () => set.delete(w);
  }
  async lastSeq(): Promise<number> {
    return this.table.last;
  }
  async list(q: EventListQuery): Promise<HubEvent[]> {
    if (this.down) throw new StoreUnavailableError('test: down');
    return this.table.rows
      .filter((e) => e.seq > (q.after ?? 0) && matchesFilter(e, q.filter))
      .sort((a, b) => a.seq - b.seq)
      .slice(0, q.limit ?? 100)
      .map((e) => structuredClone(e));
  }
  async prune(): Promise<number> {
    return 0;
  }
}

function logs(): Logger & { lines: Array<{ level: string; msg: string; obj: object }> } {
  const lines: Array<{ level: string; msg: string; obj: object }> = [];
  const at =
    (level: string) =>
    (a: object | string, b?: string): void => {
      lines.push(typeof a === 'string' ? { level, msg: a, obj: {} } : { level, msg: b ?? '', obj: a });
    };
  const l: Logger & { lines: typeof lines } = {
    lines,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: () => l,
  };
  return l;
}

const tick = () => new Promise<void>((r) => setImmediate(r));
const e = (i: number, source = 'ipo-1') => ({ source, type: 'call.started', data: { i } });

async function hubs(n: number, opts: EventBusOptions = {}, numbering: 'bus' | 'store' = 'store') {
  const table = new Table();
  const stores = Array.from({ length: n }, () => new MemStore(table, numbering));
  const buses = await Promise.all(stores.map((s) => EventBus.open(s, opts)));
  return { table, stores, buses };
}

describe('EventBus: local subscribers and the feed', () => {
  it("local subscribers get this hub's events inside emit, before any write; the feed gets them stored, with the global seq", async () => {
    const { stores, buses } = await hubs(1);
    const [bus] = buses as [EventBus];
    const local: Array<[number, string, number]> = [];
    bus.subscribe((ev) => local.push([ev.seq, ev.id, stores[0]!.writes]));
    const fed: HubEvent[] = [];
    bus.feed((ev) => fed.push(ev));
    const first = bus.emit(e(1));
    // Synchronous: delivered before emit returned and before the store saw a write; not numbered yet.
    expect(local).toEqual([[0, first.id, 0]]);
    expect(fed).toEqual([]);
    await bus.flush();
    expect(first.seq).toBe(1);
    await waitFor(() => fed.length === 1);
    expect(fed[0]).toMatchObject({ seq: 1, id: first.id, data: { i: 1 } });
    await bus.close();
  });

  it("two hubs on one store: each hub's local subscribers see only its own events; every feed sees both hubs' in one order", async () => {
    const { buses, table } = await hubs(2);
    const [a, b] = buses as [EventBus, EventBus];
    const localA: string[] = [];
    const localB: string[] = [];
    a.subscribe((ev) => localA.push(ev.source));
    b.subscribe((ev) => localB.push(ev.source));
    const feedA: HubEvent[] = [];
    const feedB: HubEvent[] = [];
    a.feed((ev) => feedA.push(ev));
    b.feed((ev) => feedB.push(ev));
    for (let i = 0; i < 30; i++) {
      (i % 3 ? a : b).emit(e(i, i % 3 ? 'A' : 'B'));
      if (i % 5 === 0) await tick();
    }
    await a.flush();
    await b.flush();
    await waitFor(() => feedA.length === 30 && feedB.length === 30);
    expect(localA).toEqual(Array(20).fill('A'));
    expect(localB).toEqual(Array(10).fill('B'));
    const stored = table.rows.map((r) => r.id);
    expect(feedA.map((x) => x.id)).toEqual(stored);
    expect(feedB.map((x) => x.id)).toEqual(stored);
    expect(feedA.map((x) => x.seq)).toEqual(stored.map((_, i) => i + 1));
    await a.close();
    await b.close();
  });

  it('a feed with `after` replays stored events, holds live ones, then continues: resumable on another hub without gap or duplicate', async () => {
    const { buses, table } = await hubs(2);
    const [a, b] = buses as [EventBus, EventBus];
    for (let i = 0; i < 2500; i++) a.emit(e(i));
    await a.flush();
    const got: number[] = [];
    const sub = b.feed((ev) => got.push(ev.seq), { after: 100, filter: { types: ['call.*'] } });
    // Emitted on both hubs while the replay runs: held, then delivered after it, once.
    a.emit(e(2500));
    b.emit(e(2501));
    await sub.ready;
    await a.flush();
    await b.flush();
    await waitFor(() => got.length === 2402);
    expect(got).toEqual(Array.from({ length: 2402 }, (_, i) => 101 + i));
    sub.unsubscribe();
    // A client that saw up to 1234 reconnects to the other hub.
    const again: number[] = [];
    const sub2 = a.feed((ev) => again.push(ev.seq), { after: 1234 });
    await sub2.ready;
    expect(again).toEqual(table.rows.map((r) => r.seq).filter((s) => s > 1234));
    await a.close();
    await b.close();
  });

  it('a lost wake-up: the feed finds the other hub’s events by its poll', async () => {
    const clock = new ManualClock();
    const { buses, stores } = await hubs(2, { clock, feedPollMs: 1000 });
    const [a, b] = buses as [EventBus, EventBus];
    stores[0]!.deaf = true;
    const fed: number[] = [];
    a.feed((ev) => fed.push(ev.data.i as number));
    b.emit(e(7));
    await b.flush();
    await tick();
    expect(fed).toEqual([]);
    await clock.advanceAsync(1000);
    await waitFor(() => fed.length === 1);
    expect(fed).toEqual([7]);
    await a.close();
    await b.close();
  });
});

describe('EventBus: a store that refuses writes', () => {
  it('keeps events in order while the store is down (alerts go on locally), retries with backoff, writes them when it is back', async () => {
    const clock = new ManualClock();
    const log = logs();
    const { buses, stores, table } = await hubs(1, {
      clock,
      logger: log,
      retryInitialMs: 100,
      retryMaxMs: 400,
    });
    const [bus] = buses as [EventBus];
    const store = stores[0]!;
    const local: number[] = [];
    bus.subscribe((ev) => local.push(ev.data.i as number));
    const fed: number[] = [];
    bus.feed((ev) => fed.push(ev.data.i as number));
    store.down = true;
    for (let i = 0; i < 5; i++) bus.emit(e(i));
    await tick();
    await tick();
    expect(local).toEqual([0, 1, 2, 3, 4]);
    expect(bus.unwritten).toBe(5);
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      'events not stored: the store refused; retrying',
    ]);
    // Retries happen on the clock (backoff), not in a tight loop.
    await clock.advanceAsync(5000);
    expect(table.rows).toEqual([]);
    for (let i = 5; i < 8; i++) bus.emit(e(i));
    store.down = false;
    await clock.advanceAsync(400);
    await waitFor(() => fed.length === 8);
    expect(table.rows.map((r) => r.data.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(table.rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(fed).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(bus.unwritten).toBe(0);
    expect(log.lines.some((l) => l.level === 'info' && /takes events again/.test(l.msg))).toBe(true);
    await bus.close();
  });

  it('bounded: past bufferMax the oldest unwritten events are dropped, with an error; the newest are written', async () => {
    const clock = new ManualClock();
    const log = logs();
    const { buses, stores, table } = await hubs(1, { clock, logger: log, bufferMax: 10, batchMax: 4 });
    const [bus] = buses as [EventBus];
    stores[0]!.down = true;
    for (let i = 0; i < 25; i++) bus.emit(e(i));
    await tick();
    expect(bus.unwritten).toBe(10);
    expect(bus.dropped).toBe(15);
    const errors = log.lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toMatch(/event buffer full/);
    stores[0]!.down = false;
    await bus.flush();
    expect(table.rows.map((r) => r.data.i)).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    expect(log.lines.some((l) => l.level === 'info' && /some were dropped/.test(l.msg))).toBe(true);
    await bus.close();
  });

  it('an event the store can never take is dropped alone, loudly; the rest of its batch is stored in order', async () => {
    const log = logs();
    const { buses, stores, table } = await hubs(1, { logger: log });
    const [bus] = buses as [EventBus];
    stores[0]!.refuse = (ev) => ev.data.i === 2;
    for (let i = 0; i < 5; i++) bus.emit(e(i));
    await bus.flush();
    expect(table.rows.map((r) => r.data.i)).toEqual([0, 1, 3, 4]);
    expect(bus.dropped).toBe(1);
    expect(log.lines.find((l) => l.level === 'error')?.msg).toMatch(/refused by the store: dropped/);
    await bus.close();
  });

  it('an answer lost after the commit: the retry stores nothing twice (idempotent by id), the seqs stay', async () => {
    const clock = new ManualClock();
    const { buses, stores, table } = await hubs(1, { clock });
    const [bus] = buses as [EventBus];
    const fed: number[] = [];
    bus.feed((ev) => fed.push(ev.seq));
    stores[0]!.loseAnswer = true;
    const evs = [bus.emit(e(0)), bus.emit(e(1))];
    await tick();
    await tick();
    expect(table.rows).toHaveLength(2);
    expect(bus.unwritten).toBe(2);
    bus.emit(e(2));
    await clock.advanceAsync(5000);
    await waitFor(() => fed.length === 3);
    expect(table.rows.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(evs.map((x) => x.seq)).toEqual([1, 2]);
    expect(fed).toEqual([1, 2, 3]);
    await bus.close();
  });

  it('SQLite-style numbering (one hub owns the store): emit numbers at once, the feed follows the writes', async () => {
    const { buses } = await hubs(1, {}, 'bus');
    const [bus] = buses as [EventBus];
    const local: number[] = [];
    bus.subscribe((ev) => local.push(ev.seq));
    const fed: number[] = [];
    bus.feed((ev) => fed.push(ev.seq));
    expect(bus.emit(e(0)).seq).toBe(1);
    expect(bus.emit(e(1)).seq).toBe(2);
    expect(local).toEqual([1, 2]);
    await bus.flush();
    await waitFor(() => fed.length === 2);
    expect(fed).toEqual([1, 2]);
    await bus.close();
  });

  it('refuses options that make no sense', async () => {
    const s = new MemStore(new Table());
    expect(() => new EventBus(s, 0, { bufferMax: 0 })).toThrow(/bufferMax/);
    expect(() => new EventBus(s, 0, { feedPollMs: 1.5 })).toThrow(/feedPollMs/);
    expect(() => new EventBus(s, 0, { bufferMax: 1000, batchMax: 2000 })).toThrow(/batchMax/);
    expect(() => new EventBus(s, 0, { writeDelayMs: -1 })).toThrow(/writeDelayMs/);
  });

  it('writeDelayMs: the events of many turns within the window go to the store in one write, in order', async () => {
    const s = new MemStore(new Table(), 'bus');
    const bus = new EventBus(s, 0, { writeDelayMs: 30 });
    const local: number[] = [];
    bus.subscribe((ev) => local.push(ev.seq));
    for (let i = 0; i < 5; i++) {
      bus.emit(e(i));
      await new Promise((r) => setImmediate(r));
    }
    // Subscribers had each event at once; the store nothing yet (five turns, one pending write).
    expect(local).toEqual([1, 2, 3, 4, 5]);
    expect(s.writes).toBe(0);
    await waitFor(() => s.writes > 0);
    expect(s.writes).toBe(1);
    expect(s.table.rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    // A reader flushes first: nothing pending is ever missing from a list.
    bus.emit(e(5));
    expect((await bus.list({})).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    await bus.close();
  });
});
