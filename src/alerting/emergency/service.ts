import { randomUUID } from 'node:crypto';
import type { EventBus, Subscription } from '../../core/bus.js';
import { type Clock, systemClock, type TimerHandle } from '../../core/clock.js';
import type { Cluster } from '../../core/cluster.js';
import { csvCell } from '../../core/csv.js';
import type { Device, Location } from '../../core/devices.js';
import { errorMessage, NotFoundError, ValidationError } from '../../core/errors.js';
import type { HubEvent } from '../../core/events.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import { WriteBehind } from '../../core/serial.js';
import type { KvStore } from '../../core/store.js';
import type { BroadcastEngine } from '../broadcast/engine.js';
import type { TemplateService } from '../broadcast/templates.js';
import {
  alertContext,
  callbackDial,
  compactAlert,
  localTime,
  markFirstLine,
  resolveCallback,
  resolveTimeZone,
} from './alert-text.js';
import type { IncidentCallClaims } from './call-claim.js';
import type { LocationTable } from './locations.js';
import type { Incident, IncidentMailKind, IncidentQuery, IncidentStore, LocationEntry } from './types.js';

export interface EmergencyOptions {
  /** `auto`: on once the notify group exists; `on`; `off`. */
  enabled: 'auto' | 'on' | 'off';
  group: string;
  /** Widened to on escalation ('' = none: escalation repeats to the first group only). */
  escalationGroup: string;
  /** Seconds without any acknowledgement before escalating (0 = never). */
  escalateAfterSeconds: number;
  maxEscalations: number;
  template: string;
  /** Also alert for test calls (933): marked TEST. */
  includeTests: boolean;
  /** PubSub queue the incident is published to ('' = none; the PubSub channel, see the composition). */
  queue: string;
  /** PubSub account of the queue ('' = the relay's first account; none at all: not published). */
  account: string;
  /** The incident webhooks (one channel each, see the composition). */
  webhooks: Array<{ url: string; secret?: string }>;
  /** What the security phones show (see alert-text.ts and docs/emergency-911.md). */
  phone?: Partial<EmergencyPhoneOptions>;
  /** Longest time (s) a call can last: an older incident is never "the same live call" as a new event. */
  maxCallSeconds: number;
  /** After a PBX link comes back, an open incident's call not re-announced within this long is over (ms). */
  reannounceGraceMs: number;
  /** On start, incidents not acknowledged and younger than this (s) are resumed; 0 = none. */
  resumeWithinSeconds: number;
}

/** The phone alert: local time, callback number, and how the alert stays up until acknowledged. */
export interface EmergencyPhoneOptions {
  /** IANA zone of alert times ('' = the hub's zone); a location-table row's `timeZone` wins. */
  timeZone: string;
  /** The site's main number, the callback number of extensions without one in the location table. */
  callbackNumber: string;
  /** What the phones' "Call back" key dials: the caller's extension or the external callback number. */
  callbackDial: 'extension' | 'external';
  /** Outside-line prefix for dialling the external number (e.g. `9`). */
  dialPrefix: string;
  /** Re-show the alert and repeat its tone this often until acknowledged (0 = never). */
  repeatSeconds: number;
}

export const DEFAULT_EMERGENCY_PHONE: EmergencyPhoneOptions = {
  timeZone: '',
  callbackNumber: '',
  callbackDial: 'extension',
  dialPrefix: '',
  repeatSeconds: 20,
};

export const DEFAULT_EMERGENCY: EmergencyOptions = {
  enabled: 'auto',
  group: 'security',
  escalationGroup: '',
  escalateAfterSeconds: 60,
  maxEscalations: 3,
  template: 'emergency-911',
  includeTests: true,
  queue: 'emergency',
  account: '',
  webhooks: [],
  phone: DEFAULT_EMERGENCY_PHONE,
  maxCallSeconds: 4 * 3600,
  reannounceGraceMs: 10_000,
  resumeWithinSeconds: 3600,
};

/** Where acknowledgements are kept apart when several hubs share the store (EmergencyDeps.acks). */
const ACK_NS = 'incident-ack';
interface StoredAck {
  at: string;
  by: string;
  note: string;
}

export interface EmergencyDeps {
  bus: EventBus;
  engine: BroadcastEngine;
  templates: TemplateService;
  /** The location table, read from memory (the 911 path never waits for a query): see LocationTable. */
  locations: Pick<LocationTable, 'lookup'>;
  incidents: IncidentStore;
  /**
   * Set when several hubs share the store: the incident of a live call is claimed there before alerting
   * (exactly once across hubs). Absent for the embedded store (one hub: the in-memory check is enough).
   */
  claims?: IncidentCallClaims;
  /**
   * Set when several hubs share the store: each open incident is in the custody of one hub (the lease
   * `incident:<id>`, core/cluster.ts), which runs its escalation. When that hub dies another hub takes the
   * lease and takes the incident up (resend to phones that did not accept, escalation re-armed).
   */
  custody?: Pick<Cluster, 'hold' | 'ttlMs' | 'renewMs'>;
  /**
   * With `custody`: acknowledgements are also kept here (namespace `incident-ack`), where the whole-incident
   * writes of the hub that has the incident cannot overwrite them; that hub checks before it escalates.
   */
  acks?: Pick<KvStore, 'get' | 'set'>;
  devices: { list(q?: { group?: string }): Device[]; listGroups(): Array<{ id: string; members: number }> };
  /**
   * Everyone told about an incident besides the phones (src/alerting/channels: PubSub, webhooks, email,
   * Teams, Slack, SMS, voice call-out), in the background; each channel decides which moments it wants,
   * and each outcome comes back through `record` for the timeline. Absent: only the phones are alerted.
   */
  channels?: {
    dispatch(
      kind: IncidentMailKind,
      incident: Incident,
      record: (o: { type: string; detail: Record<string, unknown> }) => void,
      event: HubEvent,
    ): Promise<void>;
  };
  clock?: Clock;
  logger?: Logger;
  options: EmergencyOptions;
}

