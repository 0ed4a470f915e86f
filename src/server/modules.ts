import { avayaModule } from '../drivers/avaya/module.js';
import { ciscoModule } from '../drivers/cisco/module.js';
import { ipofficeModule } from '../drivers/ipoffice/module.js';
import { provisioningModule } from '../provisioning/module.js';
import { pubsubModule } from '../pubsub/module.js';
import type { HubModule } from './hub.js';

/**
 * The modules the hub is composed of, in start order. Each feature module adds one line here.
 */
export const MODULES: HubModule[] = [
  provisioningModule,
  ciscoModule,
  pubsubModule,
  ipofficeModule,
  avayaModule,
];
