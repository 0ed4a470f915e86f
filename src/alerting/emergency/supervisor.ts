import type { EventBus, Subscription } from '../../core/bus.js';
import { type Clock, systemClock, type TimerHandle } from '../../core/clock.js';
import type { Device } from '../../core/devices.js';
import { errorMessage } from '../../core/errors.js';
import type { HubEvent } from '../../core/events.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import type { EmergencyNotice } from './types.js';

/** Why on-site 911 notification is not ready (GET /api/emergency `reasons`). */
export type ReadinessCode =
  | 'EMERGENCY_DISABLED'
  | 'NO_PBX_CONFIGURED'
  | 'PBX_LINK_DOWN'
  | 'NOTIFY_GROUP_EMPTY'
  | 'NO_REACHABLE_SECURITY_PHONE'
  | 'SECURITY_PHONE_UNREACHABLE'
  | 'SECURITY_PHONE_AUTH_FAILED'
  | 'SECURITY_PHONE_NO_DEVICE_NAME'
  | 'DISK_FULL'
  | 'STORE_UNREACHABLE';

export interface ReadinessReason {
  code: ReadinessCode;
  message: string;
  deviceId?: string;
  since?: string;
}

export interface PhoneStatus {
  deviceId: string;
  name: string;
  group: string;
  /** null: not probed yet. */
  reachable: boolean | null;
  checkedAt?: string;
  error?: string;
}

export interface LinkStatus {
  deviceId: string;
  name: string;
  up: boolean;
  since?: string;
  /** Several hubs: another hub holds this PBX's link (this hub's readiness does not count it down). */
  elsewhere?: boolean;
}

/** What one probe of a phone found (the composition root implements it per device kind, with real I/O). */
export interface ProbeResult {
  reachable: boolean;
  error?: string;
  /** A configuration problem found while probing (e.g. a Cisco phone whose device name is unknown). */
  problem?: { code: 'SECURITY_PHONE_NO_DEVICE_NAME'; message: string };
}

export interface SupervisorOptions {
  enabled: 'auto' | 'on' | 'off';
  group: string;
  escalationGroup: string;
  /** Seconds between probes of the security and escalation phones (0 = no probing). */
  probeIntervalSeconds: number;
  /** Timeout of one probe. */
  probeTimeoutMs: number;
  /** Probes in flight at once within a round. */
  probeConcurrency: number;
  /** Probes started per second at most (0 = no limit): a large security group is probed over a longer round. */
  probeRatePerSecond: number;
  /** Seconds of continuous degradation before the notice to the security phones and the email relay (0 = none). */
  degradedNoticeSeconds: number;
  /** A PBX link not up this long after the hub started (or the PBX was added) counts as down. */
  linkStartGraceMs: number;
  /** Seconds between checks of the data directory's free space (`storage`; 0 = only on other changes). */
  storageCheckSeconds: number;
}

export const DEFAULT_SUPERVISOR: SupervisorOptions = {
  enabled: 'auto',
  group: 'security',
  escalationGroup: '',
  probeIntervalSeconds: 5,
  probeTimeoutMs: 3000,
  probeConcurrency: 32,
  probeRatePerSecond: 50,
  degradedNoticeSeconds: 60,
  linkStartGraceMs: 10_000,
  storageCheckSeconds: 30,
};

/** Delivery failure reasons that mean the phone refused the hub's credentials. */
const AUTH_REASONS = new Set([
  'CISCO_ERROR_4',
  'CISCO_AUTH_FAILED',
  'CISCO_AUTH_REQUIRED',
  'AVAYA_UNAUTHORIZED',
  'unauthorized',
]);

export interface SupervisorDeps {
  bus: EventBus;
  devices: { list(q?: { group?: string; kind?: string }): Device[]; get(id: string): Device | undefined };
  /** Probes one phone (bounded by the signal). */
  probe?: (device: Device, signal: AbortSignal) => Promise<ProbeResult | undefined>;
  /** Sends a degraded/recovered notice to the security group's phones and the email relay. */
  notice?: (n: EmergencyNotice) => void;
  /**
   * Free space of the data directory: `full` means incidents, deliveries and events may not be recorded,
   * so 911 notification is not ready (the composition root implements it with statfs).
   */
  storage?: () => {
    state: 'ok' | 'full' | 'unknown';
    freeMb?: number;
    minFreeMb?: number;
    /** False while the configured database (PostgreSQL) cannot be reached. */
    storeReachable?: boolean;
  };
  /** Device kinds whose devices are PBX links (their `pbx.link` events are supervised). */
  pbxKinds?: string[];
  clock?: Clock;
  logger?: Logger;
  options: SupervisorOptions;
}

