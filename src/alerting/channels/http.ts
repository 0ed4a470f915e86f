import { DeviceError, errorMessage, isSwitchboardError } from '../../core/errors.js';
import { httpRequest } from '../../net/http-client.js';
import type { AlertChannel, AlertNotice, ChannelMoment, ChannelReceipt } from './types.js';

/**
 * One POST of a channel to its provider, through the one HTTP client: the answer's status decides
 * (2xx sent; 408, 429 and 5xx retryable; other 4xx final). Error messages name the host only: webhook URLs
 * carry their secret in the path or the query (Slack, Teams Workflows), auth tokens go in headers.
 */
export async function channelPost(p: {
  url: string;
  body: string;
  contentType: string;
  signal: AbortSignal;
  timeoutMs?: number;
  basicAuth?: { username: string; password: string };
  code: string;
}): Promise<{ status: number; text: string }> {
  const host = hostOf(p.url);
  let res: Awaited<ReturnType<typeof httpRequest>>;
  try {
    res = await httpRequest({
      url: p.url,
      method: 'POST',
      headers: { 'Content-Type': p.contentType, 'User-Agent': 'Switchboard-Alerting/1' },
      body: p.body,
      timeoutMs: p.timeoutMs ?? 30_000,
      signal: p.signal,
      maxResponseBytes: 64 * 1024,
      ...(p.basicAuth ? { basicAuth: p.basicAuth } : {}),
    });
  } catch (e) {
    // Network failures and timeouts: retryable, without the URL (its secret) in the message.
    const reason = isSwitchboardError(e) ? e.code : errorMessage(e).replace(/https?:\/\/\S+/g, '<url>');
    throw new DeviceError(p.code, `${host}: ${reason}`, { retryable: true });
  }
  if (res.status >= 200 && res.status < 300) return { status: res.status, text: res.text() };
  throw new DeviceError(p.code, `${host} answered HTTP ${res.status}`, {
    retryable: res.status === 408 || res.status === 429 || res.status >= 500,
    details: { status: res.status },
  });
}

/** `host:port` of a URL, never its path or query. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid URL)';
  }
}

/** A chat webhook (Teams, Slack): the URL is the secret, the body a JSON document built from the notice. */
export interface WebhookChannelConfig {
  id: string;
  url: string;
  moments: readonly ChannelMoment[];
  timeoutMs: number;
}

/** The shared part of the JSON-webhook channels: one POST per attempt, the host as the only description. */
export abstract class JsonWebhookChannel implements AlertChannel {
  abstract readonly kind: string;
  readonly id: string;
  readonly moments: readonly ChannelMoment[];
  protected abstract readonly errorCode: string;
  protected abstract message(n: AlertNotice): Record<string, unknown>;

  constructor(private readonly c: WebhookChannelConfig) {
    this.id = c.id;
    this.moments = c.moments;
  }

  async send(n: AlertNotice, signal: AbortSignal): Promise<ChannelReceipt> {
    const r = await channelPost({
      url: this.c.url,
      body: JSON.stringify(this.message(n)),
      contentType: 'application/json',
      signal,
      timeoutMs: this.c.timeoutMs,
      code: this.errorCode,
    });
    return { detail: { status: r.status } };
  }

  describe() {
    return { host: hostOf(this.c.url), moments: [...this.moments] };
  }
}
