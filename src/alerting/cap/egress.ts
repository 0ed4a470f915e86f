import type { Broadcast } from '../broadcast/types.js';
import { locationLine } from '../channels/email.js';
import type { Incident } from '../emergency/types.js';
import type { FeedItem } from './atom.js';
import { formatCapDate } from './codec.js';
import type { CapAlert, CapInfo } from './types.js';

/**
 * The hub's incidents and broadcasts as CAP 1.2 messages (pure), for `GET /cap/feed.atom`. Each incident or
 * broadcast is one feed entry carrying its newest message: `Alert` while it is live, `Update` once an
 * incident is acknowledged (referencing the Alert), `Cancel` once a broadcast is cancelled or recalled
 * (referencing it). Identifiers are the hub's ids (`inc_…`, broadcast ids), suffixed for later versions.
 *
 * Privacy: a 911 incident's message says where (the dispatchable location) and when, never who called or
 * the callback number: signage and other systems read this feed.
 */
export interface EgressOptions {
  sender: string;
  /** The console's base URL, for the entries' links. */
  publicUrl: string;
  /** Publish test (933) and drill incidents (status Test / Exercise). */
  includeTests: boolean;
}

const SITE_INFO = (
  o: Partial<CapInfo> & Pick<CapInfo, 'event' | 'urgency' | 'severity' | 'certainty'>,
): CapInfo => ({
  language: 'en-US',
  categories: ['Safety'],
  responseTypes: [],
  eventCodes: [],
  parameters: [],
  resources: [],
  areas: [],
  ...o,
});

const iso = (s: string) => Date.parse(s);

export function incidentItem(i: Incident, o: EgressOptions): FeedItem | undefined {
  const kind = i.drill ? 'drill' : i.test ? 'test' : 'real';
  if (kind !== 'real' && !o.includeTests) return undefined;
  const where = locationLine(i.location);
  const base: CapAlert = {
    identifier: i.id,
    sender: o.sender,
    sent: formatCapDate(iso(i.createdAt)),
    status: kind === 'drill' ? 'Exercise' : kind === 'test' ? 'Test' : 'Actual',
    msgType: 'Alert',
    scope: 'Public',
    codes: [],
    references: [],
    infos: [],
  };
  const acked = i.acknowledgedAt !== null;
  const info = SITE_INFO({
    event: '911 call',
    urgency: acked ? 'Past' : 'Immediate',
    severity: 'Extreme',
    certainty: 'Observed',
    senderName: 'Switchboard on-site 911 notification',
    headline: `${kind === 'drill' ? 'DRILL: ' : kind === 'test' ? 'TEST: ' : ''}911 call from ${where}`.slice(
      0,
      160,
    ),
    description: acked
      ? `A 911 call was placed from ${where}. The security desk acknowledged it.`
      : `A 911 call was placed from ${where}. Emergency services may be arriving.`,
    ...(acked ? {} : { instruction: 'Keep access routes clear for emergency services.' }),
    areas: [{ areaDesc: where, polygons: [], circles: [], geocodes: [] }],
  });
  const link = `${o.publicUrl.replace(/\/+$/, '')}/#/incidents/${encodeURIComponent(i.id)}`;
  if (!acked) return { alert: { ...base, infos: [info] }, updated: i.createdAt, link };
  const at = i.acknowledgedAt!;
  return {
    alert: {
      ...base,
      identifier: `${i.id}.ack`,
      sent: formatCapDate(iso(at)),
      msgType: 'Update',
      references: [{ sender: o.sender, identifier: i.id, sent: base.sent }],
      infos: [info],
    },
    updated: new Date(iso(at)).toISOString(),
    link,
  };
}

const PRIORITY: Record<Broadcast['priority'], Pick<CapInfo, 'urgency' | 'severity'>> = {
  emergency: { urgency: 'Immediate', severity: 'Extreme' },
  urgent: { urgency: 'Expected', severity: 'Severe' },
  normal: { urgency: 'Unknown', severity: 'Minor' },
};

export function broadcastItem(b: Broadcast, o: EgressOptions): FeedItem | undefined {
  // A 911 incident's alerts are published as the incident; notices about the 911 path are internal.
  if (b.meta.incidentId !== undefined || b.meta.notice !== undefined) return undefined;
  const sent = formatCapDate(iso(b.createdAt));
  const info = SITE_INFO({
    categories: ['Other'],
    event: 'Broadcast',
    ...PRIORITY[b.priority],
    certainty: 'Observed',
    senderName: 'Switchboard',
    headline: b.title.slice(0, 160),
    description: b.text,
    ...(b.expiresAt ? { expires: formatCapDate(iso(b.expiresAt)) } : {}),
  });
  const base: CapAlert = {
    identifier: b.id,
    sender: o.sender,
    sent,
    status: 'Actual',
    msgType: 'Alert',
    scope: 'Public',
    codes: [],
    references: [],
    infos: [info],
  };
  const link = `${o.publicUrl.replace(/\/+$/, '')}/#/broadcasts/${encodeURIComponent(b.id)}`;
  const ended = b.recalled?.at ?? b.cancelled?.at;
  if (!ended) return { alert: base, updated: b.createdAt, link };
  return {
    alert: {
      ...base,
      identifier: `${b.id}.cancel`,
      sent: formatCapDate(iso(ended)),
      msgType: 'Cancel',
      references: [{ sender: o.sender, identifier: b.id, sent }],
      note: b.recalled ? 'Recalled from the phones.' : 'Cancelled.',
    },
    updated: new Date(iso(ended)).toISOString(),
    link,
  };
}

/** Newest first, at most `max`. */
export function feedItems(
  incidents: Incident[],
  broadcasts: Broadcast[],
  o: EgressOptions,
  max: number,
): FeedItem[] {
  const items = [
    ...incidents.map((i) => incidentItem(i, o)),
    ...broadcasts.map((b) => broadcastItem(b, o)),
  ].filter((x): x is FeedItem => x !== undefined);
  items.sort((a, b) => Date.parse(b.updated) - Date.parse(a.updated));
  return items.slice(0, max);
}
