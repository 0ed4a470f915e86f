/** Time source, injectable so that tests can drive expiry, backoff and timeouts deterministically. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(h: TimerHandle): void;
}

export interface TimerHandle {
  unref?(): unknown;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Resolves after `ms` on the given clock; rejects with the signal's reason if aborted. */
export function sleep(ms: number, opts: { clock?: Clock; signal?: AbortSignal } = {}): Promise<void> {
  const clock = opts.clock ?? systemClock;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(opts.signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(h);
      reject(opts.signal?.reason);
    };
    const h = clock.setTimeout(() => {
      opts.signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A manually advanced clock for tests. */
export class ManualClock implements Clock {
  private t: number;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;
  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return { id } as TimerHandle;
  }
  clearTimeout(h: TimerHandle): void {
    this.timers.delete((h as { id: number }).id);
  }
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      let best: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= target && (!best || e[1].at < best[1].at)) best = e;
      if (!best) break;
      this.timers.delete(best[0]);
      this.t = best[1].at;
      best[1].fn();
    }
    this.t = target;
  }

  /**
   * Moves time forward like `advance`, but lets the asynchronous work each timer starts settle (one
   * macrotask turn, e.g. a store read) before it looks for the next due timer, so timers re-armed by that
   * work fire within the same advance.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.t + ms;
    const turn = () => new Promise<void>((r) => setImmediate(r));
    await turn();
    for (;;) {
      let best: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= target && (!best || e[1].at < best[1].at)) best = e;
      if (!best) break;
      this.timers.delete(best[0]);
      this.t = best[1].at;
      best[1].fn();
      await turn();
      await turn();
    }
    this.t = target;
    await turn();
  }
}
