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
  putCallEvent(m, type, call);
  return m;
}

/** applyCallEvent on `m` itself. */
function putCallEvent(m: Map<string, Call>, type: string, call: Call): void {
  if (type === 'call.ended') m.delete(call.key);
  else if (type !== 'call.rejected') {
    const prev = m.get(call.key);
    m.set(call.key, { ...call, emergency: call.emergency || prev?.emergency === true });
  }
}

/** What the console shows of a PBX link held by another hub (several hubs). */
export const LINK_ON_ANOTHER_HUB = 'on another hub';

/**
 * The state of a PBX's link that a `pbx.link` event tells, or undefined when the event is about another
 * hub's place (several hubs share one stream): a standby's own link (`role: standby`) or a hub without a
 * link (`elsewhere`). Only the active link carries the calls, so only it colours the badge.
 */
export function linkStateOfEvent(data: Record<string, unknown>): string | undefined {
  if (data.role === 'standby' || data.state === 'elsewhere') return undefined;
  return str(data.state ?? data.status);
}

/**
 * The state of a PBX's link from its variables on this hub (`link_state`, `link_role`): a hub that holds
 * neither link or only the standby one says the link is on another hub (not "stopped", not red).
 */
export function linkStateOfVariables(v: Record<string, unknown>): string | undefined {
  if (v.link_role === 'none' || v.link_role === 'standby') return LINK_ON_ANOTHER_HUB;
  const ls = v.link_state ?? v.linkState;
  return ls === undefined ? undefined : str(ls);
}

/** The badge tone of a link state: up is ok, on another hub is neutral, anything else is bad. */
export function linkTone(state: string | undefined): 'ok' | 'muted' | 'bad' {
  if (state === undefined || state === LINK_ON_ANOTHER_HUB) return 'muted';
  return /^(up|connected|ok)$/i.test(state) ? 'ok' : 'bad';
}

/** A `call.*` event that arrived while a snapshot of the live calls was being read. */
export interface CallDelta {
  type: string;
  call: Call;
}

/**
 * The live calls after a snapshot (`GET /api/ipoffice/{id}/calls` on every PBX): the snapshot, with the
 * events that arrived while it was being read applied over it in order. A call that ended while the
 * snapshot was on its way is not shown as live for ever, and a call the console still shows but the hub
 * no longer has (an end it missed) goes. The PBXs in `unread` (their calls could not be read) keep what
 * `previous` had for them. A call once flagged emergency in `previous` stays flagged while it is the same
 * call (same key and start).
 */
export function mergeCallSnapshot(
  previous: ReadonlyMap<string, Call>,
  snapshot: ReadonlyMap<string, Call>,
  during: readonly CallDelta[],
  unread: ReadonlySet<string> = new Set(),
): Map<string, Call> {
  const m = new Map<string, Call>();
  for (const [k, c] of previous) if (unread.has(c.source)) m.set(k, c);
  for (const [k, c] of snapshot) {
    const p = previous.get(k);
    m.set(k, p?.emergency && p.startedAt === c.startedAt ? { ...c, emergency: true } : c);
  }
  for (const d of during) putCallEvent(m, d.type, d.call);
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
  /** The stable failure code (`unreachable`, `CISCO_ERROR_4` …). */
  reason?: string;
  /** The hub's message about the failure (the phone's own words, a network error …). */
  message?: string;
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
  'recalled',
]);
export const FAILED_DELIVERY = new Set(['failed', 'expired', 'suppressed', 'cancelled']);
/** Delivery states that mean the phone has the message. */
export const DELIVERED = new Set(['accepted', 'displayed', 'acknowledged']);

/** Normalizes delivery records (`state` or `status`, reason code and message apart, the latest timestamp). */
export function deliveriesOf(raw: unknown): Delivery[] {
  if (!Array.isArray(raw)) return [];
  return (raw as Record<string, unknown>[]).map((d) => ({
    deviceId: str(d.deviceId ?? d.device ?? d.id),
    status: str(d.state ?? d.status, 'queued'),
    ...(d.reason || d.error ? { reason: str(d.reason ?? d.error) } : {}),
    ...(d.message ? { message: str(d.message) } : {}),
    ...(d.kind ? { kind: str(d.kind) } : {}),
    ...(d.updatedAt || d.acceptedAt || d.sentAt || d.queuedAt
      ? { updatedAt: str(d.updatedAt ?? d.acknowledgedAt ?? d.acceptedAt ?? d.sentAt ?? d.queuedAt) }
      : {}),
  }));
}

export interface Progress {
  total: number;
  /** Phones that have the message (accepted, displayed, acknowledged). */
  delivered: number;
  /** Phones that will not get it (failed, expired, cancelled …). */
  failed: number;
  /** Phones the hub has sent the message to and is waiting for. */
  sent: number;
  /** Phones not contacted yet. */
  queued: number;
  /** Phones that showed it and had it cleared by a recall. */
  recalled: number;
  /** Phones in a final state (delivered + failed). */
  done: number;
  /** Percent DELIVERED (integer, rounded down: 249/250 is 99 %, never 100 % until all have it). */
  pct: number;
  /** Percent of the bar per segment (delivered, failed, sent), for a stacked progress bar. */
  bar: { delivered: number; failed: number; sent: number };
}

