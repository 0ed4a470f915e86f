import { ValidationError } from '../../core/errors.js';

/**
 * Internal URIs (seed 003): builders for every family with the seed's limits as typed errors, and a parser
 * (`parseUri`) the simulator uses. Pure functions.
 */
const fail = (code: string, message: string, field: string) => new ValidationError(code, message, { field });

export const RTP_PORT_MIN = 20480;
export const RTP_PORT_MAX = 32768;
const IPV4 =
  /^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;
const DTMF = /^[0-9#*ABCD,]+$/;

export function isIpv4(s: string): boolean {
  return IPV4.test(s);
}
export function isMulticast(s: string): boolean {
  if (!IPV4.test(s)) return false;
  const first = Number(s.split('.')[0]);
  return first >= 224 && first <= 239;
}

function intIn(v: unknown, min: number, max: number, code: string, field: string, what: string): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
    throw fail(code, `${field}: ${JSON.stringify(v)}; ${what} must be ${min}-${max}`, field);
  return n;
}

function bit(v: unknown): '0' | '1' {
  return v === true || v === 1 || v === '1' ? '1' : '0';
}

export function keyUri(name: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(name))
    throw fail('CISCO_KEY_NAME_INVALID', `key: ${JSON.stringify(name)} is not a key name`, 'key');
  return `Key:${name}`;
}

/** Key URIs with a number: Feature 1-120, FixedFeature 1-3, KeyPad 0-9, Line 1-120, Session 1-6, Soft 1-5, Key_ 0-9. */
export const NUMBERED_KEYS: Record<string, [number, number]> = {
  Feature: [1, 120],
  FixedFeature: [1, 3],
  KeyPad: [0, 9],
  Line: [1, 120],
  Session: [1, 6],
  Soft: [1, 5],
  Key_: [0, 9],
};
export function numberedKeyUri(prefix: keyof typeof NUMBERED_KEYS | string, n: unknown): string {
  const range = NUMBERED_KEYS[prefix];
  if (!range) throw fail('CISCO_KEY_NAME_INVALID', `key: ${prefix} has no number`, 'key');
  const v = intIn(n, range[0], range[1], 'CISCO_KEY_NUMBER_INVALID', 'n', `Key:${prefix}<n>`);
  return `Key:${prefix}${v}`;
}

export function displayUri(mode: 'On' | 'Off' | 'Default', interval?: unknown): string {
  if (mode === 'Default') return 'Display:Default';
  const v = intIn(
    interval,
    0,
    1440,
    'CISCO_DISPLAY_INTERVAL_INVALID',
    'interval',
    'the display interval (minutes)',
  );
  return `Display:${mode}:${v}`;
}

function dialString(s: unknown, field: string): string {
  if (typeof s !== 'string' || !DTMF.test(s))
    throw fail(
      'CISCO_DIAL_STRING_INVALID',
      `${field}: ${JSON.stringify(s)}; only 0-9 # * A B C D and comma (1 s pause) are allowed`,
      field,
    );
  return s;
}

function appId(s: unknown, field: string, opts: { min: number; forbid: RegExp; forbidWhat: string }): string {
  const v = s === undefined || s === null ? '' : String(s);
  if (opts.forbid.test(v))
    throw fail('CISCO_FORBIDDEN_CHARACTER', `${field}: ${opts.forbidWhat} are not allowed`, field);
  if (v.length < opts.min || v.length > 64)
    throw fail(
      'CISCO_APPLICATION_ID_INVALID',
      `${field}: ${v.length} characters; must be ${opts.min}-64`,
      field,
    );
  return v;
}

/**
 * Dial:<dialSequence>[:<useAppUI>:<applicationId>:<audibleFeedback>]. The long form is emitted when the
 * model supports the 8800 fields or when any of them differs from its default.
 */
export function dialUri(
  p: { dialSequence: unknown; useAppUI?: unknown; applicationId?: unknown; audibleFeedback?: unknown },
  opts: { long?: boolean } = {},
): string {
  const seq = dialString(p.dialSequence, 'dialSequence');
  const app = appId(p.applicationId, 'applicationId', {
    min: 0,
    forbid: /[;:]/,
    forbidWhat: 'semicolons (and colons, the URI separator)',
  });
  const ui = bit(p.useAppUI ?? false);
  const fb = bit(p.audibleFeedback ?? true);
  if (!opts.long && ui === '0' && fb === '1' && app === '') return `Dial:${seq}`;
  return `Dial:${seq}:${ui}:${app}:${fb}`;
}

