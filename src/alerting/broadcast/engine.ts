import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { type Clock, sleep, systemClock, type TimerHandle } from '../../core/clock.js';
import type { Cluster, LeaseStore } from '../../core/cluster.js';
import type { Device } from '../../core/devices.js';
import type { ActionResult, ExecuteOptions } from '../../core/driver.js';
import {
  AuthError,
  ConflictError,
  errorMessage,
  isSwitchboardError,
  NotFoundError,
  ValidationError,
} from '../../core/errors.js';
import type { EventEmitter } from '../../core/events.js';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import { backoffDelay } from '../../core/retry.js';
import { KeyedSerialQueue, Semaphore, scheduleWrite, TurnPacer, WriteBehind } from '../../core/serial.js';

/** Phone attempts started per event-loop turn at most (see TurnPacer). */
const START_BURST = 16;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

import { buildReport, countStates } from './report.js';
import { validateBroadcastInput } from './schema.js';
import {
  type AlertPlanner,
  type Broadcast,
  type BroadcastInput,
  type BroadcastReport,
  type BroadcastStore,
  type BusyPolicy,
  broadcastLeaseName,
  type Delivery,
  type MulticastAudio,
  type PlannedAlert,
  type PlannedStep,
  type Priority,
  type RepeatOptions,
  TERMINAL_DELIVERY,
  type WriteFence,
} from './types.js';

export interface BroadcastEngineOptions {
  /** Phones served at once. */
  concurrency: number;
  /** Attempts per phone for transient failures (unreachable, timeouts, 5xx-like refusals). */
  attempts: number;
  backoff: { initialMs: number; maxMs: number };
  /** For the `retry` busy policy: attempts and backoff while a phone stays busy. */
  busyRetry: { attempts: number; initialMs: number; maxMs: number };
  /** Per device action timeout. */
  actionTimeoutMs: number;
  busyPolicies: Record<Priority, BusyPolicy>;
  /** Minimum interval between `broadcast.progress` events of one broadcast. */
  progressIntervalMs: number;
  /** Write-behind delay of the delivery records (`scheduleWrite`; 0 = the next event-loop turn). */
  writeBehindMs?: number;
  /**
   * Optional extras (a Cisco tone, audio) wait until no alert is in flight or queued, so that they never
   * slow the alerts down; after this long they queue like an alert.
   */
  followUpMaxWaitMs: number;
  /**
   * Phones whose driver confirms display later (an Avaya phone fetching the pushed content): how long the
   * broadcast waits for those confirmations before it finishes and writes its report.
   */
  displayConfirmMs: number;
  /**
   * Multicast audio: group addresses and ports are allocated from base*; a hub-streamed group's stream starts
   * `leadMs` after its last phone was told to join (its alert and join steps done, or given up), and at the
   * latest `joinTimeoutMs` after the broadcast started.
   */
  multicast: { baseAddress: string; basePort: number; leadMs: number; joinTimeoutMs?: number };
  maxTargets: number;
}

export const DEFAULT_ENGINE_OPTIONS: BroadcastEngineOptions = {
  concurrency: 128,
  attempts: 3,
  backoff: { initialMs: 200, maxMs: 5000 },
  busyRetry: { attempts: 6, initialMs: 2000, maxMs: 15000 },
  actionTimeoutMs: 5000,
  busyPolicies: { normal: 'retry', urgent: 'whisper', emergency: 'whisper' },
  progressIntervalMs: 250,
  followUpMaxWaitMs: 2000,
  displayConfirmMs: 3000,
  multicast: { baseAddress: '239.255.40.1', basePort: 24000, leadMs: 300, joinTimeoutMs: 10_000 },
  maxTargets: 20000,
};

/** The narrow surfaces the engine needs (the hub's DeviceRegistry and ActionRunner satisfy them). */
export interface DeviceSource {
  list(q?: { group?: string; label?: string }): Device[];
  get(id: string): Device | undefined;
}
export interface ActionExecutor {
  execute(deviceId: string, actionId: string, params: unknown, opts?: ExecuteOptions): Promise<ActionResult>;
  /** Optional: the devices a broadcast is about to serve, just read from the registry (saves re-reading them). */
  prime?(devices: readonly Device[]): void;
}

export interface BroadcastEngineDeps {
  store: BroadcastStore;
  devices: DeviceSource;
  runner: ActionExecutor;
  /** The alert planner of a device kind (undefined: the kind cannot show alerts). */
  planner: (kind: string) => AlertPlanner | undefined;
  bus: EventEmitter;
  /** Absolute acknowledgement URL for a delivery (phones open it; no API key, the token authorises). */
  ackUrl: (deliveryId: string, token: string) => string;
  /** Absolute URL that shows a delivery's alert again (Exit key, repeats); same token. */
  showUrl?: (deliveryId: string, token: string) => string;
  clock?: Clock;
  logger?: Logger;
  /** Is the phone known to be on a call right now (from call events)? */
  isBusy?: (device: Device) => boolean;
  /** Starts one multicast stream per group for planners that need the hub to stream. */
  audio?: MulticastAudio;
  options?: Partial<BroadcastEngineOptions>;
  /**
   * Several hubs on one store (PostgreSQL): every running broadcast is delivered under the lease
   * `broadcast:<id>` (taken before its row is written, renewed by the cluster), its writes carry the
   * lease's token, and `adopt()` resumes the broadcasts whose hub died. Absent on a lone hub.
   */
  ownership?: { cluster: Cluster; leases: LeaseStore };
}

/** A run's lease (several hubs): its fencing token, and whether another hub has taken the broadcast over. */
interface RunLease {
  name: string;
  token: number | undefined;
  /** Another hub holds it now: this run stopped and writes nothing more. */
  fenced: boolean;
  unhold: (() => Promise<void>) | undefined;
}

interface Run {
  broadcast: Broadcast;
  deliveries: Map<string, Delivery>;
  devices: Map<string, Device>;
  tokens: Map<string, string>;
  abort: AbortController;
  startedAt: number;
  done: Promise<BroadcastReport>;
  audioSessions: number;
  audioStops: Array<() => void>;
  sessions: Map<string, { address: string; port: number }>;
  lastProgress: number;
  progressTimer: unknown;
  progressDirty: boolean;
  expiryTimer: unknown;
  /** Controllers of the device actions in flight (aborted with the run). */
  inflight: Set<AbortController>;
  /** Accepted deliveries waiting for their driver's display confirmation, by display reference. */
  awaitingDisplay: Map<string, Delivery>;
  /** Called when awaitingDisplay empties (while the run waits for it). */
  displayWaiter: (() => void) | undefined;
  /** Hub-streamed multicast sessions waiting for their phones to join, by device id. */
  audioGates: Map<string, AudioGate>;
  /** Stopped by a shutdown and left resumable (emergency/urgent): no report, phones not served stay queued. */
  suspended: boolean;
  /** Ids of the deliveries whose record is in the store (the others are still only in memory). */
  saved: Set<string>;
  /** Several hubs: the lease the run is delivered under. */
  lease: RunLease | undefined;
  /** Settles when the broadcast's row is in the store (undefined) or could not be written (the error). */
  stored: Promise<unknown>;
}

/** A broadcast repeated until acknowledged: what its repeats need once the run itself has finished. */
interface Repeat {
  broadcast: Broadcast;
  everyMs: number;
  maxTimes: number;
  count: number;
  timer: TimerHandle | undefined;
  deliveries: Map<string, Delivery>;
  devices: Map<string, Device>;
  tokens: Map<string, string>;
  sessions: Map<string, { address: string; port: number }>;
}
/** Priorities whose broadcasts survive a restart (resumed by recoverAll(); see docs/broadcasts.md). */
const RESUMED_PRIORITIES: ReadonlySet<Priority> = new Set<Priority>(['emergency', 'urgent']);

/** A group's stream starts once every phone of the group was told to join (or at the join timeout). */
interface AudioGate {
  pending: Set<string>;
  open: () => void;
}

type Attempt =
  | { kind: 'ok'; displayed: boolean; followUp?: PlannedStep[]; displayRef?: string }
  | { kind: 'busy'; result: ActionResult }
  | { kind: 'fail'; reason: string; message: string; retryable: boolean };

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The broadcast engine: resolves targets, plans per device kind, delivers with bounded concurrency
 * (Semaphore), one request at a time per phone (KeyedSerialQueue, shared by all broadcasts), retries
 * transient failures with backoff, applies the busy-phone policy, records one delivery per phone, emits
 * progress on the bus and writes a final report. No network or database code: only the interfaces it is given.
 */