/**
 * Event the demo module emits just before it places a drill through a simulator (whose DevLink3 call
 * cannot carry a drill flag): the next emergency call from that extension to that number, within
 * DRILL_MATCH_MS, is marked as a drill. Only the demo module emits it; `serve` never does.
 */
export const DRILL_PLACED = 'demo.drill';
/** How long a placed drill waits for its emergency call. */
export const DRILL_MATCH_MS = 60_000;

/** A late event without the call's key matches an incident opened this close to the call's start. */
const LATE_MATCH_MS = 120_000;

const s = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

/**
 * On-site 911 notification: on `call.emergency`, opens an incident, resolves the caller's dispatchable
 * location (location table by extension, then the caller's device in the registry, then the PBX's
 * emergency location id), alerts the security group (emergency priority, urgent tones, Acknowledge link),
 * tells the alerting channels (PubSub, webhooks, email, chat, SMS, voice), and escalates (repeat + widen) until someone acknowledges. It only
 * listens to call events: it never sends anything to the PBX and cannot delay or touch the call.
 */
export class EmergencyService {
  private sub: Subscription | undefined;
  private timers = new Map<string, TimerHandle>();
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Incidents not yet acknowledged or recently touched, by id (bounded; the store has them all). */
  private readonly open = new Map<string, Incident>();
  /** Incident writes, behind the alerts and in order (core/serial.ts). */
  private readonly writes = new WriteBehind((err, what) =>
    this.log.error({ err: errorMessage(err), what }, '911 incident record not written'),
  );
  /** The incident of each live call (callKey → incident), until its call ends: deduplication. */
  private readonly live = new Map<string, Incident>();
  /** Per PBX whose link came back: callKeys still to be re-announced, and the timer that ends the rest. */
  private readonly reannounce = new Map<string, { keys: Set<string>; timer: TimerHandle }>();
  /** Drills placed through a simulator (extension|dialled → until when their emergency call counts as one). */
  private readonly drills = new Map<string, number>();
  private pending = new Set<Promise<unknown>>();
  private stopped = false;
  /** Incidents whose custody lease this hub holds or tries to hold: id → give it up. */
  private readonly custodies = new Map<string, () => Promise<void>>();
  private custodySweep: TimerHandle | undefined;

  constructor(private readonly deps: EmergencyDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? silentLogger;
  }

  /** The service's logger (for the composition root's notices). */
  get logger(): Logger {
    return this.log;
  }

  get options(): EmergencyOptions {
    return this.deps.options;
  }

  /** Is the built-in rule active now? (`auto`: once the group exists and has members.) */
  active(): boolean {
    const o = this.deps.options;
    if (o.enabled === 'off') return false;
    if (o.enabled === 'on') return true;
    return this.deps.devices.listGroups().some((g) => g.id === o.group && g.members > 0);
  }

  /**
   * Subscribes to call events and resumes the incidents a previous process left open (see resume()).
   * Call it after the broadcast engine recovered its own interrupted broadcasts.
   */
  async start(): Promise<void> {
    this.stopped = false;
    this.sub ??= this.deps.bus.subscribe((e) => this.onEvent(e), {
      filter: {
        types: [
          'call.emergency',
          'call.ended',
          'call.started',
          'call.updated',
          'broadcast.acknowledged',
          'pbx.link',
          DRILL_PLACED,
        ],
      },
    });
    await this.resume();
    if (this.deps.custody) this.sweepCustody();
  }

  /**
   * Several hubs: every `2 × renewMs` this hub looks for open incidents it does not know and asks for
   * their custody, with a grace (the hub that opened one, or that took it over with its PBX link, asks
   * without). The lease is refused while the incident's hub renews it; when that hub dies, one hub gets it
   * and takes the incident up.
   */
  private sweepCustody(): void {
    const c = this.deps.custody;
    if (!c || this.stopped) return;
    this.custodySweep = this.clock.setTimeout(() => {
      this.custodySweep = undefined;
      const o = this.deps.options;
      const since = new Date(
        this.clock.now() - Math.max(o.resumeWithinSeconds, o.maxCallSeconds) * 1000,
      ).toISOString();
      this.track(
        this.deps.incidents.listOpen({ since, limit: 500 }).then(
          (list) => {
            const open = new Set(list.map((i) => i.id));
            for (const i of list) if (!i.acknowledgedAt) this.keepCustody(i.id, c.ttlMs + c.renewMs);
            // Acknowledged (or aged out) meanwhile: nothing left to escalate.
            for (const id of [...this.custodies.keys()])
              if (!open.has(id)) {
                const mine = this.open.get(id);
                // Not written yet (a new incident of this hub) or still open here: kept.
                if (!mine || mine.acknowledgedAt) this.releaseCustody(id);
              }
          },
          () => {},
        ),
      );
      this.sweepCustody();
    }, 2 * c.renewMs);
    this.custodySweep.unref?.();
  }

  /** Asks for the custody of an incident (this hub runs its escalation while it holds it). */
  private keepCustody(id: string, graceMs = 0): void {
    const c = this.deps.custody;
    if (!c || this.custodies.has(id) || this.stopped) return;
    this.custodies.set(
      id,
      c.hold(`incident:${id}`, {
        graceMs: () => (this.open.has(id) ? 0 : graceMs),
        // The store unreachable: the escalation goes on (two hubs escalating beats none).
        keepOnStoreError: true,
        onAcquired: () => {
          const mine = this.open.get(id);
          if (mine) {
            if (!mine.acknowledgedAt) this.reschedule(mine);
            return;
          }
          // The hub that had it stopped: take it up from the store.
          this.track(
            this.deps.incidents.get(id).then(async (stored) => {
              if (!stored) return;
              if (await this.ackStored(id, stored)) this.releaseCustody(id);
              else if (!this.open.has(id)) await this.takeUp(stored, 'takeover');
            }),
          );
        },
        onMissed: () => {
          // Another hub has it: that hub escalates; this one only keeps its copy for attaching events.
          const t = this.timers.get(id);
          if (t) this.clock.clearTimeout(t);
          this.timers.delete(id);
        },
      }),
    );
  }

  private releaseCustody(id: string): void {
    const u = this.custodies.get(id);
    this.custodies.delete(id);
    if (u) this.track(u());
  }

