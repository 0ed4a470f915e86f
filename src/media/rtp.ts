import { randomInt } from 'node:crypto';
import { ProtocolError } from '../core/errors.js';

/**
 * RTP (RFC 3550) packets for G.711: 12-byte header, version 2, no CSRC, no extension. Pure.
 */
export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  payload: Uint8Array;
}

export class RtpParseError extends ProtocolError {}

export function encodeRtp(p: RtpPacket): Buffer {
  const b = Buffer.alloc(12 + p.payload.length);
  b[0] = 0x80;
  b[1] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  b.writeUInt16BE(p.sequence & 0xffff, 2);
  b.writeUInt32BE(p.timestamp >>> 0, 4);
  b.writeUInt32BE(p.ssrc >>> 0, 8);
  b.set(p.payload, 12);
  return b;
}

/** Parses an RTP packet (CSRCs, header extension and padding honoured). */
export function parseRtp(buf: Uint8Array): RtpPacket {
  if (buf.length < 12) throw new RtpParseError('RTP_TOO_SHORT', `RTP packet of ${buf.length} bytes`);
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const v = b[0]! >> 6;
  if (v !== 2) throw new RtpParseError('RTP_BAD_VERSION', `RTP version ${v}`);
  const cc = b[0]! & 0x0f;
  let off = 12 + cc * 4;
  if (b[0]! & 0x10) {
    if (off + 4 > b.length) throw new RtpParseError('RTP_TRUNCATED', 'header extension truncated');
    off += 4 + b.readUInt16BE(off + 2) * 4;
  }
  let end = b.length;
  if (b[0]! & 0x20) {
    const pad = b[b.length - 1]!;
    end -= pad;
  }
  if (off > end) throw new RtpParseError('RTP_TRUNCATED', 'RTP header longer than packet');
  return {
    payloadType: b[1]! & 0x7f,
    marker: (b[1]! & 0x80) !== 0,
    sequence: b.readUInt16BE(2),
    timestamp: b.readUInt32BE(4),
    ssrc: b.readUInt32BE(8),
    payload: new Uint8Array(b.subarray(off, end)),
  };
}

export interface PacketizeOptions {
  payloadType: number;
  /** Samples per packet (8 kHz: packetsize ms × 8). */
  samplesPerPacket: number;
  ssrc?: number;
  initialSequence?: number;
  initialTimestamp?: number;
}

/**
 * Splits an encoded G.711 stream (one byte per sample) into RTP packets. The first packet carries the
 * marker bit (start of a talkspurt); timestamps advance by samplesPerPacket; sequence numbers by one
 * (wrapping at 2^16). The last packet is padded with the codec's silence byte to a full packet.
 */
export function packetize(encoded: Uint8Array, o: PacketizeOptions, silenceByte = 0xff): RtpPacket[] {
  if (!(Number.isInteger(o.samplesPerPacket) && o.samplesPerPacket > 0 && o.samplesPerPacket <= 8000)) {
    throw new RangeError('samplesPerPacket must be 1..8000');
  }
  const ssrc = o.ssrc ?? randomInt(0, 2 ** 32 - 1);
  const seq0 = o.initialSequence ?? randomInt(0, 0x10000);
  const ts0 = o.initialTimestamp ?? randomInt(0, 2 ** 32 - 1);
  const out: RtpPacket[] = [];
  const n = Math.ceil(encoded.length / o.samplesPerPacket);
  for (let i = 0; i < n; i++) {
    let payload = encoded.subarray(i * o.samplesPerPacket, (i + 1) * o.samplesPerPacket);
    if (payload.length < o.samplesPerPacket) {
      const full = new Uint8Array(o.samplesPerPacket).fill(silenceByte);
      full.set(payload);
      payload = full;
    }
    out.push({
      payloadType: o.payloadType,
      marker: i === 0,
      sequence: (seq0 + i) & 0xffff,
      timestamp: (ts0 + i * o.samplesPerPacket) >>> 0,
      ssrc,
      payload,
    });
  }
  return out;
}

/** Silence byte of a G.711 codec (µ-law 0xFF, A-law 0xD5). */
export function silenceByteOf(payloadType: number): number {
  return payloadType === 8 ? 0xd5 : 0xff;
}