interface LinkState {
  name: string;
  up: boolean;
  since: number;
  reason: string;
  /** Never came up yet (within the start grace it is not reported down). */
  pending: boolean;
  /** Another hub holds the link (`pbx.link` state `elsewhere`): not this hub's to report down. */
  elsewhere: boolean;
}

interface PhoneState {
  reachable: boolean | null;
  checkedAt?: number;
  error?: string;
  authFailedAt?: number;
  authError?: string;
  problem?: ProbeResult['problem'];
  downSince?: number;
  /** When a probe (not a delivery) last answered: the problems only a probe sees are re-read at least every PROBE_FORCE_ROUNDS rounds. */
  probedAt?: number;
}

/** A phone heard from by deliveries is still probed once in this many rounds (its probe-only `problem`). */
const PROBE_FORCE_ROUNDS = 12;

/**
 * Supervises the 911 path before any emergency: the PBX links (from `pbx.link` events), the security and
 * escalation phones (periodic cheap probes, and every alert delivery's outcome) and the notify group. Any
 * problem is loud within seconds: a warn log line, `device.link_down` / `emergency.degraded` events, the
 * readiness on GET /api/emergency and the metrics; after degradedNoticeSeconds a notice to the security
 * phones and the email relay, and another when it recovers. No network code: the probe is injected.
 */
export class EmergencySupervisor {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly links = new Map<string, LinkState>();
  private readonly phones = new Map<string, PhoneState>();
  private sub: Subscription | undefined;
  private probeTimer: TimerHandle | undefined;
  private evalTimer: TimerHandle | undefined;
  private storageTimer: TimerHandle | undefined;
  private probing = false;
  private abort = new AbortController();
  private startedAt = 0;
  private lastKey = '';
  private degradedSince: number | undefined;
  private noticeSent = false;
  private noticeTimer: TimerHandle | undefined;
  /** When evaluate() last ran, and the trailing evaluation a burst of device changes left scheduled. */
  private lastEvalAt = Number.NEGATIVE_INFINITY;
  private evalSoonTimer: TimerHandle | undefined;
  /**
   * Device changes re-evaluate at most this often (the first at once, the rest of a burst once at its end):
   * evaluating reads the supervised groups from the registry, and registering 10,000 phones would
   * otherwise read them 10,000 times.
   */
  private static readonly DEVICE_EVAL_INTERVAL_MS = 200;

  constructor(private readonly deps: SupervisorDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? silentLogger;
  }

  get options(): SupervisorOptions {
    return this.deps.options;
  }

  start(): void {
    if (this.sub) return;
    this.abort = new AbortController();
    this.startedAt = this.clock.now();
    this.sub = this.deps.bus.subscribe((e) => this.onEvent(e), {
      filter: {
        types: ['pbx.link', 'broadcast.delivery', 'device.added', 'device.updated', 'device.removed'],
      },
    });
    const o = this.deps.options;
    // Re-evaluates once the start grace of PBX links is over (a PBX that never came up is then down).
    this.evalTimer = this.clock.setTimeout(() => this.evaluate(), o.linkStartGraceMs + 50);
    this.evalTimer.unref?.();
    if (o.probeIntervalSeconds > 0 && this.deps.probe) this.probeSoon(0);
    if (o.storageCheckSeconds > 0 && this.deps.storage) this.checkStorageSoon();
    this.evaluate();
  }

  private checkStorageSoon(): void {
    this.storageTimer = this.clock.setTimeout(() => {
      if (!this.sub) return;
      this.evaluate();
      this.checkStorageSoon();
    }, this.deps.options.storageCheckSeconds * 1000);
    this.storageTimer.unref?.();
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    this.abort.abort(new Error('stopped'));
    for (const t of [
      this.probeTimer,
      this.evalTimer,
      this.noticeTimer,
      this.storageTimer,
      this.evalSoonTimer,
    ])
      if (t) this.clock.clearTimeout(t);
    this.probeTimer = this.evalTimer = this.noticeTimer = this.storageTimer = this.evalSoonTimer = undefined;
  }

