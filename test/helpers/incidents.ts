import type { Incident } from '../../src/alerting/emergency/types.js';
import type { TestHub } from './hub.js';
import { waitFor } from './wait.js';

type Json = Record<string, unknown>;

/** Emits a `call.emergency` event on the hub's bus and waits for its incident (as listed by the API). */
export async function raiseIncident(hub: TestHub, callKey: string, data: Json): Promise<Json> {
  hub.hub.bus.emit({ source: 'ipo-1', type: 'call.emergency', data: { callKey, dialled: '911', ...data } });
  let found: Json | undefined;
  await waitFor(async () => {
    const l = await hub.api<{ incidents: Json[] }>('GET', '/api/incidents?limit=50');
    found = l.body.incidents.find((i) => i.callKey === callKey);
    return found !== undefined;
  });
  return found!;
}

/**
 * A stored 911 incident for list tests (paging, search): caller `Caller <i>` (or `name`), extension
 * 4000 + i, room 100 + i, created `at`; acknowledged by `desk` a minute later when `acknowledged`.
 */
export function pastIncident(i: number, at: number, o: { name?: string; acknowledged: boolean }): Incident {
  return {
    id: `inc-${String(i).padStart(3, '0')}`,
    createdAt: new Date(at).toISOString(),
    callKey: `ipo:${i}`,
    test: false,
    pbx: 'ipo-1',
    caller: {
      extension: String(4000 + i),
      name: o.name ?? `Caller ${i}`,
      callbackNumber: String(4000 + i),
      dialled: '911',
      detectedBy: 'calledType',
    },
    location: { building: 'Main', floor: '1', room: String(100 + i), from: 'table' },
    state: o.acknowledged ? 'acknowledged' : 'notified',
    broadcasts: [],
    notifiedGroups: [],
    escalations: 0,
    acknowledgedAt: o.acknowledged ? new Date(at + 60_000).toISOString() : null,
    acknowledgedBy: o.acknowledged ? 'desk' : null,
    callEndedAt: null,
    timeline: [],
  } as unknown as Incident;
}