  private reschedule(i: Incident): void {
    const t = this.timers.get(i.id);
    if (t) this.clock.clearTimeout(t);
    this.timers.delete(i.id);
    this.schedule(i);
  }

  /**
   * Stops at once: timers are cleared (incidents are stored after every change and their escalation is
   * re-armed from the stored times on the next start); mails and webhooks already on their way are awaited
   * (they end with the hub's abort signal); delivery reports still due are not (the engine suspends them).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.sub?.unsubscribe();
    this.sub = undefined;
    if (this.custodySweep) this.clock.clearTimeout(this.custodySweep);
    this.custodySweep = undefined;
    // Given up, so another hub takes the open incidents over at once.
    await Promise.allSettled([...this.custodies.values()].map((u) => u()));
    this.custodies.clear();
    for (const t of this.timers.values()) this.clock.clearTimeout(t);
    this.timers.clear();
    for (const r of this.reannounce.values()) this.clock.clearTimeout(r.timer);
    this.reannounce.clear();
    await Promise.allSettled([...this.pending]);
    await this.writes.idle();
  }

  private onEvent(e: HubEvent): void {
    try {
      if (e.type === 'call.emergency') this.onEmergency(e);
      else if (e.type === 'broadcast.acknowledged') this.onAck(e);
      else if (e.type === 'call.ended') this.onCallEnded(e);
      else if (e.type === DRILL_PLACED) this.onDrillPlaced(e);
      else if (e.type === 'pbx.link') this.onLink(e);
      else this.seen(e.source, s(e.data.callKey));
    } catch (err) {
      this.log.error({ err: errorMessage(err), type: e.type }, 'emergency notification failed');
    }
  }

  /** Where the caller is: location table, then their device, then the PBX's emergency location id. */
  locate(
    extension: string,
    pbxLocationId: string,
    pbxSite?: Location,
  ): { location: Incident['location']; entry: LocationEntry | undefined } {
    const entry = extension ? this.deps.locations.lookup(extension) : undefined;
    const pick = (l: Location) => ({
      ...(l.site ? { site: l.site } : {}),
      ...(l.building ? { building: l.building } : {}),
      ...(l.floor ? { floor: l.floor } : {}),
      ...(l.room ? { room: l.room } : {}),
      ...(l.description ? { description: l.description } : {}),
    });
    if (entry && (entry.building || entry.floor || entry.room || entry.description))
      return { location: { ...pick(entry), from: 'table' }, entry };
    const dev = extension
      ? this.deps.devices.list().find((d) => {
          const ext = (d.settings as Record<string, unknown>).extension;
          return (ext !== undefined && String(ext) === extension) || d.labels.includes(`ext:${extension}`);
        })
      : undefined;
    if (dev && Object.keys(pick(dev.location)).length > 0)
      return { location: { ...pick(dev.location), from: 'device' }, entry };
    // Last resort: the PBX's own site (the IP Office device's location) and its emergency location id.
    const site = pbxSite ? pick(pbxSite) : {};
    const locId = pbxLocationId && pbxLocationId !== '-1' && pbxLocationId !== '0' ? pbxLocationId : '';
    if (locId || Object.keys(site).length > 0) {
      const desc = [site.description, locId ? `PBX emergency location ${locId}` : '']
        .filter(Boolean)
        .join('; ');
      return { location: { ...site, ...(desc ? { description: desc } : {}), from: 'pbx' }, entry };
    }
    return { location: { from: 'none' }, entry };
  }

  private note(i: Incident, type: string, detail: Record<string, unknown> = {}): void {
    i.timeline.push({ at: new Date(this.clock.now()).toISOString(), type, detail });
    if (i.timeline.length > 500) i.timeline.splice(1, i.timeline.length - 500);
  }

  /** Writes an incident behind the alert (in order with its insert; a failure is logged, never thrown). */
  private save(i: Incident): void {
    void this.writes.write('incident', () => this.deps.incidents.update(i));
  }

  private onEmergency(e: HubEvent): void {
    const o = this.deps.options;
    const d = e.data;
    const test = d.test === true;
    if (test && !o.includeTests) return;
    if (o.enabled === 'off') return;
    const callKey = s(d.callKey) || null;
    // A late source (the SMDR record of a call that has ended) attaches to the incident of that call.
    const late = d.late === true || d.via === 'smdr';
    this.seen(e.source, callKey ?? '');
    if (late) {
      // A late source looks for its call's incident in the store too (it may be from before a restart).
      this.track(
        this.sameLateCall(e, callKey).then(
          (same) => {
            if (!same) return this.openIncident(e, callKey, test, late);
            return this.attachOrTakeUp(same, e, callKey, late);
          },
          (err: unknown) => {
            this.log.error({ err: errorMessage(err) }, 'incidents could not be read: opening a new one');
            this.openIncident(e, callKey, test, late);
          },
        ),
      );
      return;
    }
    const same = callKey ? this.sameLiveCall(e, callKey) : undefined;
    if (same) this.attach(same, e, callKey, late);
    else this.openIncident(e, callKey, test, late);
  }

  /**
   * An emergency event for a call that already has an incident: attached. When this hub took the PBX link
   * over during the call (`takeover`) and does not know the incident, the hub that opened it stopped: the
   * incident is taken up, so that it has alerted (phones that accepted are not alerted again; duplicates
   * only for deliveries that hub had not recorded yet).
   */
  private attachOrTakeUp(
    same: Incident,
    e: HubEvent,
    callKey: string | null,
    late: boolean,
  ): Promise<void> | undefined {
    const orphan = e.data.takeover === true && !this.open.has(same.id) && !same.acknowledgedAt;
    this.attach(this.open.get(same.id) ?? same, e, callKey, late);
    return orphan ? this.takeUp(same, 'takeover') : undefined;
  }

  /** An emergency event for a call that already has an incident: noted on it. */
  private attach(same: Incident, e: HubEvent, callKey: string | null, late: boolean): void {
    const d = e.data;
    this.note(same, 'call.emergency.again', {
      eventId: e.id,
      source: e.source,
      ...(late ? { via: s(d.via) || 'late', late: true } : {}),
    });
    this.save(same);
    this.log.info(
      { incidentId: same.id, callKey, source: e.source, via: s(d.via) || 'devlink3' },
      'emergency call event for a call that already has an incident (attached)',
    );
  }

