import { KeyedSerialQueue } from '../../core/serial.js';
import { httpRequest } from '../../net/http-client.js';
import { buildPushMessage, encodePushForm, type PushMessage } from './push-message.js';
import { interpretPushResponse, type PushOutcome } from './push-status.js';

/**
 * The Push Initiator: POSTs a Push Message to `http://<phone>:<PUSHPORT>/forms/push` as form field
 * `XMLData` (explicit Content-Length, no chunking, `Connection: close` — the shared HTTP client does that),
 * one request at a time per phone (the phone's server handles one connection at a time), and turns the
 * answer into a typed outcome. Network failures and timeouts throw the HTTP client's typed errors.
 */
export interface PushTarget {
  host: string;
  port: number;
}

export interface PushOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** When a normal push is refused because the phone is busy (205/208), send it again as barge. */
  retryAsBarge?: boolean;
}

export interface PushResult extends PushOutcome {
  /** The outcome came from the barge retry. */
  retriedAsBarge: boolean;
  /** Milliseconds for the (last) exchange. */
  ms: number;
}

export function parseTarget(address: string, defaultPort: number): PushTarget {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
  if (!m) return { host: address, port: defaultPort };
  return { host: m[1]!, port: m[2] ? Number(m[2]) : defaultPort };
}

export class PushInitiator {
  private readonly queue = new KeyedSerialQueue();
  constructor(private readonly defaults: { timeoutMs?: number } = {}) {}

  /** Sends one Push Message (already built) and interprets the answer. */
  async send(
    target: PushTarget,
    xml: string,
    mode: PushMessage['mode'],
    o: PushOptions = {},
  ): Promise<PushOutcome & { ms: number }> {
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    const key = `${target.host}:${target.port}`;
    return this.queue.run(key, async () => {
      const res = await httpRequest({
        url: `http://${host}:${target.port}/forms/push`,
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: encodePushForm(xml),
        timeoutMs: o.timeoutMs ?? this.defaults.timeoutMs ?? 5000,
        maxResponseBytes: 16 * 1024,
        ...(o.signal ? { signal: o.signal } : {}),
      });
      return { ...interpretPushResponse(res.status, res.headers, mode), ms: res.ms };
    });
  }

  /** Builds, sends and (optionally) retries a busy normal push as barge. */
  async push(target: PushTarget, m: PushMessage, o: PushOptions = {}): Promise<PushResult> {
    const first = await this.send(target, buildPushMessage(m), m.mode, o);
    if (first.retryAsBarge && o.retryAsBarge) {
      const barge: PushMessage = { ...m, mode: 'barge' };
      const second = await this.send(target, buildPushMessage(barge), 'barge', o);
      return { ...second, retriedAsBarge: true };
    }
    return { ...first, retriedAsBarge: false };
  }
}
