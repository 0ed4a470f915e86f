import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { type Clock, systemClock } from '../../core/clock.js';
import { DeviceError, errorMessage, isSwitchboardError, ValidationError } from '../../core/errors.js';
import type { HubEvent } from '../../core/events.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import { retry } from '../../core/retry.js';
import { WriteBehind } from '../../core/serial.js';
import { httpRequest } from '../../net/http-client.js';
import {
  type AlertChannel,
  type AlertNotice,
  type ChannelMoment,
  type ChannelOutcome,
  type ChannelReceipt,
  type ChannelResult,
  incidentMessage,
} from './types.js';

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

/**
 * One configured incident webhook (`emergency.webhooks`) as an alerting channel (id `webhook:<n>`, its
 * place in the list). It POSTs the moment's hub event with the incident and its flat fields added to
 * `data`, through the WebhookSender: its retry policy (`broadcast.webhook.*`) and its delivery log stay, so
 * the dispatcher calls it once per moment. Timeline: `webhook.sent` / `webhook.failed` (`host`,
 * `deliveryId`, `event`); the URL (which may hold a token) is never shown, only its host.
 */
export class IncidentWebhookChannel implements AlertChannel {
  readonly kind = 'webhook';
  readonly retries = 'self' as const;
  readonly id: string;
  readonly moments: readonly ChannelMoment[];
  private readonly host: string;
  private readonly log: Logger;

  constructor(
    private readonly o: {
      id: string;
      url: string;
      secret?: string;
      moments: readonly ChannelMoment[];
      sender: Pick<WebhookSender, 'send'>;
      logger?: Logger;
    },
  ) {
    this.id = o.id;
    this.moments = o.moments;
    this.host = new URL(o.url).host;
    this.log = o.logger ?? silentLogger;
  }

  async send(n: AlertNotice): Promise<ChannelReceipt> {
    const e = n.event;
    if (!e)
      throw new ValidationError(
        'WEBHOOK_EVENT_MISSING',
        `incident webhook ${this.host}: the ${n.kind} moment came without its hub event`,
      );
    const event: HubEvent = {
      ...e,
      data: { ...e.data, incident: { ...n.incident, timeline: [] }, ...incidentMessage(n.incident) },
    };
    const r = await this.o.sender.send({
      url: this.o.url,
      ...(this.o.secret ? { secret: this.o.secret } : {}),
      event,
    });
    if (!r.ok)
      throw new DeviceError('WEBHOOK_FAILED', `incident webhook ${this.host} failed`, {
        details: { deliveryId: r.id },
      });
    return { id: r.id };
  }

  timeline(n: AlertNotice, r: ChannelResult): ChannelOutcome {
    const event = n.event?.type ?? '';
    if (!r.ok)
      this.log.warn({ incidentId: n.incident.id, host: this.host, event }, 'incident webhook failed');
    const failed = r.ok ? undefined : r.error;
    const deliveryId = r.ok
      ? (r.receipt.id ?? '')
      : isSwitchboardError(failed) && typeof failed.details?.deliveryId === 'string'
        ? failed.details.deliveryId
        : '';
    return { type: r.ok ? 'webhook.sent' : 'webhook.failed', detail: { host: this.host, deliveryId, event } };
  }

  describe(): Record<string, string | boolean> {
    return { host: this.host, signed: Boolean(this.o.secret) };
  }
}

declare module '../../core/module.js' {
  interface StorePorts {
    webhooks: WebhookLog;
  }
}
