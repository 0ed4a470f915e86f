import { performance } from 'node:perf_hooks';
import { type Clock, systemClock, type TimerHandle } from './clock.js';
import { errorMessage, ValidationError } from './errors.js';
import { type Logger, silentLogger } from './logger.js';

/**
 * Singleton work across hubs (issue 15, docs/high-availability.md "Singleton work"): a named lease with a
 * fencing token. One hub holds `ipoffice:<device>` and keeps the DevLink3 link, one holds `broadcast:<id>`
 * and delivers it, one holds `scheduler` … When the holder dies its lease runs out (the database's clock,
 * never a hub's) and another hub takes it with a new, larger token.
 *
 * Why lease rows and not advisory locks: a row can be seen (`/readyz`, the console), survives a PostgreSQL
 * failover to a replica, works through a transaction pooler, and carries a token that fences a paused or
 * partitioned former holder: its writes can be refused by comparing tokens.
 */
export interface Lease {
  name: string;
  /** The holding hub's instance id. */
  holder: string;
  /** Fencing token: grows by one at every change of holder, never reused for the name. */
  token: number;
  /** When the lease runs out unless renewed (ISO, the store's clock). */
  expiresAt: string;
}

export interface AcquireOptions {
  /**
   * Take an expired lease only when it has been expired this long (ms). A standby that is ready to take
   * over asks with 0, any other hub with more, so the standby wins the race.
   */
  graceMs?: number;
}

/** The lease store port: every hub of a site shares one (PostgreSQL); a lone SQLite hub has its own. */
export interface LeaseStore {
  /**
   * Acquires or renews `name` for `holder` for `ttlMs`, in one atomic step on the store's clock. Answers the
   * fencing token when `holder` holds the lease afterwards, `undefined` when another holder has it.
   */
  acquire(name: string, holder: string, ttlMs: number, o?: AcquireOptions): Promise<number | undefined>;
  /** Gives the lease up now (only if `holder` holds it), so another hub need not wait for it to run out. */
  release(name: string, holder: string): Promise<void>;
  /** True when `holder` still holds `name` with `token` and it has not run out (a fencing check). */
  holds(name: string, holder: string, token: number): Promise<boolean>;
  /** Every lease row (held or run out), by name. */
  list(prefix?: string): Promise<Lease[]>;
}

declare module './module.js' {
  interface StorePorts {
    leases: LeaseStore;
  }
}

export const LEASE_NAME_MAX = 200;

/** Throws LEASE_NAME_INVALID for an empty or over-long name (names are ours; a bad one is a bug). */
export function checkLeaseName(name: string): void {
  if (name.length === 0 || name.length > LEASE_NAME_MAX)
    throw new ValidationError('LEASE_NAME_INVALID', `lease name must be 1..${LEASE_NAME_MAX} characters`, {
      field: 'name',
    });
}

export interface ClusterOptions {
  store: LeaseStore;
  /** This hub's instance id (cluster.instanceName or hostname-pid-random). */
  instanceId: string;
  /** How long a lease lasts without renewal. Default 3000 ms (a dead holder is replaced within ≈ ttl + renew). */
  ttlMs?: number;
  /** How often a held lease is renewed and a free one tried. Default 1000 ms; must be < ttlMs / 2. */
  renewMs?: number;
  clock?: Clock;
  /** Monotonic milliseconds for self-fencing (a wall-clock jump must not extend a lease). */
  monotonic?: () => number;
  logger?: Logger;
}

export const CLUSTER_DEFAULTS = { ttlMs: 3000, renewMs: 1000 } as const;

/** What a holder's work gets: its token, and a signal aborted the moment the lease is lost or given up. */
export interface LeaseGrant {
  name: string;
  token: number;
  signal: AbortSignal;
}

export interface HoldOptions {
  /** Called when this hub gets the lease (again). May return a function run when it is lost. */
  onAcquired(grant: LeaseGrant): void | (() => void | Promise<void>) | Promise<void | (() => void)>;
  /** Grace given to other candidates (see AcquireOptions.graceMs); evaluated at every attempt. */
  graceMs?: () => number;
  /** Called when an attempt did not get the lease (another hub holds it). */
  onMissed?: () => void;
  /**
   * Keep the work running while the store cannot be reached (only a refusal, another hub holding the lease
   * once the store answers, stops it). For work where two hubs doing it beats none doing it: the IP Office
   * link of the 911 path. Default false: the work stops itself (fencing).
   */
  keepOnStoreError?: boolean;
}