export class BroadcastEngine {
  readonly options: BroadcastEngineOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly sem: Semaphore;
  /** Attempts start at most START_BURST per event-loop turn (TurnPacer): the first phones are not held up. */
  private readonly pacer = new TurnPacer(START_BURST);
  private readonly serial = new KeyedSerialQueue();
  private readonly runs = new Map<string, Run>();
  private dirty = new Set<Delivery>();
  /** Display references of accepted deliveries (active and recently finished runs): ref → delivery id. */
  private displayRefs = new Map<string, { deliveryId: string; run: Run | undefined }>();
  /** Confirmations that arrived before the phone's answer to the push did (bounded, oldest dropped). */
  private earlyDisplayed = new Map<string, true>();
  private static readonly MAX_DISPLAY_REFS = 20_000;
  private flushScheduled = false;
  private closed = false;
  /**
   * Store writes behind the alerts (core/serial.ts WriteBehind): a broadcast's insert before its updates,
   * SQLite still writing before the first phone is contacted; a failed write is logged, delivery goes on.
   */
  private readonly writes = new WriteBehind((err, what) =>
    this.log.error({ err: errorMessage(err), what }, 'broadcast record not written'),
  );
  /** Broadcasts repeated until acknowledged (by id). */
  private readonly repeats = new Map<string, Repeat>();
  /** Broadcasts another hub took over from this one (their late records are not written). Bounded. */
  private readonly fencedIds = new Map<string, true>();
  /** Leases taken by claim() for the redeliver() that follows. */
  private readonly claimed = new Map<string, RunLease>();
  /** Broadcasts being taken over by adopt() right now. */
  private readonly adopting = new Set<string>();

  constructor(private readonly deps: BroadcastEngineDeps) {
    this.options = {
      ...DEFAULT_ENGINE_OPTIONS,
      ...(deps.options ?? {}),
      busyPolicies: { ...DEFAULT_ENGINE_OPTIONS.busyPolicies, ...(deps.options?.busyPolicies ?? {}) },
    };
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? silentLogger;
    this.sem = new Semaphore(this.options.concurrency, {
      clock: this.clock,
      maxLowWaitMs: this.options.followUpMaxWaitMs,
    });
  }

  /**
   * Broadcasts a previous process left unfinished (a crash, `kill -9`, or a shutdown that suspended them):
   * `emergency` and `urgent` ones that have not expired are resumed (the phones not yet served are
   * delivered again, with fresh acknowledgement links); `normal` ones, and expired ones, are closed (their
   * phones not served are reported `interrupted`). Returns the number closed; see recoverAll().
   */
  async recover(): Promise<number> {
    return (await this.recoverAll()).closed;
  }

  async recoverAll(): Promise<{ closed: number; resumed: string[] }> {
    let closed = 0;
    const resumed: string[] = [];
    for (const b of await this.deps.store.listBroadcasts({ limit: 1000, state: 'delivering' })) {
      const ds = await this.storedDeliveries(b);
      const now = this.clock.now();
      const expired = b.expiresAt !== null && Date.parse(b.expiresAt) <= now;
      if (RESUMED_PRIORITIES.has(b.priority) && !expired && !this.closed && !this.runs.has(b.id)) {
        this.resume(b, ds);
        resumed.push(b.id);
        continue;
      }
      await this.closeInterrupted(b, ds, now);
      closed++;
    }
    return { closed, resumed };
  }

  /** Closes a broadcast left unfinished that is not resumed: its phones not served are `interrupted`. */
  private async closeInterrupted(b: Broadcast, ds: Delivery[], now: number, fence?: WriteFence) {
    for (const d of ds) {
      if (d.state === 'queued' || d.state === 'sent') {
        d.state = 'failed';
        d.reason = 'interrupted';
        d.message = 'the hub stopped before this phone was served';
      }
    }
    b.state = 'done';
    b.finishedAt = new Date(now).toISOString();
    b.report = buildReport(ds, Date.parse(b.createdAt), now, 0);
    await this.deps.store.saveDeliveries(ds, fence);
    await this.deps.store.updateBroadcast(b, fence);
  }

  /**
   * Several hubs: takes over the running broadcasts whose hub died or was cut off (their lease ran out or
   * was given up): each is claimed with its lease (one hub wins), then `emergency`/`urgent` ones that have
   * not expired are resumed (the phones that had not accepted get it again) and the others are closed as
   * recoverAll() closes them. Called every lease renewal period; answers the ids resumed.
   */
  async adopt(): Promise<string[]> {
    const own = this.deps.ownership;
    if (!own || this.closed) return [];
    const resumed: string[] = [];
    const me = own.cluster.instanceId;
    for (const { id } of await this.deps.store.listUnowned({ graceMs: 0, limit: 100 })) {
      if (this.closed || this.runs.has(id) || this.adopting.has(id)) continue;
      this.adopting.add(id);
      try {
        const name = broadcastLeaseName(id);
        const token = await own.leases.acquire(name, me, own.cluster.ttlMs);
        if (token === undefined) continue; // another hub was faster
        const b = await this.deps.store.getBroadcast(id);
        const fence = { lease: name, holder: me, token };
        if (b?.state !== 'delivering' || this.closed) {
          await own.leases.release(name, me);
          continue;
        }
        const ds = await this.storedDeliveries(b);
        const now = this.clock.now();
        const expired = b.expiresAt !== null && Date.parse(b.expiresAt) <= now;
        if (!RESUMED_PRIORITIES.has(b.priority) || expired) {
          this.log.warn({ broadcastId: id, priority: b.priority }, 'closing a broadcast whose hub died');
          await this.closeInterrupted(b, ds, now, fence);
          await own.leases.release(name, me);
          continue;
        }
        const from = b.owners?.at(-1)?.instance ?? 'unknown';
        this.fencedIds.delete(id);
        b.owners = [...(b.owners ?? []), { instance: me, token, at: new Date(now).toISOString() }];
        this.resume(b, ds, 'resumed', { name, token, fenced: false, unhold: undefined }, from);
        resumed.push(id);
      } catch (e) {
        this.log.error({ err: errorMessage(e), broadcastId: id }, 'taking over a broadcast failed');
      } finally {
        this.adopting.delete(id);
      }
    }
    return resumed;
  }

  /** The broadcast's row is in the store (throws the store's error when it could not be written). */
  async durable(id: string): Promise<void> {
    const run = this.runs.get(id);
    const err = run ? await run.stored : undefined;
    if (err !== undefined) throw err;
  }

  /** Takes the lease of a new run before its row is written (several hubs): no hub can see it unowned. */
  private async claimLease(run: Run): Promise<void> {
    const own = this.deps.ownership;
    const lease = run.lease;
    if (!own || !lease) return;
    const me = own.cluster.instanceId;
    const token = await own.leases.acquire(lease.name, me, own.cluster.ttlMs);
    if (token === undefined)
      throw new ConflictError('BROADCAST_OWNED', `${lease.name} is held by another hub`);
    lease.token = token;
    run.broadcast.owners = [
      ...(run.broadcast.owners ?? []),
      { instance: me, token, at: new Date(this.clock.now()).toISOString() },
    ];
    this.holdLease(run);
  }

  /** Renews the run's lease while it runs; another hub holding it stops the run (fenced). */
  private holdLease(run: Run): void {
    const own = this.deps.ownership;
    const lease = run.lease;
    if (!own || !lease || lease.unhold || lease.fenced) return;
    lease.unhold = own.cluster.hold(lease.name, {
      onAcquired: ({ token, signal }) => {
        // Lost for a moment (a slow store) and taken again with nobody else having had it: a new token.
        lease.token = token;
        signal.addEventListener('abort', () => void this.checkTakeover(run), { once: true });
      },
      onMissed: () => this.fenceRun(run, 'another hub holds its lease'),
    });
  }

