import { decodeBytes } from '../../core/charset.js';
import { ProtocolError } from '../../core/errors.js';

/**
 * IP Office SMDR (Station Message Detail Recording): the CSV call-detail records IP Office sends over TCP,
 * one record per call segment, when the segment ends. Pure codec: text ↔ typed records, no I/O.
 *
 * Field list of current releases (IP Office Manager / Web Manager R12.3 "SMDR Fields",
 * https://documentation.avaya.com/en-us/home/bundle/ip-office/IPOfficeWebManagerR12_3/smdr-call-records/SMDRCallRecord/SMDR_Fields.html,
 * and the IP Office Knowledge Base "SMDR Fields",
 * https://ipofficekb.avaya.com/basic/english/tech/webmanager/smdr_fields.htm): comma-separated, no
 * quoting or escaping (fields never hold `,` or a line end), each record ends with CR LF, empty fields
 * where a field does not apply. Releases before 11 send the first 30 fields, very old ones 17; records
 * from later releases may carry more: unknown trailing fields are kept (`extra`) and written back.
 */

/** The SMDR fields in wire order: record key and the name the Avaya documentation gives it. */
export const SMDR_FIELDS = [
  ['callStart', 'Call Start'],
  ['connectedTime', 'Connected Time'],
  ['ringTime', 'Ring Time'],
  ['caller', 'Caller'],
  ['direction', 'Direction'],
  ['calledNumber', 'Called Number'],
  ['dialledNumber', 'Dialled Number'],
  ['account', 'Account'],
  ['isInternal', 'Is Internal'],
  ['callId', 'Call ID'],
  ['continuation', 'Continuation'],
  ['party1Device', 'Party1Device'],
  ['party1Name', 'Party1Name'],
  ['party2Device', 'Party2Device'],
  ['party2Name', 'Party2Name'],
  ['holdTime', 'Hold Time'],
  ['parkTime', 'Park Time'],
  ['authValid', 'AuthValid'],
  ['authCode', 'AuthCode'],
  ['userCharged', 'User Charged'],
  ['callCharge', 'Call Charge'],
  ['currency', 'Currency'],
  ['amountAtLastUserChange', 'Amount at Last User Change'],
  ['callUnits', 'Call Units'],
  ['unitsAtLastUserChange', 'Units at Last User Change'],
  ['costPerUnit', 'Cost per Unit'],
  ['markUp', 'Mark Up'],
  ['externalTargetingCause', 'External Targeting Cause'],
  ['externalTargeterId', 'External Targeter Id'],
  ['externalTargetedNumber', 'External Targeted Number'],
  ['callingPartyServerIp', 'Calling Party Server IP Address'],
  ['callingPartyUniqueCallId', 'Unique Call Id for the Caller Extension'],
  ['calledPartyServerIp', 'Called Party Server IP Address'],
  ['calledPartyUniqueCallId', 'Unique Call Id for the Called Extension'],
  ['smdrRecordTime', 'SMDR Record Time'],
] as const;

export type SmdrFieldKey = (typeof SMDR_FIELDS)[number][0];

/** Fields a record must have to be a call record at all (up to Continuation). */
export const SMDR_MIN_FIELDS = 11;
/** Default longest line of a stream or file (real records are 150–400 bytes). */
export const SMDR_MAX_LINE_BYTES = 4096;
/** Longest record text the parser reads at all (the largest configurable line length). */
export const SMDR_MAX_RECORD_CHARS = 65_536;

/** A number as SMDR writes it: `12345`, `12345@192.0.2.123` (SIP trunks), `?01707123456`. */
export interface SmdrNumber {
  /** As written. */
  raw: string;
  /** Without the `@host` part and without a leading `?`. */
  number: string;
  /** The `@` part of a SIP party (an IP address or host), else ''. */
  host: string;
  /**
   * A leading `?` was present. IP Office writes it before numbers it could not verify/complete (seen on
   * trunk CLIs and dialled digits); the meaning is not documented, so it is kept, not interpreted.
   */
  questioned: boolean;
}

