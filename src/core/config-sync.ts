import { type Clock, systemClock, type TimerHandle } from './clock.js';
import { ValidationError } from './errors.js';
import { type Logger, silentLogger } from './logger.js';

/**
 * Configuration changes across hubs (issue 15, docs/high-availability.md "Configuration changes across
 * hubs"). Each hub keeps its configuration in memory (devices and groups, templates, rules, the 911 location
 * table, schedules) and reads it again when another hub changed it.
 *
 * The store keeps one version number per area. A write to an area's tables bumps it in the same transaction
 * (a trigger, so every writer counts: a hub, the CLI, another process) and, on PostgreSQL, NOTIFYs the
 * area. Every hub reloads the area on the notification and also compares the versions every
 * `cluster.configPollMs`, so a lost notification still applies within that time.
 */
export const CONFIG_AREAS = [
  'devices',
  'templates',
  'rules',
  'locations',
  'schedules',
  'keys',
  'users',
] as const;
export type ConfigArea = (typeof CONFIG_AREAS)[number];

export function isConfigArea(s: string): s is ConfigArea {
  return (CONFIG_AREAS as readonly string[]).includes(s);
}

/** The versions store port. PostgreSQL is shared by the hubs of a site; SQLite serves one hub (and its CLI). */
export interface ConfigChanges {
  /** Bumps the version of `area` (the tables' triggers do this for every write; this is for other changes). */
  bump(area: ConfigArea): Promise<void>;
  /** The current version of every area that was ever bumped (an absent area is version 0). */
  versions(): Promise<Partial<Record<ConfigArea, number>>>;
  /**
   * Calls `cb(area)` when another writer changed `area` (a wake-up only: compare the versions), and
   * `cb(undefined)` when notifications may have been missed (the LISTEN connection came back). Answers the
   * unsubscribe function. A store without notifications calls it only for its own `bump`s.
   */
  watch(cb: (area: ConfigArea | undefined) => void): () => void;
}

declare module './module.js' {
  interface StorePorts {
    configChanges: ConfigChanges;
  }
}

export interface ConfigSyncOptions {
  changes: ConfigChanges;
  /** How often the versions are compared (a missed notification applies within this). Default 500 ms. */
  pollMs?: number;
  /** How long a notification waits for more of the same burst before the reload runs. Default 20 ms. */
  debounceMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export const CONFIG_SYNC_DEFAULTS = { pollMs: 500, debounceMs: 20 } as const;

function checkMs(name: string, v: number | undefined, def: number, min: number, max: number): number {
  const x = v ?? def;
  if (!Number.isInteger(x) || x < min || x > max)
    throw new ValidationError(
      'CONFIG_SYNC_BAD_OPTION',
      `${name} must be an integer ${min}..${max}, got ${String(v)}`,
      {
        field: name,
      },
    );
  return x;
}

type Reload = () => Promise<void>;

/**
 * Keeps this hub's in-memory configuration current with the store: on a notification (debounced) and every
 * `pollMs`, it reads the versions and runs the reloads of the areas whose version moved. One check runs at a
 * time (a request meanwhile runs one more check after it). A reload that fails is logged as an error and
 * runs again at the next check: the area's version is only recorded as seen once its reload succeeded.
 */
export class ConfigSync {
  private readonly changes: ConfigChanges;
  private readonly pollMs: number;
  private readonly debounceMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly reloads = new Map<ConfigArea, Reload[]>();
  /** Version of each area as of the last successful reload (or the start). */
  private readonly seen = new Map<ConfigArea, number>();
  private pollTimer: TimerHandle | undefined;
  private debounceTimer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private unwatch: (() => void) | undefined;
  private storeFailing = false;
  private readonly failures = new Map<ConfigArea, number>();
  /** Checks completed (tests and the bench wait on it). */
  checks = 0;

  constructor(o: ConfigSyncOptions) {
    this.changes = o.changes;
    this.pollMs = checkMs('pollMs', o.pollMs, CONFIG_SYNC_DEFAULTS.pollMs, 50, 60_000);
    this.debounceMs = checkMs('debounceMs', o.debounceMs, CONFIG_SYNC_DEFAULTS.debounceMs, 0, 5000);
    this.clock = o.clock ?? systemClock;
    this.log = o.logger ?? silentLogger;
  }