export interface HeldLease {
  name: string;
  held: boolean;
  token: number | null;
  /** Holding since (ISO), when held. */
  since: string | null;
  /** The last error renewing it, if the last attempt failed. */
  error: string | null;
}

interface Holding {
  name: string;
  opts: HoldOptions;
  token: number | undefined;
  since: number | undefined;
  /** Monotonic time of the last successful renewal's start (the lease runs at least ttl from there). */
  okAt: number;
  abort: AbortController | undefined;
  onLost: (() => void | Promise<void>) | undefined;
  timer: TimerHandle | undefined;
  fence: TimerHandle | undefined;
  error: string | null;
  stopped: boolean;
  busy: boolean;
  /** Held on without renewal (keepOnStoreError) while the store does not answer. */
  keeping: boolean;
}

/**
 * Holds named leases for this hub: tries each every `renewMs`, starts the work when it gets one, renews it,
 * and stops the work as soon as a renewal fails or is late (it fences itself: the work stops before the
 * lease can have run out in the store, measured from the start of the last successful renewal).
 */
export class Cluster {
  readonly instanceId: string;
  readonly ttlMs: number;
  readonly renewMs: number;
  private readonly store: LeaseStore;
  private readonly clock: Clock;
  private readonly mono: () => number;
  private readonly log: Logger;
  private readonly held = new Map<string, Holding>();
  private closed = false;

  constructor(o: ClusterOptions) {
    this.store = o.store;
    this.instanceId = o.instanceId;
    this.ttlMs = o.ttlMs ?? CLUSTER_DEFAULTS.ttlMs;
    this.renewMs = o.renewMs ?? CLUSTER_DEFAULTS.renewMs;
    if (!(this.ttlMs >= 100) || !(this.renewMs >= 10) || this.renewMs * 2 >= this.ttlMs)
      throw new ValidationError(
        'CLUSTER_BAD_TIMING',
        `cluster: leaseRenewMs (${this.renewMs}) must be at least 10 and less than half of leaseTtlMs (${this.ttlMs}, at least 100)`,
        { field: 'cluster.leaseRenewMs' },
      );
    this.clock = o.clock ?? systemClock;
    this.mono = o.monotonic ?? (() => performance.now());
    this.log = o.logger ?? silentLogger;
  }

  /**
   * Tries to hold `name` from now on (every renewMs) and runs `onAcquired` whenever this hub gets it.
   * Returns the function that stops trying and gives the lease up.
   */
  hold(name: string, opts: HoldOptions): () => Promise<void> {
    if (this.closed) return async () => {};
    if (this.held.has(name)) throw new Error(`lease ${name} is already held by this hub`);
    const h: Holding = {
      name,
      opts,
      token: undefined,
      since: undefined,
      okAt: 0,
      abort: undefined,
      onLost: undefined,
      timer: undefined,
      fence: undefined,
      error: null,
      stopped: false,
      busy: false,
      keeping: false,
    };
    this.held.set(name, h);
    void this.attempt(h);
    return () => this.unhold(h);
  }

  /** True while this hub holds `name` (and has not fenced itself). */
  holds(name: string): boolean {
    return this.held.get(name)?.token !== undefined;
  }

  status(): HeldLease[] {
    return [...this.held.values()].map((h) => ({
      name: h.name,
      held: h.token !== undefined,
      token: h.token ?? null,
      since: h.since !== undefined ? new Date(h.since).toISOString() : null,
      error: h.error,
    }));
  }

  private async attempt(h: Holding): Promise<void> {
    if (h.stopped || this.closed) return;
    h.busy = true;
    const startedAt = this.mono();
    let token: number | undefined;
    let failed = false;
    try {
      token = await this.answerWithin(
        this.store.acquire(h.name, this.instanceId, this.ttlMs, { graceMs: h.opts.graceMs?.() ?? 0 }),
      );
      h.error = null;
    } catch (e) {
      failed = true;
      h.error = errorMessage(e);
    }
    h.busy = false;
    if (h.stopped || this.closed) {
      // Stopped while the attempt ran: give back what it may just have taken.
      if (token !== undefined) await this.store.release(h.name, this.instanceId).catch(() => {});
      return;
    }
    if (token !== undefined && this.mono() - startedAt < this.ttlMs) {
      h.okAt = startedAt;
      if (h.keeping) this.log.info({ lease: h.name, token }, 'lease renewed again: the store answers');
      h.keeping = false;
      if (h.token !== token) {
        if (h.token !== undefined) await this.lose(h, 'the lease changed hands while held');
        await this.gain(h, token);
      }
      this.armFence(h);
    } else if (h.token !== undefined && token === undefined && failed && h.opts.keepOnStoreError) {
      if (!h.keeping)
        this.log.error(
          { lease: h.name, token: h.token, err: h.error },
          'lease not renewed (store unreachable): the work goes on until the store answers',
        );
      h.keeping = true;
    } else if (h.token !== undefined) {
      // Another hub has it, the store is unreachable, or the answer came too late to trust.
      const why =
        token !== undefined
          ? 'the renewal answered too late'
          : failed
            ? `the store did not answer: ${h.error}`
            : 'another hub holds it';
      await this.lose(h, why);
    } else if (!failed) {
      h.opts.onMissed?.();
    }
    if (!h.stopped && !this.closed) {
      h.timer = this.clock.setTimeout(() => {
        h.timer = undefined;
        void this.attempt(h);
      }, this.renewMs);
      h.timer.unref?.();
    }
  }

