import type { HubContext } from '../../core/module.js';
import { startFleet } from './fleet.js';

/**
 * Demo: six simulated J179/9611 phones that subscribe to the hub (so they are discovered through the
 * real subscription path), then the first two are put in group `security` with a location, as an admin
 * would for on-site 911 notification.
 */
export async function startDemoAvaya(
  hub: HubContext,
  opts: { phones?: number } = {},
): Promise<{ stop(): Promise<void>; controlUrl: string | undefined }> {
  const subscribeUrl = `${hub.hub.publicUrl}/avaya/subscribe`;
  const fleet = await startFleet({
    phones: opts.phones ?? 6,
    model: 'J179',
    firstExtension: 2001,
    tpsList: ['/'],
    subscribeList: [subscribeUrl],
    controlPort: 0,
    phoneOptions: { subscribeRetry: { intervalMs: 2000, attempts: 5 } },
  });
  const deadline = Date.now() + 5000;
  while (
    Date.now() < deadline &&
    !fleet.phones.every((p) => [...p.subscriptions.values()].some((s) => s.ok))
  ) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const rooms = ['Security desk', 'Security office'];
  for (const [i, p] of fleet.phones.entries()) {
    const id = `avaya-${p.mac.replace(/:/g, '')}`;
    const d = hub.devices.get(id);
    if (!d) continue;
    const inSecurity = i < 2;
    await hub.devices.update(id, {
      groups: inSecurity ? [...new Set([...d.groups, 'security'])] : d.groups,
      labels: [...new Set([...d.labels, 'demo'])],
      location: {
        site: 'HQ',
        building: 'Main',
        floor: inSecurity ? '1' : String(2 + (i % 3)),
        room: inSecurity ? rooms[i]! : `Office ${200 + i}`,
      },
    });
  }
  return { controlUrl: fleet.controlUrl, stop: () => fleet.stop() };
}
