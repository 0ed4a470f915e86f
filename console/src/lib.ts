// Pure helpers of the console (no DOM, no JSX): formatting, CSV, form values → params, event → call.
// Unit-tested in test/console/lib.test.ts.

export function str(v: unknown, fallback = ''): string {
  return v === undefined || v === null ? fallback : String(v);
}

export function formatDuration(seconds: number): string {
  const s = Number.isFinite(seconds) ? Math.max(0, Math.floor(seconds)) : 0;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** CSV with RFC 4180 quoting; cells starting with = + - @ are prefixed so spreadsheets do not run them. */
export function toCsv(header: string[], rows: unknown[][]): string {
  const cell = (v: unknown) => {
    let s = v === undefined || v === null ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${[header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`;
}

/** The subset of JSON Schema that the hub generates for action parameters (core/spec.ts paramsSchema). */
export interface JsonSchema {
  type?: string;
  enum?: unknown[];
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: JsonSchema;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

export type FormValues = Record<string, string | boolean>;
export type FieldKind = 'enum' | 'boolean' | 'number' | 'string' | 'list' | 'json';

export function kindOf(s: JsonSchema): FieldKind {
  if (s.enum) return 'enum';
  if (s.type === 'boolean') return 'boolean';
  if (s.type === 'integer' || s.type === 'number') return 'number';
  if (s.type === 'string' || s.type === undefined) return 'string';
  if (s.type === 'array' && s.items && ['string', 'integer', 'number'].includes(s.items.type ?? ''))
    return 'list';
  return 'json';
}

/** Initial form values: each parameter's default, shown as text. */
export function initialValues(schema: JsonSchema): FormValues {
  const v: FormValues = {};
  for (const [name, s] of Object.entries(schema.properties ?? {})) {
    const k = kindOf(s);
    if (k === 'boolean') v[name] = s.default === true;
    else if (s.default === undefined) v[name] = '';
    else if (k === 'list' && Array.isArray(s.default)) v[name] = s.default.join('\n');
    else if (k === 'json') v[name] = JSON.stringify(s.default, null, 2);
    else v[name] = String(s.default);
  }
  return v;
}

export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Turns form values into action params: empty optional fields are left out (the hub applies defaults),
 * numbers, enums, lists (one per line) and JSON are converted. Throws FieldError naming the field.
 * The hub validates the result again against the spec.
 */
export function toParams(schema: JsonSchema, values: FormValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const required = new Set(schema.required ?? []);
  for (const [name, s] of Object.entries(schema.properties ?? {})) {
    const raw = values[name];
    const k = kindOf(s);
    if (k === 'boolean') {
      if (raw === true || required.has(name) || s.default !== undefined) out[name] = raw === true;
      continue;
    }
    const text = typeof raw === 'string' ? raw : '';
    if (text === '') {
      if (required.has(name) && k === 'string') out[name] = '';
      continue;
    }
    if (k === 'number') {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw new FieldError(name, `${name}: must be a number`);
      out[name] = n;
    } else if (k === 'enum') {
      out[name] = s.enum!.find((e) => String(e) === text) ?? text;
    } else if (k === 'list') {
      const items = text
        .split(/\r?\n/)
        .map((x) => x.trim())
        .filter(Boolean);
      if (s.items?.type === 'string') out[name] = items;
      else {
        const nums = items.map(Number);
        if (nums.some((n) => !Number.isFinite(n))) throw new FieldError(name, `${name}: one number per line`);
        out[name] = nums;
      }
    } else if (k === 'json') {
      try {
        out[name] = JSON.parse(text);
      } catch {
        throw new FieldError(name, `${name}: must be JSON`);
      }
    } else out[name] = text;
  }
  return out;
}

/** The flat call summary every `call.*` event carries (IP Office driver), as the console shows it. */
export interface Call {
  key: string;
  source: string;
  callKey: string;
  state: string;
  direction: string;
  from: string;
  fromName: string;
  to: string;
  toName: string;
  huntGroup: string;
  extension: string;
  startedAt: string;
  answeredAt?: string | undefined;
  emergency: boolean;
  test?: boolean;
  endedAt?: string;
  durationSeconds?: number;
  talkSeconds?: number;
}

export function callFrom(
  source: string,
  d: Record<string, unknown>,
  now = () => new Date().toISOString(),
): Call {
  const callKey = str(d.callKey ?? d.callId ?? d.id);
  return {
    key: `${source}|${callKey}`,
    source,
    callKey,
    state: str(d.state, 'other'),
    direction: str(d.direction),
    from: str(d.from),
    fromName: str(d.fromName),
    to: str(d.to),
    toName: str(d.toName),
    huntGroup: str(d.huntGroup),
    extension: str(d.extension),
    startedAt: str(d.startedAt, now()),
    answeredAt: d.answeredAt ? str(d.answeredAt) : undefined,
    emergency: d.emergency === true,
    ...(d.test === true ? { test: true } : {}),
    ...(d.endedAt ? { endedAt: str(d.endedAt) } : {}),
    ...(typeof d.durationSeconds === 'number' ? { durationSeconds: d.durationSeconds } : {}),
    ...(typeof d.talkSeconds === 'number' ? { talkSeconds: d.talkSeconds } : {}),
  };
}

/** Live calls in display order: emergency calls first, then oldest first. */
export function sortCalls(calls: Iterable<Call>): Call[] {
  return [...calls].sort(
    (a, b) => Number(b.emergency) - Number(a.emergency) || a.startedAt.localeCompare(b.startedAt),
  );
}

/**
 * Applies one `call.*` event to the live-call map (returns a new map): `call.ended` removes the call,
 * others replace its summary; a call once flagged emergency stays flagged.
 */
export function applyCallEvent(
  calls: ReadonlyMap<string, Call>,
  type: string,
  call: Call,
): Map<string, Call> {
  const m = new Map(calls);
  if (type === 'call.ended') m.delete(call.key);
  else if (type !== 'call.rejected') {
    const prev = m.get(call.key);
    m.set(call.key, { ...call, emergency: call.emergency || prev?.emergency === true });
  }
  return m;
}

/** Finds the image in a screenshot result (`data` with base64 bytes and a content type) as a data: URL. */
export function imageFrom(data: unknown): string | null {
  if (!data || typeof data !== 'object') return null;
  const d = data as Record<string, unknown>;
  const type = str(d.contentType ?? d.mimeType ?? d.type, 'image/png');
  if (!/^image\/[a-z0-9.+-]+$/i.test(type)) return null;
  for (const k of ['base64', 'image', 'bytes', 'data', 'png', 'body']) {
    const v = d[k];
    if (typeof v === 'string' && v.length > 16) {
      if (v.startsWith('data:image/')) return v;
      if (/^[A-Za-z0-9+/=\r\n]+$/.test(v)) return `data:${type};base64,${v.replace(/\s/g, '')}`;
    }
  }
  return null;
}

export interface Delivery {
  deviceId: string;
  status: string;
  reason?: string;
  kind?: string;
  updatedAt?: string;
}

/** Delivery states after which nothing more happens to that phone. */
export const FINAL_DELIVERY = new Set([
  'accepted',
  'displayed',
  'acknowledged',
  'failed',
  'expired',
  'suppressed',
  'skipped',
  'cancelled',
]);
export const FAILED_DELIVERY = new Set(['failed', 'expired', 'suppressed', 'cancelled']);

/** Normalizes delivery records (`state` or `status`, reason + message, the latest timestamp). */
export function deliveriesOf(raw: unknown): Delivery[] {
  if (!Array.isArray(raw)) return [];
  return (raw as Record<string, unknown>[]).map((d) => ({
    deviceId: str(d.deviceId ?? d.device ?? d.id),
    status: str(d.state ?? d.status, 'queued'),
    ...(d.reason || d.error || d.message
      ? { reason: [d.reason ?? d.error, d.message].filter(Boolean).map(String).join(': ') }
      : {}),
    ...(d.kind ? { kind: str(d.kind) } : {}),
    ...(d.updatedAt || d.acceptedAt || d.sentAt || d.queuedAt
      ? { updatedAt: str(d.updatedAt ?? d.acknowledgedAt ?? d.acceptedAt ?? d.sentAt ?? d.queuedAt) }
      : {}),
  }));
}

/** Progress of a broadcast: phones done (final state), failed, total, percent (integer). */
export function progressOf(ds: Delivery[]): { done: number; failed: number; total: number; pct: number } {
  const done = ds.filter((d) => FINAL_DELIVERY.has(d.status)).length;
  const failed = ds.filter((d) => FAILED_DELIVERY.has(d.status)).length;
  const total = ds.length;
  return { done, failed, total, pct: total ? Math.floor((done / total) * 100) : 0 };
}

/** The last action outcome of a device (from its `device.action` events). */
export interface Outcome {
  ok: boolean;
  outcome: string;
  actionId: string;
  time: string;
}

const OK_OUTCOMES = /^(ok|success|accepted|pushed|done|displayed|sent|status)$/i;
const DOWN_OUTCOMES = /unreach|timeout|timed.?out|refused|econn|network|host|socket|offline/i;

/** Reachability and last push from the action events and the driver's variables (Cisco and Avaya names). */
export function reachability(
  o: Outcome | undefined,
  v: Record<string, unknown> | undefined,
): {
  tone: 'ok' | 'bad' | 'warn' | 'muted';
  label: string;
  push?: { outcome: string; action: string; time: string };
} {
  const push = o
    ? { outcome: o.outcome, action: o.actionId, time: o.time, ok: o.ok }
    : v && (v.lastOutcome ?? v.last_push_outcome)
      ? {
          outcome: str(v.lastOutcome ?? v.last_push_outcome),
          action: str(v.last_push_action, ''),
          time: str(v.lastAt ?? v.last_push_at, ''),
          ok: OK_OUTCOMES.test(str(v.lastOutcome ?? v.last_push_outcome)),
        }
      : undefined;
  if (push) {
    const p = { outcome: push.outcome, action: push.action, time: push.time };
    if (push.ok) return { tone: 'ok', label: 'reachable', push: p };
    if (DOWN_OUTCOMES.test(push.outcome)) return { tone: 'bad', label: 'unreachable', push: p };
    return { tone: 'warn', label: 'answered, refused', push: p };
  }
  if (v?.subscribed_at) return { tone: 'ok', label: 'subscribed' };
  return { tone: 'muted', label: 'not contacted yet' };
}
