import { CpaasFanoutChannel, cpaasCreate } from './cpaas.js';
import type { AlertNotice } from './types.js';
import { noticeFacts } from './types.js';

/**
 * SMS through the CPaaS platform: one message per recipient with the title, caller, location, callback
 * number, time and the console link. A send is "sent" when the platform accepted every recipient's
 * message; a retry sends only to the recipients not yet accepted (CpaasFanoutChannel).
 */

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

export class SmsChannel extends CpaasFanoutChannel {
  readonly kind = 'sms';

  protected one(to: string, n: AlertNotice, signal: AbortSignal): Promise<string> {
    return cpaasCreate(
      this.c.account,
      'SMS/Messages',
      { To: to, Body: smsText(n) },
      { signal, timeoutMs: this.c.timeoutMs, code: 'SMS_SEND_FAILED' },
    );
  }
}
