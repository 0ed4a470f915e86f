import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { escapeXml } from '../../core/xml.js';
import { type CpaasChannelConfig, CpaasFanoutChannel, cpaasCreate, maskNumber } from './cpaas.js';
import type { AlertNotice } from './types.js';
import { noticeFacts } from './types.js';

/**
 * Voice call-out through the CPaaS platform: a call to each number; when answered, the platform fetches
 * the hub's InboundXML (`/alerting/voice?token=…`), which reads the alert with <Say> inside a one-digit
 * <Gather>; pressing 1 acknowledges the incident (as the callee, by masked number), any other key
 * repeats it. Each call gets its own random token (128 bits, kept in memory for `tokenTtlMs`, compared in
 * constant time; the `token` query parameter is redacted from the hub's logs).
 */
export interface VoiceChannelConfig extends CpaasChannelConfig {
  /** The <Say> voice (platform specific: `man`, `woman`). */ voice: string;
  /** Times the alert is read before the call gives up waiting for a key. */
  repeats: number;
}

interface PlacedCall {
  incidentId: string;
  to: string;
  text: string;
  voice: string;
  repeats: number;
  expiresAt: number;
  rounds: number;
}

/** The calls placed and not yet expired, by token (shared by the channel and the hub's voice route). */
export class VoiceCallBook {
  private readonly calls = new Map<string, PlacedCall>();
  constructor(
    private readonly clock: Clock,
    private readonly tokenTtlMs = 30 * 60_000,
    private readonly max = 10_000,
  ) {}

  add(c: Omit<PlacedCall, 'expiresAt' | 'rounds'>): string {
    const now = this.clock.now();
    for (const [k, v] of this.calls)
      if (v.expiresAt < now || this.calls.size >= this.max) this.calls.delete(k);
    const token = randomBytes(16).toString('base64url');
    this.calls.set(token, { ...c, expiresAt: now + this.tokenTtlMs, rounds: 0 });
    return token;
  }

  /** The call of a token (constant-time comparison), or undefined. */
  get(token: string): PlacedCall | undefined {
    if (!/^[A-Za-z0-9_-]{22}$/.test(token)) return undefined;
    const now = this.clock.now();
    const want = Buffer.from(token);
    for (const [k, v] of this.calls)
      if (k.length === token.length && timingSafeEqual(Buffer.from(k), want))
        return v.expiresAt >= now ? v : undefined;
    return undefined;
  }
}

/** What the callee hears (pure). */
export function voiceText(n: AlertNotice): string {
  const f = noticeFacts(n);
  // Digits read one by one (a callback number, an extension) instead of as a large number.
  const spaced = (s: string) => s.replace(/\d{3,}/g, (d) => d.split('').join(' '));
  return `${f.title}. ${spaced(f.caller)}. Location: ${f.location}. Callback number ${spaced(f.callback)}. ${f.time}.`;
}

/** The InboundXML of one step of a call-out (pure). */
export function voiceXml(
  step:
    | { kind: 'alert'; text: string; action: string; voice: string; last: boolean }
    | { kind: 'acknowledged' }
    | { kind: 'gone' },
): string {
  const head = '<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n';
  if (step.kind === 'gone')
    return `${head}  <Say>This alert is no longer available. Goodbye.</Say>\n  <Hangup/>\n</Response>\n`;
  if (step.kind === 'acknowledged')
    return `${head}  <Say>Acknowledged. Thank you.</Say>\n  <Hangup/>\n</Response>\n`;
  const v = step.voice ? ` voice="${escapeXml(step.voice)}"` : '';
  return `${head}  <Gather action="${escapeXml(step.action)}" method="POST" numDigits="1" timeout="10">\n    <Say${v}>${escapeXml(step.text)} Press 1 to acknowledge. Press any other key to hear this again.</Say>\n  </Gather>\n${
    step.last
      ? '  <Say>No key was pressed. Goodbye.</Say>\n  <Hangup/>\n'
      : `  <Redirect method="POST">${escapeXml(step.action)}</Redirect>\n`
  }</Response>\n`;
}

export class VoiceChannel extends CpaasFanoutChannel {
  readonly kind = 'voice';

  constructor(
    private readonly v: VoiceChannelConfig,
    private readonly book: VoiceCallBook,
    /** `<publicUrl>/alerting/voice?token=<token>` (read at send time: known once the server listens). */
    private readonly answerUrl: (token: string) => string,
  ) {
    super(v);
  }

  protected one(to: string, n: AlertNotice, signal: AbortSignal): Promise<string> {
    const token = this.book.add({
      incidentId: n.incident.id,
      to,
      text: voiceText(n),
      voice: this.v.voice,
      repeats: this.v.repeats,
    });
    return cpaasCreate(
      this.v.account,
      'Calls',
      { To: to, Url: this.answerUrl(token), Method: 'POST' },
      { signal, timeoutMs: this.v.timeoutMs, code: 'VOICE_CALL_FAILED' },
    );
  }
}

/**
 * One step of a call-out, for the hub's voice route: the platform's request carries the call's token
 * (URL) and the pressed key (`Digits`, absent on the first request). Unknown or expired token: a short
 * goodbye (never an error page the platform would read out).
 */
export function answerVoiceCall(
  book: VoiceCallBook,
  token: string,
  digits: string,
  actionUrl: (token: string) => string,
  ack: (incidentId: string, by: string) => void,
): { xml: string; acknowledged: boolean } {
  const call = book.get(token);
  if (!call) return { xml: voiceXml({ kind: 'gone' }), acknowledged: false };
  if (digits === '1') {
    ack(call.incidentId, `voice ${maskNumber(call.to)}`);
    return { xml: voiceXml({ kind: 'acknowledged' }), acknowledged: true };
  }
  call.rounds++;
  return {
    xml: voiceXml({
      kind: 'alert',
      text: call.text,
      action: actionUrl(token),
      voice: call.voice,
      last: call.rounds >= call.repeats,
    }),
    acknowledged: false,
  };
}
