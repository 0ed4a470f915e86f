import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import { type Clock, systemClock, type TimerHandle } from '../../core/clock.js';
import { isTimeZone, nextRun, parseCron } from '../../core/cron.js';
import { ConflictError, errorMessage, NotFoundError, ValidationError } from '../../core/errors.js';
import type { EventEmitter } from '../../core/events.js';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import { assertValid } from './schema.js';

/**
 * Scheduled and recurring broadcasts: one-off at a time (`at`), or recurring by a 5-field cron rule in an
 * IANA time zone (`cron`, `timeZone`; see core/cron.ts). Stored, so they survive a restart. Missed runs
 * (the hub was down, or stalled) follow one policy (docs/broadcasts.md): a run missed by at most
 * `catchUpMinutes` is sent once, late (the newest missed occurrence, however many there were); older
 * missed occurrences are skipped, logged and reported as a `schedule.missed` event.
 */
export interface Schedule {
  id: string;
  name: string;
  /** The broadcast to send: the body of `POST /api/broadcasts` (title/text or template/vars, targets …). */
  broadcast: Record<string, unknown>;
  /** One-off: the instant to send at (ISO). */
  at: string | null;
  /** Recurring: a 5-field cron rule, evaluated in `timeZone`. */
  cron: string | null;
  timeZone: string;
  paused: boolean;
  /** Per-schedule override of the catch-up window (minutes; null: the configured default). */
  catchUpMinutes: number | null;
  /** The next run (null: a one-off that has run, or a rule with no future date). */
  nextRunAt: string | null;
  lastRunAt: string | null;
  lastBroadcastId: string | null;
  lastError: string | null;
  runs: number;
  missed: number;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
}

export interface ScheduleStore {
  list(): Promise<Schedule[]>;
  get(id: string): Promise<Schedule | undefined>;
  upsert(s: Schedule): Promise<void>;
  remove(id: string): Promise<boolean>;
  /**
   * Stores `s` only if its stored `nextRunAt` is still `dueAt` (a compare-and-set): the claim of one run.
   * Two hubs (or a hub and the one that took over from it) claiming the same due run: one gets true.
   */
  claimRun(s: Schedule, dueAt: string): Promise<boolean>;
}

const ID = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' });
const fields = {
  name: Type.String({ maxLength: 200 }),
  broadcast: Type.Record(Type.String(), Type.Unknown(), {
    description: 'The body of POST /api/broadcasts (title/text or template/vars, targets, priority …).',
  }),
  at: Type.Union([Type.String({ minLength: 10, maxLength: 40 }), Type.Null()], {
    description: 'One-off: ISO time to send at.',
  }),
  cron: Type.Union([Type.String({ minLength: 9, maxLength: 200 }), Type.Null()], {
    description: 'Recurring: minute hour day-of-month month day-of-week (e.g. "0 8 * * mon-fri").',
  }),
  timeZone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone of the cron rule.' }),
  paused: Type.Boolean(),
  catchUpMinutes: Type.Union([Type.Integer({ minimum: 0, maximum: 1440 }), Type.Null()], {
    description: 'Send a run missed by at most this many minutes once, late (default: the configured one).',
  }),
};
/** The optional fields of a schedule (create and edit alike). */
const optional = {
  name: Type.Optional(fields.name),
  at: Type.Optional(fields.at),
  cron: Type.Optional(fields.cron),
  timeZone: Type.Optional(fields.timeZone),
  paused: Type.Optional(fields.paused),
  catchUpMinutes: Type.Optional(fields.catchUpMinutes),
};
export const ScheduleInputSchema = Type.Object(
  { id: Type.Optional(ID), broadcast: fields.broadcast, ...optional },
  { additionalProperties: false },
);
export const SchedulePatchSchema = Type.Object(
  { broadcast: Type.Optional(fields.broadcast), ...optional },
  { additionalProperties: false },
);

export interface SchedulerDeps {
  store: ScheduleStore;
  /** Sends one run (validates the broadcast body as the API does); answers the broadcast id. */
  send: (broadcast: Record<string, unknown>, createdBy: string) => string;
  /** Checks a broadcast body without sending it (at create/edit time): throws ValidationError. */
  check?: (broadcast: Record<string, unknown>) => void;
  bus: EventEmitter;
  clock?: Clock;
  logger?: Logger;
  options?: Partial<SchedulerOptions>;
}

export interface SchedulerOptions {
  /** Default catch-up window for missed runs (minutes). */
  catchUpMinutes: number;
  /** Time zone of cron rules created without one. */
  defaultTimeZone: string;
  /** The timer never sleeps longer than this (a clock that jumps is noticed within it). */
  maxSleepMs: number;
  /** At most this many schedules. */
  maxSchedules: number;
}

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = {
  catchUpMinutes: 10,
  defaultTimeZone: 'UTC',
  maxSleepMs: 60_000,
  maxSchedules: 1000,
};

/** Missed occurrences counted at most (a minute rule after a year of downtime stops counting here). */
const MAX_MISSED_COUNT = 10_000;

export class Scheduler {
  readonly options: SchedulerOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private timer: TimerHandle | undefined;
  private started = false;