/** Progress of a broadcast. The percentage means delivered, not processed: 250/250 failed is 0 %. */
export function progressOf(ds: Delivery[]): Progress {
  let delivered = 0;
  let failed = 0;
  let sent = 0;
  let recalled = 0;
  for (const d of ds) {
    if (DELIVERED.has(d.status)) delivered++;
    else if (d.status === 'recalled') recalled++;
    else if (FINAL_DELIVERY.has(d.status)) failed++;
    else if (d.status === 'sent') sent++;
  }
  const total = ds.length;
  const share = (n: number) => (total ? (n / total) * 100 : 0);
  return {
    total,
    delivered,
    failed,
    sent,
    queued: total - delivered - failed - sent - recalled,
    recalled,
    done: delivered + failed + recalled,
    pct: total ? Math.floor((delivered / total) * 100) : 0,
    bar: { delivered: share(delivered), failed: share(failed), sent: share(sent) },
  };
}

/**
 * Delivery failure codes in words (what a desk operator reads); the code is shown beside them. Codes come
 * from the broadcast engine, the drivers (Avaya x-Push-Status names, Cisco CiscoIPPhoneError numbers) and
 * the HTTP client.
 */
const REASON_WORDS: Record<string, string> = {
  unreachable: 'The phone did not answer on the network',
  no_answer: 'The phone took the request but sent no answer',
  timeout: 'The phone did not answer in time',
  HTTP_TIMEOUT: 'The phone did not answer in time',
  HTTP_NETWORK_ERROR: 'Network error: the phone could not be reached',
  HTTP_TLS_FAILED: 'Secure connection (TLS) to the phone failed',
  HTTP_RESPONSE_TOO_LARGE: 'The phone answered with too much data',
  HTTP_ABORTED: 'The request was stopped',
  cancelled: 'Cancelled before this phone was served',
  expired: 'The message expired before this phone got it',
  interrupted: 'The hub restarted while sending to this phone',
  device_removed: 'The phone was removed from the hub',
  busy_suppressed: 'Not sent: the phone was on a call (busy policy "suppress")',
  busy: 'The phone was busy (on a call)',
  no_planner: 'This kind of device cannot show broadcasts',
  plan_failed: 'The message could not be prepared for this phone',
  refused: 'The phone refused the message',
  error: 'Unexpected error',
  CISCO_ERROR_1: 'The phone could not read the message (parse error)',
  CISCO_ERROR_2: 'The phone failed to build its answer',
  CISCO_ERROR_3: 'The phone had an internal file error',
  CISCO_ERROR_4: "The phone's authentication URL refused the hub's credentials",
  CISCO_AUTH_FAILED: 'The phone refused the credentials',
  CISCO_AUTH_REQUIRED: 'The phone asks for credentials the hub does not have',
  CISCO_REJECTED: 'The phone rejected the message',
  push_disabled: 'Push is turned off on the phone',
  internal_error: 'The phone had an internal error and dropped the message',
  not_in_push_state: 'The phone was busy (not ready for a push)',
  not_in_audio_push_state: 'The phone could not play audio now (busy)',
  xml_not_valid: 'The phone found the message not valid',
  xml_not_well_formed: 'The phone could not read the message (malformed)',
  no_element_found: 'The phone found the message empty',
  unknown_encoding: 'The phone does not know the text encoding',
  invalid_root: 'The phone does not know this kind of message',
  empty_post_content: 'The phone received an empty message',
  content_too_large: 'The message is too large for the phone',
  security_failure: "The phone refused the hub (push security: check the phone's trusted push server)",
  invalid_uri: 'The phone refused the message address',
  subscription_unavailable: "The phone's subscription service is not available",
  unknown_status: 'The phone answered with an unknown status',
  forbidden: 'The phone refused access (forbidden)',
  no_status: 'The phone answered without a push status',
  not_found: 'The phone does not offer this service',
};

/** A failure code in words (falls back to the code with its underscores as spaces). */
export function reasonText(code: string | null | undefined): string {
  if (!code) return '';
  const words = REASON_WORDS[code];
  if (words) return words;
  const status = /^status_(\d+)$/.exec(code);
  if (status) return `The phone answered with status ${status[1]}`;
  return code.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
/** Natural order for names: "x2" before "x10", case-insensitive. */
export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b);
}

/** A send the console asks to confirm: emergency or urgent priority, or every phone. */
export function needsConfirmation(o: { priority: string; all: boolean }): boolean {
  return o.priority === 'emergency' || o.priority === 'urgent' || o.all;
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
