import { type CpaasAccount, cpaasCreate, maskNumber } from './cpaas.js';
import type { AlertChannel, AlertNotice, ChannelMoment, ChannelReceipt } from './types.js';
import { noticeFacts } from './types.js';

/**
 * SMS through the CPaaS platform: one message per recipient with the title, caller, location, callback
 * number, time and the console link. A send is "sent" when the platform accepted every recipient's
 * message; a retry sends only to the recipients not yet accepted.
 */
export interface SmsChannelConfig {
  id: string;
  account: CpaasAccount;
  to: string[];
  moments: readonly ChannelMoment[];
  timeoutMs: number;
}

/** Longest text sent (the platform splits above 160 characters; 3 segments keep it readable). */
export const SMS_MAX_CHARS = 459;

/** The message text for a notice (pure). */
export function smsText(n: AlertNotice): string {
  const f = noticeFacts(n);
  const t = `${f.title}: ${f.caller} at ${f.location}. Callback ${f.callback}. ${f.time}. ${f.state}.`;
  const link = ` ${n.link}`;
  return t.length + link.length <= SMS_MAX_CHARS
    ? `${t}${link}`
    : `${t.slice(0, SMS_MAX_CHARS - link.length - 1)}…${link}`;
}

export class SmsChannel implements AlertChannel {
  readonly kind = 'sms';
  readonly id: string;
  readonly moments: readonly ChannelMoment[];
  /** Recipients accepted per notice (incident|moment), so that a retry does not text them twice. */
  private readonly done = new Map<string, Set<string>>();

  constructor(private readonly c: SmsChannelConfig) {
    this.id = c.id;
    this.moments = c.moments;
  }

  async send(n: AlertNotice, signal: AbortSignal): Promise<ChannelReceipt> {
    const key = `${n.incident.id}|${n.kind}|${n.incident.escalations}`;
    const done = this.done.get(key) ?? new Set<string>();
    this.done.set(key, done);
    if (this.done.size > 1000) this.done.delete(this.done.keys().next().value!);
    const body = smsText(n);
    const ids: string[] = [];
    for (const to of this.c.to) {
      if (done.has(to)) continue;
      ids.push(
        await cpaasCreate(
          this.c.account,
          'SMS/Messages',
          { To: to, Body: body },
          { signal, timeoutMs: this.c.timeoutMs, code: 'SMS_SEND_FAILED' },
        ),
      );
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