  /**
   * The lease was lost: stop only if another hub has it. A store this hub cannot reach is no reason to
   * stop an alert (life safety first): delivery goes on, and if another hub resumes the broadcast meanwhile
   * the phones may get it twice; this hub's late records are refused by the store (the token).
   */
  private async checkTakeover(run: Run): Promise<void> {
    const own = this.deps.ownership;
    const lease = run.lease;
    if (!own || !lease || lease.fenced || !this.runs.has(run.broadcast.id)) return;
    try {
      const row = (await own.leases.list(lease.name)).find((l) => l.name === lease.name);
      if (row && row.holder !== own.cluster.instanceId) this.fenceRun(run, `hub ${row.holder} took it over`);
    } catch (e) {
      this.log.error(
        { broadcastId: run.broadcast.id, err: errorMessage(e) },
        'broadcast lease lost and the store is unreachable: delivering on (another hub may resume it: phones may get it twice)',
      );
    }
  }

  /** Another hub delivers this broadcast now: stop at once, write nothing more, say so. */
  private fenceRun(run: Run, why: string): void {
    const lease = run.lease;
    if (!lease || lease.fenced || !this.runs.has(run.broadcast.id)) return;
    lease.fenced = true;
    this.remember(this.fencedIds, run.broadcast.id, true);
    this.stopRepeat(run.broadcast.id);
    this.log.warn(
      { broadcastId: run.broadcast.id, reason: why },
      'broadcast taken over by another hub: stopped here',
    );
    this.deps.bus.emit({
      source: 'hub',
      type: 'broadcast.fenced',
      data: { broadcastId: run.broadcast.id, reason: why, meta: run.broadcast.meta },
    });
    run.abort.abort(new Error('fenced'));
  }

  private fenceOf(run: Run | undefined): WriteFence | undefined {
    const own = this.deps.ownership;
    if (!own || run?.lease?.token === undefined) return undefined;
    return { lease: run.lease.name, holder: own.cluster.instanceId, token: run.lease.token };
  }

  /** Gives the run's lease up once its last records are written (queued behind them). */
  private releaseLease(run: Run): void {
    const unhold = run.lease?.unhold;
    if (unhold) void this.persist('broadcast lease', unhold);
  }

  /**
   * Delivers a finished broadcast again to its deliveries that are `queued` (the retry of failed phones,
   * see control.ts): a new run with fresh acknowledgement links for those phones.
   */
  redeliver(b: Broadcast, ds: Delivery[]): void {
    if (this.closed) throw new ConflictError('BROADCAST_ENGINE_CLOSED', 'the hub is shutting down');
    if (this.runs.has(b.id))
      throw new ConflictError('BROADCAST_RUNNING', `broadcast ${b.id} is still delivering`);
    const lease = this.claimed.get(b.id);
    this.claimed.delete(b.id);
    this.resume(b, ds, 'retried', lease);
  }

  /**
   * Several hubs: takes a finished broadcast's lease before it is stored as delivering again (a retry), so
   * that no other hub sees it running unowned; BROADCAST_RUNNING when another hub holds it. No-op alone.
   */
  async claim(b: Broadcast): Promise<void> {
    const own = this.deps.ownership;
    if (!own) return;
    const name = broadcastLeaseName(b.id);
    const me = own.cluster.instanceId;
    const token = await own.leases.acquire(name, me, own.cluster.ttlMs);
    if (token === undefined)
      throw new ConflictError('BROADCAST_RUNNING', `broadcast ${b.id} is being delivered by another hub`);
    b.owners = [...(b.owners ?? []), { instance: me, token, at: new Date(this.clock.now()).toISOString() }];
    this.claimed.set(b.id, { name, token, fenced: false, unhold: undefined });
  }

  /**
   * The delivery records of a stored broadcast, with a `queued` record for each stored target that has
   * none: delivery records are written with their outcomes, so after a crash a phone without a record had
   * not been served (or its outcome was not written yet: it is served again, as a `sent` one is).
   */
  async storedDeliveries(b: Broadcast): Promise<Delivery[]> {
    const ds = await this.deps.store.listDeliveries(b.id);
    const have = new Set(ds.map((d) => d.deviceId));
    for (const t of await this.deps.store.listTargets(b.id)) {
      if (have.has(t.deviceId)) continue;
      have.add(t.deviceId);
      ds.push(this.newDelivery(b, t.deviceId, t.kind, null));
    }
    return ds;
  }

  private newDelivery(b: Broadcast, deviceId: string, kind: string, ackTokenHash: string | null): Delivery {
    return {
      id: `dl_${randomUUID()}`,
      broadcastId: b.id,
      deviceId,
      kind,
      state: 'queued',
      reason: null,
      message: null,
      attempts: 0,
      busy: false,
      ackTokenHash,
      queuedAt: b.createdAt,
      sentAt: null,
      acceptedAt: null,
      latencyMs: null,
      acknowledgedAt: null,
      acknowledgedBy: null,
      steps: [],
    };
  }

  /** Runs a stored broadcast again for its phones not yet served (see recoverAll()). */
  private resume(
    b: Broadcast,
    ds: Delivery[],
    how: 'resumed' | 'retried' = 'resumed',
    lease?: RunLease,
    from?: string,
  ): void {
    const run = this.newRun(b);
    run.lease = lease;
    const todo: Delivery[] = [];
    const tokens = b.ack ? randomBytes(24 * ds.length) : undefined;
    let k = 0;
    for (const d of ds) {
      run.deliveries.set(d.id, d);
      const pending = d.state === 'queued' || d.state === 'sent';
      if (!pending) continue;
      const device = this.deps.devices.get(d.deviceId);
      if (!device) {
        d.state = 'failed';
        d.reason = 'device_removed';
        d.message = 'the device was removed before the hub could resume this alert';
        continue;
      }
      run.devices.set(d.id, device);
      d.state = 'queued';
      // The old link's token is gone with the old process (only its hash is stored): a new one.
      if (tokens) {
        const token = tokens.subarray(24 * k, 24 * ++k).toString('base64url');
        run.tokens.set(d.id, token);
        d.ackTokenHash = hashToken(token);
      }
      todo.push(d);
    }
    this.runs.set(b.id, run);
    this.holdLease(run);
    const fence = this.fenceOf(run);
    run.stored = this.persist('delivery records', async () => {
      await this.deps.store.saveDeliveries(ds, fence);
      if (from !== undefined) await this.deps.store.updateBroadcast(b, fence);
      for (const d of ds) run.saved.add(d.id);
    });
    this.log.warn(
      {
        broadcastId: b.id,
        priority: b.priority,
        phones: todo.length,
        meta: b.meta,
        ...(from ? { from } : {}),
      },
      how === 'retried'
        ? 'retrying the failed phones of a broadcast'
        : from !== undefined
          ? 'resuming a broadcast whose hub died or was cut off'
          : 'resuming a broadcast interrupted by the last shutdown',
    );
    this.deps.bus.emit({
      source: 'hub',
      type: `broadcast.${how}`,
      data: {
        broadcastId: b.id,
        priority: b.priority,
        phones: todo.length,
        meta: b.meta,
        ...(from !== undefined && this.deps.ownership
          ? { from, by: this.deps.ownership.cluster.instanceId }
          : {}),
      },
    });
    run.done = this.run(run, todo);
  }

  /** Resolves targets to devices (deduplicated, in a stable order). Unknown device ids are errors. */
  resolveTargets(t: BroadcastInput['targets']): Device[] {
    const out = new Map<string, Device>();
    const add = (d: Device) => {
      if (!t.kinds || t.kinds.includes(d.kind)) out.set(d.id, d);
    };
    // `all` means every phone (issue 17): devices whose kind cannot show an alert (a PBX) are not targets.
    if (t.all) for (const d of this.deps.devices.list()) if (this.deps.planner(d.kind)) add(d);
    (t.devices ?? []).forEach((id, i) => {
      const d = this.deps.devices.get(id);
      if (!d)
        throw new ValidationError(
          'BROADCAST_UNKNOWN_DEVICE',
          `targets.devices.${i}: no device ${JSON.stringify(id)}`,
          {
            field: `targets.devices.${i}`,
          },
        );
      add(d);
    });
    for (const g of t.groups ?? []) for (const d of this.deps.devices.list({ group: g })) add(d);
    for (const l of t.labels ?? []) for (const d of this.deps.devices.list({ label: l })) add(d);
    return [...out.values()];
  }