/** A party device: `E4001` extension, `T9001` trunk line, `V9501` voicemail/conference channel … */
export interface SmdrDevice {
  raw: string;
  kind: 'extension' | 'trunk' | 'voicemail' | 'other' | 'none';
  /** The digits after the type letter (the extension for `E`). */
  id: string;
}

export interface SmdrRecord {
  /** Every known field as written ('' when empty or absent). */
  fields: Record<SmdrFieldKey, string>;
  /** How many of the known fields the line had (17, 30, 35 …). */
  fieldCount: number;
  /** Fields after the known ones (a later release's additions), kept as written. */
  extra: string[];
  /** Call Start as an ISO-8601 local date-time without zone (`2026-12-02T09:30:57`): PBX system time. */
  callStart: string;
  connectedSeconds: number;
  ringSeconds: number;
  holdSeconds: number;
  parkSeconds: number;
  /** Connected + ring + hold + park (the documented total duration of a record). */
  totalSeconds: number;
  /** `I` inbound, `O` outbound (internal calls are `O`). */
  direction: 'inbound' | 'outbound' | 'unknown';
  /** Is Internal: 1 / 0; undefined for anything else. */
  internal: boolean | undefined;
  callId: string;
  /** More records with this Call ID follow. */
  continuation: boolean;
  caller: SmdrNumber;
  called: SmdrNumber;
  dialled: SmdrNumber;
  party1: SmdrDevice & { name: string };
  party2: SmdrDevice & { name: string };
}

/** Why a line is not an SMDR record (code `SMDR_BAD_RECORD`, `field` names the field). */
export class SmdrRecordError extends ProtocolError {
  constructor(message: string, field?: string) {
    super('SMDR_BAD_RECORD', message, field === undefined ? {} : { field });
  }
}

const CALL_START = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const HMS = /^(\d{1,4}):(\d{2}):(\d{2})$/;
const INT = /^\d{1,9}$/;

function seconds(v: string, field: SmdrFieldKey, hms: boolean): number {
  const t = v.trim();
  if (t === '') return 0;
  if (hms) {
    const m = HMS.exec(t);
    if (m) return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  } else if (INT.test(t)) return Number(t);
  throw new SmdrRecordError(
    `${field}: ${JSON.stringify(v.slice(0, 40))} is not a ${hms ? 'HH:MM:SS duration' : 'number of seconds'}`,
    field,
  );
}

/** Splits `12345@192.0.2.123` / `?0170…` into its parts (never throws). */
export function smdrNumber(raw: string): SmdrNumber {
  let s = raw.trim();
  const questioned = s.startsWith('?');
  if (questioned) s = s.slice(1);
  const at = s.indexOf('@');
  return {
    raw,
    number: at >= 0 ? s.slice(0, at) : s,
    host: at >= 0 ? s.slice(at + 1) : '',
    questioned,
  };
}

/** The type of a Party device from its first letter (never throws). */
export function smdrDevice(raw: string): SmdrDevice {
  const s = raw.trim();
  if (s === '') return { raw, kind: 'none', id: '' };
  const kind =
    s[0] === 'E' ? 'extension' : s[0] === 'T' ? 'trunk' : s[0] === 'V' ? 'voicemail' : ('other' as const);
  return { raw, kind, id: kind === 'other' ? s : s.slice(1) };
}

/** True for the header line some collectors (and IP Office 3.x Delta Server files) put first. */
export function isSmdrHeader(line: string): boolean {
  return /^\s*"?call ?start/i.test(line);
}

/**
 * Parses one record line (without its line end; a trailing CR is tolerated). Throws SmdrRecordError for a
 * line that is not a record; the error names the first bad field.
 */
