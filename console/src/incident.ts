// Pure helpers about 911 incidents and the hub's emergency readiness, as the console shows them (no DOM,
// no JSX). Unit-tested in test/console/incident.test.ts.
import { str } from './lib.js';

export interface Incident {
  id: string;
  state?: string;
  status?: string;
  test?: boolean;
  drill?: boolean;
  createdAt?: string;
  startedAt?: string;
  callerExtension?: string;
  callerName?: string;
  callbackNumber?: string;
  caller?: { extension?: string; name?: string; callbackNumber?: string; dialled?: string };
  location?: unknown;
  escalations?: number;
  acknowledgedAt?: string | null;
  acknowledgedBy?: string | null;
  acknowledgedNote?: string | null;
  acknowledgements?: Array<Record<string, unknown>>;
  timeline?: Array<Record<string, unknown>>;
  deliveries?: Array<Record<string, unknown>>;
  [k: string]: unknown;
}

export function incidentTime(i: Incident): string | undefined {
  return str(i.startedAt ?? i.createdAt ?? i.time, '') || undefined;
}

/** The caller fields, from the incident's `caller` object (or flat fields). */
export function callerOf(i: Incident): {
  extension: string;
  name: string;
  callback: string;
  dialled: string;
} {
  return {
    extension: str(i.caller?.extension ?? i.callerExtension),
    name: str(i.caller?.name ?? i.callerName),
    callback: str(i.caller?.callbackNumber ?? i.callbackNumber),
    dialled: str(i.caller?.dialled),
  };
}

/**
 * Acknowledged means someone acknowledged: an acknowledgement time or the state `acknowledged`. Never a
 * pattern match on the state: `unacknowledged` (escalated, nobody answered) contains "ack" (defect 9).
 */
export function isAcknowledged(i: Incident): boolean {
  const state = str(i.state ?? i.status);
  return Boolean(i.acknowledgedAt) || state === 'acknowledged' || (i.acknowledgements?.length ?? 0) > 0;
}

/** Not a real emergency: a drill (console drill button) or a test call (933). */
export function isExercise(i: Incident): boolean {
  return i.drill === true || i.test === true;
}

export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'muted';

/** The one status line of an incident: escalated and unacknowledged incidents are red and say so. */
export function incidentStatus(i: Incident): { acknowledged: boolean; tone: Tone; label: string } {
  if (isAcknowledged(i)) return { acknowledged: true, tone: 'ok', label: 'acknowledged' };
  const n = typeof i.escalations === 'number' ? i.escalations : 0;
  if (str(i.state ?? i.status) === 'unacknowledged' || n > 0)
    return {
      acknowledged: false,
      tone: 'bad',
      label: `escalated${n > 1 ? ` ×${n}` : ''}, NOT acknowledged`,
    };
  return { acknowledged: false, tone: 'bad', label: 'open, NOT acknowledged' };
}

/** What kind of call: shown first on every alert, so that a drill is never taken for a real 911 call. */
export function incidentKind(i: Incident): { title: string; exercise: 'drill' | 'test' | null } {
  const dialled = callerOf(i).dialled || '911';
  if (i.drill === true) return { title: `DRILL: ${dialled} call (not a real emergency)`, exercise: 'drill' };
  if (i.test === true) return { title: `TEST call to ${dialled} (not a real emergency)`, exercise: 'test' };
  return { title: `${dialled} EMERGENCY CALL`, exercise: null };
}

/** The dispatchable location as one line (building, floor, room first), or '' when unknown. */
export function locationText(l: unknown): string {
  if (!l) return '';
  if (typeof l === 'string') return l;
  const o = l as Record<string, unknown>;
  // "2" → "floor 2", but "Mezzanine" or "Room 214" stay as they are.
  const label = (word: string, v: unknown) => (v ? (/^\d/.test(str(v)) ? `${word} ${str(v)}` : str(v)) : '');
  return [o.building, label('floor', o.floor), label('room', o.room), o.site, o.description]
    .filter(Boolean)
    .map(String)
    .join(', ');
}

/**
 * How much the desk can trust the location: `room` (from the location table or the caller's device),
 * `site` (only the PBX's own site / emergency location id: ask the caller) or `none`.
 */
export function locationQuality(l: unknown): 'room' | 'site' | 'none' {
  if (!locationText(l)) return 'none';
  const from = l && typeof l === 'object' ? (l as Record<string, unknown>).from : undefined;
  return from === 'pbx' ? 'site' : 'room';
}

