import { createRequire } from 'node:module';
import type nodemailerModule from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { type Clock, systemClock } from '../../core/clock.js';
import { DeviceError, errorMessage, ValidationError } from '../../core/errors.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import { retry } from '../../core/retry.js';
import { type EmergencyEmailConfig, emailConfigProblems } from '../broadcast-config.js';
import { callbackText, callKind, localTime, utcTime } from '../emergency/alert-text.js';
import type { EmergencyNotice, Incident, IncidentMailer, IncidentMailKind } from '../emergency/types.js';
import type {
  AlertChannel,
  AlertNotice,
  ChannelMoment,
  ChannelOutcome,
  ChannelReceipt,
  ChannelResult,
} from './types.js';

/**
 * The 911 email relay: incident mails (opened, escalated, acknowledged) sent over SMTP with nodemailer,
 * retried with the project's backoff on connection problems and 4xx answers. The message text is built by
 * `incidentMail` (pure); this adapter only carries it.
 */

/** One line for a header or a body field: control characters (CR, LF, TAB, NUL, U+2028/9) become spaces. */
export function oneLine(v: string, max = 200): string {
  const t = v
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

const LOCATION_SOURCE: Record<Incident['location']['from'], string> = {
  table: 'location table',
  device: "caller's phone in the device registry",
  pbx: 'PBX emergency location',
  none: 'unknown',
};

/** `HQ / floor 2 / room 214` (what the phones show, without the placeholders). */
export function locationLine(l: Incident['location']): string {
  const parts = [
    l.site,
    l.building,
    l.floor ? `floor ${l.floor}` : '',
    l.room ? `room ${l.room}` : '',
    l.from === 'pbx' ? l.description : '',
  ].filter((x): x is string => Boolean(x));
  return parts.length > 0 ? parts.join(' / ') : 'location unknown';
}

/** Subject and plain-text body of an incident mail. */
export function incidentMail(
  kind: IncidentMailKind,
  i: Incident,
  o: { subjectPrefix: string; publicUrl: string },
): { subject: string; text: string } {
  const kindOf = callKind(i);
  const mark = kindOf === 'drill' ? 'DRILL' : kindOf === 'test' ? 'TEST' : '';
  const who = oneLine([`Ext ${i.caller.extension || '?'}`, i.caller.name].filter(Boolean).join(' '), 120);
  const where = oneLine(locationLine(i.location), 200);
  const head =
    kind === 'escalated'
      ? `ESCALATION ${i.escalations}, NOT ACKNOWLEDGED: `
      : kind === 'acknowledged'
        ? 'Acknowledged: '
        : kind === 'unnotified'
          ? 'NO PHONE ALERTED: '
          : '';
  const subject = oneLine(
    [oneLine(o.subjectPrefix, 60), mark, `${head}${who} — ${where}`].filter(Boolean).join(' '),
    250,
  );
  const opened = i.timeline[0]?.at ?? i.createdAt;
  // The site's local time with its zone (the incident's timeZone), and the stored UTC instant beside it.
  const tz = i.timeZone ?? 'UTC';
  const utc = (iso: string) => {
    const local = localTime(iso, tz);
    return local.endsWith(' UTC') ? local : `${local} (${utcTime(iso)})`;
  };

  const link = `${o.publicUrl.replace(/\/+$/, '')}/#/incidents/${encodeURIComponent(i.id)}`;
  const f = (v: string) => oneLine(v, 300) || '—';
  const intro =
    kind === 'opened'
      ? `${kindOf === 'drill' ? 'DRILL: ' : i.test ? 'TEST call (933): ' : ''}someone dialled ${f(i.caller.dialled)} from an on-site phone.`
      : kind === 'unnotified'
        ? `${i.test ? 'TEST call (933): ' : ''}someone dialled ${f(i.caller.dialled)} and NO security phone accepted the alert. Call the caller back and alert the desk another way.`
        : kind === 'escalated'
          ? `Nobody has acknowledged this ${i.test ? 'TEST ' : ''}911 alert yet: alert repeated (escalation ${i.escalations}) to ${i.notifiedGroups.map((g) => f(g)).join(', ')}.`
          : `The ${i.test ? 'TEST ' : ''}911 alert was acknowledged by ${f(i.acknowledgedBy ?? '')} at ${i.acknowledgedAt ? utc(i.acknowledgedAt) : '—'}.`;
  const lines = [
    intro,
    '',
    `Caller:     ${f(i.caller.name || 'unknown user')} (ext ${f(i.caller.extension)})`,
    `Callback:   ${f(callbackText(i.caller.extension, i.caller.callbackNumber))}`,
    `Dialled:    ${f(i.caller.dialled)}`,
    `Location:   ${where}`,
    ...(i.location.description && i.location.from !== 'pbx'
      ? [`            ${f(i.location.description)}`]
      : []),
    `            (from the ${LOCATION_SOURCE[i.location.from]})`,
    `Time:       ${utc(opened)}`,
    `Test call:  ${i.test ? 'yes (933 test, no emergency)' : 'no'}`,
    `State:      ${i.state}${i.escalations > 0 ? `, ${i.escalations} escalation(s)` : ''}`,
    `PBX:        ${f(i.pbx)}`,
    '',
    `Incident:   ${link}`,
    '',
    '-- ',
    'Switchboard on-site 911 notification. This mail is a copy of the phone alert; it does not replace it.',
    '',
  ];
  return { subject, text: lines.join('\n') };
}

/** The SMTP answer or socket problem decides: connection trouble and 4xx are retried, 5xx and AUTH are not. */
function retryableSmtp(e: unknown): boolean {
  const err = e as { code?: string; responseCode?: number };
  if (typeof err.responseCode === 'number') return err.responseCode >= 400 && err.responseCode < 500;
  return (
    err.code !== 'EAUTH' && err.code !== 'ENOAUTH' && err.code !== 'EENVELOPE' && err.code !== 'EMESSAGE'
  );
}

export interface SmtpMailerOptions {
  config: EmergencyEmailConfig;
  /** The console's address (read at send time: it is known only once the server listens). */
  publicUrl: () => string;
  clock?: Clock;
  logger?: Logger;
  signal?: AbortSignal;
}

/** Checks `emergency.email` once at start-up: every problem of an enabled relay in one error. */
export function checkEmailConfig(c: EmergencyEmailConfig): void {
  const problems = emailConfigProblems(c);
  if (problems.length > 0)
    throw new ValidationError('EMAIL_CONFIG_INVALID', problems.join('; '), {
      field: problems[0]!.split(':')[0]!,
      details: { problems },
    });
}

export class SmtpIncidentMailer implements IncidentMailer {
  private readonly transport: Transporter<SMTPTransport.SentMessageInfo, SMTPTransport.Options>;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(private readonly o: SmtpMailerOptions) {
    checkEmailConfig(o.config);
    const c = o.config;
    this.clock = o.clock ?? systemClock;
    this.log = o.logger ?? silentLogger;
    // Loaded here, not at import: a hub without the email relay does not pay for nodemailer at start-up.
    const nodemailer = createRequire(import.meta.url)('nodemailer') as typeof nodemailerModule;
    this.transport = nodemailer.createTransport({
      host: c.host,
      port: c.port,
      secure: c.secure,
      requireTLS: c.requireTls,
      tls: { rejectUnauthorized: c.rejectUnauthorized },
      connectionTimeout: c.timeoutMs,
      greetingTimeout: c.timeoutMs,
      socketTimeout: c.timeoutMs,
      dnsTimeout: c.timeoutMs,
      ...(c.username ? { auth: { user: c.username, pass: c.password } } : {}),
      // Never let nodemailer print the SMTP dialogue (it would include the AUTH exchange).
      logger: false,
      debug: false,
    });
  }

  async send(kind: IncidentMailKind, incident: Incident): Promise<{ messageId: string; attempts: number }> {
    const { subject, text } = incidentMail(kind, incident, {
      subjectPrefix: this.o.config.subjectPrefix,
      publicUrl: this.o.publicUrl(),
    });
    return this.deliver(
      subject,
      text,
      {
        'X-Switchboard-Incident': incident.id,
        'X-Switchboard-Incident-Event': kind,
        ...(incident.test ? {} : { Priority: 'urgent', Importance: 'high', 'X-Priority': '1' }),
      },
      { incidentId: incident.id, kind },
    );
  }

  /** A notice about the 911 notification itself (degraded, recovered), to the same recipients. */
  async notice(n: EmergencyNotice): Promise<{ messageId: string; attempts: number }> {
    const subject = oneLine(`${oneLine(this.o.config.subjectPrefix, 60)} ${n.subject}`, 250);
    return this.deliver(
      subject,
      `${n.text}\n\n-- \nSwitchboard on-site 911 notification.\n`,
      {
        'X-Switchboard-Notice': n.kind,
        ...(n.kind === 'degraded' ? { Priority: 'urgent', Importance: 'high', 'X-Priority': '1' } : {}),
      },
      { kind: n.kind },
    );
  }

  private async deliver(
    subject: string,
    text: string,
    headers: Record<string, string>,
    about: Record<string, string>,
  ): Promise<{ messageId: string; attempts: number }> {
    const c = this.o.config;
    let attempts = 0;
    try {
      const info = await retry(
        async () => {
          attempts++;
          return (await this.transport.sendMail({ from: c.from, to: c.to, subject, text, headers })) as {
            messageId?: string;
          };
        },
        {
          attempts: c.attempts,
          initialMs: c.backoffMs,
          maxMs: c.backoffMs * 16,
          clock: this.clock,
          ...(this.o.signal ? { signal: this.o.signal } : {}),
          retryable: retryableSmtp,
        },
      );
      return { messageId: String(info.messageId ?? ''), attempts };
    } catch (e) {
      const reason = this.scrub(errorMessage(e));
      this.log.warn({ ...about, host: c.host, port: c.port, attempts, reason }, 'incident email failed');
      throw new DeviceError(
        'EMAIL_FAILED',
        `${reason} (after ${attempts} attempt${attempts === 1 ? '' : 's'})`,
        { details: { host: c.host, port: c.port, attempts } },
      );
    }
  }

  close(): void {
    this.transport.close();
  }

  /** A server that echoes credentials back must not get them into the log or the timeline. */
  private scrub(msg: string): string {
    const p = this.o.config.password;
    const out = p ? msg.split(p).join('***') : msg;
    return oneLine(out, 500);
  }
}

/**
 * The incident mails as an alerting channel (id `email`). The mailer keeps its own retry policy
 * (`emergency.email.attempts`, `backoffMs`, `timeoutMs`), so the dispatcher calls it once per moment; the
 * timeline entries stay `email.sent` (`kind`, `messageId`, `attempts`) and `email.failed` (`kind`, `reason`).
 */
export class EmailChannel implements AlertChannel {
  readonly id = 'email';
  readonly kind = 'email';
  readonly retries = 'self' as const;

  constructor(
    private readonly mailer: IncidentMailer,
    readonly moments: readonly ChannelMoment[],
    private readonly about: { host: string; port: number; recipients: number },
  ) {}

  async send(n: AlertNotice): Promise<ChannelReceipt> {
    const r = await this.mailer.send(n.kind, n.incident);
    return { id: r.messageId, detail: { attempts: r.attempts } };
  }

  timeline(n: AlertNotice, r: ChannelResult): ChannelOutcome {
    if (!r.ok) return { type: 'email.failed', detail: { kind: n.kind, reason: errorMessage(r.error) } };
    const attempts = r.receipt.detail?.attempts;
    return {
      type: 'email.sent',
      detail: {
        kind: n.kind,
        messageId: r.receipt.id ?? '',
        attempts: typeof attempts === 'number' ? attempts : r.attempts,
      },
    };
  }

  describe(): Record<string, string | number> {
    return { host: this.about.host, port: this.about.port, recipients: this.about.recipients };
  }
}
