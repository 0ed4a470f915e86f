import dgram from 'node:dgram';

/**
 * RTP for the simulated phone: a receiver (unicast or multicast) that counts packets and decodes G.711
 * payloads, and a sender of 20 ms G.711 µ-law frames. Seed: URI streams are G.711 µ-law, 20 ms.
 */

/** G.711 µ-law byte → 16-bit linear sample (ITU-T G.711). */
export function ulawToLinear(u: number): number {
  const x = ~u & 0xff;
  const sign = x & 0x80;
  const exponent = (x >> 4) & 0x07;
  const mantissa = x & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return sign ? -magnitude : magnitude;
}

/** G.711 A-law byte → 16-bit linear sample. */
export function alawToLinear(a: number): number {
  const x = a ^ 0x55;
  const sign = x & 0x80;
  const exponent = (x >> 4) & 0x07;
  const mantissa = x & 0x0f;
  let magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  magnitude = Math.min(magnitude, 32767);
  return sign ? magnitude : -magnitude;
}

/** 16-bit linear → µ-law (for the sender). */
export function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export interface RtpHeader {
  version: number;
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  headerLength: number;
}

/** Parses an RTP header (RFC 3550); undefined for anything that is not RTP v2. */
export function parseRtpHeader(b: Buffer): RtpHeader | undefined {
  if (b.length < 12) return undefined;
  const version = b[0]! >> 6;
  if (version !== 2) return undefined;
  const cc = b[0]! & 0x0f;
  const ext = (b[0]! & 0x10) !== 0;
  let len = 12 + cc * 4;
  if (ext) {
    if (b.length < len + 4) return undefined;
    len += 4 + b.readUInt16BE(len + 2) * 4;
  }
  if (b.length < len) return undefined;
  return {
    version,
    payloadType: b[1]! & 0x7f,
    marker: (b[1]! & 0x80) !== 0,
    sequence: b.readUInt16BE(2),
    timestamp: b.readUInt32BE(4),
    ssrc: b.readUInt32BE(8),
    headerLength: len,
  };
}

export interface RtpReceiveStats {
  address: string;
  port: number;
  multicast: boolean;
  packets: number;
  octets: number;
  lost: number;
  invalid: number;
  payloadType: number | null;
  codec: string | null;
  ssrc: number | null;
  samples: number;
  /** Peak absolute decoded sample and RMS over the stream (shows that audio, not silence, arrived). */
  peak: number;
  rms: number;
  remote: string | null;
  firstAt: number | null;
  lastAt: number | null;
}

export class RtpReceiver {
  private sock: dgram.Socket | undefined;
  private lastSeq: number | undefined;
  private sumSquares = 0;
  readonly stats: RtpReceiveStats;

  constructor(
    private readonly opts: {
      bindAddress: string;
      port: number;
      group?: string;
      source?: string;
      now?: () => number;
    },
  ) {
    this.stats = {
      address: opts.group ?? opts.bindAddress,
      port: opts.port,
      multicast: opts.group !== undefined,
      packets: 0,
      octets: 0,
      lost: 0,
      invalid: 0,
      payloadType: null,
      codec: null,
      ssrc: null,
      samples: 0,
      peak: 0,
      rms: 0,
      remote: null,
      firstAt: null,
      lastAt: null,
    };
  }

