import { type Clock, systemClock, type TimerHandle } from './clock.js';

/**
 * Per-key serialization: at most one task runs at a time per key (one request at a time per phone),
 * tasks for different keys run concurrently. Pure scheduling, no I/O.
 */
export class KeyedSerialQueue {
  private tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(task, task);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  get activeKeys(): number {
    return this.tails.size;
  }
}

/**
 * Store writes made behind a life-safety path (a 911 alert, a broadcast): one at a time and in order (an
 * insert before its updates, on any backend), started at once when none is in flight (so an embedded store
 * still writes before the caller's next I/O). A failed write is reported to `onError` and never thrown at
 * the caller: the alert goes on, and the failure is loud in the log. `idle()` settles when every write
 * queued so far is done.
 */
export class WriteBehind {
  private chain: Promise<void> = Promise.resolve();
  private inFlight = 0;

  constructor(private readonly onError: (err: unknown, what: string) => void) {}

  write(what: string, op: () => Promise<void>): Promise<void> {
    const run = async () => {
      try {
        await op();
      } catch (e) {
        this.onError(e, what);
      } finally {
        this.inFlight--;
      }
    };
    this.inFlight++;
    this.chain = this.inFlight === 1 ? run() : this.chain.then(run);
    return this.chain;
  }

  idle(): Promise<void> {
    return this.chain;
  }

  get pending(): number {
    return this.inFlight;
  }
}

/**
 * When write-behind batches (events, broadcast delivery records, Avaya push content) go to the store: on the
 * next event-loop turn (`delayMs` 0), or `delayMs` later so that one transaction carries the records of many
 * turns (during a 1,000-phone alert a turn-by-turn flush was hundreds of small commits). Readers of these
 * stores flush or consult the pending records first, so the delay is invisible to them; a kill -9 loses at
 * most the records of the last `delayMs` (config `store.writeBehindMs`, docs/performance.md).
 */
export function scheduleWrite(delayMs: number, fn: () => void): void {
  if (delayMs > 0) setTimeout(fn, delayMs);
  else setImmediate(fn);
}

/** Work that waits for a slot: `high` in submission order; `low` behind every high task (see Semaphore). */
export type SlotPriority = 'high' | 'low';

interface Waiter {
  resume: () => void;
  high: boolean;
  deadline: number;
}

/** A FIFO that does not shift the whole array on every take (10,000 waiters stay linear). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(x: T): void {
    this.items.push(x);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
}

/**
 * Spreads the starts of many tasks over event-loop turns: at most `burst` proceed per turn, the rest wait
 * (in order) for the next turns. Starting 256 phone pushes in one turn took ~60 ms of CPU before the first
 * connect or answer could be handled; with bursts, the I/O of the first phones runs between them, so the
 * first phones are reached in milliseconds while the total work stays the same.
 */
export class TurnPacer {
  private started = 0;
  private armed = false;
  private readonly waiting = new Fifo<() => void>();

  constructor(private readonly burst: number) {
    if (!(burst >= 1)) throw new RangeError('burst must be >= 1');
  }

  /** Resolves at once while this turn has room, else in a later turn (first come, first served). */
  next(): Promise<void> | undefined {
    this.arm();
    if (this.started < this.burst && this.waiting.length === 0) {
      this.started++;
      return undefined;
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    setImmediate(() => {
      this.armed = false;
      this.started = 0;
      while (this.started < this.burst && this.waiting.length > 0) {
        this.started++;
        this.waiting.shift()!();
      }
      if (this.waiting.length > 0) this.arm();
    });
  }
}

/**
 * Bounded concurrency: runs at most `limit` tasks at once. `high` tasks (the default) start in submission
 * order. A `low` task starts only when no high task is running or waiting, so optional extras never take a
 * core from the alerts still in flight; one that has waited `maxLowWaitMs` queues like a high task (extras are
 * late, never starved). Slots are counted when granted, so the limit holds even while a woken task resumes.
 */
export class Semaphore {
  private active = 0;
  private activeHigh = 0;
  private readonly high = new Fifo<Waiter>();
  private readonly low = new Fifo<Waiter>();
  private timer: TimerHandle | undefined;
  private readonly clock: Clock;
  private readonly maxLowWaitMs: number;

  constructor(
    private readonly limit: number,
    opts: { clock?: Clock; maxLowWaitMs?: number } = {},
  ) {
    if (!(limit >= 1)) throw new RangeError('limit must be >= 1');
    this.clock = opts.clock ?? systemClock;
    this.maxLowWaitMs = opts.maxLowWaitMs ?? 2000;
  }