  /**
   * The incident of the same call, if any. Live sources (DevLink3): only an incident whose call has not
   * ended, from the same PBX, with the same caller, younger than maxCallSeconds (IP Office reuses CallIDs
   * after a restart; the call ended, or was not re-announced after the link came back, so it is not in
   * `live` any more). Late sources (SMDR, after the call): that call's incident, ended or not, by callKey
   * or else by caller extension and dialled number with the incident opened near the call's start.
   */
  private fitsCall(e: HubEvent): (i: Incident | undefined) => i is Incident {
    const now = this.clock.now();
    const maxAge = this.deps.options.maxCallSeconds * 1000;
    const extension = s(e.data.callerExtension ?? e.data.extension);
    return (i: Incident | undefined): i is Incident =>
      i !== undefined &&
      now - Date.parse(i.createdAt) <= maxAge &&
      (!extension || !i.caller.extension || i.caller.extension === extension);
  }

  private sameLiveCall(e: HubEvent, callKey: string): Incident | undefined {
    const fits = this.fitsCall(e);
    const i = this.live.get(callKey);
    return fits(i) && !i.callEndedAt && i.pbx === e.source ? i : undefined;
  }

  private async sameLateCall(e: HubEvent, callKey: string | null): Promise<Incident | undefined> {
    const fits = this.fitsCall(e);
    const extension = s(e.data.callerExtension ?? e.data.extension);
    await this.writes.idle();
    // A stored incident is used through its in-memory copy when there is one: the alert's delivery report
    // and the escalation timer update that object, and a second copy would lose one side's timeline entries.
    const mem = (i: Incident | undefined) => (i ? (this.open.get(i.id) ?? i) : undefined);
    if (callKey) {
      const i = this.live.get(callKey) ?? mem(await this.deps.incidents.byCallKey(callKey));
      if (fits(i)) return i;
    }
    // Without the call's key: the incident of the same caller and number opened within LATE_MATCH_MS of the
    // call's start (an earlier 911 call from the same phone is a different call).
    const started = Date.parse(s(e.data.startedAt));
    if (!extension || !Number.isFinite(started)) return undefined;
    const dialled = s(e.data.dialled);
    return mem(
      (await this.deps.incidents.list({ limit: 50 })).find(
        (i) =>
          fits(i) &&
          i.caller.extension === extension &&
          (!dialled || i.caller.dialled === dialled) &&
          Math.abs(Date.parse(i.createdAt) - started) <= LATE_MATCH_MS,
      ),
    );
  }

  private openIncident(e: HubEvent, callKey: string | null, test: boolean, late: boolean): void {
    const o = this.deps.options;
    const d = e.data;
    const now = this.clock.now();
    const extension = s(d.callerExtension ?? d.extension);
    const drill = d.drill === true || this.takeDrill(extension, s(d.dialled), now);
    const pbx = (d.pbx ?? {}) as { location?: Location };
    const { location, entry } = this.locate(extension, s(d.emergencyLocationId), pbx.location);
    const phone = { ...DEFAULT_EMERGENCY_PHONE, ...o.phone };
    const callback = resolveCallback({
      extension,
      tableCallback: entry?.callback,
      pbxNumber: s(d.callbackNumber ?? d.cli),
      siteNumber: phone.callbackNumber,
    });
    const incident: Incident = {
      id: `inc_${randomUUID()}`,
      createdAt: new Date(now).toISOString(),
      detectLagMs: Math.max(0, now - Date.parse(e.time)),
      callKey,
      test,
      ...(drill ? { drill: true } : {}),
      timeZone: resolveTimeZone(entry, phone.timeZone),
      pbx: e.source,
      caller: {
        extension,
        name: s(d.callerName) || entry?.name || '',
        callbackNumber: callback.number,
        callbackSource: callback.source,
        dialled: s(d.dialled),
        detectedBy: s(d.detectedBy),
      },
      location,
      state: 'notifying',
      broadcasts: [],
      notifiedGroups: [o.group],
      escalations: 0,
      acknowledgedAt: null,
      acknowledgedBy: null,
      callEndedAt: late ? new Date(now).toISOString() : null,
      ...(late ? { late: true } : {}),
      timeline: [],
    };
    this.note(incident, 'call.emergency', {
      eventId: e.id,
      source: e.source,
      dialled: incident.caller.dialled,
      test,
      ...(late ? { via: s(d.via) || 'late', late: true } : {}),
      ...(drill ? { drill: true } : {}),
    });
    const claims = this.deps.claims;
    if (claims && callKey && !late) {
      // Several hubs share the store: the incident of a live call is created once (a unique claim in the
      // store); the hub whose claim wins alerts, another one attaches the event to that incident.
      const staleBefore = new Date(now - o.maxCallSeconds * 1000).toISOString();
      this.track(
        this.writes
          .idle()
          .then(() => claims.claimCall(incident, { staleBefore }))
          .then(
            (c) => {
              if (c.created) this.opened(incident, e, callKey, test, late, drill, extension);
              else return this.attachOrTakeUp(c.incident, e, callKey, late);
            },
            (err: unknown) => {
              // The store is unreachable: alert anyway (a duplicate alert beats none) and say so.
              this.log.error(
                { err: errorMessage(err), callKey },
                '911 incident could not be claimed in the shared store: alerting from this hub',
              );
              void this.writes.write('incident', () => this.deps.incidents.insert(incident));
              this.opened(incident, e, callKey, test, late, drill, extension);
            },
          ),
      );
      return;
    }
    void this.writes.write('incident', () => this.deps.incidents.insert(incident));
    this.opened(incident, e, callKey, test, late, drill, extension);
  }