  async start(): Promise<void> {
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: this.opts.group !== undefined });
    this.sock = sock;
    sock.on('message', (msg, rinfo) => this.onPacket(msg, rinfo.address));
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      const addr = this.opts.group !== undefined ? '0.0.0.0' : this.opts.bindAddress;
      sock.bind(this.opts.port, addr, () => {
        sock.off('error', reject);
        sock.on('error', () => {});
        try {
          if (this.opts.group)
            sock.addMembership(
              this.opts.group,
              this.opts.bindAddress.startsWith('127.') ? '127.0.0.1' : this.opts.bindAddress,
            );
          resolve();
        } catch (e) {
          sock.close();
          reject(e);
        }
      });
    });
  }

  private onPacket(msg: Buffer, from: string): void {
    if (this.opts.source && this.opts.source !== '0.0.0.0' && from !== this.opts.source) return;
    const h = parseRtpHeader(msg);
    if (!h) {
      this.stats.invalid++;
      return;
    }
    const now = this.opts.now?.() ?? Date.now();
    const s = this.stats;
    s.packets++;
    s.octets += msg.length - h.headerLength;
    s.payloadType = h.payloadType;
    s.ssrc = h.ssrc;
    s.remote = from;
    s.firstAt ??= now;
    s.lastAt = now;
    if (this.lastSeq !== undefined) {
      const gap = (h.sequence - this.lastSeq + 0x10000) & 0xffff;
      if (gap > 1 && gap < 3000) s.lost += gap - 1;
    }
    this.lastSeq = h.sequence;
    const decode = h.payloadType === 0 ? ulawToLinear : h.payloadType === 8 ? alawToLinear : undefined;
    s.codec =
      h.payloadType === 0
        ? 'G.711 u-law'
        : h.payloadType === 8
          ? 'G.711 A-law'
          : h.payloadType === 9
            ? 'G.722'
            : h.payloadType === 18
              ? 'G.729'
              : `PT ${h.payloadType}`;
    if (decode) {
      for (let i = h.headerLength; i < msg.length; i++) {
        const v = decode(msg[i]!);
        const a = Math.abs(v);
        if (a > s.peak) s.peak = a;
        this.sumSquares += v * v;
        s.samples++;
      }
      s.rms = Math.round(Math.sqrt(this.sumSquares / Math.max(1, s.samples)));
    }
  }

  async close(): Promise<void> {
    const sock = this.sock;
    this.sock = undefined;
    if (sock) await new Promise<void>((r) => sock.close(() => r()));
  }
}

/** Sends 20 ms G.711 µ-law frames (160 samples of a 440 Hz tone) every 20 ms until stopped. */
export class RtpSender {
  private sock: dgram.Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private seq = Math.floor(Math.random() * 0xffff);
  private ts = 0;
  private readonly ssrc = Math.floor(Math.random() * 0xffffffff) >>> 0;
  packets = 0;

  constructor(
    private readonly opts: { address: string; port: number; bindAddress: string; multicast: boolean },
  ) {}

  async start(): Promise<void> {
    const sock = dgram.createSocket('udp4');
    this.sock = sock;
    sock.on('error', () => {});
    await new Promise<void>((resolve) => sock.bind(0, this.opts.bindAddress, () => resolve()));
    if (this.opts.multicast) {
      sock.setMulticastInterface(
        this.opts.bindAddress.startsWith('127.') ? '127.0.0.1' : this.opts.bindAddress,
      );
      sock.setMulticastLoopback(true);
      sock.setMulticastTTL(1);
    }
    this.timer = setInterval(() => this.sendFrame(), 20);
    this.timer.unref();
  }

  private sendFrame(): void {
    const pkt = Buffer.alloc(12 + 160);
    pkt[0] = 0x80;
    pkt[1] = 0;
    pkt.writeUInt16BE(this.seq & 0xffff, 2);
    pkt.writeUInt32BE(this.ts >>> 0, 4);
    pkt.writeUInt32BE(this.ssrc, 8);
    for (let i = 0; i < 160; i++)
      pkt[12 + i] = linearToUlaw(8000 * Math.sin((2 * Math.PI * 440 * (this.ts + i)) / 8000));
    this.seq++;
    this.ts += 160;
    this.packets++;
    this.sock?.send(pkt, this.opts.port, this.opts.address);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const sock = this.sock;
    this.sock = undefined;
    if (sock) await new Promise<void>((r) => sock.close(() => r()));
  }
}
