import type { AuditLog } from '../core/audit.js';
import type { EventBus } from '../core/bus.js';
import type { HubEvent } from '../core/events.js';

/**
 * Changes and sends the hub makes by itself, not through the API (which the auth hook records): a rule or
 * the 911 supervisor starting a broadcast, an incident acknowledged from a phone's softkey. Recorded from
 * the event bus, in this one place. THIS hub's events only (`subscribe`): another hub records its own. The
 * event is named by its id (on a shared store its seq is assigned only when it is stored).
 */
export function auditHubEvents(bus: EventBus, audit: AuditLog): () => void {
  const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v.slice(0, 200) : null);
  const onEvent = (e: HubEvent) => {
    const d = e.data;
    if (e.type === 'broadcast.started') {
      const by = str(d.createdBy) ?? '';
      // Broadcasts sent through the API are recorded with the request (who, address).
      if (!by.startsWith('rule:') && by !== 'emergency') return;
      void audit.record({
        time: e.time,
        actorKind: 'system',
        actorId: by.startsWith('rule:') ? by.slice(5) : null,
        actorName: by,
        address: null,
        action: 'broadcast.sent',
        target: `id=${str(d.broadcastId) ?? ''}`,
        detail: { title: str(d.title), priority: str(d.priority), total: d.total ?? null, event: e.id },
      });
    } else if (e.type === 'incident.acknowledged' && str(d.deviceId)) {
      void audit.record({
        time: e.time,
        actorKind: 'phone',
        actorId: str(d.deviceId),
        actorName: str(d.by),
        address: null,
        action: 'incident.acknowledged',
        target: `id=${str(d.incidentId) ?? ''}`,
        detail: { event: e.id },
      });
    }
  };
  const sub = bus.subscribe(onEvent, { filter: { types: ['broadcast.started', 'incident.acknowledged'] } });
  return () => sub.unsubscribe();
}