  /** The incident is stored (or being stored): remember it, alert the security group, tell everyone. */
  private opened(
    incident: Incident,
    e: HubEvent,
    callKey: string | null,
    test: boolean,
    late: boolean,
    drill: boolean,
    extension: string,
  ): void {
    const o = this.deps.options;
    // The PBX reused the CallID of a call this hub still thought live: that call is over.
    const prev = callKey ? this.live.get(callKey) : undefined;
    if (prev && callKey && prev.pbx === e.source && !late)
      this.endCall(prev, callKey, 'CallID reused by a new call', null);
    this.remember(incident);
    const fields = {
      incidentId: incident.id,
      callKey,
      extension,
      name: incident.caller.name,
      callback: incident.caller.callbackNumber,
      location: incident.location.from,
      test,
    };
    if (late)
      this.log.error(
        fields,
        '911 call seen only after it ended (late source): alerting the security group now',
      );
    else if (test) this.log.info(fields, 'test emergency call (933): incident opened');
    else this.log.warn(fields, '911 call: incident opened, alerting the security group');
    if (this.active()) this.notify(incident, { groups: [o.group] }, 0);
    else this.unnotified(incident, `group ${o.group} has no phones`);
    this.deps.bus.emit({
      source: 'hub',
      type: 'incident.opened',
      data: {
        incidentId: incident.id,
        test,
        drill,
        caller: incident.caller,
        location: incident.location,
        callKey,
        ...(late ? { late: true } : {}),
      },
    });
    // Webhooks receive the emergency call's event under the incident's type (its id, time and source).
    this.tell(incident, 'opened', { ...e, type: 'incident.opened' });
    this.schedule(incident);
  }

  /** Keeps the live object of an incident (timers, reports and acks update the same record). */
  private remember(i: Incident): void {
    this.open.set(i.id, i);
    if (!i.acknowledgedAt) this.keepCustody(i.id);
    if (i.callKey && !i.callEndedAt) this.live.set(i.callKey, i);
    // Bounded: 911 calls are rare; the oldest entries go first.
    for (const k of this.open.keys()) {
      if (this.open.size <= 2000) break;
      this.open.delete(k);
    }
  }

  /**
   * No phone accepted the alert (or there was none to send it to): loud. `incident.unnotified`, an error
   * log line, a mail through the relay and the configured webhooks (the fallbacks). Once per incident.
   */
  private unnotified(i: Incident, reason: string): void {
    if (i.timeline.some((t) => t.type === 'unnotified') || i.acknowledgedAt) return;
    this.note(i, 'unnotified', { reason });
    this.save(i);
    this.log.error(
      { incidentId: i.id, reason, extension: i.caller.extension, callback: i.caller.callbackNumber },
      '911 alert reached no security phone: falling back to email and webhooks',
    );
    const data = {
      incidentId: i.id,
      reason,
      callKey: i.callKey ?? '',
      callerExtension: i.caller.extension,
      callbackNumber: i.caller.callbackNumber,
      test: i.test,
    };
    const ev = this.deps.bus.emit({ source: 'hub', type: 'incident.unnotified', data });
    this.tell(i, 'unnotified', ev);
  }

  private notify(
    i: Incident,
    targets: { groups: string[] } | { devices: string[] },
    escalation: number,
    why: 'notified' | 'escalated' | 'resumed' = escalation > 0 ? 'escalated' : 'notified',
  ): void {
    const phone = { ...DEFAULT_EMERGENCY_PHONE, ...this.deps.options.phone };
    const t = this.deps.templates.render(this.deps.options.template, alertContext(i));
    const title = markFirstLine(t.title, i);
    const dial = callbackDial(i.caller, { dial: phone.callbackDial, prefix: phone.dialPrefix });
    // An escalation's alert takes over from the earlier ones: only the newest repeats on the phones.
    for (const id of i.broadcasts) this.deps.engine.stopRepeat(id);
    try {
      const b = this.deps.engine.start(
        {
          title: escalation > 0 ? `${title} (REPEAT ${escalation})`.slice(0, 200) : title,
          text: t.text,
          ...(dial ? { dial } : {}),
          compact: compactAlert(i),
          priority: 'emergency',
          tones: t.tones === 'none' ? 'urgent' : t.tones,
          ack: true,
          ...(t.expiresInSeconds ? { expiresInSeconds: t.expiresInSeconds } : {}),
          busyPolicy: 'whisper',
          targets,
          meta: { incidentId: i.id, escalation },
        },
        {
          createdBy: 'emergency',
          ...(phone.repeatSeconds > 0 ? { repeat: { everyMs: phone.repeatSeconds * 1000 } } : {}),
        },
      );
      i.broadcasts.push(b.id);
      this.note(i, why, {
        broadcastId: b.id,
        ...targets,
        phones: this.deps.engine.liveDeliveries(b.id)?.length ?? 0,
      });
      this.follow(i, b.id);
    } catch (e) {
      this.note(i, 'notify.failed', { ...targets, error: errorMessage(e) });
      this.log.error({ incidentId: i.id, ...targets, err: errorMessage(e) }, '911 alert could not be sent');
      if (why !== 'escalated') this.unnotified(i, errorMessage(e));
    }
    this.save(i);
  }

  /**
   * Waits for a broadcast's report (not tracked for shutdown: the engine suspends it), records it, logs
   * every phone that did not take the alert, and calls the incident unnotified when no phone at all
   * accepted any of its alerts.
   */
  private follow(i: Incident, broadcastId: string): void {
    this.deps.engine
      .wait(broadcastId)
      .then(async (r) => {
        if (this.stopped) return;
        this.note(i, 'delivery.report', {
          broadcastId,
          counts: r.counts,
          failuresByReason: r.failuresByReason,
          timeToLastMs: r.timeToLastMs,
        });
        for (const d of await this.deps.engine.deliveries(broadcastId))
          if (d.state === 'failed')
            this.log.warn(
              { incidentId: i.id, broadcastId, device: d.deviceId, reason: d.reason, message: d.message },
              '911 alert not delivered to a security phone',
            );
        this.save(i);
        if (!i.acknowledgedAt && !(await this.anyAccepted(i)))
          this.unnotified(i, `no phone accepted the alert (${JSON.stringify(r.failuresByReason)})`);
      })
      .catch((e) => {
        if (!this.stopped)
          this.log.warn({ err: errorMessage(e), incidentId: i.id }, 'delivery report failed');
      });
  }