  /** A store that does not answer within a lease time counts as failed (the next attempt is scheduled). */
  private answerWithin<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = this.clock.setTimeout(
        () => reject(new Error(`the lease store did not answer within ${this.ttlMs} ms`)),
        this.ttlMs,
      );
      t.unref?.();
      p.then(
        (v) => {
          this.clock.clearTimeout(t);
          resolve(v);
        },
        (e: unknown) => {
          this.clock.clearTimeout(t);
          reject(e);
        },
      );
    });
  }

  private async gain(h: Holding, token: number): Promise<void> {
    h.token = token;
    h.since = this.clock.now();
    const abort = new AbortController();
    h.abort = abort;
    this.log.info({ lease: h.name, token, instance: this.instanceId }, 'lease acquired');
    try {
      const stop = await h.opts.onAcquired({ name: h.name, token, signal: abort.signal });
      h.onLost = typeof stop === 'function' ? stop : undefined;
    } catch (e) {
      this.log.error({ lease: h.name, err: errorMessage(e) }, 'work under a lease failed to start');
    }
  }

  /** The work must stop before the store could have given the lease to another hub. */
  private armFence(h: Holding): void {
    if (h.fence) this.clock.clearTimeout(h.fence);
    if (h.opts.keepOnStoreError) return;
    // Stop a little before the lease can have run out (the store's clock counts from a moment at or after
    // okAt, so stopping at okAt + ttl - margin is always early enough).
    const margin = Math.min(this.renewMs, this.ttlMs / 4);
    const wait = Math.max(0, h.okAt + this.ttlMs - margin - this.mono());
    h.fence = this.clock.setTimeout(() => {
      h.fence = undefined;
      if (h.token === undefined || h.stopped) return;
      // A timer can fire early against the monotonic clock (a test's clock): only monotonic time counts.
      if (this.mono() - h.okAt < this.ttlMs - margin) this.armFence(h);
      else void this.lose(h, 'no renewal in time (store slow or unreachable)');
    }, wait);
    h.fence.unref?.();
  }

  private async lose(h: Holding, why: string): Promise<void> {
    const token = h.token;
    h.token = undefined;
    h.since = undefined;
    if (h.fence) this.clock.clearTimeout(h.fence);
    h.fence = undefined;
    const abort = h.abort;
    h.abort = undefined;
    const onLost = h.onLost;
    h.onLost = undefined;
    if (token === undefined) return;
    this.log.warn({ lease: h.name, token, reason: why }, 'lease lost: work stopped');
    abort?.abort(new Error(`lease ${h.name} lost: ${why}`));
    try {
      await onLost?.();
    } catch (e) {
      this.log.error({ lease: h.name, err: errorMessage(e) }, 'work under a lease failed to stop');
    }
  }

  private async unhold(h: Holding): Promise<void> {
    if (h.stopped) return;
    h.stopped = true;
    if (h.timer) this.clock.clearTimeout(h.timer);
    h.timer = undefined;
    this.held.delete(h.name);
    const had = h.token !== undefined;
    await this.lose(h, 'given up');
    if (had) {
      await this.store.release(h.name, this.instanceId).catch((e: unknown) => {
        this.log.warn({ lease: h.name, err: errorMessage(e) }, 'lease not released (it runs out)');
      });
    }
  }

  /** Gives every lease up (hub shutdown): the other hubs take over at once instead of after the ttl. */
  async close(): Promise<void> {
    if (this.closed) return;
    const all = [...this.held.values()];
    await Promise.all(all.map((h) => this.unhold(h)));
    this.closed = true;
  }
}
