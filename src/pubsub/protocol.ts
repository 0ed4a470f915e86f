import { randomUUID } from 'node:crypto';
import { JSON_DEFAULT_MAX_DEPTH, parseJsonBody } from '../core/json.js';
import { badDuration, PubSubValidationError } from './errors.js';

/**
 * The PubSub wire codec (seed 001): the message shape, queue names, durations and the streamed JSON list.
 * Pure functions, no I/O.
 */

/** A JSON value as carried in FormParams of a JSON publish. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * One message as delivered to subscribers: the seed's fields in the seed's order (`Hostname`,
 * `AccountSid`, `Url`, `FormParams`, `Created`) plus `Id`. `Body` is present only for publishes whose
 * body is not a parameter list (Call XML answers posted as `application/xml`, other raw text).
 */
export interface PubSubMessage {
  Hostname: string;
  AccountSid: string;
  Url: string;
  FormParams: Record<string, JsonValue>;
  Created: string;
  Id: string;
  Body?: string;
}

export const ACCOUNT_SID_RE = /^AC[0-9a-f]{32}$/;
/** Route constraint for find-my-way (case-insensitive hex so that a wrong case still reaches our 404/403). */
export const ACCOUNT_SID_ROUTE_RE = '^AC[0-9a-fA-F]{32}$';
/** Up to this many messages per poll response (seed: "Up to 10 messages can be received"). */
export const MAX_BATCH = 10;

export function isAccountSid(s: string): boolean {
  return ACCOUNT_SID_RE.test(s);
}

export function newAccountSid(rand: () => string = () => randomUUID().replace(/-/g, '')): string {
  return `AC${rand()}`;
}

export function newMessageId(): string {
  return `MS${randomUUID().replace(/-/g, '')}`;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses `30s`, `10m`, `2h`, `7d`, `250ms`, `1.5s`, or a bare number of seconds, into milliseconds.
 * Compound forms (`1h30m`, Go style) are accepted too. Throws `PUBSUB_BAD_DURATION`.
 */
export function parseDuration(text: string, field = 'duration'): number {
  const s = text.trim();
  if (s.length === 0 || s.length > 32) throw badDuration(field, text);
  let total = 0;
  let rest = s;
  let parts = 0;
  while (rest.length > 0) {
    const m = /^(\d{1,9})(?:\.(\d{1,3}))?(ms|s|m|h|d)?/.exec(rest);
    if (!m || m[0].length === 0) throw badDuration(field, text);
    const unit = m[3] ?? (parts === 0 && m[0].length === rest.length ? 's' : undefined);
    if (!unit) throw badDuration(field, text);
    const whole = Number(m[1]);
    const frac = m[2] ? Number(`0.${m[2]}`) : 0;
    total += Math.round((whole + frac) * UNITS[unit]!);
    rest = rest.slice(m[0].length);
    parts++;
  }
  if (!Number.isSafeInteger(total)) throw badDuration(field, text);
  return total;
}

/** Validates a duration string against bounds with a clear error. */
export function parseBoundedDuration(text: string, field: string, min: number, max: number): number {
  const ms = parseDuration(text, field);
  if (ms < min) {
    throw new PubSubValidationError(
      'PUBSUB_DURATION_TOO_SHORT',
      `${field}: ${text} is shorter than the minimum ${formatDuration(min)}`,
      { field },
    );
  }
  if (ms > max) {
    throw new PubSubValidationError(
      'PUBSUB_DURATION_TOO_LONG',
      `${field}: ${text} is longer than the maximum ${formatDuration(max)}`,
      { field },
    );
  }
  return ms;
}

/** Shortest exact text for a duration in ms (`90000` → `90s`, `7200000` → `2h`). */
export function formatDuration(ms: number): string {
  for (const [u, f] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= f && ms % f === 0) return `${ms / f}${u}`;
  }
  return `${ms}ms`;
}

