/**
 * Attempt limits for anything that checks a secret (sign-in, PubSub /auth, the Cisco authentication
 * URL). An attempt is *reserved before* the secret is checked, so N parallel guesses cannot all pass a
 * "blocked?" test and only be counted after their `await` (issue 13, item 5). A successful attempt gives
 * its reservation back. Memory is bounded: at most `maxKeys` keys, the oldest dropped first.
 */
export interface AttemptLimiterOptions {
  /** Attempts allowed per key within the window. */
  max: number;
  windowMs: number;
  now: () => number;
  maxKeys?: number;
}

export class AttemptLimiter {
  private readonly hits = new Map<string, number[]>();
  constructor(private readonly opts: AttemptLimiterOptions) {}

  private recent(key: string, now: number): number[] {
    const list = (this.hits.get(key) ?? []).filter((t) => t > now - this.opts.windowMs);
    if (list.length === 0) this.hits.delete(key);
    else this.hits.set(key, list);
    return list;
  }

  /** Milliseconds until `key` may make another attempt (0: allowed now). Reserves nothing. */
  blockedFor(key: string): number {
    const now = this.opts.now();
    const list = this.recent(key, now);
    if (list.length < this.opts.max) return 0;
    return Math.max(1, list[list.length - this.opts.max]! + this.opts.windowMs - now);
  }

  /** Reserves one attempt for `key`: 0 when reserved, else the milliseconds to wait (nothing reserved). */
  reserve(key: string): number {
    const wait = this.blockedFor(key);
    if (wait > 0) return wait;
    const list = this.hits.get(key) ?? [];
    list.push(this.opts.now());
    this.hits.delete(key);
    this.hits.set(key, list);
    const maxKeys = this.opts.maxKeys ?? 10_000;
    while (this.hits.size > maxKeys) {
      const oldest = this.hits.keys().next().value;
      if (oldest === undefined) break;
      this.hits.delete(oldest);
    }
    return 0;
  }

  /** Gives back the latest reservation of `key` (the attempt succeeded, so it is not a failure). */
  release(key: string): void {
    const list = this.hits.get(key);
    if (!list) return;
    list.pop();
    if (list.length === 0) this.hits.delete(key);
  }

  /** Forgets every attempt of `key`. */
  reset(key: string): void {
    this.hits.delete(key);
  }
}

/**
 * Reserves one attempt on each (limiter, key) pair, all or nothing: when one refuses, the ones already
 * reserved are released and the longest wait is answered. Returns 0 when all were reserved.
 */
export function reserveAll(pairs: Array<[AttemptLimiter, string]>): number {
  const done: Array<[AttemptLimiter, string]> = [];
  for (const [l, k] of pairs) {
    const wait = l.reserve(k);
    if (wait > 0) {
      for (const [dl, dk] of done) dl.release(dk);
      return Math.max(wait, ...pairs.map(([pl, pk]) => pl.blockedFor(pk)));
    }
    done.push([l, k]);
  }
  return 0;
}

/**
 * A global slow-down instead of a global lock-out: once more than `after` failures happened within the
 * window (from anyone), every further check waits `delayMs` first. An attacker spraying from many
 * addresses is slowed down; the real admin at the desk is slowed, never locked out.
 */
export class SlowDown {
  private readonly failures: AttemptLimiter;
  constructor(
    private readonly opts: { after: number; delayMs: number; windowMs: number; now: () => number },
  ) {
    this.failures = new AttemptLimiter({
      max: opts.after,
      windowMs: opts.windowMs,
      now: opts.now,
      maxKeys: 1,
    });
  }
  /** Records one failed check. */
  fail(): void {
    this.failures.reserve('*');
  }
  /** How long the next check should wait (0 while failures are below the threshold). */
  delayMs(): number {
    return this.failures.blockedFor('*') > 0 ? this.opts.delayMs : 0;
  }
}