/**
 * How the alert reached the security phones: counts per phone (an escalation re-sends to the same phones:
 * a phone counts as alerted once any of its deliveries got through) and one line.
 */
export function deliverySummary(deliveries: Array<Record<string, unknown>> | undefined): {
  total: number;
  reached: number;
  failed: number;
  pending: number;
  tone: Tone;
  text: string;
} {
  const byPhone = new Map<string, 'reached' | 'failed' | 'pending'>();
  for (const [n, d] of (deliveries ?? []).entries()) {
    const id = str(d.deviceId ?? d.device, `#${n}`);
    const st = str(d.state ?? d.status);
    const now = /^(accepted|displayed|acknowledged)$/.test(st)
      ? 'reached'
      : /^(failed|expired|suppressed|cancelled|skipped)$/.test(st)
        ? 'failed'
        : 'pending';
    const before = byPhone.get(id);
    if (before === 'reached') continue;
    if (before === 'pending' && now === 'failed') continue;
    byPhone.set(id, now);
  }
  const all = [...byPhone.values()];
  const reached = all.filter((x) => x === 'reached').length;
  const failed = all.filter((x) => x === 'failed').length;
  const pending = all.length - reached - failed;
  const total = all.length;
  if (total === 0)
    return { total, reached, failed, pending, tone: 'warn', text: 'no security phone alerted yet' };
  const parts = [`${reached} of ${total} security phone${total === 1 ? '' : 's'} alerted`];
  if (failed) parts.push(`${failed} FAILED`);
  if (pending) parts.push(`${pending} in progress`);
  return {
    total,
    reached,
    failed,
    pending,
    tone: reached === 0 && pending === 0 ? 'bad' : failed ? 'warn' : reached === total ? 'ok' : 'info',
    text: parts.join(', '),
  };
}

/** One reason why 911 notification is not ready (`GET /api/emergency` → `reasons`). */
export interface ReadinessReason {
  code: string;
  message: string;
  deviceId?: string;
  since?: string;
}

export interface PhoneReach {
  deviceId: string;
  name: string;
  group: string;
  /** null: not probed yet. */
  reachable: boolean | null;
  checkedAt?: string;
  error?: string;
}

export interface LinkState {
  deviceId: string;
  name: string;
  up: boolean;
  since?: string;
}

/** What the console shows of `GET /api/emergency`, tolerant of older hubs that lack the fields. */
export interface Readiness {
  /** undefined: this hub does not report readiness. */
  ready: boolean | undefined;
  reasons: ReadinessReason[];
  /** null: this hub does not report per-phone reachability (older hubs answer a count). */
  phones: PhoneReach[] | null;
  links: LinkState[];
  /** Extensions the alert could not place or call back, by problem (`coverage`), when the hub says. */
  coverage: Array<{ label: string; extensions: string[] }>;
}

const rec = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.map(rec) : []);
const opt = (k: string, v: unknown) => (v === undefined || v === null || v === '' ? {} : { [k]: str(v) });

export function readinessOf(raw: unknown): Readiness {
  const r = rec(raw);
  const phones = Array.isArray(r.phones)
    ? list(r.phones).map((p) => ({
        deviceId: str(p.deviceId ?? p.id),
        name: str(p.name),
        group: str(p.group),
        reachable: typeof p.reachable === 'boolean' ? p.reachable : null,
        ...opt('checkedAt', p.checkedAt),
        ...opt('error', p.error),
      }))
    : null;
  const coverage: Readiness['coverage'] = [];
  const cov = r.coverage;
  if (Array.isArray(cov)) {
    const exts = cov.map((c) => (typeof c === 'object' ? str(rec(c).extension) : str(c))).filter(Boolean);
    if (exts.length) coverage.push({ label: 'extensions without full 911 data', extensions: exts });
  } else
    for (const [k, v] of Object.entries(rec(cov)))
      if (Array.isArray(v) && v.length)
        coverage.push({
          label: k.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase(),
          extensions: v.map((x) => (typeof x === 'object' ? str(rec(x).extension) : str(x))).filter(Boolean),
        });
  return {
    ready: typeof r.ready === 'boolean' ? r.ready : undefined,
    reasons: list(r.reasons).map((x) => ({
      code: str(x.code, 'UNKNOWN'),
      message: str(x.message ?? x.code, 'not ready'),
      ...opt('deviceId', x.deviceId),
      ...opt('since', x.since),
    })),
    phones,
    links: list(r.links).map((l) => ({
      deviceId: str(l.deviceId ?? l.id),
      name: str(l.name),
      up: l.up === true,
      ...opt('since', l.since),
    })),
    coverage,
  };
}
