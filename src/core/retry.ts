import { type Clock, sleep, systemClock } from './clock.js';
import { isSwitchboardError } from './errors.js';

/** The one backoff policy: capped exponential with full jitter. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
  /** 0..1: share of the delay that is randomised. 1 = full jitter. */
  jitter?: number;
  random?: () => number;
}

export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const factor = o.factor ?? 2;
  const base = Math.min(o.maxMs, o.initialMs * factor ** Math.max(0, attempt));
  const jitter = o.jitter ?? 0.5;
  const r = (o.random ?? Math.random)();
  return Math.round(base * (1 - jitter) + base * jitter * r);
}

export interface RetryOptions extends BackoffOptions {
  attempts: number;
  clock?: Clock;
  signal?: AbortSignal;
  /** Decides if an error is worth another attempt. Default: SwitchboardError.retryable. */
  retryable?: (e: unknown) => boolean;
  onRetry?: (e: unknown, attempt: number, delayMs: number) => void;
}

/** Runs `fn` up to `attempts` times, sleeping with backoff between retryable failures. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const isRetryable = o.retryable ?? ((e: unknown) => isSwitchboardError(e) && e.retryable);
  let last: unknown;
  for (let attempt = 0; attempt < o.attempts; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      last = e;
      if (attempt === o.attempts - 1 || !isRetryable(e) || o.signal?.aborted) throw e;
      const d = backoffDelay(attempt, o);
      o.onRetry?.(e, attempt, d);
      await sleep(d, { clock: o.clock ?? systemClock, ...(o.signal ? { signal: o.signal } : {}) });
    }
  }
  throw last;
}