  /** Did any phone accept (or show, or acknowledge) any alert of this incident? */
  private async anyAccepted(i: Incident): Promise<boolean> {
    for (const b of i.broadcasts) {
      try {
        const ds = await this.deps.engine.deliveries(b);
        if (ds.some((d) => d.state === 'accepted' || d.state === 'displayed' || d.state === 'acknowledged'))
          return true;
      } catch {
        // That broadcast is gone: it counts as not accepted.
      }
    }
    return false;
  }

  private track(p: Promise<unknown>): void {
    const q = p
      .catch((e) => this.log.warn({ err: errorMessage(e) }, 'emergency follow-up failed'))
      .finally(() => this.pending.delete(q));
    this.pending.add(q);
  }

  /**
   * Tells the alerting channels (PubSub, webhooks, email, chat, SMS, voice) about a moment of the
   * incident, in the background: the phone alerts were started before and never wait for them. The
   * outcomes (after their retries) go into the timeline.
   */
  private tell(i: Incident, kind: IncidentMailKind, event: HubEvent): void {
    const channels = this.deps.channels;
    if (!channels) return;
    // A snapshot: the live incident keeps changing (escalations, acks) while the channels are at work.
    const snap: Incident = {
      ...i,
      caller: { ...i.caller },
      location: { ...i.location },
      broadcasts: [...i.broadcasts],
      notifiedGroups: [...i.notifiedGroups],
      timeline: i.timeline.slice(0, 1),
    };
    this.track(
      channels.dispatch(
        kind,
        snap,
        (o) => {
          this.note(i, o.type, o.detail);
          this.save(i);
        },
        event,
      ),
    );
  }

  /**
   * Arms the next escalation, due escalateAfterSeconds after the last alert round (the first alert, or the
   * last escalation) as stored in the timeline: after a restart it fires when it would have, or at once if
   * that time has passed.
   */
  private schedule(i: Incident): void {
    const o = this.deps.options;
    if (o.escalateAfterSeconds <= 0 || i.escalations >= o.maxEscalations || i.acknowledgedAt) return;
    const last = [...i.timeline].reverse().find((t) => t.type === 'escalated' || t.type === 'notified');
    const base = Date.parse(last?.at ?? i.createdAt);
    const delay = Math.max(0, base + o.escalateAfterSeconds * 1000 - this.clock.now());
    const t = this.clock.setTimeout(() => {
      this.timers.delete(i.id);
      if (i.acknowledgedAt || this.stopped) return;
      if (this.deps.custody) {
        // Several hubs: an acknowledgement may have reached another hub; the store says.
        this.track(
          this.ackStored(i.id).then(
            (ack) => {
              if (ack) this.ackedElsewhere(i, ack);
              else this.escalate(i);
            },
            () => this.escalate(i),
          ),
        );
        return;
      }
      this.escalate(i);
    }, delay);
    this.timers.set(i.id, t);
  }

  /** An acknowledgement another hub stored (the incident's own record, or the ack kept apart). */
  private async ackStored(id: string, known?: Incident): Promise<StoredAck | undefined> {
    const [kept, stored] = await Promise.all([
      this.deps.acks?.get<StoredAck>(ACK_NS, id).catch(() => undefined),
      known ?? this.deps.incidents.get(id),
    ]);
    if (kept?.at) return kept;
    return stored?.acknowledgedAt
      ? { at: stored.acknowledgedAt, by: stored.acknowledgedBy ?? '', note: stored.acknowledgedNote ?? '' }
      : undefined;
  }

  /** Acknowledged on another hub: this hub's copy follows (and is stored so), without escalating. */
  private ackedElsewhere(i: Incident, a: StoredAck): void {
    if (i.acknowledgedAt) return;
    this.note(i, 'acknowledged', { by: a.by, elsewhere: true, ...(a.note ? { note: a.note } : {}) });
    i.acknowledgedAt = a.at;
    i.acknowledgedBy = a.by;
    i.acknowledgedNote = a.note || null;
    i.state = 'acknowledged';
    this.save(i);
    this.releaseCustody(i.id);
    this.log.info({ incidentId: i.id, by: i.acknowledgedBy }, '911 incident acknowledged on another hub');
  }

  private escalate(i: Incident): void {
    const o = this.deps.options;
    if (i.acknowledgedAt || this.stopped || this.timers.has(i.id)) return;
    i.escalations++;
    const groups =
      o.escalationGroup && o.escalationGroup !== o.group ? [o.group, o.escalationGroup] : [o.group];
    for (const g of groups) if (!i.notifiedGroups.includes(g)) i.notifiedGroups.push(g);
    i.state = 'unacknowledged';
    this.log.warn(
      { incidentId: i.id, escalation: i.escalations, groups, extension: i.caller.extension },
      '911 alert not acknowledged: escalating',
    );
    this.notify(i, { groups }, i.escalations);
    const ev = this.deps.bus.emit({
      source: 'hub',
      type: 'incident.escalated',
      data: { incidentId: i.id, escalation: i.escalations, groups },
    });
    this.tell(i, 'escalated', ev);
    this.schedule(i);
  }

  /**
   * After a restart (a crash, `kill -9`, a deploy): every incident not acknowledged and younger than
   * resumeWithinSeconds is taken up again. Its alert is resent to the phones of its groups that had not
   * accepted any of its alerts (the engine resumes its own interrupted emergency broadcasts: those phones
   * are left to it), and its escalation is re-armed from the stored times.
   */
  private async resume(): Promise<void> {
    const o = this.deps.options;
    if (o.resumeWithinSeconds <= 0) return;
    const since = new Date(this.clock.now() - o.resumeWithinSeconds * 1000).toISOString();
    let list: Incident[];
    try {
      list = await this.deps.incidents.listOpen({ since, limit: 500 });
    } catch (e) {
      this.log.error({ err: errorMessage(e) }, 'open incidents could not be read: none resumed');
      return;
    }
    for (const stored of list) {
      if (this.open.has(stored.id)) continue;
      await this.takeUp(stored, 'restart');
    }
  }

