import { type Clock, systemClock } from '../../core/clock.js';
import type { ActionResult } from '../../core/driver.js';
import { ConflictError, errorMessage, isSwitchboardError } from '../../core/errors.js';
import type { EventEmitter } from '../../core/events.js';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import { Semaphore } from '../../core/serial.js';
import type { ActionExecutor, BroadcastEngine, DeviceSource } from './engine.js';
import { buildReport } from './report.js';
import type {
  AlertPlanner,
  Broadcast,
  BroadcastReport,
  BroadcastStore,
  Delivery,
  PlannedAlert,
} from './types.js';

/**
 * Cancel, recall and retry of a broadcast, on top of the engine (which delivers) and the store:
 * - **cancel** stops a broadcast that is still delivering (or still repeating): phones not yet served end
 *   `cancelled` (they never showed it);
 * - **recall** cancels it if needed, then clears it from every phone that shows it (or may: a request cut
 *   off by the cancel), with the steps of its kind's planner (`planClear`, per model): those phones end
 *   `recalled`; an acknowledged phone keeps `acknowledged` and gets a `recall` record;
 * - **retry** delivers a finished broadcast again to its `failed` phones (not to phones whose kind cannot
 *   show alerts at all).
 * Each emits an event (`broadcast.cancelled`, `broadcast.recalled`, `broadcast.retried` by the engine).
 */
export interface BroadcastControlDeps {
  engine: BroadcastEngine;
  store: BroadcastStore;
  devices: DeviceSource;
  runner: ActionExecutor;
  planner: (kind: string) => AlertPlanner | undefined;
  bus: EventEmitter;
  clock?: Clock;
  logger?: Logger;
  /** Phones cleared at once by a recall, and the timeout of each clear action. */
  options?: { concurrency?: number; actionTimeoutMs?: number };
}

/** Failure reasons a retry does not try again: the phone's kind cannot show alerts. */
const NOT_RETRIED: ReadonlySet<string> = new Set(['no_planner']);
/**
 * Failures where the request may have reached the phone without its answer coming back (cut off by a
 * cancel, the shutdown or the expiry, or timed out): a recall clears those phones too. A phone that answered
 * with a refusal never showed the alert.
 */
const CUT_OFF = /^(cancelled|interrupted|expired|error|HTTP_TIMEOUT|HTTP_ABORTED|ACTION_TIMEOUT)$/;

export interface RecallResult {
  broadcast: Broadcast;
  /** Phones a clear was sent to. */
  phones: number;
  cleared: number;
  failed: number;
}

export class BroadcastControl {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly sem: Semaphore;
  private readonly timeoutMs: number;
  /** Recalls in progress (one at a time per broadcast). */
  private readonly recalling = new Map<string, Promise<RecallResult>>();

  constructor(private readonly deps: BroadcastControlDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? silentLogger;
    this.sem = new Semaphore(deps.options?.concurrency ?? 64, { clock: this.clock });
    this.timeoutMs = deps.options?.actionTimeoutMs ?? 5000;
  }

  /**
   * Stops a broadcast that is still delivering or repeating: phones not yet served are `cancelled`. A
   * finished broadcast answers BROADCAST_FINISHED (409); recall it to clear the phones.
   */
  async cancel(id: string, by: string): Promise<{ broadcast: Broadcast; cancelled: number }> {
    const { engine } = this.deps;
    if (engine.isRunning(id)) {
      await engine.cancel(id);
      await engine.wait(id);
    } else if (engine.isRepeating(id)) {
      engine.stopRepeat(id);
    } else {
      const b = await engine.get(id);
      throw new ConflictError('BROADCAST_FINISHED', `broadcast ${b.id} has already finished (${b.state})`);
    }
    await engine.flush();
    const b = await engine.get(id);
    const ds = await this.deps.store.listDeliveries(id);
    let cancelled = 0;
    for (const d of ds) {
      if (d.state === 'queued' || d.state === 'sent' || (d.state === 'failed' && d.reason === 'cancelled')) {
        d.state = 'cancelled';
        d.reason = 'cancelled';
        d.message = `cancelled by ${by} before this phone was served`;
        cancelled++;
      }
    }
    await this.deps.store.saveDeliveries(ds);
    const now = new Date(this.clock.now()).toISOString();
    if (b.state === 'delivering' || b.state === 'done') b.state = 'cancelled';
    b.cancelled = { by: by.slice(0, 200), at: now };
    b.finishedAt ??= now;
    b.report = this.report(b, ds);
    await this.deps.store.updateBroadcast(b);
    this.deps.bus.emit({
      source: 'hub',
      type: 'broadcast.cancelled',
      data: { broadcastId: id, by: b.cancelled.by, cancelled, meta: b.meta },
    });
    this.log.info({ broadcastId: id, by, cancelled }, 'broadcast cancelled');
    return { broadcast: b, cancelled };
  }