  /**
   * Creates a broadcast and starts delivering it. Returns at once (delivery continues in the background;
   * `wait(id)` resolves with the report). Phones whose kind has no planner get a `failed/no_planner` record.
   */
  start(input: unknown, opts: { createdBy?: string; repeat?: RepeatOptions } = {}): Broadcast {
    if (this.closed) throw new ConflictError('BROADCAST_ENGINE_CLOSED', 'the hub is shutting down');
    const b0 = validateBroadcastInput(input);
    const devices = this.resolveTargets(b0.targets);
    if (devices.length === 0)
      throw new ValidationError('BROADCAST_NO_TARGETS', 'targets: no device matches these targets', {
        field: 'targets',
      });
    if (devices.length > this.options.maxTargets)
      throw new ValidationError(
        'BROADCAST_TOO_MANY_TARGETS',
        `targets: ${devices.length} devices match, at most ${this.options.maxTargets} per broadcast`,
        { field: 'targets' },
      );
    const now = this.clock.now();
    let expiresAt: string | null = null;
    if (b0.expiresAt !== undefined) {
      const t = Date.parse(b0.expiresAt);
      if (!Number.isFinite(t))
        throw new ValidationError(
          'BROADCAST_INVALID',
          `expiresAt: ${JSON.stringify(b0.expiresAt)} is not an ISO time`,
          {
            field: 'expiresAt',
          },
        );
      expiresAt = new Date(t).toISOString();
    } else if (b0.expiresInSeconds !== undefined)
      expiresAt = new Date(now + b0.expiresInSeconds * 1000).toISOString();
    const priority = b0.priority ?? 'normal';
    const b: Broadcast = {
      id: `bc_${randomUUID()}`,
      title: b0.title,
      text: b0.text,
      priority,
      tones: b0.tones ?? (priority === 'normal' ? 'chime' : 'urgent'),
      audio: b0.audio ?? null,
      ack: b0.ack ?? priority === 'emergency',
      expiresAt,
      targets: b0.targets,
      busyPolicy: b0.busyPolicy ?? this.options.busyPolicies[priority],
      meta: b0.meta ?? {},
      state: 'delivering',
      createdAt: new Date(now).toISOString(),
      createdBy: opts.createdBy ?? 'api',
      finishedAt: null,
      report: null,
      dial: b0.dial ?? null,
      compact: b0.compact ?? null,
      repeatEveryMs: opts.repeat ? Math.max(1000, Math.round(opts.repeat.everyMs)) : null,
      settled: null,
    };
    const run = this.newRun(b);
    // One CSPRNG read for all acknowledgement tokens (24 random bytes each), not one per phone.
    const entropy = b.ack ? randomBytes(24 * devices.length) : undefined;
    let k = 0;
    for (const d of devices) {
      const token = entropy ? entropy.subarray(24 * k, 24 * ++k).toString('base64url') : '';
      const del = this.newDelivery(b, d.id, d.kind, b.ack ? hashToken(token) : null);
      run.deliveries.set(del.id, del);
      run.devices.set(del.id, d);
      if (b.ack) run.tokens.set(del.id, token);
    }
    // The broadcast and its targets (one transaction, two rows) are written right behind the first burst of
    // phones (TurnPacer: the first START_BURST attempts start in this turn, the write in the next; writing
    // 10,000 targets first held every phone up by ~150 ms). A restart resumes the broadcast from them; a
    // hub killed within that one turn had answered no one yet (the API's 201 waits for durable()), and an
    // emergency's incident is taken up again on restart, its alert resent to every phone that had not
    // accepted it. The per-phone records are written with their outcomes, in batches, behind the alerts
    // (flush()), not 10,000 `queued` rows up front.
    const targets = devices.map((d) => ({ deviceId: d.id, kind: d.kind }));
    if (this.deps.ownership)
      run.lease = { name: broadcastLeaseName(b.id), token: undefined, fenced: false, unhold: undefined };
    // Several hubs: the lease first, then the row, so that no other hub ever sees it running unowned.
    run.stored = this.storedWrite(
      'broadcast',
      this.deps.ownership
        ? async () => {
            await this.claimLease(run);
            await this.deps.store.insertBroadcast(b, targets);
          }
        : async () => {
            await nextTurn();
            await this.deps.store.insertBroadcast(b, targets);
          },
    );
    this.runs.set(b.id, run);
    this.deps.runner.prime?.(devices);
    this.deps.bus.emit({
      source: 'hub',
      type: 'broadcast.started',
      data: {
        broadcastId: b.id,
        title: b.title,
        priority: b.priority,
        total: run.deliveries.size,
        createdBy: b.createdBy,
        meta: b.meta,
      },
    });
    run.done = this.run(run, [...run.deliveries.values()]);
    if (opts.repeat && b.repeatEveryMs) {
      const r: Repeat = {
        broadcast: b,
        everyMs: b.repeatEveryMs,
        maxTimes: Math.min(1000, Math.max(1, opts.repeat.maxTimes ?? 1000)),
        count: 0,
        timer: undefined,
        deliveries: run.deliveries,
        devices: run.devices,
        tokens: run.tokens,
        sessions: run.sessions,
      };
      this.repeats.set(b.id, r);
      this.scheduleRepeat(r);
    }
    return b;
  }

  // ------------------------------------------------------------------ repeats until acknowledged

  /** Is this broadcast still being repeated on its phones? */
  isRepeating(id: string): boolean {
    return this.repeats.has(id);
  }

  /** Stops the repeats of a broadcast (e.g. a newer alert takes over); its phones keep what they show. */
  stopRepeat(id: string): void {
    const r = this.repeats.get(id);
    if (!r) return;
    if (r.timer) this.clock.clearTimeout(r.timer);
    this.repeats.delete(id);
  }

  /**
   * The alert is over for every phone (someone acknowledged it): repeats stop, and a phone that pulls the
   * alert again (Exit key, a repeat in flight) gets the closing page with `text`. Recorded on the broadcast.
   */
  async settle(id: string, by: string, text?: string): Promise<void> {
    this.stopRepeat(id);
    // Read, change and write in the order of the calls (with the other writes): two settles of a finished
    // broadcast (the incident's, then the engine's own) must not each write their own copy.
    await this.persist('broadcast', async () => {
      const run = this.runs.get(id);
      const b = run?.broadcast ?? (await this.deps.store.getBroadcast(id));
      if (!b || run?.lease?.fenced) return;
      // A later settle without its own text (the engine's, after the incident's) keeps the first one.
      if (b.settled && text === undefined) return;
      const at = b.settled?.at ?? new Date(this.clock.now()).toISOString();
      b.settled = {
        by: by.slice(0, 200),
        at,
        text: (text ?? `Acknowledged by ${by}.`).slice(0, 500),
      };
      await this.deps.store.updateBroadcast(b, this.fenceOf(run));
    });
  }

  private scheduleRepeat(r: Repeat): void {
    if (this.closed || r.count >= r.maxTimes) {
      this.repeats.delete(r.broadcast.id);
      return;
    }
    r.timer = this.clock.setTimeout(() => {
      r.timer = undefined;
      void this.repeatOnce(r)
        .catch((e) =>
          this.log.warn({ err: errorMessage(e), broadcastId: r.broadcast.id }, 'alert repeat failed'),
        )
        .finally(() => {
          if (this.repeats.get(r.broadcast.id) === r) this.scheduleRepeat(r);
        });
    }, r.everyMs);
    r.timer.unref?.();
  }

  /** One repeat: every phone not yet served by the first delivery is skipped; the others get the planner's repeat steps. */
  private async repeatOnce(r: Repeat): Promise<void> {
    const b = r.broadcast;
    const now = this.clock.now();
    if (
      b.settled ||
      b.state === 'cancelled' ||
      b.state === 'expired' ||
      (b.expiresAt && now >= Date.parse(b.expiresAt))
    ) {
      this.stopRepeat(b.id);
      return;
    }
    r.count++;
    let ok = 0;
    let failed = 0;
    const jobs: Array<Promise<void>> = [];
    for (const [id, d] of r.deliveries) {
      if (d.state === 'queued' || d.state === 'sent' || d.state === 'acknowledged') continue;
      if (d.reason === 'no_planner' || d.reason === 'busy_suppressed') continue;
      const device = r.devices.get(id)!;
      const planner = this.deps.planner(device.kind);
      if (!planner?.planRepeat) continue;
      // A phone known to be on a call (the guard calling back, most likely) is not beeped at: next round.
      if (this.deps.isBusy?.(device)) continue;
      const token = r.tokens.get(id);
      const s = r.sessions.get(`dev:${id}`);
      let steps: PlannedStep[];
      try {
        steps = planner.planRepeat(this.alertOf(b, id, token, s, false, r.count), device);
      } catch {
        failed++;
        continue;
      }
      jobs.push(
        this.serial.run(device.id, () =>
          this.sem.run(async () => {
            for (const step of steps) {
              if (this.repeats.get(b.id) !== r) return;
              let res: ActionResult;
              try {
                res = await this.deps.runner.execute(device.id, step.actionId, step.params, {
                  timeoutMs: this.options.actionTimeoutMs,
                  quiet: true,
                });
              } catch (e) {
                res = { ok: false, outcome: codeOf(e, 'error'), message: errorMessage(e) };
              }
              if (step.role === 'display' || steps.length === 1) {
                if (res.ok) ok++;
                else failed++;
              }
            }
          }, 'low'),
        ),
      );
    }
    await Promise.allSettled(jobs);
    this.deps.bus.emit({
      source: 'hub',
      type: 'broadcast.repeated',
      data: { broadcastId: b.id, repeat: r.count, ok, failed, meta: b.meta },
    });
  }