  /**
   * Records the current versions as seen. Call it before the first `load()` of the areas: a change made
   * between this and the load then only causes one reload more, never a missed one.
   */
  async prime(): Promise<void> {
    const v = await this.changes.versions();
    for (const a of CONFIG_AREAS) if (!this.seen.has(a)) this.seen.set(a, v[a] ?? 0);
  }

  /** Runs `reload` whenever `area` changed elsewhere; answers the unregister function. */
  register(area: ConfigArea, reload: Reload): () => void {
    const list = this.reloads.get(area) ?? [];
    list.push(reload);
    this.reloads.set(area, list);
    return () => {
      const l = this.reloads.get(area);
      if (l) l.splice(l.indexOf(reload) >>> 0, 1);
    };
  }

  /** Starts watching notifications and polling. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unwatch = this.changes.watch(() => this.request());
    this.armPoll();
  }

  stop(): void {
    this.stopped = true;
    this.unwatch?.();
    this.unwatch = undefined;
    if (this.pollTimer) this.clock.clearTimeout(this.pollTimer);
    if (this.debounceTimer) this.clock.clearTimeout(this.debounceTimer);
    this.pollTimer = undefined;
    this.debounceTimer = undefined;
  }

  /** Settles when the check in progress (and one requested meanwhile) is done. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private armPoll(): void {
    if (this.stopped) return;
    // At a fixed rate, not pollMs after the last check ended: a slow reload does not stretch the bound.
    this.pollTimer = this.clock.setTimeout(() => {
      this.pollTimer = undefined;
      this.armPoll();
      void this.check();
    }, this.pollMs);
    // The poll never keeps the process alive on its own (the hub's server does).
    this.pollTimer.unref?.();
  }

  /** A notification: check after the debounce (a burst of writes costs one reload). */
  private request(): void {
    if (this.stopped || this.debounceTimer) return;
    this.debounceTimer = this.clock.setTimeout(() => {
      this.debounceTimer = undefined;
      void this.check();
    }, this.debounceMs);
  }

  /** Compares the versions now and reloads what moved. Serialised: never two checks at once. */
  check(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.checkOnce();
        } while (this.again && !this.stopped);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private async checkOnce(): Promise<void> {
    let v: Partial<Record<ConfigArea, number>>;
    try {
      v = await this.changes.versions();
      if (this.storeFailing) this.log.info('configuration versions readable again');
      this.storeFailing = false;
    } catch (e) {
      // The store is unreachable: logged once, then quiet until it is back (it shows in /readyz). A check
      // still running when the hub stops may find the store closed: nothing to say then.
      if (!this.storeFailing && !this.stopped)
        this.log.error({ err: e }, 'configuration versions unreadable: changes made on other hubs wait');
      this.storeFailing = true;
      return;
    } finally {
      this.checks++;
    }
    for (const area of CONFIG_AREAS) {
      const now = v[area] ?? 0;
      const reloads = this.reloads.get(area) ?? [];
      // An area nobody registered stays unseen, so a module registering it later still reloads it.
      if (this.seen.get(area) === now || reloads.length === 0) continue;
      try {
        for (const r of reloads) await r();
        this.seen.set(area, now);
        const failed = this.failures.get(area);
        if (failed) this.log.info({ area, failed }, 'configuration reload succeeded again');
        this.failures.delete(area);
        this.log.debug({ area, version: now }, 'configuration reloaded');
      } catch (e) {
        if (this.stopped) return;
        const n = (this.failures.get(area) ?? 0) + 1;
        this.failures.set(area, n);
        // Loud: this hub keeps serving the previous configuration of the area until a reload succeeds.
        this.log.error(
          { err: e, area, attempt: n },
          `configuration reload of ${area} failed: this hub serves its previous ${area} until it succeeds (retried every ${this.pollMs} ms)`,
        );
      }
    }
  }
}
