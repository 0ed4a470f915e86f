import { randomUUID } from 'node:crypto';
import type { BroadcastEngine } from '../broadcast/engine.js';
import type { TemplateService } from '../broadcast/templates.js';
import type { EventBus, Subscription } from '../bus.js';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import type { Device, Location } from '../devices.js';
import { errorMessage, NotFoundError, ValidationError } from '../errors.js';
import type { HubEvent } from '../events.js';
import { type Logger, silentLogger } from '../logger.js';
import type { AlertPublisher } from '../rules/types.js';
import {
  alertContext,
  callbackDial,
  compactAlert,
  localTime,
  markFirstLine,
  resolveCallback,
  resolveTimeZone,
} from './alert-text.js';
import type {
  Incident,
  IncidentMailer,
  IncidentMailKind,
  IncidentStore,
  LocationEntry,
  LocationStore,
} from './types.js';

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
  /** PubSub queue the incident is published to ('' = none). */
  queue: string;
  account: string;
  webhooks: Array<{ url: string; secret?: string }>;
  /** What the security phones show (see alert-text.ts and docs/emergency-911.md). */
  phone?: Partial<EmergencyPhoneOptions>;
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
};

export interface EmergencyDeps {
  bus: EventBus;
  engine: BroadcastEngine;
  templates: TemplateService;
  locations: LocationStore;
  incidents: IncidentStore;
  devices: { list(q?: { group?: string }): Device[]; listGroups(): Array<{ id: string; members: number }> };
  publisher?: () => AlertPublisher | undefined;
  webhook?: (p: { url: string; secret?: string; event: HubEvent }) => Promise<{ id: string; ok: boolean }>;
  /** The email relay (opened, escalated, acknowledged); absent = no mails. */
  mailer?: IncidentMailer;
  clock?: Clock;
  logger?: Logger;
  options: EmergencyOptions;
}

const s = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

/**
 * On-site 911 notification: on `call.emergency`, opens an incident, resolves the caller's dispatchable
 * location (location table by extension, then the caller's device in the registry, then the PBX's
 * emergency location id), alerts the security group (emergency priority, urgent tones, Acknowledge link),
 * publishes to PubSub and webhooks, and escalates (repeat + widen) until someone acknowledges. It only
 * listens to call events: it never sends anything to the PBX and cannot delay or touch the call.
 */
export class EmergencyService {
  private sub: Subscription | undefined;
  private timers = new Map<string, TimerHandle>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly open = new Map<string, Incident>();
  private pending = new Set<Promise<unknown>>();
  /** Drills announced before their call reaches the PBX (extension → until when, ms). */
  private readonly drills = new Map<string, number>();

  constructor(private readonly deps: EmergencyDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? silentLogger;
  }

  get options(): EmergencyOptions {
    return this.deps.options;
  }

  /**
   * A drill is about to be placed from `extension` (the demo's drill button through the PBX simulator, whose
   * call arrives as an ordinary emergency call): the next emergency call from it within `withinMs` is a drill,
   * and its alerts say so in their first line.
   */
  expectDrill(extension: string, withinMs = 60_000): void {
    const now = this.clock.now();
    for (const [k, until] of this.drills) if (until < now) this.drills.delete(k);
    if (this.drills.size < 100) this.drills.set(extension, now + withinMs);
  }

  private takeDrill(extension: string): boolean {
    const until = this.drills.get(extension);
    if (until === undefined) return false;
    this.drills.delete(extension);
    return until >= this.clock.now();
  }

  /** Is the built-in rule active now? (`auto`: once the group exists and has members.) */
  active(): boolean {
    const o = this.deps.options;
    if (o.enabled === 'off') return false;
    if (o.enabled === 'on') return true;
    return this.deps.devices.listGroups().some((g) => g.id === o.group && g.members > 0);
  }

  start(): void {
    this.sub ??= this.deps.bus.subscribe((e) => this.onEvent(e), {
      filter: { types: ['call.emergency', 'call.ended', 'broadcast.acknowledged'] },
    });
  }

