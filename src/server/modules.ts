import { broadcastModule } from '../alerting/broadcast-module.js';
import { alertingModule } from '../alerting/module.js';
import type { HubModule } from '../core/module.js';
import { dialModule } from '../dial/module.js';
import { avayaModule } from '../drivers/avaya/module.js';
import { ciscoModule } from '../drivers/cisco/module.js';
import { ipofficeModule } from '../drivers/ipoffice/module.js';
import { provisioningModule } from '../provisioning/module.js';
import { spacesModule } from '../provisioning/spaces-module.js';
import { pubsubModule } from '../pubsub/module.js';

/**
 * The modules the hub is composed of. Each feature module adds one line here; the order they start in comes
 * from their `after` declarations (orderModules), this list's order breaking ties.
 */
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

/**
 * The modules in start order: each after the modules it names in `after` (those present), otherwise in the
 * order given. Refuses an unknown name and a cycle (a programming error: the hub does not start).
 */
export function orderModules(modules: readonly HubModule[]): HubModule[] {
  const byName = new Map(modules.map((m) => [m.name, m] as const));
  const out: HubModule[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (m: HubModule, path: string[]) => {
    const st = state.get(m.name);
    if (st === 'done') return;
    if (st === 'visiting') throw new Error(`module order: cycle ${[...path, m.name].join(' → ')}`);
    state.set(m.name, 'visiting');
    for (const n of m.after ?? []) {
      const dep = byName.get(n);
      if (!dep) {
        if (KNOWN_MODULES.has(n)) continue; // declared, but not composed in this hub (tests)
        throw new Error(`module order: ${m.name} starts after unknown module ${n}`);
      }
      visit(dep, [...path, m.name]);
    }
    state.set(m.name, 'done');
    out.push(m);
  };
  for (const m of modules) visit(m, []);
  return out;
}

const KNOWN_MODULES = new Set(MODULES.map((m) => m.name));
