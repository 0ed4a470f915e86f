import dgram from 'node:dgram';
import { isIPv4 } from 'node:net';
import { DeviceError } from '../core/errors.js';
import { encodeRtp, type RtpPacket } from './rtp.js';

/**
 * Real-time paced RTP sender. Packet i leaves at start + i × ptime (an absolute schedule, so timer
 * lateness never accumulates into drift). Destinations may be unicast or IPv4 multicast (224.0.0.0/4):
 * for multicast the socket's TTL, outgoing interface and loopback are set.
 */
export interface RtpSendOptions {
  host: string;
  port: number;
  packets: RtpPacket[];
  ptimeMs: number;
  /** Local address to bind (default: any). */
  bindAddress?: string;
  /** Outgoing interface address for multicast (e.g. 127.0.0.1 in tests). */
  multicastInterface?: string;
  multicastTtl?: number;
  signal?: AbortSignal;
  /** Called after each packet with its index and lateness in ms. */
  onPacket?: (index: number, latenessMs: number) => void;
}

export interface RtpSendReport {
  sent: number;
  aborted: boolean;
  durationMs: number;
  /** Per-packet lateness against the ideal schedule (ms). */
  lateness: { meanMs: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** Inter-departure jitter: mean absolute deviation of the gaps from ptime (ms). */
  jitterMs: number;
}

export function isMulticast(host: string): boolean {
  if (!isIPv4(host)) return false;
  const first = Number(host.split('.')[0]);
  return first >= 224 && first <= 239;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export async function sendRtpStream(o: RtpSendOptions): Promise<RtpSendReport> {
  if (!(o.port >= 1 && o.port <= 65535))
    throw new DeviceError('RTP_BAD_PORT', `RTP port ${o.port} out of range`, { field: 'port' });
  const sock = dgram.createSocket(isIPv4(o.host) || !o.host.includes(':') ? 'udp4' : 'udp6');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, o.bindAddress, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  sock.on('error', () => {});
  if (isMulticast(o.host)) {
    sock.setMulticastTTL(o.multicastTtl ?? 1);
    sock.setMulticastLoopback(true);
    if (o.multicastInterface) sock.setMulticastInterface(o.multicastInterface);
  }
  const start = performance.now();
  const late: number[] = [];
  const departures: number[] = [];
  let sent = 0;
  let aborted = false;
  try {
    for (let i = 0; i < o.packets.length; i++) {
      if (o.signal?.aborted) {
        aborted = true;
        break;
      }
      const due = start + i * o.ptimeMs;
      const wait = due - performance.now();
      if (wait > 1) {
        await new Promise<void>((r) => {
          const onAbort = () => {
            clearTimeout(t);
            r();
          };
          const t = setTimeout(() => {
            o.signal?.removeEventListener('abort', onAbort);
            r();
          }, wait);
          o.signal?.addEventListener('abort', onAbort, { once: true });
        });
        if (o.signal?.aborted) {
          aborted = true;
          break;
        }
      }
      const now = performance.now();
      await new Promise<void>((resolve, reject) =>
        sock.send(encodeRtp(o.packets[i]!), o.port, o.host, (e) => (e ? reject(e) : resolve())),
      );
      sent++;
      late.push(Math.max(0, now - due));
      departures.push(now);
      o.onPacket?.(i, now - due);
    }
  } catch (e) {
    throw new DeviceError(
      'RTP_SEND_FAILED',
      `sending RTP to ${o.host}:${o.port} failed: ${(e as Error).message}`,
      { cause: e, retryable: true },
    );
  } finally {
    sock.close();
  }
  const sorted = [...late].sort((a, b) => a - b);
  let jitter = 0;
  for (let i = 1; i < departures.length; i++)
    jitter += Math.abs(departures[i]! - departures[i - 1]! - o.ptimeMs);
  return {
    sent,
    aborted,
    durationMs: performance.now() - start,
    lateness: {
      meanMs: late.length ? late.reduce((a, b) => a + b, 0) / late.length : 0,
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
      maxMs: sorted[sorted.length - 1] ?? 0,
    },
    jitterMs: departures.length > 1 ? jitter / (departures.length - 1) : 0,
  };
}