  async stop(): Promise<void> {
    this.sub?.unsubscribe();
    this.sub = undefined;
    for (const t of this.timers.values()) this.clock.clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.pending]);
  }

  private onEvent(e: HubEvent): void {
    try {
      if (e.type === 'call.emergency') this.onEmergency(e);
      else if (e.type === 'broadcast.acknowledged') this.onAck(e);
      else if (e.type === 'call.ended') this.onCallEnded(e);
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
    const entry = extension ? this.deps.locations.get(extension) : undefined;
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

  private save(i: Incident): void {
    this.deps.incidents.update(i);
  }

  private onEmergency(e: HubEvent): void {
    const o = this.deps.options;
    const d = e.data;
    const test = d.test === true;
    if (test && !o.includeTests) return;
    if (!this.active()) {
      this.log.warn(
        { group: o.group },
        'emergency call seen but the notify group has no phones: nobody notified',
      );
      this.deps.bus.emit({
        source: 'hub',
        type: 'incident.unnotified',
        data: {
          reason: `group ${o.group} has no phones`,
          callKey: s(d.callKey),
          callerExtension: s(d.callerExtension),
        },
      });
      return;
    }
    const callKey = s(d.callKey) || null;
    if (callKey && (this.open.has(callKey) || this.deps.incidents.byCallKey(callKey))) return;
    const now = this.clock.now();
    const extension = s(d.callerExtension ?? d.extension);
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
      ...(d.drill === true || this.takeDrill(extension) ? { drill: true } : {}),
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
      callEndedAt: null,
      timeline: [],
    };
    this.note(incident, 'call.emergency', {
      eventId: e.id,
      source: e.source,
      dialled: incident.caller.dialled,
      test,
    });
    this.deps.incidents.insert(incident);
    if (callKey) this.open.set(callKey, incident);
    this.open.set(incident.id, incident);
    // One live object per incident (timers, reports and acks update the same record); bounded: 911 calls are rare.
    for (const k of this.open.keys()) {
      if (this.open.size <= 2000) break;
      this.open.delete(k);
    }
    this.notify(incident, [o.group], 0);
    this.deps.bus.emit({
      source: 'hub',
      type: 'incident.opened',
      data: { incidentId: incident.id, test, caller: incident.caller, location: incident.location, callKey },
    });
    this.publish(incident, e);
    this.mail(incident, 'opened');
    this.schedule(incident);
  }

  private notify(i: Incident, groups: string[], escalation: number): void {
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
          targets: { groups },
          meta: { incidentId: i.id, escalation },
        },
        {
          createdBy: 'emergency',
          ...(phone.repeatSeconds > 0 ? { repeat: { everyMs: phone.repeatSeconds * 1000 } } : {}),
        },
      );
      i.broadcasts.push(b.id);
      this.note(i, escalation > 0 ? 'escalated' : 'notified', {
        broadcastId: b.id,
        groups,
        phones: this.deps.engine.deliveries(b.id).length,
      });
      const p = this.deps.engine.wait(b.id).then((r) => {
        this.note(i, 'delivery.report', {
          broadcastId: b.id,
          counts: r.counts,
          failuresByReason: r.failuresByReason,
          timeToLastMs: r.timeToLastMs,
        });
        this.save(i);
      });
      this.track(p);
    } catch (e) {
      this.note(i, 'notify.failed', { groups, error: errorMessage(e) });
    }
    this.save(i);
  }

  private track(p: Promise<unknown>): void {
    const q = p
      .catch((e) => this.log.warn({ err: errorMessage(e) }, 'emergency follow-up failed'))
      .finally(() => this.pending.delete(q));
    this.pending.add(q);
  }

  private publish(i: Incident, e: HubEvent): void {
    const o = this.deps.options;
    const pub = o.queue ? this.deps.publisher?.() : undefined;
    const message: Record<string, string> = {
      incidentId: i.id,
      test: String(i.test),
      extension: i.caller.extension,
      name: i.caller.name,
      callbackNumber: i.caller.callbackNumber,
      building: i.location.building ?? '',
      floor: i.location.floor ?? '',
      room: i.location.room ?? '',
      location: [i.location.building, i.location.floor, i.location.room, i.location.description]
        .filter(Boolean)
        .join(' / '),
      time: i.createdAt,
      dialled: i.caller.dialled,
    };
    if (pub) {
      this.track(
        pub
          .publish({ ...(o.account ? { account: o.account } : {}), queue: o.queue, message })
          .then((r) => {
            this.note(i, 'published', { queue: o.queue, messageId: r.id });
            this.save(i);
          })
          .catch((err) => {
            this.note(i, 'publish.failed', { queue: o.queue, error: errorMessage(err) });
            this.save(i);
          }),
      );
    }
    for (const w of o.webhooks) {
      if (!this.deps.webhook) break;
      const ev: HubEvent = {
        ...e,
        type: 'incident.opened',
        data: { incident: { ...i, timeline: [] }, ...message },
      };
      this.track(
        this.deps.webhook({ url: w.url, ...(w.secret ? { secret: w.secret } : {}), event: ev }).then((r) => {
          this.note(i, r.ok ? 'webhook.sent' : 'webhook.failed', {
            host: new URL(w.url).host,
            deliveryId: r.id,
          });
          this.save(i);
        }),
      );
    }
  }

  /**
   * Mails the incident through the relay, in the background: the phone alerts were started before and never
   * wait for it. The outcome (after the mailer's own retries) goes into the timeline.
   */
  private mail(i: Incident, kind: IncidentMailKind): void {
    const mailer = this.deps.mailer;
    if (!mailer) return;
    // A snapshot: the live incident keeps changing (escalations, acks) while the mail is on its way.
    const snap: Incident = {
      ...i,
      caller: { ...i.caller },
      location: { ...i.location },
      broadcasts: [...i.broadcasts],
      notifiedGroups: [...i.notifiedGroups],
      timeline: i.timeline.slice(0, 1),
    };
    let p: Promise<{ messageId: string; attempts: number }>;
    try {
      p = mailer.send(kind, snap);
    } catch (err) {
      p = Promise.reject(err);
    }
    this.track(
      p.then(
        (r) => {
          this.note(i, 'email.sent', { kind, messageId: r.messageId, attempts: r.attempts });
          this.save(i);
        },
        (err) => {
          this.note(i, 'email.failed', { kind, reason: errorMessage(err) });
          this.save(i);
        },
      ),
    );
  }

  private schedule(i: Incident): void {
    const o = this.deps.options;
    if (o.escalateAfterSeconds <= 0 || i.escalations >= o.maxEscalations) return;
    const t = this.clock.setTimeout(() => {
      this.timers.delete(i.id);
      if (i.acknowledgedAt) return;
      i.escalations++;
      const groups =
        o.escalationGroup && o.escalationGroup !== o.group ? [o.group, o.escalationGroup] : [o.group];
      for (const g of groups) if (!i.notifiedGroups.includes(g)) i.notifiedGroups.push(g);
      i.state = 'unacknowledged';
      this.notify(i, groups, i.escalations);
      this.deps.bus.emit({
        source: 'hub',
        type: 'incident.escalated',
        data: { incidentId: i.id, escalation: i.escalations, groups },
      });
      this.mail(i, 'escalated');
      this.schedule(i);
    }, o.escalateAfterSeconds * 1000);
    this.timers.set(i.id, t);
  }

  private onAck(e: HubEvent): void {
    const meta = (e.data.meta ?? {}) as Record<string, unknown>;
    const id = s(meta.incidentId);
    if (!id) return;
    const i = this.open.get(id) ?? this.deps.incidents.get(id);
    if (!i) return;
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
  acknowledge(id: string, by: string): Incident {
    const i = this.open.get(id) ?? this.get(id);
    this.applyAck(i, { deviceId: '', by, broadcastId: '', at: '' });
    return i;
  }

  private applyAck(i: Incident, a: { deviceId: string; by: string; broadcastId: string; at: string }): void {
    this.note(i, 'acknowledged', {
      deviceId: a.deviceId,
      by: a.by,
      broadcastId: a.broadcastId,
    });
    if (!i.acknowledgedAt) {
      i.acknowledgedAt = a.at || new Date(this.clock.now()).toISOString();
      i.acknowledgedBy = a.by || a.deviceId;
      i.state = 'acknowledged';
      // Every phone stops repeating; their Exit/refresh now shows who acknowledged.
      const who = i.acknowledgedBy || 'the security desk';
      const text = `Acknowledged by ${who} at ${localTime(i.acknowledgedAt, i.timeZone ?? 'UTC')}.`;
      for (const id of i.broadcasts) this.deps.engine.settle(id, who, text);
      const t = this.timers.get(i.id);
      if (t) this.clock.clearTimeout(t);
      this.timers.delete(i.id);
      this.deps.bus.emit({
        source: 'hub',
        type: 'incident.acknowledged',
        data: { incidentId: i.id, by: i.acknowledgedBy, deviceId: a.deviceId || null, at: i.acknowledgedAt },
      });
      this.mail(i, 'acknowledged');
    }
    this.save(i);
  }

  private onCallEnded(e: HubEvent): void {
    const key = s(e.data.callKey);
    if (!key) return;
    const i = this.open.get(key) ?? this.deps.incidents.byCallKey(key);
    if (!i || i.callEndedAt) return;
    i.callEndedAt = new Date(this.clock.now()).toISOString();
    this.note(i, 'call.ended', { reason: s(e.data.reason), durationSeconds: e.data.durationSeconds ?? null });
    this.save(i);
    this.open.delete(key);
    this.deps.bus.emit({
      source: 'hub',
      type: 'incident.call_ended',
      data: { incidentId: i.id, callKey: key },
    });
  }

  list(q: { limit: number; before?: string }): Incident[] {
    return this.deps.incidents.list(q);
  }

  get(id: string): Incident {
    const i = this.deps.incidents.get(id);
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
  ];
  const q = (v: unknown) => {
    const t = v === null || v === undefined ? '' : String(v);
    // Neutralise spreadsheet formulas (=, +, -, @ at the start) as well as quoting.
    const safe = /^[=+\-@\t\r]/.test(t) ? `'${t}` : t;
    return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
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
