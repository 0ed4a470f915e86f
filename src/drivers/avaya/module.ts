import type { HubInfo } from '../../core/driver.js';
import type { HubContext, HubModule } from '../../core/module.js';
import { holdPeriodic } from '../../core/singleton.js';
import { avayaDriver } from './driver.js';
import { registerAvayaRoutes } from './routes.js';
import { AvayaService } from './service.js';

/**
 * The Avaya module: the `avaya` driver (Push Initiator), the Trusted Push Server and the subscription
 * server under `/avaya/`, content in the hub's store (`avayaContent`, swept when expired). One AvayaService per
 * hub (keyed by the hub's HubInfo object, which drivers also see), so several hubs can share a process.
 */
const services = new WeakMap<HubInfo, AvayaService>();
/** The periodic content sweep's lease, by hub (given up at stop). */
const unsweep = new WeakMap<HubInfo, () => Promise<void>>();

/** The Avaya service of a composed hub (created on first use). */
export function avayaServiceOf(hub: HubContext): AvayaService {
  let s = services.get(hub.hub);
  if (!s) {
    s = new AvayaService({
      store: hub.stores.avayaContent,
      config: hub.config.avaya,
      publicUrl: () => hub.hub.publicUrl,
      dataDir: hub.config.dataDir,
      clock: hub.clock,
      bus: hub.bus,
      devices: hub.devices,
      securityGroups: [hub.config.emergency.group, hub.config.emergency.escalationGroup].filter(Boolean),
    });
    services.set(hub.hub, s);
  }
  return s;
}

export const avayaModule: HubModule = {
  name: 'avaya',
  drivers: () => [
    avayaDriver((ctx) => {
      const s = services.get(ctx.hub);
      if (!s) throw new Error('the avaya module is not started in this hub');
      return s;
    }),
  ],
  routes(app, hub) {
    const s = avayaServiceOf(hub);
    registerAvayaRoutes(app, () => s);
  },
  async start(hub) {
    const s = avayaServiceOf(hub);
    await s.store.sweep(hub.clock.now());
    // Expired push content is swept by one hub at a time (several hubs share it on PostgreSQL).
    unsweep.set(
      hub.hub,
      holdPeriodic(
        hub.cluster,
        'avaya:content-sweep',
        60_000,
        // A sweep that fails (the store is unreachable) is simply tried again at the next tick.
        () =>
          s.store.sweep(hub.clock.now()).then(
            () => {},
            () => {},
          ),
        hub.logger,
      ),
    );
  },
  async stop(hub) {
    await unsweep.get(hub.hub)?.();
    unsweep.delete(hub.hub);
    await services.get(hub.hub)?.close();
    services.delete(hub.hub);
  },
};
