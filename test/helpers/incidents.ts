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