  /**
   * What a phone pulls from its `showUrl` (its Exit key, a repeat): the alert while it is open, the closing
   * page once it was acknowledged (here or anywhere), cancelled or expired. Unknown links: AuthError.
   */
  async showPage(
    deliveryId: string,
    token: string,
  ): Promise<{ open: boolean; page: { contentType: string; body: string } | undefined }> {
    const { delivery, run } = await this.verifyToken(deliveryId, token);
    const b = run?.broadcast ?? (await this.get(delivery.broadcastId));
    const planner = this.deps.planner(delivery.kind);
    const now = this.clock.now();
    const over =
      b.state === 'cancelled' ||
      b.state === 'recalled' ||
      b.state === 'expired' ||
      (b.expiresAt !== null && now >= Date.parse(b.expiresAt));
    if (delivery.state === 'acknowledged' || b.settled || over) {
      const text =
        delivery.state === 'acknowledged' && !b.settled
          ? `Acknowledged (${delivery.acknowledgedAt}).`
          : b.settled
            ? b.settled.text
            : 'This alert has ended.';
      return { open: false, page: planner?.ackPage?.(text, { close: true }) };
    }
    const device = run?.devices.get(deliveryId) ?? this.deps.devices.get(delivery.deviceId);
    const rep = this.repeats.get(b.id);
    const s = (run?.sessions ?? rep?.sessions)?.get(`dev:${deliveryId}`);
    return {
      open: true,
      page: planner?.alertPage?.(this.alertOf(b, deliveryId, token, s, false, 0), device),
    };
  }

  private newRun(b: Broadcast): Run {
    const run: Run = {
      broadcast: b,
      deliveries: new Map(),
      devices: new Map(),
      tokens: new Map(),
      abort: new AbortController(),
      startedAt: this.clock.now(),
      done: Promise.resolve(null as unknown as BroadcastReport),
      audioSessions: 0,
      audioStops: [],
      sessions: new Map(),
      lastProgress: 0,
      progressTimer: undefined,
      progressDirty: false,
      expiryTimer: undefined,
      inflight: new Set(),
      awaitingDisplay: new Map(),
      displayWaiter: undefined,
      audioGates: new Map(),
      suspended: false,
      saved: new Set(),
      lease: undefined,
      stored: Promise.resolve(undefined),
    };
    // One listener on the run's signal fans out to the actions in flight (hundreds of requests each adding
    // their own listener to one shared signal is quadratic: EventTarget scans its listeners on every add).
    run.abort.signal.addEventListener(
      'abort',
      () => {
        for (const ac of run.inflight) ac.abort(run.abort.signal.reason);
      },
      { once: true },
    );
    return run;
  }

  /** Resolves with the final report once delivery of a running broadcast has finished. */
  async wait(id: string): Promise<BroadcastReport> {
    const run = this.runs.get(id);
    if (run) {
      const report = await run.done;
      // Its final records are written (behind the alerts) before the caller reads them.
      await this.writes.idle();
      return report;
    }
    const b = await this.get(id);
    if (b.report) return b.report;
    throw new ConflictError('BROADCAST_NOT_RUNNING', `broadcast ${id} has no report`);
  }

  async get(id: string): Promise<Broadcast> {
    const run = this.runs.get(id);
    if (run) return run.broadcast;
    await this.writes.idle();
    const b = await this.deps.store.getBroadcast(id);
    if (!b)
      throw new NotFoundError('BROADCAST_NOT_FOUND', `no broadcast ${JSON.stringify(id)}`, { field: 'id' });
    return b;
  }

  async deliveries(id: string): Promise<Delivery[]> {
    const run = this.runs.get(id);
    if (run) return [...run.deliveries.values()];
    await this.get(id);
    return this.deps.store.listDeliveries(id);
  }

  /** Current counts (live while delivering, then from the store). */
  async counts(id: string): Promise<ReturnType<typeof countStates>> {
    // A running broadcast is counted in place (no copy of its 10,000 records per poll of the list).
    const run = this.runs.get(id);
    return countStates(run ? run.deliveries.values() : await this.deliveries(id));
  }

  /** The delivery records of a running broadcast (undefined when it is not running here). */
  liveDeliveries(id: string): Delivery[] | undefined {
    const run = this.runs.get(id);
    return run ? [...run.deliveries.values()] : undefined;
  }

  isRunning(id: string): boolean {
    return this.runs.has(id);
  }

  /** Cancels a running broadcast: phones not yet served are reported `failed/cancelled`. */
  async cancel(id: string, reason = 'cancelled'): Promise<Broadcast> {
    const run = this.runs.get(id);
    if (!run) {
      const b = await this.get(id);
      throw new ConflictError('BROADCAST_FINISHED', `broadcast ${b.id} has already finished (${b.state})`);
    }
    if (!run.abort.signal.aborted) {
      run.broadcast.state = reason === 'expired' ? 'expired' : 'cancelled';
      run.abort.abort(new Error(reason));
    }
    return run.broadcast;
  }

  /**
   * Records an acknowledgement from a phone. The token (from the phone's URL) is compared in constant time
   * with the stored hash. Idempotent: a second acknowledgement changes nothing and emits nothing.
   */
  async acknowledge(
    deliveryId: string,
    token: string,
    by?: string,
  ): Promise<{
    broadcast: Broadcast;
    delivery: Delivery;
    first: boolean;
    planner: AlertPlanner | undefined;
  }> {
    const { delivery, run } = await this.verifyToken(deliveryId, token);
    const broadcast = run?.broadcast ?? (await this.get(delivery.broadcastId));
    const planner = this.deps.planner(delivery.kind);
    if (delivery.state === 'acknowledged') return { broadcast, delivery, first: false, planner };
    const now = this.clock.now();
    delivery.state = 'acknowledged';
    delivery.acknowledgedAt = new Date(now).toISOString();
    delivery.acknowledgedBy = (by ?? delivery.deviceId).slice(0, 200);
    if (delivery.latencyMs === null) delivery.latencyMs = now - Date.parse(delivery.queuedAt);
    void this.persist('delivery records', () => this.deps.store.saveDeliveries([delivery]));
    this.deps.bus.emit({
      source: delivery.deviceId,
      type: 'broadcast.acknowledged',
      data: {
        broadcastId: broadcast.id,
        deliveryId: delivery.id,
        deviceId: delivery.deviceId,
        by: delivery.acknowledgedBy,
        at: delivery.acknowledgedAt,
        meta: broadcast.meta,
      },
    });
    if (run) this.progress(run, true);
    // One acknowledgement is enough: the broadcast's repeats stop on every phone.
    if (!broadcast.settled && broadcast.repeatEveryMs)
      await this.settle(broadcast.id, delivery.acknowledgedBy);
    return { broadcast, delivery, first: true, planner };
  }