  // ------------------------------------------------------------------ status

  /** The PBX devices (kinds in pbxKinds), with their link state. */
  linkStatus(): LinkStatus[] {
    const kinds = this.deps.pbxKinds ?? ['ipoffice'];
    const out: LinkStatus[] = [];
    for (const k of kinds)
      for (const d of this.deps.devices.list({ kind: k })) {
        const l = this.linkOf(d);
        out.push({
          deviceId: d.id,
          name: d.name,
          up: l.up,
          since: iso(l.since),
          ...(l.elsewhere ? { elsewhere: true } : {}),
        });
      }
    return out;
  }

  /** The phones of the security and escalation groups, with their last probe. */
  phoneStatus(): PhoneStatus[] {
    const out: PhoneStatus[] = [];
    for (const [group, d] of this.supervisedPhones()) {
      const p = this.phones.get(d.id);
      out.push({
        deviceId: d.id,
        name: d.name,
        group,
        reachable: p?.reachable ?? null,
        ...(p?.checkedAt !== undefined ? { checkedAt: iso(p.checkedAt) } : {}),
        ...(p?.error ? { error: p.error } : p?.authError ? { error: p.authError } : {}),
      });
    }
    return out;
  }

  /** Why 911 notification is not ready now (empty: ready). */
  reasons(): ReadinessReason[] {
    const o = this.deps.options;
    const out: ReadinessReason[] = [];
    if (o.enabled === 'off') {
      out.push({
        code: 'EMERGENCY_DISABLED',
        message: 'on-site 911 notification is turned off (emergency.enabled)',
      });
      return out;
    }
    const now = this.clock.now();
    const disk = this.storageState();
    if (disk?.state === 'full')
      out.push({
        code: 'DISK_FULL',
        message: `the data directory's disk is full (${disk.freeMb ?? '?'} MB free${
          disk.minFreeMb !== undefined ? `, minimum ${disk.minFreeMb} MB` : ''
        }): incidents and alerts may not be recorded`,
      });
    if (disk?.storeReachable === false)
      out.push({
        code: 'STORE_UNREACHABLE',
        message:
          'the database cannot be reached: 911 alerts still go out from this hub, but incidents and deliveries are not recorded until it is back',
      });
    const pbxs = this.linkStatus();
    if (pbxs.length === 0)
      out.push({
        code: 'NO_PBX_CONFIGURED',
        message: 'no PBX is configured: 911 calls cannot be detected',
      });
    for (const d of pbxs) {
      const l = this.links.get(d.deviceId);
      if (!l || l.up || l.elsewhere) continue;
      if (l.pending && now - l.since < o.linkStartGraceMs) continue;
      out.push({
        code: 'PBX_LINK_DOWN',
        message: `the link to ${d.name} is down${l.reason ? ` (${l.reason})` : ''}: 911 calls there are not seen`,
        deviceId: d.deviceId,
        since: iso(l.since),
      });
    }
    const security = this.deps.devices.list({ group: o.group });
    if (security.length === 0)
      out.push({ code: 'NOTIFY_GROUP_EMPTY', message: `the notify group ${o.group} has no phones` });
    else {
      const probed = security.map((d) => this.phones.get(d.id));
      const unreachable = probed.filter((p) => p?.reachable === false).length;
      if (unreachable === security.length) {
        const since = Math.min(...probed.map((p) => p?.downSince ?? now));
        out.push({
          code: 'NO_REACHABLE_SECURITY_PHONE',
          message: `no phone of the group ${o.group} answers: a 911 alert would reach nobody`,
          since: iso(since),
        });
      }
    }
    for (const [group, d] of this.supervisedPhones()) {
      const p = this.phones.get(d.id);
      if (!p) continue;
      if (p.reachable === false)
        out.push({
          code: 'SECURITY_PHONE_UNREACHABLE',
          message: `${d.name} (${group}) does not answer${p.error ? `: ${p.error}` : ''}`,
          deviceId: d.id,
          ...(p.downSince !== undefined ? { since: iso(p.downSince) } : {}),
        });
      if (p.authFailedAt !== undefined)
        out.push({
          code: 'SECURITY_PHONE_AUTH_FAILED',
          message: `${d.name} (${group}) refused the hub's credentials${p.authError ? ` (${p.authError})` : ''}: alerts fail there`,
          deviceId: d.id,
          since: iso(p.authFailedAt),
        });
      if (p.problem)
        out.push({
          code: p.problem.code,
          message: `${d.name} (${group}): ${p.problem.message}`,
          deviceId: d.id,
        });
    }
    return out;
  }