  /**
   * Cancels the broadcast if it is still delivering, then clears it from the phones that show it. A second
   * recall clears the phones the first one could not (it skips phones already cleared).
   */
  recall(id: string, by: string): Promise<RecallResult> {
    const running = this.recalling.get(id);
    if (running) return running;
    const p = this.recallOnce(id, by).finally(() => this.recalling.delete(id));
    this.recalling.set(id, p);
    return p;
  }

  private async recallOnce(id: string, by: string): Promise<RecallResult> {
    const { engine, store } = this.deps;
    await engine.get(id);
    if (engine.isRunning(id) || engine.isRepeating(id)) {
      try {
        await this.cancel(id, by);
      } catch (e) {
        // It finished between the check and the cancel: nothing left to stop.
        if (!(isSwitchboardError(e) && e.code === 'BROADCAST_FINISHED')) throw e;
      }
    }
    const b = await engine.get(id);
    const ds = await store.listDeliveries(id);
    const todo = ds.filter((d) => mayShow(d) && d.recall?.ok !== true);
    let cleared = 0;
    let failed = 0;
    await Promise.all(
      todo.map((d) =>
        this.sem.run(async () => {
          const r = await this.clearOne(b, d);
          d.recall = { at: new Date(this.clock.now()).toISOString(), ...r };
          if (r.ok) {
            cleared++;
            if (d.state !== 'acknowledged') d.state = 'recalled';
          } else failed++;
        }),
      ),
    );
    await store.saveDeliveries(todo);
    const now = new Date(this.clock.now()).toISOString();
    const prev = b.recalled;
    b.state = 'recalled';
    b.finishedAt ??= now;
    b.recalled = {
      by: by.slice(0, 200),
      at: now,
      phones: todo.length + (prev?.cleared ?? 0),
      cleared: cleared + (prev?.cleared ?? 0),
      failed,
    };
    b.report = this.report(b, ds);
    await store.updateBroadcast(b);
    this.deps.bus.emit({
      source: 'hub',
      type: 'broadcast.recalled',
      data: { broadcastId: id, by: b.recalled.by, phones: todo.length, cleared, failed, meta: b.meta },
    });
    this.log.info({ broadcastId: id, by, phones: todo.length, cleared, failed }, 'broadcast recalled');
    return { broadcast: b, phones: todo.length, cleared, failed };
  }

