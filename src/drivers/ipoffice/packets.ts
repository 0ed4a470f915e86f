import { createHash } from 'node:crypto';
import { Devlink3ProtocolError } from './errors.js';

/** Packet types (seed §6). Responses set the top bit; the event type has 0x1 in the top nibble. */
export const PacketType = {
  Test: 0x002a0001,
  TestResponse: 0x802a0001,
  Authenticate: 0x00300001,
  AuthenticateResponse: 0x80300001,
  EventRequest: 0x00300011,
  EventResponse: 0x80300011,
  Event: 0x10300011,
  ReadFile: 0x00300041,
  ReadFileResponse: 0x80300041,
} as const;

/** Result codes of the seed, by name. */
export const Result = {
  SUCCESS: 0,
  PARTIAL_SUCCESS: 0x00000009,
  PAYLOAD_TOO_LONG: 0x80000001,
  STREAM_INTEGRITY_LOST: 0x80000002,
  STREAM_AUTHENTICATION_FAILED: 0x80000003,
  UNKNOWN_FLAG: 0x80000021,
  INSUFFICIENT_LICENCE: 0x80000022,
  FEATURE_NOT_AVAILABLE: 0x80000023,
  AUTHENTICATION_FAILED: 0x80000041,
  LIMITS_EXCEEDED: 0x80000042,
  RETRY_LATER: 0x80000043,
  LICENCE_MISSING: 0x80000044,
  /**
   * ReadFile NOT FOUND. The seed names the result but gives no number: this value is our choice (used by
   * the simulator); the client treats every non-zero ReadFile result as a failure and reports the raw code.
   */
  NOT_FOUND: 0x80000061,
} as const;
export type ResultName = keyof typeof Result;

const RESULT_NAMES = new Map<number, ResultName>(
  Object.entries(Result).map(([k, v]) => [v, k as ResultName] as [number, ResultName]),
);
/** Name of a result code (`AUTHENTICATION_FAILED`), or `0x…` for an unknown one. */
export function resultName(code: number): string {
  return RESULT_NAMES.get(code) ?? `0x${code.toString(16).padStart(8, '0')}`;
}

/** Authenticate sub-codes (the 4 octets after the RequestID). */
export const AuthStep = {
  Request: 1,
  ChallengePlain: 1,
  ChallengeSha1: 2,
  ChallengeResponseSha1: 0x50,
  ChallengeResponsePlain: 0x51,
} as const;

/** Tuple codes. */
export const TupleCode = {
  ApplicationName: 0x007e0001,
  PbxTypeVersion: 0x007d0001,
  DevlinkVariant: 0x007d0002,
  CallDelta3: 0x00760001,
  CallDelta2: 0x00760002,
  SipTrack: 0x00760003,
  CmExtn: 0x00760004,
} as const;

/** Event flags documented by the seed (§6.4.1). */
export const KNOWN_FLAGS = ['-SCN', '-CD2', '-SIPTrack', '-CMExtn', '-CONN', '-TEXT'] as const;
export type EventFlag = (typeof KNOWN_FLAGS)[number];

/** Test payload limit (seed §6.1). */
export const MAX_TEST_PAYLOAD = 1000;

export interface Tuple {
  code: number;
  data: Buffer;
}

export type Packet =
  | { type: 'test'; requestId: number; payload: Buffer }
  | { type: 'testResponse'; requestId: number; result: number; payload: Buffer }
  | { type: 'authRequest'; requestId: number; username: string; tuples: Tuple[] }
  | { type: 'authChallenge'; requestId: number; challenge: Buffer }
  | { type: 'authPlainChallenge'; requestId: number }
  | { type: 'authChallengeResponse'; requestId: number; response: Buffer }
  | { type: 'authPlainResponse'; requestId: number; password: Buffer }
  | { type: 'authResult'; requestId: number; result: number; tuples: Tuple[] }
  | { type: 'eventRequest'; requestId: number; flags: string }
  | { type: 'eventResponse'; requestId: number; result: number; flags: string }
  | { type: 'event'; pbxIp: string; counter: number; tuples: Tuple[] }
  | { type: 'readFile'; requestId: number; filename: string }
  | { type: 'readFileResponse'; requestId: number; result: number; contents: Buffer };

export type PacketOf<T extends Packet['type']> = Extract<Packet, { type: T }>;

// ---------------------------------------------------------------------------------------------------------
// Encoding

