import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { isIPv4 } from 'node:net';
import { DeviceError } from '../core/errors.js';
import { alawToLinear, linearToUlaw } from './g711.js';
import { encodeRtp, parseRtp, type RtpPacket } from './rtp.js';

/** A-law byte → µ-law byte (phones joining a group stream expect G.711 µ-law, payload type 0). */
const ALAW_TO_ULAW = Uint8Array.from({ length: 256 }, (_, a) => linearToUlaw(alawToLinear(a)));

/** Largest datagram relayed (a 20 ms G.711 packet is 172 bytes; 60 ms is 492). */
export const MAX_RELAY_DATAGRAM = 1500;

/**
 * What to forward for one received datagram (pure): G.711 µ-law as is, A-law transcoded to µ-law, anything
 * else (other codecs, not RTP, too large) dropped with a reason.
 */
export function relayPayload(
  datagram: Uint8Array,
): { ok: true; packet: RtpPacket } | { ok: false; reason: 'too_large' | 'not_rtp' | 'codec' } {
  if (datagram.length > MAX_RELAY_DATAGRAM) return { ok: false, reason: 'too_large' };
  let p: RtpPacket;
  try {
    p = parseRtp(datagram);
  } catch {
    return { ok: false, reason: 'not_rtp' };
  }
  if (p.payloadType === 0) return { ok: true, packet: p };
  if (p.payloadType === 8) {
    const payload = new Uint8Array(p.payload.length);
    for (let i = 0; i < payload.length; i++) payload[i] = ALAW_TO_ULAW[p.payload[i]!]!;
    return { ok: true, packet: { ...p, payloadType: 0, payload } };
  }
  return { ok: false, reason: 'codec' };
}

export interface LiveRelayOptions {
  /** UDP port the live source (a paging gateway, a microphone app) sends RTP to. */
  port: number;
  bindAddress?: string;
  /** Only datagrams from this address are relayed (others are counted and dropped). */
  allowFrom?: string;
  /** The relay ends this long after it opened (a live page is bounded). */
  maxSeconds: number;
  /** …or once no packet came for this long after the first one. */
  idleSeconds: number;
  multicastInterface?: string;
  ttl?: number;
  /** Told once when the relay ends (max time, silence, or closed). */
  onEnd?: (reason: 'max' | 'idle' | 'closed', stats: LiveRelayStats) => void;
}

export interface LiveRelayStats {
  received: number;
  relayed: number;
  dropped: Record<'too_large' | 'not_rtp' | 'codec' | 'sender', number>;
}

interface Destination {
  host: string;
  port: number;
  seq: number;
  tsBase: number;
}

/**
 * Live audio to group streams: receives RTP on one UDP port and sends every packet to each destination (a
 * multicast group session) with the relay's own SSRC and a continuous sequence per destination. Destinations
 * join and leave while it runs; it ends at `maxSeconds`, after `idleSeconds` of silence, or when closed.
 */
export class LiveRtpRelay {
  readonly stats: LiveRelayStats = {
    received: 0,
    relayed: 0,
    dropped: { too_large: 0, not_rtp: 0, codec: 0, sender: 0 },
  };
  private sock: dgram.Socket | undefined;
  private readonly dests = new Set<Destination>();
  private readonly ssrc = randomInt(1, 0xffffffff);
  private firstTs: number | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private maxTimer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(private readonly o: LiveRelayOptions) {}

  async open(): Promise<void> {
    if (!(this.o.port >= 1024 && this.o.port <= 65535))
      throw new DeviceError('LIVE_BAD_PORT', `audio.live.port ${this.o.port} is not in 1024-65535`, {
        field: 'audio.live.port',
      });
    const bind = this.o.bindAddress || '0.0.0.0';
    const sock = dgram.createSocket({ type: isIPv4(bind) ? 'udp4' : 'udp6', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', (e: Error & { code?: string }) =>
        reject(
          new DeviceError(
            'LIVE_PORT_UNAVAILABLE',
            `cannot receive live audio on ${bind}:${this.o.port} (${e.code ?? e.message})`,
            { field: 'audio.live.port', cause: e },
          ),
        ),
      );
      sock.bind(this.o.port, bind, () => resolve());
    });
    sock.removeAllListeners('error');
    sock.on('error', () => {});
    if (this.o.ttl) sock.setMulticastTTL(this.o.ttl);
    if (this.o.multicastInterface) sock.setMulticastInterface(this.o.multicastInterface);
    sock.on('message', (m, rinfo) => this.onDatagram(m, rinfo.address));
    this.sock = sock;
    this.maxTimer = setTimeout(() => this.end('max'), this.o.maxSeconds * 1000);
    this.maxTimer.unref();
  }

  /** Starts sending to a destination; returns the function that stops it. */
  add(host: string, port: number): () => void {
    const d: Destination = { host, port, seq: randomInt(0, 0x10000), tsBase: randomInt(0, 0x7fffffff) };
    if (!isIPv4(host))
      throw new DeviceError('LIVE_BAD_DESTINATION', `${host} is not an IPv4 address`, { field: 'address' });
    this.dests.add(d);
    return () => {
      this.dests.delete(d);
    };
  }

  get destinations(): number {
    return this.dests.size;
  }

  get done(): boolean {
    return this.ended;
  }

  close(): void {
    this.end('closed');
  }

  private onDatagram(m: Buffer, from: string): void {
    if (this.ended) return;
    this.stats.received++;
    if (this.o.allowFrom && from.replace(/^::ffff:/, '') !== this.o.allowFrom) {
      this.stats.dropped.sender++;
      return;
    }
    const r = relayPayload(m);
    if (!r.ok) {
      this.stats.dropped[r.reason]++;
      return;
    }
    const p = r.packet;
    this.firstTs ??= p.timestamp;
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => this.end('idle'), this.o.idleSeconds * 1000);
      this.idleTimer.unref();
    }
    const offset = (p.timestamp - this.firstTs) >>> 0;
    for (const d of this.dests) {
      const out = encodeRtp({
        payloadType: 0,
        marker: p.marker,
        sequence: d.seq,
        timestamp: (d.tsBase + offset) >>> 0,
        ssrc: this.ssrc,
        payload: p.payload,
      });
      d.seq = (d.seq + 1) & 0xffff;
      this.sock?.send(out, d.port, d.host);
      this.stats.relayed++;
    }
  }

  private end(reason: 'max' | 'idle' | 'closed'): void {
    if (this.ended) return;
    this.ended = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.maxTimer) clearTimeout(this.maxTimer);
    this.dests.clear();
    try {
      this.sock?.close();
    } catch {
      // already closed
    }
    this.sock = undefined;
    this.o.onEnd?.(reason, this.stats);
  }
}
