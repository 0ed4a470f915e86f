import { formEncode } from '../../net/http-client.js';
import { channelPost } from './http.js';

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