  /** Finds a delivery by id and checks its link token in constant time (AuthError 404 otherwise). */
  private async verifyToken(
    deliveryId: string,
    token: string,
  ): Promise<{ delivery: Delivery; run: Run | undefined }> {
    let run: Run | undefined;
    let delivery: Delivery | undefined;
    for (const r of this.runs.values()) {
      const d = r.deliveries.get(deliveryId);
      if (d) {
        run = r;
        delivery = d;
        break;
      }
    }
    if (!delivery) {
      for (const r of this.repeats.values()) {
        const d = r.deliveries.get(deliveryId);
        if (d) {
          delivery = d;
          break;
        }
      }
    }
    if (!delivery) {
      await this.writes.idle();
      delivery = await this.deps.store.getDelivery(deliveryId);
    }
    const bad = () =>
      new AuthError('BROADCAST_ACK_INVALID', 'unknown or invalid acknowledgement link', { status: 404 });
    if (!delivery?.ackTokenHash) throw bad();
    const want = Buffer.from(delivery.ackTokenHash, 'hex');
    const got = Buffer.from(hashToken(token), 'hex');
    if (want.length !== got.length || !timingSafeEqual(want, got)) throw bad();
    return { delivery, run };
  }

  /**
   * A driver's confirmation that a phone shows what it accepted (`device.displayed` with the display
   * reference its action returned, e.g. an Avaya phone fetching the pushed content): the delivery moves from
   * `accepted` to `displayed`. A confirmation after the broadcast finished updates the stored delivery (the
   * report keeps the counts it was written with). Unknown references are remembered briefly, in case the
   * confirmation overtakes the phone's answer to the push.
   */
  async displayed(ref: string): Promise<boolean> {
    const entry = this.displayRefs.get(ref);
    if (!entry) {
      this.remember(this.earlyDisplayed, ref, true);
      return false;
    }
    this.displayRefs.delete(ref);
    const run = entry.run && this.runs.has(entry.run.broadcast.id) ? entry.run : undefined;
    if (run) {
      const d = run.awaitingDisplay.get(ref);
      run.awaitingDisplay.delete(ref);
      if (d) this.markDisplayed(run, d);
      if (run.awaitingDisplay.size === 0) run.displayWaiter?.();
      return d !== undefined;
    }
    // The broadcast has finished: update its stored record (in order with the other writes).
    let changed = false;
    await this.persist('delivery records', async () => {
      const d = await this.deps.store.getDelivery(entry.deliveryId);
      if (!d || d.state !== 'accepted') return;
      d.state = 'displayed';
      await this.deps.store.saveDeliveries([d]);
      changed = true;
      this.emitDelivery(d);
    });
    return changed;
  }

  private awaitDisplay(run: Run, d: Delivery, ref: string): void {
    if (this.earlyDisplayed.delete(ref)) {
      this.markDisplayed(run, d);
      return;
    }
    run.awaitingDisplay.set(ref, d);
    this.remember(this.displayRefs, ref, { deliveryId: d.id, run });
  }

  private markDisplayed(run: Run, d: Delivery): void {
    if (d.state !== 'accepted') return;
    d.state = 'displayed';
    this.changed(run, d, true);
  }

