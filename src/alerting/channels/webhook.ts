import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { type Clock, systemClock } from '../../core/clock.js';
import { DeviceError, errorMessage, isSwitchboardError } from '../../core/errors.js';
import type { HubEvent } from '../../core/events.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import { retry } from '../../core/retry.js';
import { WriteBehind } from '../../core/serial.js';
import { httpRequest } from '../../net/http-client.js';

/**
 * Outgoing webhooks: POST the event as JSON, signed with HMAC-SHA256 over `<timestamp>.<body>`
 * (header `X-Switchboard-Signature: t=<unix seconds>,v1=<hex>`), retried with backoff on network
 * failures, timeouts, 429 and 5xx; every series of attempts is kept in the delivery log.
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/** Verifies a signature header (for receivers and tests); `toleranceS` bounds replay. */
export function verifyWebhook(
  secret: string,
  header: string,
  body: string,
  nowS: number,
  toleranceS = 300,
): boolean {
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const t = Number(m[1]);
  if (Math.abs(nowS - t) > toleranceS) return false;
  const want = Buffer.from(signWebhook(secret, t, body).split('v1=')[1]!, 'hex');
  const got = Buffer.from(m[2]!, 'hex');
  return want.length === got.length && timingSafeEqual(want, got);
}

/** One outgoing webhook request series (all attempts), for the delivery log. */
export interface WebhookLogEntry {
  id: string;
  ruleId: string | null;
  url: string;
  eventType: string;
  eventId: string;
  createdAt: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: Array<{ at: string; status: number | null; ms: number; error: string | null }>;
}

export interface WebhookLog {
  save(e: WebhookLogEntry): Promise<void>;
  /** Newest first, at most `limit`; only one rule's with `ruleId`. */
  list(q: { limit: number; ruleId?: string }): Promise<WebhookLogEntry[]>;
  prune(keep: number): Promise<void>;
}

export interface WebhookOptions {
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  logKeep: number;
}

export class WebhookSender {
  private sent = 0;
  /** The delivery log is written behind the requests, in order; a failed write is logged, never thrown. */
  private readonly writes: WriteBehind;
  constructor(
    private readonly log: WebhookLog,
    private readonly opts: WebhookOptions,
    private readonly clock: Clock = systemClock,
    private readonly signal?: AbortSignal,
    logger: Logger = silentLogger,
  ) {
    this.writes = new WriteBehind((err, what) =>
      logger.warn({ err, what }, 'webhook delivery log not written'),
    );
  }

  private save(entry: WebhookLogEntry): void {
    const copy: WebhookLogEntry = { ...entry, attempts: [...entry.attempts] };
    void this.writes.write('webhook log', () => this.log.save(copy));
  }

  async send(p: {
    ruleId?: string;
    url: string;
    secret?: string;
    headers?: Record<string, string>;
    event: HubEvent;
  }): Promise<{ id: string; ok: boolean }> {
    const entry: WebhookLogEntry = {
      id: `wh_${randomUUID()}`,
      ruleId: p.ruleId ?? null,
      url: redactUrl(p.url),
      eventType: p.event.type,
      eventId: p.event.id,
      createdAt: new Date(this.clock.now()).toISOString(),
      state: 'pending',
      attempts: [],
    };
    const body = JSON.stringify({
      id: p.event.id,
      type: p.event.type,
      time: p.event.time,
      source: p.event.source,
      data: p.event.data,
    });
    this.save(entry);
    try {
      await retry(
        async () => {
          const ts = Math.floor(this.clock.now() / 1000);
          const started = this.clock.now();
          const headers: Record<string, string> = {
            ...(p.headers ?? {}),
            'Content-Type': 'application/json',
            'User-Agent': 'Switchboard-Webhook/1',
            'X-Switchboard-Event': p.event.type,
            'X-Switchboard-Delivery': entry.id,
            'X-Switchboard-Timestamp': String(ts),
            ...(p.secret ? { 'X-Switchboard-Signature': signWebhook(p.secret, ts, body) } : {}),
          };
          try {
            const res = await httpRequest({
              url: p.url,
              method: 'POST',
              headers,
              body,
              timeoutMs: this.opts.timeoutMs,
              maxResponseBytes: 64 * 1024,
              ...(this.signal ? { signal: this.signal } : {}),
            });
            entry.attempts.push({
              at: new Date(started).toISOString(),
              status: res.status,
              ms: res.ms,
              error: null,
            });
            if (res.status >= 200 && res.status < 300) return;
            throw new DeviceError('WEBHOOK_HTTP_ERROR', `webhook answered HTTP ${res.status}`, {
              retryable: res.status === 429 || res.status >= 500 || res.status === 408,
            });
          } catch (e) {
            if (!(isSwitchboardError(e) && e.code === 'WEBHOOK_HTTP_ERROR'))
              entry.attempts.push({
                at: new Date(started).toISOString(),
                status: null,
                ms: this.clock.now() - started,
                error: errorMessage(e),
              });
            throw e;
          } finally {
            this.save(entry);
          }
        },
        {
          attempts: this.opts.attempts,
          initialMs: this.opts.backoffMs,
          maxMs: this.opts.backoffMs * 16,
          clock: this.clock,
          ...(this.signal ? { signal: this.signal } : {}),
          retryable: (e) => !isSwitchboardError(e) || e.retryable,
        },
      );
      entry.state = 'delivered';
    } catch {
      entry.state = 'failed';
    }
    this.save(entry);
    if (++this.sent % 100 === 0)
      void this.writes.write('webhook log', () => this.log.prune(this.opts.logKeep));
    return { id: entry.id, ok: entry.state === 'delivered' };
  }
}

/** Never log credentials embedded in a URL. */
function redactUrl(u: string): string {
  try {
    const url = new URL(u);
    if (url.username || url.password) {
      url.username = '***';
      url.password = '';
    }
    return url.toString();
  } catch {
    return '(invalid URL)';
  }
}

declare module '../../core/module.js' {
  interface StorePorts {
    webhooks: WebhookLog;
  }
}
