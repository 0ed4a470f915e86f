import type { HubContext } from '../../core/module.js';
import { bootPeriodically, userAgentFor } from './client.js';

/**
 * Demo: a few simulated phones and Workplace clients load their settings files from the hub every
 * minute (at most 60 times), so the request log (`/api/settings/clients`) and `settings.requested`
 * events show traffic.
 */
export async function startDemoProvisioning(hub: HubContext): Promise<{ stop(): Promise<void> }> {
  const clients = [
    {
      inputs: { MODEL4: 'J179', GROUP: '3', MACADDR: 'f80dac000179' },
      userAgent: userAgentFor('J179', 'f8:0d:ac:00:01:79'),
    },
    { inputs: { MODEL4: '9611', SIG_IN_USE: 'H323' }, userAgent: userAgentFor('9611') },
    { inputs: { MODEL4: 'aci' }, userAgent: userAgentFor('aci') },
    { inputs: { MODEL4: 'acw' }, userAgent: userAgentFor('acw') },
  ];
  const log = hub.logger.child({ module: 'provisioning-demo' });
  const p = bootPeriodically(clients, () => hub.hub.publicUrl, {
    clock: hub.clock,
    intervalMs: 60_000,
    maxRounds: 60,
    onError: (e) => log.debug({ err: e }, 'simulated settings fetch failed'),
  });
  return { stop: () => p.stop() };
}