  constructor(private readonly deps: SchedulerDeps) {
    this.options = { ...DEFAULT_SCHEDULER_OPTIONS, ...(deps.options ?? {}) };
    if (!isTimeZone(this.options.defaultTimeZone))
      throw new ValidationError(
        'SCHEDULE_TIMEZONE_INVALID',
        `defaultTimeZone: ${JSON.stringify(this.options.defaultTimeZone)} is not a known time zone`,
        { field: 'timeZone' },
      );
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? silentLogger;
  }

  /** Handles runs missed while the hub was down (the policy above) and arms the timer. */
  async start(): Promise<void> {
    this.started = true;
    await this.tick();
  }

  stop(): void {
    this.started = false;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Schedules were changed by another hub or the CLI: the timer is armed again for the soonest run. */
  reload(): Promise<void> {
    return this.rearm();
  }

  async list(): Promise<Schedule[]> {
    return await this.deps.store.list();
  }

  async get(id: string): Promise<Schedule> {
    const s = await this.deps.store.get(id);
    if (!s)
      throw new NotFoundError('SCHEDULE_NOT_FOUND', `no schedule ${JSON.stringify(id)}`, { field: 'id' });
    return s;
  }

  async create(input: unknown, createdBy: string): Promise<Schedule> {
    assertValid(ScheduleInputSchema, input, 'SCHEDULE_INVALID');
    const i = input as Partial<Schedule> & { broadcast: Record<string, unknown> };
    if (i.id && (await this.deps.store.get(i.id)))
      throw new ConflictError('SCHEDULE_EXISTS', `schedule ${i.id} exists already (PATCH it)`, {
        field: 'id',
      });
    if ((await this.deps.store.list()).length >= this.options.maxSchedules)
      throw new ConflictError('SCHEDULE_LIMIT', `at most ${this.options.maxSchedules} schedules`);
    const now = new Date(this.clock.now()).toISOString();
    const s: Schedule = {
      id: i.id ?? `sch_${randomUUID()}`,
      name: i.name ?? '',
      broadcast: i.broadcast,
      at: i.at ?? null,
      cron: i.cron ?? null,
      timeZone: i.timeZone ?? this.options.defaultTimeZone,
      paused: i.paused ?? false,
      catchUpMinutes: i.catchUpMinutes ?? null,
      nextRunAt: null,
      lastRunAt: null,
      lastBroadcastId: null,
      lastError: null,
      runs: 0,
      missed: 0,
      createdAt: now,
      updatedAt: now,
      createdBy: createdBy.slice(0, 200),
    };
    this.prepare(s, true);
    await this.deps.store.upsert(s);
    await this.rearm();
    return s;
  }

  /** Edits a schedule (also pauses and resumes it); the next run is computed again from now. */
  async update(id: string, patch: unknown): Promise<Schedule> {
    assertValid(SchedulePatchSchema, patch, 'SCHEDULE_INVALID');
    const s: Schedule = { ...(await this.get(id)), ...(patch as Partial<Schedule>) };
    s.updatedAt = new Date(this.clock.now()).toISOString();
    const p = patch as Partial<Schedule>;
    this.prepare(
      s,
      p.at !== undefined || p.cron !== undefined || p.timeZone !== undefined || p.paused === false,
    );
    await this.deps.store.upsert(s);
    await this.rearm();
    return s;
  }

  async remove(id: string): Promise<void> {
    if (!(await this.deps.store.remove(id)))
      throw new NotFoundError('SCHEDULE_NOT_FOUND', `no schedule ${JSON.stringify(id)}`, { field: 'id' });
    await this.rearm();
  }

  /** Validates the rule, the zone and the broadcast body; computes the next run from now when `fresh`. */
  private prepare(s: Schedule, fresh: boolean): void {
    if ((s.at === null) === (s.cron === null))
      throw new ValidationError('SCHEDULE_INVALID', 'give either at (one-off) or cron (recurring)', {
        field: s.at === null ? 'cron' : 'at',
      });
    if (!isTimeZone(s.timeZone))
      throw new ValidationError(
        'SCHEDULE_TIMEZONE_INVALID',
        `timeZone: ${JSON.stringify(s.timeZone)} is not a known time zone (use an IANA name such as Europe/Berlin)`,
        { field: 'timeZone' },
      );
    const now = this.clock.now();
    if (s.at !== null) {
      const t = Date.parse(s.at);
      if (!Number.isFinite(t))
        throw new ValidationError('SCHEDULE_INVALID', `at: ${JSON.stringify(s.at)} is not an ISO time`, {
          field: 'at',
        });
      s.at = new Date(t).toISOString();
      if (fresh) {
        if (t <= now && s.runs === 0 && !s.paused)
          throw new ValidationError('SCHEDULE_IN_PAST', `at: ${s.at} is in the past`, { field: 'at' });
        s.nextRunAt = t > now ? s.at : null;
      }
    } else if (fresh) {
      const next = nextRun(parseCron(s.cron!), s.timeZone, now);
      s.nextRunAt = next === null ? null : new Date(next).toISOString();
    } else parseCron(s.cron!);
    this.deps.check?.(s.broadcast);
  }

  /** Runs what is due (or missed) and arms the timer for the next one. Public for tests and the clock. */
  async tick(): Promise<void> {
    const now = this.clock.now();
    for (const s of await this.deps.store.list()) {
      if (s.paused || s.nextRunAt === null || Date.parse(s.nextRunAt) > now) continue;
      try {
        await this.due(s, now);
      } catch (e) {
        this.log.error({ err: errorMessage(e), schedule: s.id }, 'schedule run failed');
      }
    }
    await this.rearm();
  }

  /** One schedule whose next run is due: the newest occurrence up to now runs (within the window) or is missed. */
  private async due(s: Schedule, now: number): Promise<void> {
    const dueAt = s.nextRunAt!;
    let latest = Date.parse(s.nextRunAt!);
    let skipped = 0;
    let next: number | null = null;
    const rule = s.cron !== null ? parseCron(s.cron) : undefined;
    if (rule) {
      // Walk the occurrences up to now: all but the newest are missed whatever the window.
      for (let n = nextRun(rule, s.timeZone, latest); ; n = nextRun(rule, s.timeZone, latest)) {
        if (n === null || n > now) {
          next = n;
          break;
        }
        skipped++;
        latest = n;
        if (skipped >= MAX_MISSED_COUNT) {
          const after = nextRun(rule, s.timeZone, now);
          next = after;
          break;
        }
      }
    }
    const windowMs = (s.catchUpMinutes ?? this.options.catchUpMinutes) * 60_000;
    const lateMs = now - latest;
    const runIt = lateMs <= windowMs;
    if (!runIt) skipped++;
    if (skipped > 0) s.missed += skipped;
    s.nextRunAt = next === null ? null : new Date(next).toISOString();
    s.updatedAt = new Date(now).toISOString();
    if (runIt) {
      s.lastRunAt = new Date(now).toISOString();
      s.runs++;
    }
    // The run is claimed in the store before anything is sent: a run fires once even when several hubs,
    // or a hub and the one taking over from it, find it due at the same moment.
    if (!(await this.deps.store.claimRun(s, dueAt))) {
      this.log.info({ schedule: s.id, dueAt }, 'schedule: this run was claimed already (another hub)');
      return;
    }
    if (skipped > 0) this.emitMissed(s, skipped, latest, lateMs, runIt);
    if (runIt) {
      try {
        const id = this.deps.send(
          {
            ...s.broadcast,
            meta: {
              ...((s.broadcast.meta as Record<string, unknown> | undefined) ?? {}),
              schedule: s.id,
              scheduledFor: new Date(latest).toISOString(),
            },
          },
          `schedule:${s.id}`,
        );
        s.lastBroadcastId = id;
        s.lastError = null;
        this.deps.bus.emit({
          source: 'hub',
          type: 'schedule.ran',
          data: {
            scheduleId: s.id,
            name: s.name,
            broadcastId: id,
            scheduledFor: new Date(latest).toISOString(),
            lateMs,
          },
        });
      } catch (e) {
        s.lastError = errorMessage(e).slice(0, 500);
        this.log.error({ err: s.lastError, schedule: s.id }, 'scheduled broadcast could not be sent');
        this.deps.bus.emit({
          source: 'hub',
          type: 'schedule.failed',
          data: { scheduleId: s.id, name: s.name, error: s.lastError },
        });
      }
    }
    await this.deps.store.upsert(s);
  }

  /** Logs and reports runs missed while the hub was down (see the policy at the top). */
  private emitMissed(s: Schedule, skipped: number, latest: number, lateMs: number, runIt: boolean): void {
    this.log.warn(
      { schedule: s.id, name: s.name, missed: skipped, newest: new Date(latest).toISOString(), lateMs },
      runIt
        ? 'schedule: older runs were missed (the hub was down); sending the newest late'
        : 'schedule: runs missed (the hub was down), not sent',
    );
    this.deps.bus.emit({
      source: 'hub',
      type: 'schedule.missed',
      data: {
        scheduleId: s.id,
        name: s.name,
        missed: skipped,
        newest: new Date(latest).toISOString(),
        lateMs,
        sentLate: runIt,
      },
    });
  }

  private async rearm(): Promise<void> {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.started) return;
    const now = this.clock.now();
    let soonest = Number.POSITIVE_INFINITY;
    for (const s of await this.deps.store.list())
      if (!s.paused && s.nextRunAt !== null) soonest = Math.min(soonest, Date.parse(s.nextRunAt));
    const delay = Math.max(0, Math.min(this.options.maxSleepMs, soonest - now));
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.tick().catch((e: unknown) => {
        // The store is unreachable: try again in a second rather than never.
        this.log.error({ err: errorMessage(e) }, 'schedules could not be read; retrying');
        if (this.started) this.timer = this.clock.setTimeout(() => void this.rearm().catch(() => {}), 1000);
      });
    }, delay);
    this.timer.unref?.();
  }
}

declare module '../../core/module.js' {
  interface StorePorts {
    schedules: ScheduleStore;
  }
}
