import type { ControlSpec } from '../../core/spec.js';

/**
 * The event catalog: known event types and, where known, their data fields. Rules are validated against
 * it (unknown types and fields are errors naming the field). Built from the hub's own events plus every
 * driver spec's `events[].bus_type` (fields parsed from `payload` when it lists them).
 */
const CALL_SUMMARY = [
  'callKey',
  'nodeId',
  'callId',
  'state',
  'direction',
  'from',
  'fromName',
  'to',
  'toName',
  'huntGroup',
  'trunk',
  'extension',
  'targets',
  'parties',
  'startedAt',
  'answeredAt',
  'emergency',
  'record',
  'raw',
];

export const BUILTIN_EVENTS: Record<string, string[] | null> = {
  'call.started': CALL_SUMMARY,
  'call.updated': [...CALL_SUMMARY, 'partyGone'],
  'call.ringing': [...CALL_SUMMARY, 'ringing'],
  'call.answered': [...CALL_SUMMARY, 'answeredBy', 'answeredByName', 'ringSeconds'],
  'call.held': [...CALL_SUMMARY, 'heldBy'],
  'call.transferred': [...CALL_SUMMARY, 'from', 'by', 'reason'],
  'call.ended': [
    ...CALL_SUMMARY,
    'reason',
    'cause',
    'causeName',
    'clearedBy',
    'durationSeconds',
    'talkSeconds',
  ],
  'call.rejected': [...CALL_SUMMARY, 'by', 'cause'],
  'call.emergency': [
    ...CALL_SUMMARY,
    'callerExtension',
    'callerName',
    'cli',
    'callbackNumber',
    'emergencyLocationId',
    'dialled',
    'calledType',
    'detectedBy',
    'test',
  ],
  'extension.state': null,
  'pbx.link': null,
  'pbx.gap': ['pbxIp', 'expected', 'received', 'missing'],
  'device.added': ['id', 'kind', 'name', 'address'],
  'device.updated': ['id', 'kind', 'name', 'address'],
  'device.removed': ['id', 'kind', 'name', 'address'],
  'device.action': ['deviceId', 'actionId', 'ok', 'outcome', 'ms'],
  'device.query': ['deviceId', 'actionId', 'ok', 'outcome', 'ms'],
  'device.displayed': ['deviceId', 'ref', 'kind', 'via'],
  'group.updated': ['id', 'name'],
  'broadcast.started': ['broadcastId', 'title', 'priority', 'total', 'createdBy', 'meta'],
  'broadcast.progress': ['broadcastId', 'state', 'total', 'counts', 'done', 'elapsedMs'],
  'broadcast.delivery': [
    'broadcastId',
    'deliveryId',
    'deviceId',
    'kind',
    'state',
    'reason',
    'attempts',
    'latencyMs',
  ],
  'broadcast.acknowledged': ['broadcastId', 'deliveryId', 'deviceId', 'by', 'at', 'meta'],
  'broadcast.finished': ['broadcastId', 'state', 'report', 'meta'],
  'broadcast.cancelled': ['broadcastId', 'by', 'cancelled', 'meta'],
  'broadcast.recalled': ['broadcastId', 'by', 'phones', 'cleared', 'failed', 'meta'],
  'broadcast.retried': ['broadcastId', 'priority', 'phones', 'meta'],
  // `from`/`by`: several hubs, the hub that died and the one resuming (absent after a restart of one hub).
  'broadcast.resumed': ['broadcastId', 'priority', 'phones', 'meta', 'from', 'by'],
  'broadcast.fenced': ['broadcastId', 'reason', 'meta'],
  'schedule.ran': ['scheduleId', 'name', 'broadcastId', 'scheduledFor', 'lateMs'],
  'schedule.missed': ['scheduleId', 'name', 'missed', 'newest', 'lateMs', 'sentLate'],
  'schedule.failed': ['scheduleId', 'name', 'error'],
  'incident.opened': ['incidentId', 'test', 'caller', 'location', 'callKey'],
  // A CAP 1.2 message accepted by the alerting module (src/alerting/cap/match.ts capEventData); in templates
  // write {{data.event}} (a template's {{event}} is the hub event itself).
  'cap.alert': [
    'identifier',
    'sender',
    'sent',
    'status',
    'msgType',
    'scope',
    'references',
    'event',
    'severity',
    'urgency',
    'certainty',
    'categories',
    'language',
    'languages',
    'headline',
    'description',
    'instruction',
    'senderName',
    'areaDesc',
    'inArea',
    'areaMatch',
    'expires',
    'origin',
  ],
  'incident.acknowledged': ['incidentId', 'by', 'deviceId', 'at'],
  'incident.escalated': ['incidentId', 'escalation', 'groups'],
  'incident.call_ended': ['incidentId', 'callKey'],
};

export type EventCatalog = Map<string, Set<string> | null>;

const IDENT = /\b[a-z][A-Za-z0-9_]*\b/g;

export function buildEventCatalog(
  specs: ControlSpec[],
  extra: Record<string, string[] | null> = {},
): EventCatalog {
  const cat: EventCatalog = new Map();
  for (const [t, f] of Object.entries({ ...BUILTIN_EVENTS, ...extra })) cat.set(t, f ? new Set(f) : null);
  for (const s of specs) {
    for (const e of s.events ?? []) {
      if (!e.bus_type || cat.has(e.bus_type)) continue;
      // `payload: "deviceId, mac, extension"` lists fields; anything else (XML samples, prose) says nothing.
      const p = e.payload?.trim();
      const listed = p && /^[A-Za-z0-9_]+(\s*,\s*[A-Za-z0-9_]+)*$/.test(p) ? p.match(IDENT) : null;
      cat.set(e.bus_type, listed ? new Set(listed) : null);
    }
  }
  return cat;
}

/** Does a rule's event (type or `prefix.*`) name something in the catalog? */
export function knownEvent(cat: EventCatalog, type: string): boolean {
  if (type === '*') return true;
  if (type.endsWith('.*')) {
    const pre = type.slice(0, -1);
    return [...cat.keys()].some((k) => k.startsWith(pre));
  }
  return cat.has(type);
}

/** Fields of an event type (union over a prefix); null = not known (any field accepted). */
export function fieldsOf(cat: EventCatalog, type: string): Set<string> | null {
  if (!type.endsWith('.*') && type !== '*') return cat.get(type) ?? null;
  const pre = type === '*' ? '' : type.slice(0, -1);
  const out = new Set<string>();
  for (const [k, f] of cat) {
    if (!k.startsWith(pre)) continue;
    if (f === null) return null;
    for (const x of f) out.add(x);
  }
  return out;
}