  /**
   * Takes up an open incident this hub does not know (after its restart, or one opened by a hub that died:
   * the link takeover re-drove its call): resends the alert to the phones of its groups that had not
   * accepted any of its alerts, and re-arms its escalation.
   */
  private async takeUp(i: Incident, why: 'restart' | 'takeover'): Promise<void> {
    this.remember(i);
    const served = new Set<string>();
    for (const b of i.broadcasts) {
      let ds: Awaited<ReturnType<BroadcastEngine['deliveries']>>;
      try {
        ds = await this.deps.engine.deliveries(b);
      } catch {
        continue;
      }
      const running = this.deps.engine.isRunning(b);
      if (running) this.follow(i, b);
      // A phone took the alert, or the engine's resumed broadcast is still serving it.
      for (const d of ds)
        if (
          d.state === 'accepted' ||
          d.state === 'displayed' ||
          d.state === 'acknowledged' ||
          (running && (d.state === 'queued' || d.state === 'sent'))
        )
          served.add(d.deviceId);
    }
    const phones = new Set<string>();
    for (const g of i.notifiedGroups) for (const d of this.deps.devices.list({ group: g })) phones.add(d.id);
    const missing = [...phones].filter((id) => !served.has(id));
    this.note(i, 'resumed', { phones: missing.length, ...(why === 'takeover' ? { takeover: true } : {}) });
    this.log.warn(
      { incidentId: i.id, state: i.state, escalations: i.escalations, resend: missing.length },
      why === 'takeover'
        ? 'open 911 incident of a hub that stopped taken over with its PBX link'
        : 'open 911 incident resumed after a restart',
    );
    if (missing.length > 0) this.notify(i, { devices: missing }, i.escalations, 'resumed');
    else this.save(i);
    this.deps.bus.emit({
      source: 'hub',
      type: 'incident.resumed',
      data: { incidentId: i.id, resent: missing.length, ...(why === 'takeover' ? { takeover: true } : {}) },
    });
    this.schedule(i);
  }

  /** A call event from a PBX whose link came back: this call is still there (re-announced). */
  private seen(source: string, callKey: string): void {
    if (callKey) this.reannounce.get(source)?.keys.delete(callKey);
  }

  /**
   * A PBX link came up (again): the open incidents of that PBX whose call is not re-announced within
   * reannounceGraceMs are over (the PBX restarted, or the call ended while the link or the hub was down), so
   * that a later call reusing the CallID is a new incident.
   */
  private onLink(e: HubEvent): void {
    if (s(e.data.state) !== 'up') return;
    const keys = new Set<string>();
    for (const [k, i] of this.live) if (i.pbx === e.source && !i.callEndedAt) keys.add(k);
    const prev = this.reannounce.get(e.source);
    if (prev) this.clock.clearTimeout(prev.timer);
    if (keys.size === 0) {
      this.reannounce.delete(e.source);
      return;
    }
    const timer = this.clock.setTimeout(() => {
      this.reannounce.delete(e.source);
      for (const k of keys) {
        const i = this.live.get(k);
        if (i && !i.callEndedAt) this.endCall(i, k, 'not re-announced after the PBX link came back', null);
      }
    }, this.deps.options.reannounceGraceMs);
    this.reannounce.set(e.source, { keys, timer });
  }

  private onAck(e: HubEvent): void {
    const meta = (e.data.meta ?? {}) as Record<string, unknown>;
    const id = s(meta.incidentId);
    if (!id) return;
    const mem = this.open.get(id);
    if (mem) this.applyAckOf(mem, e);
    else
      this.track(
        this.writes
          .idle()
          .then(() => this.deps.incidents.get(id))
          .then((i) => {
            if (i) this.applyAckOf(i, e);
          }),
      );
  }

  private applyAckOf(i: Incident, e: HubEvent): void {
    this.applyAck(i, {
      deviceId: s(e.data.deviceId),
      by: s(e.data.by),
      broadcastId: s(e.data.broadcastId),
      at: s(e.data.at),
    });
  }

  /**
   * An operator acknowledges from the console or the API (the security desk saw the alert). Same effect as
   * a phone's acknowledgement: stops escalation and records who and when.
   */
  async acknowledge(id: string, by: string, note = ''): Promise<Incident> {
    const i = this.open.get(id) ?? (await this.get(id));
    this.applyAck(i, { deviceId: '', by, broadcastId: '', at: '', note });
    return i;
  }

  /**
   * Adds an operator's step to an incident's timeline (e.g. `callback.dialled` from the console's Call
   * back) and stores it. The in-memory copy of an open incident is used so no timeline entry is lost.
   */
  async record(id: string, type: string, detail: Record<string, unknown>): Promise<Incident> {
    const i = this.open.get(id) ?? (await this.get(id));
    this.note(i, type, detail);
    this.save(i);
    return i;
  }

  private applyAck(
    i: Incident,
    a: { deviceId: string; by: string; broadcastId: string; at: string; note?: string },
  ): void {
    this.note(i, 'acknowledged', {
      deviceId: a.deviceId,
      by: a.by,
      broadcastId: a.broadcastId,
      ...(a.note ? { note: a.note } : {}),
    });
    if (!i.acknowledgedAt) {
      i.acknowledgedAt = a.at || new Date(this.clock.now()).toISOString();
      i.acknowledgedBy = a.by || a.deviceId;
      i.acknowledgedNote = a.note || null;
      i.state = 'acknowledged';
      // Every phone stops repeating; their Exit/refresh now shows who acknowledged.
      const who = i.acknowledgedBy || 'the security desk';
      const text = `Acknowledged by ${who} at ${localTime(i.acknowledgedAt, i.timeZone ?? 'UTC')}.`;
      for (const id of i.broadcasts) void this.deps.engine.settle(id, who, text);
      this.log.info(
        { incidentId: i.id, by: i.acknowledgedBy, deviceId: a.deviceId || null, escalations: i.escalations },
        '911 incident acknowledged',
      );
      const t = this.timers.get(i.id);
      if (t) this.clock.clearTimeout(t);
      this.timers.delete(i.id);
      this.releaseCustody(i.id);
      const acks = this.deps.acks;
      if (acks) {
        const ack: StoredAck = {
          at: i.acknowledgedAt,
          by: i.acknowledgedBy ?? '',
          note: i.acknowledgedNote ?? '',
        };
        void this.writes.write('incident', () => acks.set(ACK_NS, i.id, ack));
      }
      const ev = this.deps.bus.emit({
        source: 'hub',
        type: 'incident.acknowledged',
        data: {
          incidentId: i.id,
          by: i.acknowledgedBy,
          deviceId: a.deviceId || null,
          at: i.acknowledgedAt,
          ...(a.note ? { note: a.note } : {}),
        },
      });
      this.tell(i, 'acknowledged', ev);
    }
    this.save(i);
  }

