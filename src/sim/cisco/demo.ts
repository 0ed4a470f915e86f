import { randomBytes } from 'node:crypto';
import type { HubContext } from '../../core/module.js';
import { CISCO_SIM_FIRST_EXTENSION, startCiscoSim } from './fleet.js';

/** Phones of the demo: different families, two of them at the security desk. */
const DEMO_PHONES: Array<{ model: string; name: string; groups: string[]; room: string }> = [
  { model: '8845', name: 'Security desk 1', groups: ['security'], room: 'Security office' },
  { model: '8861', name: 'Security desk 2', groups: ['security'], room: 'Security office' },
  { model: '7841', name: 'Reception', groups: ['lobby'], room: 'Lobby' },
  { model: '8821', name: 'Guard wireless', groups: ['security'], room: 'Patrol' },
  { model: '8875', name: 'Boardroom video phone', groups: [], room: 'Boardroom' },
  { model: '7960', name: 'Warehouse (legacy)', groups: [], room: 'Warehouse' },
  { model: '8845-mpp', name: 'Branch (Multiplatform)', groups: [], room: 'Branch office' },
];

/**
 * `switchboard demo`: starts simulated Cisco phones that check push credentials through the hub's
 * authentication URL, pull services from it and post events to it, and registers them as devices.
 */
export async function startDemoCisco(hub: HubContext): Promise<{ stop(): Promise<void> }> {
  // Phones reach the hub over loopback (the sandbox and the demo stay on 127.0.0.0/8).
  const pub = new URL(hub.hub.publicUrl || 'http://127.0.0.1:8080');
  const base = `http://127.0.0.1:${pub.port || 80}`;
  const fleet = await startCiscoSim({
    phones: DEMO_PHONES.length,
    model: DEMO_PHONES.map((p) => p.model),
    authUrl: `${base}/cisco/authenticate`,
    servicesUrl: `${base}/cisco/services?name=#DEVICENAME#`,
    appEventUrl: `${base}/cisco/events/application`,
    prtDelayMs: 5000,
    // Disjoint from the simulated Avaya phones (2001 …): one extension, one phone.
    firstDn: CISCO_SIM_FIRST_EXTENSION,
  });
  const password = randomBytes(9).toString('base64url');
  const ids: string[] = [];
  try {
    for (const [k, p] of fleet.phones.entries()) {
      const d = DEMO_PHONES[k]!;
      const id = `cisco-demo-${k + 1}`;
      if (hub.devices.get(id)) await hub.devices.remove(id);
      await hub.devices.add({
        id,
        kind: 'cisco',
        name: d.name,
        address: p.address,
        groups: d.groups,
        labels: ['demo', `model:${d.model}`],
        location: { site: 'Demo campus', building: 'A', floor: '1', room: d.room },
        settings: {
          model: d.model,
          username: 'switchboard',
          password,
          deviceName: p.deviceName,
          extension: p.dn,
        },
      });
      ids.push(id);
    }
  } catch (e) {
    await fleet.stop();
    throw e;
  }
  return {
    async stop() {
      for (const id of ids) if (hub.devices.get(id)) await hub.devices.remove(id);
      await fleet.stop();
    },
  };
}
