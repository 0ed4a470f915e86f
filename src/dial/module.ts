import { broadcastRuntime } from '../alerting/broadcast-module.js';
import type { HubModule } from '../core/module.js';
import { registerDialRoutes } from './routes.js';
import { screenPop } from './screenpop.js';
import { DialService } from './service.js';

/**
 * Phones as a service for applications (docs/click-to-dial.md): click-to-dial and call keys on desk
 * phones, "Call back" from an incident, and the `screenpop` rule action. Listed after the broadcast
 * module (it uses the incident service and feeds the rules engine).
 */
export const dialModule: HubModule = {
  name: 'dial',
  // Screen pops are a rule action of the broadcast module's rule engine.
  after: ['broadcast'],
  routes(app, hub) {
    const dial = new DialService({
      devices: hub.devices,
      actions: hub.actions,
      spec: (kind) => hub.drivers.get(kind)?.spec,
      options: () => hub.config.dial,
    });
    registerDialRoutes(app, hub, dial, () => broadcastRuntime(hub).emergency);
  },
  start(hub) {
    const log = hub.logger.child({ module: 'dial' });
    broadcastRuntime(hub).screenPop = (p) =>
      screenPop({ devices: hub.devices, actions: hub.actions, bus: hub.bus, logger: log }, p);
  },
};