  /** Waits (bounded by displayConfirmMs, or the run stopping) for the display confirmations still due. */
  private async displayConfirmations(run: Run): Promise<void> {
    if (run.awaitingDisplay.size > 0 && !run.abort.signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.clock.clearTimeout(timer);
          run.abort.signal.removeEventListener('abort', done);
          run.displayWaiter = undefined;
          resolve();
        };
        const timer = this.clock.setTimeout(done, this.options.displayConfirmMs);
        run.displayWaiter = done;
        run.abort.signal.addEventListener('abort', done, { once: true });
      });
    }
    // Late confirmations update the stored delivery (see displayed()).
    for (const ref of run.awaitingDisplay.keys()) {
      const e = this.displayRefs.get(ref);
      if (e) e.run = undefined;
    }
    run.awaitingDisplay.clear();
  }

  /** Map insertion with a size bound (the oldest entries go first). */
  private remember<V>(m: Map<string, V>, k: string, v: V): void {
    m.delete(k);
    m.set(k, v);
    if (m.size > BroadcastEngine.MAX_DISPLAY_REFS) m.delete(m.keys().next().value as string);
  }

  /**
   * Stops all running broadcasts (shutdown) at once: in-flight requests are aborted. `emergency` and `urgent`
   * broadcasts are suspended (stored as still delivering, their phones not yet served `queued`) so that the
   * next start resumes them; `normal` ones finish with their phones not served reported `interrupted`.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const id of [...this.repeats.keys()]) this.stopRepeat(id);
    const all = [...this.runs.values()];
    for (const r of all) {
      if (r.abort.signal.aborted) continue;
      if (RESUMED_PRIORITIES.has(r.broadcast.priority)) r.suspended = true;
      r.abort.abort(new Error('interrupted'));
    }
    await Promise.allSettled(all.map((r) => r.done));
    await this.flush();
  }

  // ------------------------------------------------------------------ delivery

  private async run(run: Run, todo: Delivery[]): Promise<BroadcastReport> {
    const b = run.broadcast;
    if (b.expiresAt) {
      const ms = Date.parse(b.expiresAt) - this.clock.now();
      run.expiryTimer = this.clock.setTimeout(
        () => void this.cancel(b.id, 'expired').catch(() => {}),
        Math.max(0, ms),
      );
    }
    try {
      await this.startAudio(run);
      await Promise.all(todo.map((d) => this.deliver(run, d)));
      await this.displayConfirmations(run);
    } catch (e) {
      this.log.error({ err: errorMessage(e), broadcastId: b.id }, 'broadcast run failed');
    } finally {
      if (run.expiryTimer) this.clock.clearTimeout(run.expiryTimer);
      if (run.progressTimer) this.clock.clearTimeout(run.progressTimer);
      // Streams play to their end once delivery is done; a cancelled or expired broadcast stops them.
      if (run.abort.signal.aborted) this.stopAudio(run);
      else run.abort.signal.addEventListener('abort', () => this.stopAudio(run), { once: true });
    }
    const now = this.clock.now();
    const ds = [...run.deliveries.values()];
    const report = buildReport(ds, run.startedAt, now, run.audioSessions);
    if (run.lease?.fenced) {
      // Another hub delivers it now: its records and report are that hub's to write.
      this.runs.delete(b.id);
      if (run.lease.unhold) void run.lease.unhold();
      return report;
    }
    if (run.suspended) return this.suspend(run, report);
    if (b.state === 'delivering') b.state = 'done';
    b.finishedAt = new Date(now).toISOString();
    b.report = report;
    this.dirtyUnsaved(run);
    void this.flush();
    const fence = this.fenceOf(run);
    void this.persist('broadcast', () => this.deps.store.updateBroadcast(b, fence));
    this.releaseLease(run);
    this.progress(run, true);
    this.deps.bus.emit({
      source: 'hub',
      type: 'broadcast.finished',
      data: { broadcastId: b.id, state: b.state, report, meta: b.meta },
    });
    this.runs.delete(b.id);
    return report;
  }

  /** Stores a run stopped by the shutdown as resumable: phones cut off go back to `queued`. */
  private suspend(run: Run, report: BroadcastReport): BroadcastReport {
    for (const d of run.deliveries.values()) {
      if (d.state === 'sent' || (d.state === 'failed' && d.reason === 'interrupted')) {
        d.state = 'queued';
        d.reason = null;
        d.message = null;
        this.dirty.add(d);
      }
    }
    this.dirtyUnsaved(run);
    void this.flush();
    // Given up once written: another hub resumes it at once instead of after the lease's time.
    this.releaseLease(run);
    this.runs.delete(run.broadcast.id);
    this.log.warn(
      { broadcastId: run.broadcast.id, priority: run.broadcast.priority },
      'broadcast suspended by the shutdown: it resumes when the hub starts again',
    );
    return report;
  }

  /** One multicast session per (target group, streamer): the hub streams once per group, not per phone. */
  private async startAudio(run: Run): Promise<void> {
    const b = run.broadcast;
    if (!b.audio || b.audio.mode === 'unicast') return;
    const groups = b.targets.groups ?? [];
    const gates = new Map<string, AudioGate>();
    let n = 0;
    for (const [id, device] of run.devices) {
      const planner = this.deps.planner(device.kind);
      if (!planner?.multicastAudio) continue;
      const group = groups.find((g) => device.groups.includes(g)) ?? '*';
      const own = planner.streamsOwnMulticast === true;
      const key = own ? `${group}|${device.kind}` : group;
      let s = run.sessions.get(key);
      if (!s) {
        const [a, b2, c, d0] = this.options.multicast.baseAddress.split('.').map(Number) as [
          number,
          number,
          number,
          number,
        ];
        const idx = d0 + n;
        s = {
          address: `${a}.${b2}.${c + Math.floor(idx / 256)}.${idx % 256}`,
          port: this.options.multicast.basePort + 2 * n,
        };
        n++;
        run.sessions.set(key, s);
        if (own) run.audioSessions++;
        else if (this.deps.audio) {
          let open!: () => void;
          const ready = new Promise<void>((r) => {
            open = r;
          });
          const gate: AudioGate = { pending: new Set(), open };
          try {
            const h = await this.deps.audio.start(b.audio, {
              ...s,
              leadMs: this.options.multicast.leadMs,
              ready,
            });
            run.audioStops.push(() => h.stop());
            run.audioStops.push(open);
            run.audioSessions++;
            gates.set(key, gate);
          } catch (e) {
            this.log.warn({ err: errorMessage(e), broadcastId: b.id }, 'multicast audio did not start');
          }
        }
      }
      run.sessions.set(`dev:${id}`, s);
      const gate = gates.get(key);
      if (gate) {
        gate.pending.add(id);
        run.audioGates.set(id, gate);
      }
    }
    if (gates.size === 0) return;
    const timer = this.clock.setTimeout(() => {
      for (const g of gates.values()) g.open();
    }, this.options.multicast.joinTimeoutMs ?? 10_000);
    timer.unref?.();
    run.audioStops.push(() => this.clock.clearTimeout(timer));
  }

  /** A phone of a hub-streamed group was told to join (or will not be): the last one opens the stream. */
  private audioJoined(run: Run, deliveryId: string): void {
    const gate = run.audioGates.get(deliveryId);
    if (!gate) return;
    run.audioGates.delete(deliveryId);
    gate.pending.delete(deliveryId);
    if (gate.pending.size === 0) gate.open();
  }

  private stopAudio(run: Run): void {
    for (const stop of run.audioStops.splice(0)) {
      try {
        stop();
      } catch {
        /* best effort */
      }
    }
  }

  private alertFor(run: Run, d: Delivery, whisper: boolean): PlannedAlert {
    return this.alertOf(
      run.broadcast,
      d.id,
      run.tokens.get(d.id),
      run.sessions.get(`dev:${d.id}`),
      whisper,
      0,
    );
  }

  private alertOf(
    b: Broadcast,
    deliveryId: string,
    token: string | undefined,
    s: { address: string; port: number } | undefined,
    whisper: boolean,
    repeat: number,
  ): PlannedAlert {
    return {
      broadcastId: b.id,
      title: b.title,
      text: b.text,
      priority: b.priority,
      tones: b.tones,
      ackUrl: token ? this.deps.ackUrl(deliveryId, token) : null,
      audio: b.audio
        ? s
          ? { kind: 'multicast', address: s.address, port: s.port, request: b.audio }
          : { kind: 'unicast', request: b.audio }
        : null,
      expiresAt: b.expiresAt,
      whisper,
      showUrl: token && b.repeatEveryMs && this.deps.showUrl ? this.deps.showUrl(deliveryId, token) : null,
      dial: b.dial ?? null,
      compact: b.compact ?? null,
      repeat,
    };
  }

  private async deliver(run: Run, d: Delivery): Promise<void> {
    try {
      await this.deliverTo(run, d);
    } finally {
      this.audioJoined(run, d.id);
    }
  }

  private async deliverTo(run: Run, d: Delivery): Promise<void> {
    const device = run.devices.get(d.id)!;
    const planner = this.deps.planner(device.kind);
    const signal = run.abort.signal;
    if (!planner) return this.fail(run, d, 'no_planner', `${device.kind} devices cannot show alerts`);
    const policy = run.broadcast.busyPolicy;
    let whisper = false;
    let transient = 0;
    let busyTries = 0;
    for (;;) {
      if (signal.aborted)
        return this.fail(run, d, reasonOf(signal), 'not delivered before the broadcast stopped');
      const knownBusy = this.deps.isBusy?.(device) ?? false;
      if (knownBusy) d.busy = true;
      if (knownBusy && policy === 'suppress')
        return this.fail(run, d, 'busy_suppressed', 'the phone is on a call (busy policy: suppress)');
      if (knownBusy && policy === 'whisper') whisper = true;
      let attempt: Attempt;
      if (knownBusy && policy === 'retry') attempt = { kind: 'busy', result: { ok: false, outcome: 'busy' } };
      else {
        // Per-phone queue first, then a concurrency slot: a slot is never held while waiting for a phone.
        attempt = await this.serial.run(device.id, async () => {
          const a = await this.sem.run(async () => {
            await this.pacer.next();
            return this.attemptOnce(run, d, device, planner, whisper);
          });
          if (a.kind === 'ok') {
            this.accepted(run, d, a.displayed);
            if (a.displayRef !== undefined) this.awaitDisplay(run, d, a.displayRef);
            if (a.followUp) {
              // The alert is on the phone: its optional extras (tone, audio) wait for a low-priority slot,
              // given once no alert is in flight or queued (every phone gets its alert before any phone gets
              // its extras, and extras do not take CPU from alerts), while this phone's queue stays held so
              // that the steps of two broadcasts never interleave on one phone.
              const rest = a.followUp;
              await this.sem.run(() => this.runFollowUp(run, d, device, rest), 'low');
            }
          }
          return a;
        });
      }
      if (attempt.kind === 'ok') return;
      if (attempt.kind === 'busy') {
        d.busy = true;
        if (policy === 'suppress')
          return this.fail(run, d, 'busy_suppressed', 'the phone is on a call (busy policy: suppress)');
        if (policy === 'whisper' && !whisper) {
          whisper = true;
          continue;
        }
        if (busyTries + 1 >= this.options.busyRetry.attempts)
          return this.fail(run, d, 'busy', `the phone stayed busy (${attempt.result.outcome ?? 'busy'})`);
        await this.pause(backoffDelay(busyTries++, this.options.busyRetry), signal);
        continue;
      }
      // A request cut off by the shutdown: `interrupted`, so that a suspended run serves this phone again.
      if (signal.aborted && reasonOf(signal) === 'interrupted')
        return this.fail(run, d, 'interrupted', 'not delivered before the hub stopped');
      if (!attempt.retryable || transient + 1 >= this.options.attempts)
        return this.fail(run, d, attempt.reason, attempt.message);
      const delay = backoffDelay(transient++, this.options.backoff);
      await this.pause(delay, signal);
    }
  }

  /** Runs one planned step on the device, abortable with the run. */
  private async execute(run: Run, device: Device, step: PlannedStep): Promise<ActionResult> {
    const ac = new AbortController();
    if (run.abort.signal.aborted) ac.abort(run.abort.signal.reason);
    run.inflight.add(ac);
    try {
      // quiet: the outcome is recorded once per phone (`broadcast.delivery`), not as a `device.action`
      // event per push.
      return await this.deps.runner.execute(device.id, step.actionId, step.params, {
        signal: ac.signal,
        timeoutMs: this.options.actionTimeoutMs,
        quiet: true,
      });
    } finally {
      run.inflight.delete(ac);
    }
  }

  /** Records that the phone accepted the alert (its required steps succeeded). */
  private accepted(run: Run, d: Delivery, displayed: boolean): void {
    if (d.state === 'acknowledged') return;
    const now = this.clock.now();
    d.state = displayed ? 'displayed' : 'accepted';
    d.acceptedAt = new Date(now).toISOString();
    d.latencyMs = now - run.startedAt;
    d.reason = null;
    d.message = null;
    this.changed(run, d, true);
  }

  private async pause(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      await sleep(ms, { clock: this.clock, signal });
      return true;
    } catch {
      return false;
    }
  }

  private async attemptOnce(
    run: Run,
    d: Delivery,
    device: Device,
    planner: AlertPlanner,
    whisper: boolean,
  ): Promise<Attempt> {
    const signal = run.abort.signal;
    if (signal.aborted)
      return { kind: 'fail', reason: reasonOf(signal), message: 'stopped', retryable: false };
    let steps: ReturnType<AlertPlanner['plan']>;
    try {
      steps = planner.plan(this.alertFor(run, d, whisper), device);
    } catch (e) {
      return { kind: 'fail', reason: codeOf(e, 'plan_failed'), message: errorMessage(e), retryable: false };
    }
    if (!steps.some((s) => s.role === 'display'))
      return {
        kind: 'fail',
        reason: 'plan_failed',
        message: `the ${device.kind} planner produced no display step`,
        retryable: false,
      };
    d.attempts++;
    if (d.state === 'queued') {
      d.state = 'sent';
      d.sentAt = new Date(this.clock.now()).toISOString();
      const own = this.deps.ownership;
      if (own) {
        // Several hubs: the attempt is recorded (behind the push, never before it), so that a hub resuming
        // the broadcast after this one died knows the phone may have it already (a counted duplicate).
        const owners = d.owners ?? [];
        if (owners.at(-1) !== own.cluster.instanceId) d.owners = [...owners, own.cluster.instanceId];
        this.markDirty(d);
      }
      // Live views read the in-memory record; the row is written with the outcome (after a crash, `queued`
      // and `sent` are recovered alike, as `interrupted`), which saves one write per phone.
      this.progress(run, false);
    }
    d.steps = [];
    let displayed = false;
    let displayRef: string | undefined;
    // Once the display step is accepted the phone has the alert: optional steps after it (tone, audio)
    // run as a follow-up, so that every phone gets its alert before any phone gets its extras.
    const shown = steps.findIndex((s) => s.role === 'display');
    const tail = steps.slice(shown + 1);
    const split = tail.length > 0 && tail.every((s) => s.optional === true);
    const first = split ? steps.slice(0, shown + 1) : steps;
    for (const step of first) {
      if (signal.aborted)
        return { kind: 'fail', reason: reasonOf(signal), message: 'stopped', retryable: false };
      let result: ActionResult;
      try {
        result = await this.execute(run, device, step);
      } catch (e) {
        result = {
          ok: false,
          outcome: codeOf(e, 'error'),
          message: errorMessage(e),
          retryable: isSwitchboardError(e) ? e.retryable : false,
        };
      }
      d.steps.push({ actionId: step.actionId, ok: result.ok, outcome: result.outcome ?? null });
      if (result.ok) {
        if (step.role === 'display') {
          displayed = planner.displaysOnAccept === true || result.outcome === 'displayed';
          const ref = (result.data as { displayRef?: unknown } | undefined)?.displayRef;
          if (!displayed && typeof ref === 'string' && ref !== '') displayRef = ref;
        }
        continue;
      }
      if (step.optional) continue;
      if (planner.isBusy?.(result)) return { kind: 'busy', result };
      return {
        kind: 'fail',
        reason: result.outcome ?? 'refused',
        message: result.message ?? `${step.actionId} failed`,
        retryable: result.retryable === true,
      };
    }
    return {
      kind: 'ok',
      displayed,
      ...(split ? { followUp: tail } : {}),
      ...(displayRef !== undefined ? { displayRef } : {}),
    };
  }

  /** Runs the optional steps left after the alert was accepted (failures are recorded, never fatal). */
  private async runFollowUp(run: Run, d: Delivery, device: Device, steps: PlannedStep[]): Promise<void> {
    const signal = run.abort.signal;
    for (const step of steps) {
      if (signal.aborted) break;
      let result: ActionResult;
      try {
        result = await this.execute(run, device, step);
      } catch (e) {
        result = { ok: false, outcome: codeOf(e, 'error'), message: errorMessage(e) };
      }
      d.steps.push({ actionId: step.actionId, ok: result.ok, outcome: result.outcome ?? null });
    }
    this.changed(run, d, false);
  }

  private fail(run: Run, d: Delivery, reason: string, message: string): void {
    if (d.state === 'acknowledged' || run.lease?.fenced) return;
    d.state = 'failed';
    d.reason = reason;
    d.message = message.slice(0, 500);
    this.changed(run, d, true);
  }

  private changed(run: Run, d: Delivery, terminal: boolean): void {
    if (run.lease?.fenced) return;
    this.markDirty(d);
    if (terminal && TERMINAL_DELIVERY.has(d.state)) this.emitDelivery(d);
    this.progress(run, false);
  }

  private emitDelivery(d: Delivery): void {
    this.deps.bus.emit({
      source: d.deviceId,
      type: 'broadcast.delivery',
      data: {
        broadcastId: d.broadcastId,
        deliveryId: d.id,
        deviceId: d.deviceId,
        kind: d.kind,
        state: d.state,
        reason: d.reason,
        attempts: d.attempts,
        latencyMs: d.latencyMs,
      },
    });
  }

  /** Queues a delivery record for the next batch write (one per event-loop turn). */
  private markDirty(d: Delivery): void {
    this.dirty.add(d);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      scheduleWrite(this.options.writeBehindMs ?? 0, () => void this.flush());
    }
  }

  /** Emits `broadcast.progress` at most every progressIntervalMs (and always at the end). */
  private progress(run: Run, force: boolean): void {
    const now = this.clock.now();
    if (!force && now - run.lastProgress < this.options.progressIntervalMs) {
      if (!run.progressTimer) {
        run.progressTimer = this.clock.setTimeout(
          () => {
            run.progressTimer = undefined;
            if (this.runs.has(run.broadcast.id)) this.progress(run, true);
          },
          this.options.progressIntervalMs - (now - run.lastProgress),
        );
      }
      return;
    }
    run.lastProgress = now;
    const counts = countStates(run.deliveries.values());
    this.deps.bus.emit({
      source: 'hub',
      type: 'broadcast.progress',
      data: {
        broadcastId: run.broadcast.id,
        state: run.broadcast.state,
        total: run.deliveries.size,
        counts,
        done: counts.accepted + counts.displayed + counts.acknowledged + counts.failed,
        elapsedMs: now - run.startedAt,
      },
    });
  }

  /** Queues every delivery record of the run not written yet (the run ends: the store gets them all). */
  private dirtyUnsaved(run: Run): void {
    if (run.saved.size === run.deliveries.size) return;
    for (const d of run.deliveries.values()) if (!run.saved.has(d.id)) this.dirty.add(d);
  }

  /** Writes changed delivery records in one transaction; settles when every write queued so far is done. */
  flush(): Promise<void> {
    this.flushScheduled = false;
    if (this.dirty.size === 0) return this.writes.idle();
    const batch = [...this.dirty].filter((d) => !this.fencedIds.has(d.broadcastId));
    this.dirty = new Set();
    if (!this.deps.ownership) return this.persist('delivery records', () => this.saveBatch(batch));
    // Several hubs: each broadcast's records carry its lease's token (a late write of a hub that was
    // taken over is refused by the store); one write per broadcast in the batch.
    const groups = new Map<string, Delivery[]>();
    for (const d of batch) {
      const g = groups.get(d.broadcastId);
      if (g) g.push(d);
      else groups.set(d.broadcastId, [d]);
    }
    let last = this.writes.idle();
    for (const [id, ds] of groups) {
      const run = this.runs.get(id);
      last = this.persist('delivery records', () => this.saveBatch(ds, run, this.fenceOf(run)));
    }
    return last;
  }

  private async saveBatch(batch: Delivery[], run?: Run, fence?: WriteFence): Promise<void> {
    try {
      await this.deps.store.saveDeliveries(batch, fence);
      for (const d of batch) this.runs.get(d.broadcastId)?.saved.add(d.id);
    } catch (e) {
      if (isSwitchboardError(e) && e.code === 'LEASE_LOST') {
        if (run) this.fenceRun(run, 'its lease was taken by another hub');
        throw e;
      }
      // Kept for the next flush (the run's end writes every record it has not saved).
      for (const d of batch) this.dirty.add(d);
      throw e;
    }
  }

  /** Queues a write; settles with undefined when it was done, or with its error (logged as every write). */
  private storedWrite(what: string, op: () => Promise<void>): Promise<unknown> {
    let failure: unknown;
    return this.persist(what, async () => {
      try {
        await op();
      } catch (e) {
        failure = e;
        throw e;
      }
    }).then(() => failure);
  }

  /** Queues a store write behind the ones in flight (see writes); answers when everything so far is written. */
  private persist(what: string, op: () => Promise<void>): Promise<void> {
    return this.writes.write(what, op);
  }
}

function reasonOf(signal: AbortSignal): string {
  const r = signal.reason;
  const m = r instanceof Error ? r.message : String(r ?? 'cancelled');
  return m === 'expired' || m === 'interrupted' ? m : 'cancelled';
}

function codeOf(e: unknown, dflt: string): string {
  return isSwitchboardError(e) ? e.code : dflt;
}