export function parseSmdrRecord(line: string): SmdrRecord {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (text.length > SMDR_MAX_RECORD_CHARS)
    throw new SmdrRecordError(`the line is longer than ${SMDR_MAX_RECORD_CHARS} characters`);
  const parts = text.split(',');
  if (parts.length < SMDR_MIN_FIELDS)
    throw new SmdrRecordError(
      `${parts.length} fields; an SMDR record has at least ${SMDR_MIN_FIELDS} (Call Start … Continuation)`,
    );
  const fields = {} as Record<SmdrFieldKey, string>;
  SMDR_FIELDS.forEach(([k], i) => {
    fields[k] = parts[i] ?? '';
  });
  const fieldCount = Math.min(parts.length, SMDR_FIELDS.length);
  const extra = parts.slice(SMDR_FIELDS.length);
  const cs = CALL_START.exec(fields.callStart.trim());
  if (!cs)
    throw new SmdrRecordError(
      `callStart: ${JSON.stringify(fields.callStart.slice(0, 40))} is not YYYY/MM/DD HH:MM:SS`,
      'callStart',
    );
  const callId = fields.callId.trim();
  if (callId === '') throw new SmdrRecordError('callId: is empty', 'callId');
  const cont = fields.continuation.trim();
  if (cont !== '' && cont !== '0' && cont !== '1')
    throw new SmdrRecordError(
      `continuation: ${JSON.stringify(cont.slice(0, 20))} is not 0 or 1`,
      'continuation',
    );
  const connectedSeconds = seconds(fields.connectedTime, 'connectedTime', true);
  const ringSeconds = seconds(fields.ringTime, 'ringTime', false);
  const holdSeconds = seconds(fields.holdTime, 'holdTime', false);
  const parkSeconds = seconds(fields.parkTime, 'parkTime', false);
  const dir = fields.direction.trim().toUpperCase();
  const internal = fields.isInternal.trim();
  return {
    fields,
    fieldCount,
    extra,
    callStart: `${cs[1]}-${cs[2]}-${cs[3]}T${cs[4]}:${cs[5]}:${cs[6]}`,
    connectedSeconds,
    ringSeconds,
    holdSeconds,
    parkSeconds,
    totalSeconds: connectedSeconds + ringSeconds + holdSeconds + parkSeconds,
    direction: dir === 'I' ? 'inbound' : dir === 'O' ? 'outbound' : 'unknown',
    internal: internal === '1' ? true : internal === '0' ? false : undefined,
    callId,
    continuation: cont === '1',
    caller: smdrNumber(fields.caller),
    called: smdrNumber(fields.calledNumber),
    dialled: smdrNumber(fields.dialledNumber),
    party1: { ...smdrDevice(fields.party1Device), name: fields.party1Name },
    party2: { ...smdrDevice(fields.party2Device), name: fields.party2Name },
  };
}

/** Writes a record back as one line (no line end): exactly its fields as written, then `extra`. */
export function formatSmdrRecord(r: Pick<SmdrRecord, 'fields' | 'fieldCount' | 'extra'>): string {
  const out: string[] = [];
  for (let i = 0; i < r.fieldCount; i++) out.push(r.fields[SMDR_FIELDS[i]![0]]);
  return out.concat(r.extra).join(',');
}

/** Values for a new record (the simulator's side): missing fields are empty; 35 fields are written. */
export function smdrLine(values: Partial<Record<SmdrFieldKey, string | number>>): string {
  return SMDR_FIELDS.map(([k]) => {
    const v = values[k];
    return v === undefined ? '' : String(v).replace(/[,\r\n]/g, ' ');
  }).join(',');
}