export const MAX_QUEUE_NAME_LENGTH = 512;
export const MAX_QUEUE_DEPTH = 32;
/** One path segment of a queue name: the unreserved and sub-delim characters of RFC 3986, plus `:` and `@`. */
const SEGMENT_RE = /^[A-Za-z0-9._~!$&'()*+,;=:@-]+$/;

/**
 * Normalizes the path after `/<AccountSid>/` into a queue name: segments joined by `/`, empty segments
 * (leading, trailing or doubled slashes) dropped, so `/Calls/` and `/Calls` are the same queue.
 * Percent-encoded segments are decoded and must still be valid segments.
 */
export function parseQueueName(rawPath: string): string {
  if (rawPath.length > MAX_QUEUE_NAME_LENGTH * 3) {
    throw new PubSubValidationError(
      'PUBSUB_QUEUE_NAME_TOO_LONG',
      `queue name is longer than ${MAX_QUEUE_NAME_LENGTH} characters`,
      { field: 'queue' },
    );
  }
  const segs: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      throw new PubSubValidationError(
        'PUBSUB_BAD_QUEUE_NAME',
        `queue name segment ${JSON.stringify(raw.slice(0, 40))} has a broken %-escape`,
        { field: 'queue' },
      );
    }
    if (seg === '.' || seg === '..' || !SEGMENT_RE.test(seg)) {
      throw new PubSubValidationError(
        'PUBSUB_BAD_QUEUE_NAME',
        `queue name segment ${JSON.stringify(seg.slice(0, 40))} is not valid: use letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @`,
        { field: 'queue' },
      );
    }
    segs.push(seg);
  }
  if (segs.length === 0) {
    throw new PubSubValidationError(
      'PUBSUB_QUEUE_NAME_REQUIRED',
      'a queue name is required after the AccountSid: /<AccountSid>/<QueueName>',
      { field: 'queue' },
    );
  }
  if (segs.length > MAX_QUEUE_DEPTH) {
    throw new PubSubValidationError(
      'PUBSUB_QUEUE_NAME_TOO_DEEP',
      `queue name has more than ${MAX_QUEUE_DEPTH} segments`,
      { field: 'queue' },
    );
  }
  const name = segs.join('/');
  if (name.length > MAX_QUEUE_NAME_LENGTH) {
    throw new PubSubValidationError(
      'PUBSUB_QUEUE_NAME_TOO_LONG',
      `queue name is longer than ${MAX_QUEUE_NAME_LENGTH} characters`,
      { field: 'queue' },
    );
  }
  return name;
}

/** The `Url` field of a message: `/<AccountSid>/<queue>` plus the query string minus the `session` parameter. */
export function messageUrl(accountSid: string, queue: string, query: URLSearchParams | undefined): string {
  const q = new URLSearchParams();
  for (const [k, v] of query ?? []) if (k !== 'session') q.append(k, v);
  const qs = q.toString();
  return `/${accountSid}/${queue}${qs ? `?${qs}` : ''}`;
}

/**
 * RFC 3339 with fractional seconds and the local UTC offset, as Go's `time.RFC3339Nano` prints it
 * (`2016-12-06T13:26:19.042-05:00`; trailing zeros of the fraction are dropped; `Z` for UTC).
 */