  ready(): boolean {
    return this.reasons().length === 0;
  }

  private storageState(): ReturnType<NonNullable<SupervisorDeps['storage']>> | undefined {
    try {
      return this.deps.storage?.();
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'checking the free disk space failed');
      return undefined;
    }
  }

  // ------------------------------------------------------------------ inputs

  private onEvent(e: HubEvent): void {
    if (e.type.startsWith('device.')) this.supervisedIds = undefined;
    try {
      if (e.type === 'pbx.link') this.onLink(e);
      else if (e.type === 'broadcast.delivery') this.onDelivery(e);
      else if (e.type === 'device.removed') {
        this.links.delete(String(e.data.id));
        this.phones.delete(String(e.data.id));
        this.evaluateSoon();
      } else {
        // A PBX added now gets its start grace before it counts as down.
        if (e.type === 'device.added' && (this.deps.pbxKinds ?? ['ipoffice']).includes(String(e.data.kind))) {
          const t = this.clock.setTimeout(() => this.evaluate(), this.deps.options.linkStartGraceMs + 50);
          t.unref?.();
        }
        this.evaluateSoon();
      }
    } catch (err) {
      this.log.error({ err: errorMessage(err), type: e.type }, 'emergency supervision failed');
    }
  }

  private linkOf(d: Device): LinkState {
    let l = this.links.get(d.id);
    if (!l) {
      l = {
        name: d.name,
        up: false,
        since: Math.max(this.startedAt, Date.parse(d.createdAt) || 0),
        reason: '',
        pending: true,
        elsewhere: false,
      };
      this.links.set(d.id, l);
    }
    return l;
  }

  private onLink(e: HubEvent): void {
    const d = this.deps.devices.get(e.source);
    if (!d) return;
    const l = this.linkOf(d);
    const state = String(e.data.state ?? '');
    if (state === 'elsewhere') {
      // Another hub holds the link: neither up nor down here (that hub reports it).
      const was = l.up;
      l.elsewhere = true;
      l.pending = false;
      l.up = false;
      l.since = this.clock.now();
      l.reason = '';
      if (was) this.log.info({ device: d.id, name: d.name }, 'PBX link handed to another hub');
      this.evaluate();
      return;
    }
    l.elsewhere = false;
    const up = state === 'up';
    const reason = [state, typeof e.data.reason === 'string' ? e.data.reason : ''].filter(Boolean).join(': ');
    const was = l.up;
    const wasPending = l.pending;
    l.pending = false;
    l.reason = up ? '' : reason;
    if (up !== was || wasPending) l.since = this.clock.now();
    l.up = up;
    if (up && !was) {
      this.log.info({ device: d.id, name: d.name }, 'PBX link up');
      this.deps.bus.emit({ source: d.id, type: 'device.link_up', data: { deviceId: d.id, name: d.name } });
    } else if (!up && (was || wasPending)) {
      this.log.warn(
        { device: d.id, name: d.name, reason },
        'PBX link down: 911 calls on this PBX are not seen',
      );
      this.deps.bus.emit({
        source: d.id,
        type: 'device.link_down',
        data: { deviceId: d.id, name: d.name, reason },
      });
    }
    this.evaluate();
  }

  /** Every alert delivery to a supervised phone tells something: refused credentials, unreachable, fine. */
  private onDelivery(e: HubEvent): void {
    const id = String(e.data.deviceId ?? '');
    if (!this.isSupervised(id)) return;
    const p = this.phoneOf(id);
    // The readiness (and so what evaluate() emits) depends only on whether the phone is known unreachable
    // and whether it refused the credentials: a delivery that changes neither (every phone of a broadcast
    // that went fine) costs no evaluation.
    const before = `${p.reachable === false}|${p.authFailedAt !== undefined}`;
    const state = String(e.data.state ?? '');
    const reason = typeof e.data.reason === 'string' ? e.data.reason : '';
    const now = this.clock.now();
    if (state === 'failed' && AUTH_REASONS.has(reason)) {
      p.authFailedAt ??= now;
      p.authError = reason;
      this.log.warn(
        { device: id, reason },
        "a security phone refused the hub's credentials: alerts fail there",
      );
    } else if (state === 'accepted' || state === 'displayed' || state === 'acknowledged') {
      p.authFailedAt = undefined;
      p.authError = undefined;
      this.mark(p, true, now);
    } else if (state === 'failed' && (reason === 'unreachable' || reason === 'timeout'))
      this.mark(p, false, now, reason);
    if (`${p.reachable === false}|${p.authFailedAt !== undefined}` !== before) this.evaluate();
  }

  private phoneOf(id: string): PhoneState {
    let p = this.phones.get(id);
    if (!p) {
      p = { reachable: null };
      this.phones.set(id, p);
    }
    return p;
  }

  private mark(p: PhoneState, reachable: boolean, now: number, error?: string): void {
    if (!reachable && p.reachable !== false) p.downSince = now;
    if (reachable) p.downSince = undefined;
    p.reachable = reachable;
    p.checkedAt = now;
    p.error = reachable ? undefined : error;
  }

  private supervisedPhones(): Array<[string, Device]> {
    const o = this.deps.options;
    const out: Array<[string, Device]> = [];
    const seen = new Set<string>();
    for (const g of [o.group, o.escalationGroup])
      if (g)
        for (const d of this.deps.devices.list({ group: g }))
          if (!seen.has(d.id)) {
            seen.add(d.id);
            out.push([g, d]);
          }
    return out;
  }

  /**
   * Ids of the supervised phones, read from the registry once and dropped on any device change (every
   * delivery of a broadcast asks; reading the device row each time cost a registry read per phone).
   */
  private supervisedIds: Set<string> | undefined;

  private isSupervised(id: string): boolean {
    this.supervisedIds ??= new Set(this.supervisedPhones().map(([, d]) => d.id));
    return this.supervisedIds.has(id);
  }

  // ------------------------------------------------------------------ probing

  private probeSoon(ms: number): void {
    if (!this.sub) return;
    this.probeTimer = this.clock.setTimeout(() => void this.probeAll(), ms);
    this.probeTimer.unref?.();
  }

  /** Probes every supervised phone once (at most one round at a time), then schedules the next round. */
  async probeAll(): Promise<void> {
    const probe = this.deps.probe;
    if (!probe || this.probing) return;
    this.probing = true;
    // Each round reads the groups afresh (bounds how long a change the bus did not announce goes unseen).
    this.supervisedIds = undefined;
    const o = this.deps.options;
    const intervalMs = o.probeIntervalSeconds * 1000;
    const started = this.clock.now();
    // A phone that accepted an alert within the last interval answered something costlier than a probe: it
    // is not probed again this round (during a 1,000-phone broadcast the round would double the hub's work),
    // except every PROBE_FORCE_ROUNDS rounds, for what only a probe sees.
    const due = this.supervisedPhones().filter(([, d]) => {
      const p = this.phones.get(d.id);
      return !(
        p?.reachable === true &&
        p.checkedAt !== undefined &&
        started - p.checkedAt < intervalMs &&
        p.probedAt !== undefined &&
        started - p.probedAt < intervalMs * PROBE_FORCE_ROUNDS
      );
    });
    const probeOne = async ([group, d]: [string, Device]): Promise<void> => {
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(o.probeTimeoutMs)]);
      let r: ProbeResult | undefined;
      try {
        r = await probe(d, signal);
      } catch (e) {
        r = { reachable: false, error: errorMessage(e).slice(0, 200) };
      }
      if (this.abort.signal.aborted || r === undefined) return;
      const p = this.phoneOf(d.id);
      const was = p.reachable;
      const now = this.clock.now();
      this.mark(p, r.reachable, now, r.error);
      if (r.reachable) {
        p.problem = r.problem;
        p.probedAt = now;
      }
      if (!r.reachable && was !== false)
        this.log.warn({ device: d.id, group, err: r.error }, 'a security phone does not answer its probe');
      else if (r.reachable && was === false)
        this.log.info({ device: d.id, group }, 'a security phone answers again');
    };
    // At most probeConcurrency probes in flight, and their starts paced at probeRatePerSecond: the
    // steady load of probing stays bounded however many phones are supervised (1,000 phones at 50/s: a
    // 20 s round), and an alert that arrives meanwhile competes with a trickle, not a burst.
    const gapMs = o.probeRatePerSecond > 0 ? 1000 / o.probeRatePerSecond : 0;
    let nextStart = this.clock.now();
    const paced = async (): Promise<void> => {
      if (gapMs === 0) return;
      const now = this.clock.now();
      const wait = nextStart - now;
      nextStart = Math.max(now, nextStart) + gapMs;
      if (wait <= 0) return;
      const signal = this.abort.signal;
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          this.clock.clearTimeout(t);
          resolve();
        };
        const t = this.clock.setTimeout(done, wait);
        t.unref?.();
        signal.addEventListener('abort', done, { once: true });
      });
    };
    try {
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(o.probeConcurrency, due.length) }, async () => {
          while (next < due.length && !this.abort.signal.aborted) {
            const item = due[next++]!;
            await paced();
            if (this.abort.signal.aborted) return;
            await probeOne(item);
          }
        }),
      );
    } finally {
      this.probing = false;
    }
    if (this.abort.signal.aborted) return;
    this.evaluate();
    this.probeSoon(this.deps.options.probeIntervalSeconds * 1000);
  }

  // ------------------------------------------------------------------ outputs

  /** evaluate() now, or once at the end of the current burst (see DEVICE_EVAL_INTERVAL_MS). */
  private evaluateSoon(): void {
    if (this.evalSoonTimer) return;
    const wait = this.lastEvalAt + EmergencySupervisor.DEVICE_EVAL_INTERVAL_MS - this.clock.now();
    if (wait <= 0) {
      this.evaluate();
      return;
    }
    this.evalSoonTimer = this.clock.setTimeout(() => {
      this.evalSoonTimer = undefined;
      this.evaluate();
    }, wait);
    this.evalSoonTimer.unref?.();
  }

  /** Recomputes the reasons; on a change emits degraded/recovered, logs, and (re)arms the notice. */
  evaluate(): void {
    if (!this.sub) return;
    this.lastEvalAt = this.clock.now();
    const reasons = this.reasons();
    const key = reasons.map((r) => `${r.code}:${r.deviceId ?? ''}`).join('|');
    if (key === this.lastKey) return;
    const wasReady = this.lastKey === '';
    this.lastKey = key;
    if (reasons.length > 0) {
      this.log.warn({ reasons: reasons.map((r) => r.message) }, '911 notification is degraded');
      this.deps.bus.emit({ source: 'hub', type: 'emergency.degraded', data: { reasons } });
      if (wasReady) {
        this.degradedSince = this.clock.now();
        this.armNotice();
      }
    } else {
      this.log.info('911 notification is ready again');
      this.deps.bus.emit({ source: 'hub', type: 'emergency.recovered', data: { reasons: [] } });
      this.degradedSince = undefined;
      if (this.noticeTimer) this.clock.clearTimeout(this.noticeTimer);
      this.noticeTimer = undefined;
      if (this.noticeSent) {
        this.noticeSent = false;
        this.send({
          kind: 'recovered',
          subject: '911 notification restored',
          text: '911 notification works again: PBX link(s) up and security phones answering.',
        });
      }
    }
  }

  private armNotice(): void {
    const s = this.deps.options.degradedNoticeSeconds;
    if (s <= 0 || this.noticeSent) return;
    if (this.noticeTimer) this.clock.clearTimeout(this.noticeTimer);
    this.noticeTimer = this.clock.setTimeout(() => {
      this.noticeTimer = undefined;
      const reasons = this.reasons();
      if (reasons.length === 0 || this.noticeSent) return;
      this.noticeSent = true;
      this.send({
        kind: 'degraded',
        subject: '911 notification DEGRADED',
        text: `911 notification is degraded since ${iso(this.degradedSince ?? this.clock.now())}:\n${reasons
          .map((r) => `- ${r.message}`)
          .join('\n')}`,
      });
    }, s * 1000);
    this.noticeTimer.unref?.();
  }

  private send(n: EmergencyNotice): void {
    this.log.warn({ kind: n.kind }, `sending the 911 ${n.kind} notice to the security group`);
    this.deps.bus.emit({ source: 'hub', type: `emergency.notice`, data: { kind: n.kind, text: n.text } });
    try {
      this.deps.notice?.(n);
    } catch (e) {
      this.log.error({ err: errorMessage(e), kind: n.kind }, 'the 911 notice could not be sent');
    }
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