/** `HH:MM:SS` of a number of seconds (hours may exceed 99). */
export function hms(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(Math.floor(s / 3600))}:${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}`;
}

/**
 * Decodes one line's bytes: UTF-8 when valid, else Windows-1252 (older systems and collectors write names
 * with accents in the Windows code page). Never throws.
 */
export function decodeSmdrLine(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return decodeBytes(bytes, 'windows-1252');
  }
}

/** One line of a stream or file: a record, a header line, or the error that made it unreadable. */
export type SmdrLine =
  | { kind: 'record'; line: number; text: string; record: SmdrRecord }
  | { kind: 'header'; line: number; text: string }
  | { kind: 'invalid'; line: number; text: string; error: SmdrRecordError };

/** Classifies one decoded line (blank lines give undefined). Never throws. */
export function readSmdrLine(text: string, line: number): SmdrLine | undefined {
  const t = text.endsWith('\r') ? text.slice(0, -1) : text;
  if (t.trim() === '') return undefined;
  if (isSmdrHeader(t)) return { kind: 'header', line, text: t };
  try {
    return { kind: 'record', line, text: t, record: parseSmdrRecord(t) };
  } catch (e) {
    const error = e instanceof SmdrRecordError ? e : new SmdrRecordError(String(e));
    return { kind: 'invalid', line, text: t, error };
  }
}

/**
 * Splits a byte stream into lines: CR LF, LF or a lone CR end a line (a CR at the end of one chunk and the
 * LF at the start of the next are one line end). A line longer than `maxLineBytes` is dropped up to its
 * line end and given as `null`, so the stream goes on and line numbers stay right.
 */
export class SmdrLineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private skipping = false;
  private afterCr = false;
  private readonly max: number;

  constructor(opts: { maxLineBytes?: number } = {}) {
    this.max = opts.maxLineBytes ?? SMDR_MAX_LINE_BYTES;
  }

  /** Bytes currently held for an unfinished line. */
  get pending(): number {
    return this.size;
  }

  /** The complete lines in `chunk` (without line ends; empty lines included; `null` = too long). */
  push(chunk: Buffer): Array<Buffer | null> {
    const out: Array<Buffer | null> = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b !== 0x0a && b !== 0x0d) continue;
      if (b === 0x0a && this.afterCr && i === start) {
        // the LF of a CR LF (possibly split across chunks)
        this.afterCr = false;
        start = i + 1;
        continue;
      }
      this.take(chunk.subarray(start, i));
      out.push(this.end());
      this.afterCr = b === 0x0d;
      start = i + 1;
    }
    if (start < chunk.length) {
      this.afterCr = false;
      this.take(chunk.subarray(start));
    }
    return out;
  }

  /** The last line when the stream ends without a line end (a missing final CR LF), if any. */
  flush(): Buffer | null | undefined {
    this.afterCr = false;
    if (this.size === 0 && !this.skipping) return undefined;
    return this.end();
  }

  private take(b: Buffer): void {
    if (b.length === 0 || this.skipping) return;
    if (this.size + b.length > this.max) {
      this.skipping = true;
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(b);
    this.size += b.length;
  }

  private end(): Buffer | null {
    const skipped = this.skipping;
    const line = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    this.skipping = false;
    return skipped ? null : line;
  }
}

/** Reads one split line (bytes, or `null` for a dropped over-long line) as an SmdrLine. Never throws. */
export function readSmdrBytes(
  b: Buffer | null,
  line: number,
  maxLineBytes = SMDR_MAX_LINE_BYTES,
): SmdrLine | undefined {
  if (b === null)
    return {
      kind: 'invalid',
      line,
      text: '',
      error: new SmdrRecordError(`line ${line}: longer than ${maxLineBytes} bytes; dropped`),
    };
  return readSmdrLine(decodeSmdrLine(b), line);
}

/** Every line of a captured SMDR file (bytes), in file order, blank lines skipped. Never throws. */
export function parseSmdrFile(bytes: Buffer, opts: { maxLineBytes?: number } = {}): SmdrLine[] {
  const s = new SmdrLineSplitter(opts);
  const lines = s.push(bytes);
  const last = s.flush();
  if (last !== undefined) lines.push(last);
  const out: SmdrLine[] = [];
  lines.forEach((b, i) => {
    const l = readSmdrBytes(b, i + 1, opts.maxLineBytes);
    if (l) out.push(l);
  });
  return out;
}

/**
 * Groups records by Call ID whatever order they arrived in (records are written when each segment ends,
 * so they are not in call-start order); within a call, the segment with Continuation 0 is last.
 */
export function groupSmdrCalls(records: SmdrRecord[]): Map<string, SmdrRecord[]> {
  const m = new Map<string, SmdrRecord[]>();
  for (const r of records) {
    const list = m.get(r.callId);
    if (list) list.push(r);
    else m.set(r.callId, [r]);
  }
  for (const list of m.values()) list.sort((a, b) => Number(b.continuation) - Number(a.continuation));
  return m;
}