  async run<T>(task: () => Promise<T>, priority: SlotPriority = 'high'): Promise<T> {
    const w: Waiter = {
      resume: () => {},
      high: priority === 'high',
      deadline: this.clock.now() + this.maxLowWaitMs,
    };
    const free =
      this.active < this.limit &&
      this.high.length === 0 &&
      (w.high || (this.low.length === 0 && this.activeHigh === 0));
    if (free) this.grant(w);
    else {
      await new Promise<void>((resolve) => {
        w.resume = resolve;
        if (w.high) this.high.push(w);
        else {
          this.low.push(w);
          this.arm();
        }
      });
    }
    try {
      return await task();
    } finally {
      this.active--;
      if (w.high) this.activeHigh--;
      this.dispatch();
    }
  }

  /** Tasks running now and waiting for a slot (for tests and metrics). */
  get stats(): { active: number; activeHigh: number; waitingHigh: number; waitingLow: number } {
    return {
      active: this.active,
      activeHigh: this.activeHigh,
      waitingHigh: this.high.length,
      waitingLow: this.low.length,
    };
  }

  private grant(w: Waiter): void {
    this.active++;
    if (w.high) this.activeHigh++;
  }

  private dispatch(): void {
    const now = this.clock.now();
    for (let w = this.low.peek(); w !== undefined && w.deadline <= now; w = this.low.peek()) {
      this.low.shift();
      w.high = true;
      this.high.push(w);
    }
    while (this.active < this.limit) {
      let w = this.high.shift();
      if (w === undefined && this.activeHigh === 0) w = this.low.shift();
      if (w === undefined) break;
      this.grant(w);
      w.resume();
    }
  }

  /** A timer for the oldest low waiter's deadline (it is promoted even if no task finishes meanwhile). */
  private arm(): void {
    if (this.timer !== undefined) return;
    const first = this.low.peek();
    if (first === undefined) return;
    const h = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.dispatch();
        this.arm();
      },
      Math.max(0, first.deadline - this.clock.now()),
    );
    h.unref?.();
    this.timer = h;
  }
}

/** One caller's item in a group commit, settled by the commit that carries it. */
export interface GroupMember<I, O> {
  item: I;
  resolve: (v: O) => void;
  reject: (e: unknown) => void;
}

/** A member as the group commit keeps it: whether its caller has its answer. */
type Member<I, O> = GroupMember<I, O> & { settled: boolean };

/**
 * Group commit, self-clocked: an item added while fewer than `inFlight` commits run goes at once; items
 * added meanwhile wait and go together, up to `max` per commit, when one finishes. No timer and no added
 * delay: under load the groups grow by themselves, alone an item goes as soon as it comes. `commit` settles
 * every member of its group. If it throws an error for which `alone(error)` is true (one member's value,
 * not the store: nothing of the group was kept), the members it did not settle are committed again one by
 * one, in order, so that only the one at fault fails; any other error rejects them all. A member the commit
 * leaves unsettled is rejected, never left waiting. Pure scheduling, no I/O.
 */
export class GroupCommit<I, O> {
  private waiting: Array<Member<I, O>> = [];
  private running = 0;
  constructor(
    private readonly commit: (group: Array<GroupMember<I, O>>) => Promise<void>,
    private readonly opts: { inFlight: number; max: number; alone?: (e: unknown) => boolean },
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      const m: Member<I, O> = {
        item,
        settled: false,
        resolve: (v) => {
          m.settled = true;
          resolve(v);
        },
        reject: (e) => {
          m.settled = true;
          reject(e);
        },
      };
      this.waiting.push(m);
      this.start();
    });
  }

  private start(): void {
    if (this.running >= this.opts.inFlight || this.waiting.length === 0) return;
    const group = this.waiting.splice(0, Math.max(1, this.opts.max));
    this.running++;
    void this.run(group).finally(() => {
      this.running--;
      this.start();
    });
  }

  private async run(group: Array<Member<I, O>>): Promise<void> {
    try {
      await this.commit(group);
    } catch (e) {
      const left = group.filter((m) => !m.settled);
      if (left.length > 1 && this.opts.alone?.(e)) for (const m of left) await this.run([m]);
      else for (const m of left) m.reject(e);
      return;
    }
    for (const m of group)
      if (!m.settled) m.reject(new Error('group commit ended without settling this item'));
  }
}
