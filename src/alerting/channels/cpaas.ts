import { formEncode } from '../../net/http-client.js';
import { channelPost } from './http.js';
import type { AlertChannel, AlertNotice, ChannelMoment, ChannelReceipt } from './types.js';

/**
 * The CPaaS platform's outbound REST API (Zang / Avaya CPaaS v2: `POST <apiUrl>/Accounts/<AccountSid>/
 * SMS/Messages.json` and `…/Calls.json`, form parameters, HTTP Basic `AccountSid:AuthToken`, JSON answer
 * with the new `sid`). The same platform whose Call XML the PubSub relay carries; the simulator in
 * src/sim/cpaas speaks it.
 */
export interface CpaasAccount {
  /** `https://api.zang.io/v2`; a test points it at the simulator. */
  apiUrl: string;
  accountSid: string;
  /** Secret: sent only as HTTP Basic password, never logged or shown. */
  authToken: string;
  /** The platform number messages and calls come from (E.164). */
  from: string;
}

/** Masks a phone number for logs and the API: `+1555…0142`. */
export function maskNumber(n: string): string {
  return n.length <= 6 ? '…' : `${n.slice(0, 4)}…${n.slice(-4)}`;
}

export async function cpaasCreate(
  a: CpaasAccount,
  resource: 'SMS/Messages' | 'Calls',
  form: Record<string, string>,
  o: { signal: AbortSignal; timeoutMs: number; code: string },
): Promise<string> {
  const r = await channelPost({
    url: `${a.apiUrl.replace(/\/+$/, '')}/Accounts/${encodeURIComponent(a.accountSid)}/${resource}.json`,
    body: formEncode({ From: a.from, ...form }),
    contentType: 'application/x-www-form-urlencoded',
    basicAuth: { username: a.accountSid, password: a.authToken },
    signal: o.signal,
    timeoutMs: o.timeoutMs,
    code: o.code,
  });
  try {
    const sid = (JSON.parse(r.text) as { sid?: unknown }).sid;
    return typeof sid === 'string' ? sid.slice(0, 64) : '';
  } catch {
    return '';
  }
}

/** What the SMS and voice channels share: an account, recipients, the moments. */
export interface CpaasChannelConfig {
  id: string;
  account: CpaasAccount;
  to: string[];
  moments: readonly ChannelMoment[];
  timeoutMs: number;
}

/**
 * A channel that sends one platform request per recipient. It remembers which recipients the platform
 * accepted for each notice (incident, moment, escalation), so that a retry after a partial failure does
 * not text or call the others twice.
 */
export abstract class CpaasFanoutChannel implements AlertChannel {
  abstract readonly kind: string;
  readonly id: string;
  readonly moments: readonly ChannelMoment[];
  private readonly done = new Map<string, Set<string>>();

  constructor(protected readonly c: CpaasChannelConfig) {
    this.id = c.id;
    this.moments = c.moments;
  }

  /** One platform request for one recipient; answers the platform's sid. */
  protected abstract one(to: string, n: AlertNotice, signal: AbortSignal): Promise<string>;

  async send(n: AlertNotice, signal: AbortSignal): Promise<ChannelReceipt> {
    const key = `${n.incident.id}|${n.kind}|${n.incident.escalations}`;
    const done = this.done.get(key) ?? new Set<string>();
    this.done.set(key, done);
    if (this.done.size > 1000) this.done.delete(this.done.keys().next().value!);
    const ids: string[] = [];
    for (const to of this.c.to) {
      if (done.has(to)) continue;
      ids.push(await this.one(to, n, signal));
      done.add(to);
    }
    return { id: ids.join(' '), detail: { recipients: this.c.to.length } };
  }

  describe() {
    return {
      api: new URL(this.c.account.apiUrl).host,
      from: this.c.account.from,
      to: this.c.to.map(maskNumber),
      moments: [...this.moments],
    };
  }
}
