import dgram from 'node:dgram';
import { pcmToRtpPackets } from '../../media/audio.js';
import { decodeG711 } from '../../media/g711.js';
import { packetize, parseRtp, type RtpPacket, silenceByteOf } from '../../media/rtp.js';
import { type RtpSendReport, sendRtpStream } from '../../media/sender.js';
import type { AudioSpec } from './content-store.js';

/**
 * RTP streaming for audio pushes. Unicast: one stream per content fetch (the newest per host:port), to the `rtpLPort` the phone
 * sent, from the address the phone reached us on. Multicast: one stream per group:port session, started
 * `leadMs` after the first push so the phones have time to fetch the content and join. Transmit: a UDP
 * receiver that counts what the phone sends back.
 */
export interface StreamReport extends RtpSendReport {
  kind: 'unicast' | 'multicast';
  host: string;
  port: number;
  packets: number;
}

export interface AudioServiceOptions {
  multicastInterface?: string;
  multicastTtl?: number;
  onStreamEnd?: (r: StreamReport) => void;
  onTransmitEnd?: (r: { port: number; packets: number; samples: number; peak: number }) => void;
}

function packetsFor(a: AudioSpec, data: Uint8Array): RtpPacket[] {
  const pt = a.codec === 'PCMU' ? 0 : 8;
  return packetize(data, { payloadType: pt, samplesPerPacket: a.packetSizeMs * 8 }, silenceByteOf(pt));
}

export class AvayaAudioService {
  private readonly active = new Map<string, Set<AbortController>>();
  private readonly multicastSessions = new Map<
    string,
    { started: number; done: Promise<StreamReport | undefined> }
  >();
  private readonly receivers = new Set<dgram.Socket>();
  /** The unicast stream going to each host:port (content fetches are unauthenticated: one at a time). */
  private readonly byDestination = new Map<string, AbortController>();
  private closed = false;

  constructor(private readonly o: AudioServiceOptions = {}) {}

  private track(host: string, ac: AbortController): () => void {
    const set = this.active.get(host) ?? new Set();
    set.add(ac);
    this.active.set(host, set);
    return () => {
      set.delete(ac);
      if (set.size === 0) this.active.delete(host);
    };
  }

  /** Streams stored G.711 audio to a phone. Resolves with the pacing report when done or stopped. */
  async streamUnicast(
    a: AudioSpec,
    data: Uint8Array,
    from: string,
    to: string,
    port: number,
  ): Promise<StreamReport> {
    const ac = new AbortController();
    const untrack = this.track(to, ac);
    // A repeated fetch of the same content must not multiply streams to one destination: the newest wins.
    const dest = `${to}:${port}`;
    this.byDestination.get(dest)?.abort();
    this.byDestination.set(dest, ac);
    try {
      const packets = packetsFor(a, data);
      const r = await sendRtpStream({
        host: to,
        port,
        packets,
        ptimeMs: a.packetSizeMs,
        bindAddress: from,
        signal: ac.signal,
      });
      const rep: StreamReport = { ...r, kind: 'unicast', host: to, port, packets: packets.length };
      this.o.onStreamEnd?.(rep);
      return rep;
    } finally {
      untrack();
      if (this.byDestination.get(dest) === ac) this.byDestination.delete(dest);
    }
  }

  /** Stops every unicast stream going to `host`. Returns how many were stopped. */
  stopTo(host: string): number {
    const set = this.active.get(host);
    if (!set) return 0;
    for (const ac of set) ac.abort();
    return set.size;
  }

  /**
   * Starts (or joins) the multicast session for group:port. The first call schedules the stream `leadMs`
   * later; calls while it is pending or running return the same session.
   */
  multicast(
    group: string,
    port: number,
    a: AudioSpec,
    pcm: Int16Array,
    leadMs: number,
  ): { key: string; joined: boolean; done: Promise<StreamReport | undefined> } {
    const key = `${group}:${port}`;
    const cur = this.multicastSessions.get(key);
    if (cur) return { key, joined: true, done: cur.done };
    const ac = new AbortController();
    const untrack = this.track(key, ac);
    const done = new Promise<void>((r) => setTimeout(r, leadMs).unref?.())
      .then(async () => {
        if (ac.signal.aborted || this.closed) return undefined;
        const packets = pcmToRtpPackets(pcm, a.codec, a.packetSizeMs);
        const r = await sendRtpStream({
          host: group,
          port,
          packets,
          ptimeMs: a.packetSizeMs,
          signal: ac.signal,
          ...(this.o.multicastInterface
            ? { multicastInterface: this.o.multicastInterface, bindAddress: this.o.multicastInterface }
            : {}),
          multicastTtl: this.o.multicastTtl ?? 4,
        });
        const rep: StreamReport = { ...r, kind: 'multicast', host: group, port, packets: packets.length };
        this.o.onStreamEnd?.(rep);
        return rep;
      })
      .finally(() => {
        untrack();
        this.multicastSessions.delete(key);
      });
    this.multicastSessions.set(key, { started: Date.now(), done });
    return { key, joined: false, done };
  }

  stopMulticast(group: string, port: number): number {
    return this.stopTo(`${group}:${port}`);
  }

  /** Opens a UDP port for an Audio Transmit push; closes it after `seconds` of silence or `maxSeconds`. */
  async openTransmitReceiver(
    bindHost: string,
    codec: 'PCMU' | 'PCMA',
    seconds: number,
    maxSeconds = 600,
  ): Promise<{ port: number; done: Promise<{ packets: number; samples: number; peak: number }> }> {
    let sock = dgram.createSocket('udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(0, bindHost, () => {
          sock.off('error', reject);
          resolve();
        });
      });
    } catch {
      // The public host is not a local address (NAT, DNS name): listen on every interface instead.
      sock.close();
      sock = dgram.createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, r));
    }
    this.receivers.add(sock);
    const port = sock.address().port;
    let packets = 0;
    let samples = 0;
    let peak = 0;
    const done = new Promise<{ packets: number; samples: number; peak: number }>((resolve) => {
      let idle: NodeJS.Timeout;
      const finish = () => {
        clearTimeout(idle);
        clearTimeout(hard);
        this.receivers.delete(sock);
        try {
          sock.close();
        } catch {
          /* closed */
        }
        const r = { port, packets, samples, peak };
        this.o.onTransmitEnd?.(r);
        resolve(r);
      };
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(finish, seconds * 1000);
      };
      const hard = setTimeout(finish, maxSeconds * 1000);
      arm();
      sock.on('message', (m) => {
        try {
          const p = parseRtp(m);
          const pcm = decodeG711(p.payload, codec);
          packets++;
          samples += pcm.length;
          for (const v of pcm) peak = Math.max(peak, Math.abs(v));
          arm();
        } catch {
          /* not RTP */
        }
      });
      sock.on('close', () => {
        clearTimeout(idle);
        clearTimeout(hard);
      });
    });
    return { port, done };
  }

  /** Streams (unicast and multicast) pending or running. */
  activeCount(): number {
    let n = 0;
    for (const set of this.active.values()) n += set.size;
    return n;
  }

  close(): void {
    this.closed = true;
    for (const set of this.active.values()) for (const ac of set) ac.abort();
    for (const s of this.receivers) {
      try {
        s.close();
      } catch {
        /* closed */
      }
    }
    this.receivers.clear();
  }
}
