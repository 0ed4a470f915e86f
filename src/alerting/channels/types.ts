import type { HubEvent } from '../../core/events.js';
import { callbackText, callKind, localTime } from '../emergency/alert-text.js';
import type { Incident, IncidentMailKind } from '../emergency/types.js';
import { locationLine, oneLine } from './email.js';

/**
 * The alerting channels interface: everything that tells people about an incident besides the desk phones
 * (Teams, Slack, SMS, voice call-out, and the incident mails, webhooks and PubSub publish). A channel is
 * one file that implements `AlertChannel`; the registry holds the configured ones; the dispatcher
 * (dispatch.ts) runs them in the background and reports each outcome to the incident timeline. A channel
 * never sees the phone alert path and cannot delay it.
 */

/** The moments of an incident a channel is told about (the same as the incident mails). */
export type ChannelMoment = IncidentMailKind;
export const CHANNEL_MOMENTS: readonly ChannelMoment[] = [
  'opened',
  'escalated',
  'acknowledged',
  'unnotified',
];

/** What a channel is asked to send: one moment of one incident (a snapshot), and where people act on it. */
export interface AlertNotice {
  kind: ChannelMoment;
  incident: Incident;
  /** The console's page of the incident (sign in, then acknowledge). */
  link: string;
  /**
   * The hub event of this moment, as webhooks carry it: `incident.opened` (the emergency call's event
   * under that type), `incident.unnotified`, `incident.escalated`, `incident.acknowledged`.
   */
  event?: HubEvent;
}

/** What a channel reports after a send that worked: a provider id and small, non-secret facts. */
export type ChannelReceipt = {
  id?: string;
  detail?: Record<string, string | number | boolean>;
};

/** How one moment went on one channel (after every attempt), for its incident timeline entry. */
export type ChannelResult =
  | { ok: true; receipt: ChannelReceipt; attempts: number }
  | { ok: false; error: unknown; attempts: number };

/** An incident timeline entry (`channel.sent`, `email.failed`, `published` …). */
export interface ChannelOutcome {
  type: string;
  detail: Record<string, string | number | boolean>;
}

export interface AlertChannel {
  /** Unique among the configured channels: `teams:security-desk`. */
  readonly id: string;
  /** `teams`, `slack`, `sms`, `voice`, `email`, `webhook`, `pubsub`. */
  readonly kind: string;
  /** The moments it is told about. */
  readonly moments: readonly ChannelMoment[];
  /**
   * Who retries. `dispatcher` (the default): `send` is one attempt, which the dispatcher retries
   * (`channels.attempts`, `backoffMs`), bounds (`channels.timeoutMs`) and records in the channel log.
   * `self`: `send` is the whole delivery — the channel keeps its own retry policy, timeouts and log
   * (email: `emergency.email.*`; webhooks: `broadcast.webhook.*` and the webhook delivery log; PubSub:
   * one durable publish) — and the dispatcher calls it once per moment.
   */
  readonly retries?: 'dispatcher' | 'self';
  /**
   * One attempt (or, with `retries: 'self'`, the whole delivery). Throws a `SwitchboardError` (retryable
   * or not) on failure. Never puts a secret (webhook URL token, auth token) into an error message.
   */
  send(n: AlertNotice, signal: AbortSignal): Promise<ChannelReceipt>;
  /**
   * The incident timeline entry of a result. Absent: the dispatcher's `channel.sent` / `channel.failed`.
   * Undefined: no entry.
   */
  timeline?(n: AlertNotice, r: ChannelResult): ChannelOutcome | undefined;
  /** Non-secret description for `GET /api/channels` (host, numbers masked …). */
  describe(): Record<string, string | number | boolean | string[]>;
}

/** What a dispatcher runs: the channels in their order (a registry, or several put together). */
export interface ChannelSource {
  list(): AlertChannel[];
}

/** The configured channels, by id. */
export class ChannelRegistry implements ChannelSource {
  private readonly byId = new Map<string, AlertChannel>();

  register(c: AlertChannel): void {
    if (this.byId.has(c.id)) throw new Error(`channel ${c.id} is registered twice`);
    this.byId.set(c.id, c);
  }

  list(): AlertChannel[] {
    return [...this.byId.values()];
  }

  get(id: string): AlertChannel | undefined {
    return this.byId.get(id);
  }
}

/** The facts every channel shows, in the site's time zone (pure). */
export interface NoticeFacts {
  /** `911 CALL`, `TEST 911 call (933)`, `DRILL`, prefixed by the moment (`ESCALATION 2`, `Acknowledged`). */
  title: string;
  caller: string;
  callback: string;
  location: string;
  time: string;
  state: string;
}

export function noticeFacts(n: AlertNotice): NoticeFacts {
  const i = n.incident;
  const kind = callKind(i);
  const base = kind === 'drill' ? 'DRILL 911 call' : kind === 'test' ? 'TEST 911 call (933)' : '911 CALL';
  const head =
    n.kind === 'escalated'
      ? `ESCALATION ${i.escalations}, not acknowledged: `
      : n.kind === 'acknowledged'
        ? 'Acknowledged: '
        : n.kind === 'unnotified'
          ? 'NO PHONE ALERTED: '
          : '';
  const desc = i.location.description && i.location.from !== 'pbx' ? ` (${i.location.description})` : '';
  const location = oneLine(`${locationLine(i.location)}${desc}`, 500);
  return {
    title: `${head}${base}`.slice(0, 150),
    caller: oneLine(`${i.caller.name || 'unknown user'} (ext ${i.caller.extension || '?'})`, 200),
    callback: oneLine(callbackText(i.caller.extension, i.caller.callbackNumber), 100),
    location,
    time: localTime(i.timeline[0]?.at ?? i.createdAt, i.timeZone ?? 'UTC'),
    state:
      i.acknowledgedAt !== null
        ? `acknowledged by ${i.acknowledgedBy || 'the security desk'}`
        : i.state === 'unacknowledged'
          ? 'NOT acknowledged'
          : 'waiting for acknowledgement',
  };
}

/** What PubSub and webhooks receive about an incident (flat strings). */
export function incidentMessage(i: Incident): Record<string, string> {
  return {
    incidentId: i.id,
    test: String(i.test),
    extension: i.caller.extension,
    name: i.caller.name,
    callbackNumber: i.caller.callbackNumber,
    building: i.location.building ?? '',
    floor: i.location.floor ?? '',
    room: i.location.room ?? '',
    location: [i.location.building, i.location.floor, i.location.room, i.location.description]
      .filter(Boolean)
      .join(' / '),
    time: i.createdAt,
    // The site's local time as the phones showed it, and its zone (time stays the UTC instant).
    timeLocal: localTime(i.createdAt, i.timeZone ?? 'UTC'),
    timeZone: i.timeZone ?? 'UTC',
    dialled: i.caller.dialled,
  };
}