export function editDialUri(n: unknown): string {
  if (typeof n !== 'string' || !/^[0-9#*ABCD,+]+$/.test(n))
    throw fail('CISCO_DIAL_STRING_INVALID', `n: ${JSON.stringify(n)} is not a number to dial`, 'n');
  return `EditDial:${n}`;
}

/** SendDigits:<dtmf>:<audibleFeedback>::<applicationId> (the seed's form, with its empty third field). */
export function sendDigitsUri(p: {
  dtmfSequence: unknown;
  audibleFeedback?: unknown;
  applicationId?: unknown;
}): string {
  const seq = dialString(p.dtmfSequence, 'dtmfSequence');
  const app = appId(p.applicationId, 'applicationId', { min: 0, forbid: /:/, forbidWhat: 'colons' });
  return `SendDigits:${seq}:${bit(p.audibleFeedback ?? true)}::${app}`;
}

export function playUri(filename: unknown): string {
  if (typeof filename !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(filename)) {
    throw fail(
      'CISCO_PLAY_FILENAME_INVALID',
      `filename: ${JSON.stringify(filename)} is not a plain file name in the TFTP path (e.g. Classic2.raw)`,
      'filename',
    );
  }
  return `Play:${filename}`;
}

export function rtpPort(p: unknown, field = 'p'): number {
  const n = typeof p === 'string' && p.trim() !== '' ? Number(p) : p;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < RTP_PORT_MIN || n > RTP_PORT_MAX || n % 2 !== 0) {
    throw fail(
      'CISCO_RTP_PORT_INVALID',
      `${field}: ${JSON.stringify(p)}; RTP UDP ports must be EVEN, in the range ${RTP_PORT_MIN}-${RTP_PORT_MAX}`,
      field,
    );
  }
  return n;
}

function rtpAddress(i: unknown, multicast: boolean): string {
  if (typeof i !== 'string' || !isIpv4(i))
    throw fail('CISCO_IP_INVALID', `i: ${JSON.stringify(i)} is not an IPv4 address`, 'i');
  if (multicast && !isMulticast(i))
    throw fail(
      'CISCO_MULTICAST_ADDRESS_INVALID',
      `i: ${i} is not a multicast address (224.0.0.0-239.255.255.255; use 239.x)`,
      'i',
    );
  if (!multicast && isMulticast(i))
    throw fail('CISCO_MULTICAST_ADDRESS_INVALID', `i: ${i} is a multicast address; use RTPMRx/RTPMTx`, 'i');
  return i;
}

/** RTPRx / RTPMRx: `<family>:<i>:<p>[:<v>[:<s>]]` (empty trailing fields dropped). */
export function rtpReceiveUri(
  multicast: boolean,
  p: { i: unknown; p: unknown; v?: unknown; s?: unknown },
): string {
  const parts = [multicast ? 'RTPMRx' : 'RTPRx', rtpAddress(p.i, multicast), String(rtpPort(p.p))];
  const v =
    p.v === undefined || p.v === null || p.v === ''
      ? ''
      : String(intIn(p.v, 0, 100, 'CISCO_VOLUME_INVALID', 'v', 'the volume'));
  const s =
    p.s === undefined || p.s === null || p.s === ''
      ? ''
      : String(intIn(p.s, 0, 2, 'CISCO_AUDIO_PATH_INVALID', 's', 'the audio path'));
  parts.push(v, s);
  while (parts[parts.length - 1] === '') parts.pop();
  return parts.join(':');
}

export function rtpSendUri(multicast: boolean, p: { i: unknown; p: unknown }): string {
  return `${multicast ? 'RTPMTx' : 'RTPTx'}:${rtpAddress(p.i, multicast)}:${rtpPort(p.p)}`;
}

export type AppVerb = 'RequestFocus' | 'ReleaseFocus' | 'Minimize' | 'Close';
export function appUri(
  verb: AppVerb,
  p: { priority?: unknown; idleTimer?: unknown; applicationId: unknown },
): string {
  const pr = intIn(p.priority ?? 0, 0, 2, 'CISCO_PRIORITY_INVALID', 'priority', 'the priority');
  const idle = intIn(
    p.idleTimer ?? 60,
    10,
    86400,
    'CISCO_IDLE_TIMER_INVALID',
    'idleTimer',
    'the idle timer (seconds)',
  );
  const id = appId(p.applicationId, 'applicationId', { min: 1, forbid: /:/, forbidWhat: 'colons' });
  return `App:${verb}:${pr}:${idle}:${id}`;
}

/** Notify:<protocol>:<host>:<port>:<path>:<credentials>:<data>. Not allowed inside an Execute object. */
export function notifyUri(p: {
  protocol?: unknown;
  host: unknown;
  port: unknown;
  path: unknown;
  credentials?: unknown;
  data?: unknown;
}): string {
  if ((p.protocol ?? 'http') !== 'http')
    throw fail(
      'CISCO_NOTIFY_PROTOCOL_INVALID',
      `protocol: ${JSON.stringify(p.protocol)}; only http is supported`,
      'protocol',
    );
  if (typeof p.host !== 'string' || !/^[A-Za-z0-9.-]{1,253}$/.test(p.host))
    throw fail(
      'CISCO_FORBIDDEN_CHARACTER',
      `host: ${JSON.stringify(p.host)} is not a hostname or IP (no colons or semicolons)`,
      'host',
    );
  const port = intIn(p.port, 1, 65535, 'CISCO_PORT_INVALID', 'port', 'the port');
  const path = String(p.path ?? '');
  if (/[:;]/.test(path))
    throw fail('CISCO_FORBIDDEN_CHARACTER', 'path: colons and semicolons are not allowed', 'path');
  const cred = String(p.credentials ?? '');
  if (!/^[A-Za-z0-9+/=]*$/.test(cred))
    throw fail(
      'CISCO_NOTIFY_CREDENTIALS_INVALID',
      'credentials: must be base64 of userid:password',
      'credentials',
    );
  const data = String(p.data ?? '');
  if (/;/.test(data)) throw fail('CISCO_FORBIDDEN_CHARACTER', 'data: semicolons are not allowed', 'data');
  return `Notify:http:${p.host}:${port}:${path}:${cred}:${data}`;
}

export function queryStringParamUri(data: unknown): string {
  const d = String(data ?? '');
  if (d === '' || /[:;]/.test(d))
    throw fail('CISCO_FORBIDDEN_CHARACTER', 'data: must be non-empty, without colons or semicolons', 'data');
  return `QueryStringParam:${d}`;
}

export function settingsMenuUri(menuname: unknown): string {
  if (typeof menuname !== 'string' || !/^[A-Za-z0-9 ]{1,64}$/.test(menuname)) {
    throw fail(
      'CISCO_SETTINGS_MENU_INVALID',
      `menuname: ${JSON.stringify(menuname)} is not a settings menu name (letters, digits, spaces)`,
      'menuname',
    );
  }
  return `SettingsMenu:${menuname}`;
}

export const RESOURCE_ICONS = [
  'Icon.Connected',
  'Icon.AuthenticatedCall',
  'Icon.SecureCall',
  'Icon.OnHook',
  'Icon.OffHook',
  'Icon.Messages',
  'Icon.InUse',
  'Icon.Headset',
  'Icon.Handset',
  'Icon.Speaker',
  'Icon.Locked',
  'Icon.UnLocked',
  'Icon.Checked',
  'Icon.UnChecked',
  'Icon.RadioButtonOn',
  'Icon.RadioButtonOff',
  'AnimatedIcon.Ringin',
  'AnimatedIcon.Hold',
  'AnimatedIcon.MessageWaiting',
  'AnimatedIcon.StreamingRx',
  'AnimatedIcon.StreamingTx',
  'AnimatedIcon.StreamRxTx',
  'AnimatedIcon.Throbber',
] as const;
export function resourceUri(iconName: unknown): string {
  if (!RESOURCE_ICONS.includes(iconName as (typeof RESOURCE_ICONS)[number]))
    throw fail(
      'CISCO_RESOURCE_INVALID',
      `iconName: ${JSON.stringify(iconName)} is not a built-in icon`,
      'iconName',
    );
  return `Resource:${iconName}`;
}

// ------------------------------------------------------------------------------------------------ parser

export interface ParsedUri {
  /** `http` for HTTP(S) URLs, else the text before the first colon. */
  family: string;
  /** Fields after the family (split on colons; empty fields kept). */
  args: string[];
  raw: string;
}

/** Splits a URI into family and fields. Never throws; bounded by the input length. */
export function parseUri(raw: string): ParsedUri {
  const s = raw.slice(0, 2048);
  if (/^https?:\/\//i.test(s)) return { family: 'http', args: [s], raw: s };
  const parts = s.split(':');
  return { family: parts[0] ?? '', args: parts.slice(1), raw: s };
}