class Writer {
  private parts: Buffer[] = [];
  u32(n: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(n >>> 0, 0);
    this.parts.push(b);
    return this;
  }
  u16(n: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(n & 0xffff, 0);
    this.parts.push(b);
    return this;
  }
  bytes(b: Uint8Array): this {
    this.parts.push(Buffer.from(b));
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function cstr(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
}

function ipToU32(ip: string): number {
  const p = ip.split('.').map((x) => Number(x));
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) {
    throw new Devlink3ProtocolError('DEVLINK3_BAD_PACKET', `not an IPv4 address: ${JSON.stringify(ip)}`, {
      field: 'pbxIp',
    });
  }
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

/** Encodes a tuple: code(4) + length(2, counting the data including its terminator) + data. */
export function encodeTuple(t: Tuple): Buffer {
  if (t.data.length > 0xffff) {
    throw new Devlink3ProtocolError(
      'DEVLINK3_BAD_PACKET',
      `tuple 0x${t.code.toString(16)} data exceeds 65535 octets`,
    );
  }
  return new Writer().u32(t.code).u16(t.data.length).bytes(t.data).done();
}

/** A UTF-8 string tuple (NUL-terminated), e.g. the application name or CallDelta3. */
export function utf8Tuple(code: number, s: string): Tuple {
  return { code, data: cstr(s) };
}

/** A UTF-16BE string tuple (terminated by 0x0000), e.g. CallDelta2, SIPTrack, CMExtn. */
export function unicodeTuple(code: number, s: string): Tuple {
  return { code, data: Buffer.concat([encodeUtf16be(s), Buffer.from([0, 0])]) };
}

/** The CMExtn extended form: length = string + 12, v, p1, p2 then the string. */
export function cmExtnExtendedTuple(v: number, p1: number, p2: number, s: string, text = false): Tuple {
  const str = text ? cstr(s) : Buffer.concat([encodeUtf16be(s), Buffer.from([0, 0])]);
  return { code: TupleCode.CmExtn, data: new Writer().u32(v).u32(p1).u32(p2).bytes(str).done() };
}

export function encodeUtf16be(s: string): Buffer {
  const b = Buffer.from(s, 'utf16le');
  return b.swap16();
}

export function decodeUtf16be(b: Uint8Array): string {
  const even = b.length & ~1;
  const c = Buffer.from(b.subarray(0, even));
  return c.swap16().toString('utf16le');
}

/** Encodes the payload of a packet (wrap it with `encodeFrame`). */
export function encodePacket(p: Packet): Buffer {
  const w = new Writer();
  switch (p.type) {
    case 'test':
      return w.u32(PacketType.Test).u32(p.requestId).u32(p.payload.length).bytes(p.payload).done();
    case 'testResponse':
      return w
        .u32(PacketType.TestResponse)
        .u32(p.requestId)
        .u32(p.result)
        .u32(p.payload.length)
        .bytes(p.payload)
        .done();
    case 'authRequest':
      w.u32(PacketType.Authenticate).u32(p.requestId).u32(AuthStep.Request).bytes(cstr(p.username));
      for (const t of p.tuples) w.bytes(encodeTuple(t));
      return w.done();
    case 'authChallenge':
      return w
        .u32(PacketType.AuthenticateResponse)
        .u32(p.requestId)
        .u32(AuthStep.ChallengeSha1)
        .u32(p.challenge.length)
        .bytes(p.challenge)
        .done();
    case 'authPlainChallenge':
      return w.u32(PacketType.AuthenticateResponse).u32(p.requestId).u32(AuthStep.ChallengePlain).done();
    case 'authChallengeResponse':
      return w
        .u32(PacketType.Authenticate)
        .u32(p.requestId)
        .u32(AuthStep.ChallengeResponseSha1)
        .u32(p.response.length)
        .bytes(p.response)
        .done();
    case 'authPlainResponse':
      return w
        .u32(PacketType.Authenticate)
        .u32(p.requestId)
        .u32(AuthStep.ChallengeResponsePlain)
        .u32(p.password.length)
        .bytes(p.password)
        .done();
    case 'authResult':
      w.u32(PacketType.AuthenticateResponse).u32(p.requestId).u32(p.result);
      for (const t of p.tuples) w.bytes(encodeTuple(t));
      return w.done();
    case 'eventRequest': {
      const f = cstr(p.flags);
      return w.u32(PacketType.EventRequest).u32(p.requestId).u16(f.length).bytes(f).done();
    }
    case 'eventResponse': {
      const f = cstr(p.flags);
      return w.u32(PacketType.EventResponse).u32(p.requestId).u32(p.result).u16(f.length).bytes(f).done();
    }
    case 'event':
      w.u32(PacketType.Event).u32(ipToU32(p.pbxIp)).u32(p.counter);
      for (const t of p.tuples) w.bytes(encodeTuple(t));
      return w.done();
    case 'readFile': {
      const f = cstr(p.filename);
      return w.u32(PacketType.ReadFile).u32(p.requestId).u16(f.length).bytes(f).done();
    }
    case 'readFileResponse':
      return w.u32(PacketType.ReadFileResponse).u32(p.requestId).u32(p.result).bytes(p.contents).done();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

/** Limits on what a peer controls inside a packet. */
export const MAX_TUPLES = 256;
export const MAX_STRING = 65535;

class Reader {
  off = 0;
  constructor(
    readonly b: Buffer,
    readonly what: string,
  ) {}
  get left(): number {
    return this.b.length - this.off;
  }
  need(n: number, field: string): void {
    if (this.left < n) {
      throw new Devlink3ProtocolError(
        'DEVLINK3_BAD_PACKET',
        `${this.what}: truncated at ${field} (need ${n} octets, ${this.left} left)`,
        { field },
      );
    }
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.b.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.b.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }
  bytes(n: number, field: string): Buffer {
    this.need(n, field);
    const v = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  rest(): Buffer {
    const v = this.b.subarray(this.off);
    this.off = this.b.length;
    return v;
  }
  /** NUL-terminated UTF-8 string; a missing NUL ends at the end of the packet. */
  cstr(): string {
    const end = this.b.indexOf(0, this.off);
    const stop = end < 0 ? this.b.length : end;
    const s = this.b.toString('utf8', this.off, stop);
    this.off = end < 0 ? stop : stop + 1;
    return s;
  }
}

/** Strips a trailing NUL (UTF-8) and decodes. */
export function utf8Text(b: Uint8Array): string {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return Buffer.from(b.buffer, b.byteOffset, end).toString('utf8');
}

/** Strips trailing 0x0000 and decodes UTF-16BE. */
export function unicodeText(b: Uint8Array): string {
  let end = b.length & ~1;
  while (end >= 2 && b[end - 1] === 0 && b[end - 2] === 0) end -= 2;
  return decodeUtf16be(b.subarray(0, end));
}

/**
 * Walks a table of tuples: code(4) + length(2) + data. Seed §6.5.1.2 shows a CallDelta2 tuple preceded by
 * a bare 0x00760001 code; when 0x00760001 is immediately followed by 0x00760002 that prefix is skipped.
 */
export function decodeTuples(b: Buffer, what = 'tuples'): Tuple[] {
  const out: Tuple[] = [];
  const r = new Reader(b, what);
  while (r.left > 0) {
    if (out.length >= MAX_TUPLES) {
      throw new Devlink3ProtocolError('DEVLINK3_BAD_PACKET', `${what}: more than ${MAX_TUPLES} tuples`);
    }
    const code = r.u32('tuple.code');
    if (code === TupleCode.CallDelta3 && r.left >= 4 && b.readUInt32BE(r.off) === TupleCode.CallDelta2)
      continue;
    const len = r.u16('tuple.length');
    out.push({ code, data: r.bytes(len, 'tuple.data') });
  }
  return out;
}

export function u32ToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * Decodes one frame payload. `from` says who sent it, because the request and the response of
 * Authenticate share a layout family and are told apart by the type's top bit only.
 */
export function decodePacket(payload: Buffer): Packet {
  const r = new Reader(payload, 'packet');
  const type = r.u32('type');
  switch (type) {
    case PacketType.Test: {
      const requestId = r.u32('requestId');
      const len = r.u32('length');
      if (len > MAX_TEST_PAYLOAD * 8) {
        throw new Devlink3ProtocolError('DEVLINK3_BAD_PACKET', `Test: payload length ${len} is implausible`, {
          field: 'length',
        });
      }
      return { type: 'test', requestId, payload: Buffer.from(r.bytes(Math.min(len, r.left), 'payload')) };
    }
    case PacketType.TestResponse: {
      const requestId = r.u32('requestId');
      const result = r.u32('result');
      const len = r.left >= 4 ? r.u32('length') : 0;
      return {
        type: 'testResponse',
        requestId,
        result,
        payload: Buffer.from(r.bytes(Math.min(len, r.left), 'payload')),
      };
    }
    case PacketType.Authenticate: {
      const requestId = r.u32('requestId');
      const step = r.u32('step');
      if (step === AuthStep.Request) {
        const username = r.cstr();
        return {
          type: 'authRequest',
          requestId,
          username,
          tuples: copyTuples(decodeTuples(r.rest(), 'auth tuples')),
        };
      }
      if (step === AuthStep.ChallengeResponseSha1 || step === AuthStep.ChallengeResponsePlain) {
        const len = r.u32('length');
        const data = Buffer.from(r.bytes(len, 'response'));
        return step === AuthStep.ChallengeResponseSha1
          ? { type: 'authChallengeResponse', requestId, response: data }
          : { type: 'authPlainResponse', requestId, password: data };
      }
      throw new Devlink3ProtocolError(
        'DEVLINK3_BAD_PACKET',
        `Authenticate: unknown step 0x${step.toString(16)}`,
        { field: 'step' },
      );
    }
    case PacketType.AuthenticateResponse: {
      const requestId = r.u32('requestId');
      const code = r.u32('result');
      if (code === AuthStep.ChallengeSha1) {
        const len = r.u32('length');
        return { type: 'authChallenge', requestId, challenge: Buffer.from(r.bytes(len, 'challenge')) };
      }
      if (code === AuthStep.ChallengePlain) return { type: 'authPlainChallenge', requestId };
      return {
        type: 'authResult',
        requestId,
        result: code,
        tuples: copyTuples(decodeTuples(r.rest(), 'auth result tuples')),
      };
    }
    case PacketType.EventRequest: {
      const requestId = r.u32('requestId');
      r.u16('length');
      // Lenient like IP Office (Avaya's own sample sends a wrong length): read up to the NUL.
      return { type: 'eventRequest', requestId, flags: r.cstr() };
    }
    case PacketType.EventResponse: {
      const requestId = r.u32('requestId');
      const result = r.u32('result');
      let flags = '';
      if (r.left >= 2) {
        const len = r.u16('length');
        flags = utf8Text(r.bytes(Math.min(len, r.left), 'flags'));
      }
      return { type: 'eventResponse', requestId, result, flags };
    }
    case PacketType.Event: {
      const ip = r.u32('pbxIp');
      const counter = r.u32('counter');
      return { type: 'event', pbxIp: u32ToIp(ip), counter, tuples: decodeTuples(r.rest(), 'event tuples') };
    }
    case PacketType.ReadFile: {
      const requestId = r.u32('requestId');
      r.u16('length');
      return { type: 'readFile', requestId, filename: r.cstr() };
    }
    case PacketType.ReadFileResponse: {
      const requestId = r.u32('requestId');
      const result = r.u32('result');
      return { type: 'readFileResponse', requestId, result, contents: Buffer.from(r.rest()) };
    }
    default:
      throw new Devlink3ProtocolError(
        'DEVLINK3_BAD_PACKET',
        `unknown packet type 0x${type.toString(16).padStart(8, '0')}`,
        {
          field: 'type',
        },
      );
  }
}

function copyTuples(t: Tuple[]): Tuple[] {
  return t.map((x) => ({ code: x.code, data: Buffer.from(x.data) }));
}

// ---------------------------------------------------------------------------------------------------------
// Authentication helpers

/** The password as the seed hashes it: UTF-8, truncated or zero-padded to `size` octets. */
export function paddedPassword(password: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  Buffer.from(password, 'utf8').copy(out, 0, 0, size);
  return out;
}

/** SHA1 challenge response (seed §6.2.3): SHA1(challenge ‖ password padded/truncated to 16 octets). */
export function sha1ChallengeResponse(challenge: Uint8Array, password: string): Buffer {
  return createHash('sha1').update(challenge).update(paddedPassword(password, 16)).digest();
}

/** Authentication result tuples by name. */
export function authInfo(tuples: Tuple[]): { pbxType?: string; variant?: string } {
  const out: { pbxType?: string; variant?: string } = {};
  for (const t of tuples) {
    if (t.code === TupleCode.PbxTypeVersion) out.pbxType = utf8Text(t.data);
    else if (t.code === TupleCode.DevlinkVariant) out.variant = utf8Text(t.data);
  }
  return out;
}

/** Splits a flags string ("-SCN -CMExtn") into its flags. */
export function splitFlags(flags: string): string[] {
  return flags.split(/\s+/).filter((f) => f.length > 0);
}