  private onCallEnded(e: HubEvent): void {
    const key = s(e.data.callKey);
    if (!key) return;
    this.seen(e.source, key);
    const i = this.live.get(key);
    if (!i || i.callEndedAt || i.pbx !== e.source) return;
    this.endCall(i, key, s(e.data.reason), e.data.durationSeconds ?? null);
  }

  private endCall(i: Incident, key: string, reason: string, durationSeconds: unknown): void {
    i.callEndedAt = new Date(this.clock.now()).toISOString();
    this.note(i, 'call.ended', { reason, durationSeconds });
    this.save(i);
    this.live.delete(key);
    this.log.info({ incidentId: i.id, callKey: key, reason }, '911 call ended');
    this.deps.bus.emit({
      source: 'hub',
      type: 'incident.call_ended',
      data: { incidentId: i.id, callKey: key },
    });
  }

  async list(q: IncidentQuery): Promise<Incident[]> {
    await this.writes.idle();
    return this.deps.incidents.list(q);
  }

  /** A drill is about to be placed through a simulator: its emergency call will be marked as a drill. */
  private onDrillPlaced(e: HubEvent): void {
    const now = this.clock.now();
    for (const [k, until] of this.drills) if (until < now) this.drills.delete(k);
    if (this.drills.size >= 100) return;
    this.drills.set(`${s(e.data.extension)}|${s(e.data.dialled)}`, now + DRILL_MATCH_MS);
  }

  private takeDrill(extension: string, dialled: string, now: number): boolean {
    const k = `${extension}|${dialled}`;
    const until = this.drills.get(k);
    if (until === undefined) return false;
    this.drills.delete(k);
    return until >= now;
  }

  async get(id: string): Promise<Incident> {
    await this.writes.idle();
    const i = await this.deps.incidents.get(id);
    if (!i)
      throw new NotFoundError('INCIDENT_NOT_FOUND', `no incident ${JSON.stringify(id)}`, { field: 'id' });
    return i;
  }
}

/** CSV export of incidents (one row per incident; RFC 4180 quoting). */
export function incidentsCsv(list: Incident[]): string {
  const cols = [
    'id',
    'createdAt',
    'test',
    'extension',
    'name',
    'callbackNumber',
    'dialled',
    'building',
    'floor',
    'room',
    'locationSource',
    'state',
    'acknowledgedAt',
    'acknowledgedBy',
    'escalations',
    'callEndedAt',
    'broadcasts',
    // Appended (not next to `test`) so that existing column positions stay.
    'drill',
  ];
  const q = csvCell;
  const rows = list.map((i) =>
    [
      i.id,
      i.createdAt,
      i.test,
      i.caller.extension,
      i.caller.name,
      i.caller.callbackNumber,
      i.caller.dialled,
      i.location.building,
      i.location.floor,
      i.location.room,
      i.location.from,
      i.state,
      i.acknowledgedAt,
      i.acknowledgedBy,
      i.escalations,
      i.callEndedAt,
      i.broadcasts.join(' '),
      i.drill === true,
    ]
      .map(q)
      .join(','),
  );
  return `${[cols.join(','), ...rows].join('\r\n')}\r\n`;
}

/**
 * Parses a location CSV (header row: extension, name, building, floor, room, site, description, callback,
 * timezone; any order and case). An unknown time zone is kept as given and reported by the coverage check
 * (`GET /api/emergency`); alerts then use `emergency.timeZone`.
 */
export function parseLocationsCsv(text: string, now: string): LocationEntry[] {
  const rows = parseCsv(text);
  if (rows.length === 0) return [];
  const header = rows[0]!.map((h) => h.trim().toLowerCase());
  const col = (n: string) => header.indexOf(n);
  const ext = col('extension');
  if (ext < 0)
    throw new ValidationError(
      'LOCATIONS_CSV_INVALID',
      'csv: the header row must name an `extension` column',
      { field: 'csv' },
    );
  const fields = [
    'name',
    'building',
    'floor',
    'room',
    'site',
    'description',
    'callback',
    'timeZone',
  ] as const;
  const out: LocationEntry[] = [];
  rows.slice(1).forEach((r) => {
    const e = (r[ext] ?? '').trim();
    if (!e) return;
    const entry: LocationEntry = { extension: e.slice(0, 32), updatedAt: now };
    for (const f of fields) {
      const i = col(f.toLowerCase());
      const v = i >= 0 ? (r[i] ?? '').trim() : '';
      if (v) entry[f] = v.slice(0, f === 'description' ? 1000 : 200);
    }
    out.push(entry);
  });
  return out;
}

/** Minimal RFC 4180 CSV reader (quoted fields, doubled quotes, CRLF/LF); bounded by the input size. */
export function parseCsv(text: string, maxRows = 100_000): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const t = text.replace(/^\uFEFF/, '');
  while (i < t.length) {
    const c = t[i]!;
    if (quoted) {
      if (c === '"') {
        if (t[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      i++;
    } else if (c === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (c === '\n' || c === '\r') {
      row.push(field);
      field = '';
      if (row.some((x) => x !== '')) rows.push(row);
      if (rows.length >= maxRows) return rows;
      row = [];
      i += c === '\r' && t[i + 1] === '\n' ? 2 : 1;
    } else {
      field += c;
      i++;
    }
  }
  row.push(field);
  if (row.some((x) => x !== '')) rows.push(row);
  return rows;
}