  /** Runs the planner's clear steps on one phone; ok when every required step succeeded. */
  private async clearOne(
    b: Broadcast,
    d: Delivery,
  ): Promise<{ ok: boolean; outcome: string | null; message: string | null }> {
    const device = this.deps.devices.get(d.deviceId);
    if (!device) return { ok: false, outcome: 'device_removed', message: 'the device was removed' };
    const planner = this.deps.planner(d.kind);
    const alert = plannedAlertOf(b);
    let steps: ReturnType<NonNullable<AlertPlanner['planClear']>>;
    try {
      steps = planner?.planClear?.(alert, device, d.steps) ?? [];
    } catch (e) {
      return { ok: false, outcome: 'plan_failed', message: errorMessage(e) };
    }
    if (steps.length === 0)
      return {
        ok: false,
        outcome: 'not_supported',
        message: `${d.kind} phones cannot be cleared remotely`,
      };
    let last: ActionResult = { ok: true };
    for (const step of steps) {
      let r: ActionResult;
      try {
        r = await this.deps.runner.execute(device.id, step.actionId, step.params, {
          timeoutMs: this.timeoutMs,
        });
      } catch (e) {
        r = {
          ok: false,
          outcome: isSwitchboardError(e) ? e.code : 'error',
          message: errorMessage(e),
        };
      }
      if (!r.ok && !step.optional)
        return {
          ok: false,
          outcome: r.outcome ?? 'refused',
          message: (r.message ?? `${step.actionId} failed`).slice(0, 500),
        };
      if (step.role === 'display' || !last.outcome) last = r;
    }
    return { ok: true, outcome: last.outcome ?? 'cleared', message: null };
  }

  /**
   * Delivers a finished broadcast again to its failed phones (fresh acknowledgement links). Refused while
   * it is delivering (BROADCAST_RUNNING), once recalled or expired, and when no phone failed.
   */
  async retry(id: string, by: string): Promise<{ broadcast: Broadcast; phones: number }> {
    const { engine, store } = this.deps;
    const b = await engine.get(id);
    if (engine.isRunning(id) || engine.isRepeating(id))
      throw new ConflictError('BROADCAST_RUNNING', `broadcast ${id} is still delivering or repeating`);
    if (b.state === 'recalled')
      throw new ConflictError('BROADCAST_RECALLED', `broadcast ${id} was recalled: send a new one`);
    const now = this.clock.now();
    if (b.state === 'expired' || (b.expiresAt !== null && Date.parse(b.expiresAt) <= now))
      throw new ConflictError('BROADCAST_EXPIRED', `broadcast ${id} has expired: send a new one`);
    const ds = await store.listDeliveries(id);
    const again = ds.filter((d) => d.state === 'failed' && !NOT_RETRIED.has(d.reason ?? ''));
    if (again.length === 0)
      throw new ConflictError('BROADCAST_NOTHING_TO_RETRY', `broadcast ${id} has no failed phones to retry`);
    for (const d of again) {
      d.state = 'queued';
      d.reason = null;
      d.message = null;
      d.sentAt = null;
      d.acceptedAt = null;
      d.latencyMs = null;
      d.steps = [];
    }
    await engine.claim(b);
    b.state = 'delivering';
    b.finishedAt = null;
    b.report = null;
    b.retries = [
      ...(b.retries ?? []),
      { by: by.slice(0, 200), at: new Date(now).toISOString(), phones: again.length },
    ];
    await store.updateBroadcast(b);
    engine.redeliver(b, ds);
    return { broadcast: await engine.get(id), phones: again.length };
  }

  private report(b: Broadcast, ds: Delivery[]): BroadcastReport {
    const start = Date.parse(b.report?.startedAt ?? b.createdAt);
    const end = Date.parse(b.report?.finishedAt ?? b.finishedAt ?? new Date(this.clock.now()).toISOString());
    return buildReport(ds, start, end, b.report?.audioSessions ?? 0);
  }
}

/** Did (or may) this phone show the alert? Requests cut off by a cancel may have reached the phone. */
function mayShow(d: Delivery): boolean {
  if (d.state === 'accepted' || d.state === 'displayed' || d.state === 'acknowledged') return true;
  if (d.state === 'recalled') return false;
  return d.state === 'failed' && d.attempts > 0 && CUT_OFF.test(d.reason ?? '');
}

/** The alert as a clear planner sees it (no links: nothing on the phone should point back at it). */
function plannedAlertOf(b: Broadcast): PlannedAlert {
  return {
    broadcastId: b.id,
    title: b.title,
    text: b.text,
    priority: b.priority,
    tones: 'none',
    ackUrl: null,
    audio: b.audio ? { kind: 'unicast', request: b.audio } : null,
    expiresAt: b.expiresAt,
    whisper: false,
  };
}