export function formatCreated(ms: number, offsetMinutes = -new Date(ms).getTimezoneOffset()): string {
  const local = new Date(ms + offsetMinutes * 60_000);
  const iso = local.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ (shifted)
  let frac = iso.slice(20, 23).replace(/0+$/, '');
  frac = frac ? `.${frac}` : '';
  const base = iso.slice(0, 19);
  if (offsetMinutes === 0) return `${base}${frac}Z`;
  const sign = offsetMinutes > 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  return `${base}${frac}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** Sets a key as an own data property (safe for `__proto__`, `constructor` …). */
export function setParam(o: Record<string, JsonValue>, k: string, v: JsonValue): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Form body (`application/x-www-form-urlencoded`) → FormParams. A repeated key becomes a list. */
export function parseFormParams(
  body: string,
  into: Record<string, JsonValue> = {},
): Record<string, JsonValue> {
  const out = into;
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = Object.hasOwn(out, k) ? out[k] : undefined;
    if (prev === undefined) setParam(out, k, v);
    else if (Array.isArray(prev)) prev.push(v);
    else setParam(out, k, [prev, v]);
  }
  return out;
}

/** Parses a JSON publish body: an object whose members become FormParams. */
export function parseJsonParams(body: string): Record<string, JsonValue> {
  let v: unknown;
  try {
    v = parseJsonBody(body, { maxDepth: JSON_DEFAULT_MAX_DEPTH, code: 'PUBSUB_BAD_JSON' });
  } catch (e) {
    throw new PubSubValidationError('PUBSUB_BAD_JSON', `request ${(e as Error).message}`, { field: 'body' });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new PubSubValidationError(
      'PUBSUB_BAD_JSON',
      'a JSON publish body must be an object of parameters, e.g. {"Custom":"123"}',
      { field: 'body' },
    );
  }
  const out: Record<string, JsonValue> = {};
  for (const [k, val] of Object.entries(v as Record<string, JsonValue>)) setParam(out, k, val);
  return out;
}

/** Encodes one message as it travels on the wire (compact JSON, seed field order). */
export function encodeMessage(m: PubSubMessage): string {
  const o: Record<string, unknown> = {
    Hostname: m.Hostname,
    AccountSid: m.AccountSid,
    Url: m.Url,
    FormParams: m.FormParams,
    Created: m.Created,
    Id: m.Id,
  };
  if (m.Body !== undefined) o.Body = m.Body;
  return JSON.stringify(o);
}

/** Decodes one stored/wire message, checking its shape. Throws `PUBSUB_BAD_MESSAGE`. */
export function decodeMessage(text: string): PubSubMessage {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new PubSubValidationError('PUBSUB_BAD_MESSAGE', 'message is not valid JSON');
  }
  return checkMessage(v);
}

function checkMessage(v: unknown): PubSubMessage {
  const bad = (f: string) =>
    new PubSubValidationError('PUBSUB_BAD_MESSAGE', `message field ${f} is missing or has the wrong type`, {
      field: f,
    });
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new PubSubValidationError('PUBSUB_BAD_MESSAGE', 'message must be a JSON object');
  const o = v as Record<string, unknown>;
  for (const f of ['Hostname', 'AccountSid', 'Url', 'Created', 'Id'] as const)
    if (typeof o[f] !== 'string') throw bad(f);
  if (o.FormParams === null || typeof o.FormParams !== 'object' || Array.isArray(o.FormParams))
    throw bad('FormParams');
  if (o.Body !== undefined && typeof o.Body !== 'string') throw bad('Body');
  const m: PubSubMessage = {
    Hostname: o.Hostname as string,
    AccountSid: o.AccountSid as string,
    Url: o.Url as string,
    FormParams: o.FormParams as Record<string, JsonValue>,
    Created: o.Created as string,
    Id: o.Id as string,
  };
  if (o.Body !== undefined) m.Body = o.Body as string;
  return m;
}

/** Chunks of the streamed list: `[` at once, then each message, then `]`. */
export const LIST_OPEN = '[';
export function listItem(m: PubSubMessage, index: number): string {
  return `${index === 0 ? '' : ','}${encodeMessage(m)}\n`;
}
export const LIST_CLOSE = ']\n';

/**
 * Incremental parser of a streamed message list (what a streaming client does). Feed it chunks; it
 * returns each complete message as soon as its closing brace arrives. Bounded: a message larger than
 * `maxMessageChars` is an error, as is anything that is not a list of objects.
 */
export class MessageListParser {
  private buf = '';
  private state: 'start' | 'items' | 'done' = 'start';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private itemStart = -1;
  private pos = 0;
  constructor(private readonly maxMessageChars = 1024 * 1024) {}

  get done(): boolean {
    return this.state === 'done';
  }

  push(chunk: string): PubSubMessage[] {
    const out: PubSubMessage[] = [];
    this.buf += chunk;
    while (this.pos < this.buf.length) {
      const c = this.buf[this.pos]!;
      if (this.state === 'done') {
        if (!/\s/.test(c))
          throw new PubSubValidationError('PUBSUB_BAD_LIST', 'data after the end of the message list');
        this.pos++;
        continue;
      }
      if (this.state === 'start') {
        if (c === '[') this.state = 'items';
        else if (!/\s/.test(c))
          throw new PubSubValidationError('PUBSUB_BAD_LIST', 'a message list must start with [');
        this.pos++;
        continue;
      }
      if (this.depth === 0) {
        if (c === '{') {
          this.itemStart = this.pos;
          this.depth = 1;
        } else if (c === ']') this.state = 'done';
        else if (c !== ',' && !/\s/.test(c))
          throw new PubSubValidationError(
            'PUBSUB_BAD_LIST',
            `unexpected ${JSON.stringify(c)} in the message list`,
          );
        this.pos++;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
      } else if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') this.depth++;
      else if (c === '}' || c === ']') {
        this.depth--;
        if (this.depth === 0) {
          out.push(decodeMessage(this.buf.slice(this.itemStart, this.pos + 1)));
          this.buf = this.buf.slice(this.pos + 1);
          this.pos = 0;
          this.itemStart = -1;
          continue;
        }
      }
      this.pos++;
      if (this.itemStart >= 0 && this.pos - this.itemStart > this.maxMessageChars) {
        throw new PubSubValidationError(
          'PUBSUB_BAD_LIST',
          `a message in the list is longer than ${this.maxMessageChars} characters`,
        );
      }
    }
    if (this.depth === 0 && this.itemStart < 0) {
      this.buf = '';
      this.pos = 0;
    }
    return out;
  }
}
