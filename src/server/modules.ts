import { alertingModule } from '../alerting/module.js';
import { broadcastModule } from '../broadcast/module.js';
import type { HubModule } from '../core/module.js';
import { dialModule } from '../dial/module.js';
import { avayaModule } from '../drivers/avaya/module.js';
import { ciscoModule } from '../drivers/cisco/module.js';
import { ipofficeModule } from '../drivers/ipoffice/module.js';
import { provisioningModule } from '../provisioning/module.js';
import { spacesModule } from '../provisioning/spaces-module.js';
import { pubsubModule } from '../pubsub/module.js';

/**
 * The modules the hub is composed of, in start order. Each feature module adds one line here.
 */
// broadcast starts before ipoffice: its 911 rule listens before the first DevLink3 event can arrive.
export const MODULES: HubModule[] = [
  provisioningModule,
  ciscoModule,
  pubsubModule,
  broadcastModule,
  alertingModule,
  ipofficeModule,
  avayaModule,
  dialModule,
  spacesModule,
];
