import { afterEach, expect, it } from 'vitest';
import { broadcastRuntime } from '../../src/alerting/broadcast-module.js';
import { sqliteBroadcastStores } from '../../src/store/sqlite/broadcast.js';
import { sqliteCoreStores } from '../../src/store/sqlite/core-stores.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { testphoneDriver } from '../helpers/testphone-driver.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A hub on its SQLite file and another writer of that file (the CLI writes without the hub's lock): the
 * tables' triggers move the configuration versions, and the hub's poll (`cluster.configPollMs`) reloads what
 * changed, with no restart. The hub's own writes reload nothing visible.
 */
const hubs: TestHub[] = [];
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.close();
});

it('a device and a 911 location written by another process apply on the hub; its own writes tell no listener twice', async () => {
  const h = await startTestHub({ drivers: [testphoneDriver()], config: { 'cluster.configPollMs': 100 } });
  hubs.push(h);
  const told: string[] = [];
  h.hub.devices.onChange((c) => told.push(`${c.type} ${c.device.id}`));
  // The hub's own write: its listeners hear it once (no second "added" from the reload that follows).
  expect(
    (await h.api('POST', '/api/devices', { id: 'own-1', kind: 'testphone', address: '127.0.0.1:9001' }))
      .status,
  ).toBe(201);
  const checks = h.hub.configSync.checks;
  await waitFor(() => h.hub.configSync.checks >= checks + 2);
  expect(told).toEqual(['added own-1']);
  // Another process (a second connection to the file, as the CLI has).
  const core = sqliteCoreStores(h.db);
  const at = new Date().toISOString();
  await core.devices.insert({
    id: 'cli-1',
    kind: 'testphone',
    name: 'From the CLI',
    address: '127.0.0.1:9002',
    labels: [],
    groups: ['security'],
    location: {},
    settings: {},
    createdAt: at,
    updatedAt: at,
  });
  await sqliteBroadcastStores(h.db).locations.upsertMany([{ extension: '4001', room: 'CLI', updatedAt: at }]);
  await waitFor(() => h.hub.devices.get('cli-1') !== undefined, 10_000, 'the device on the hub');
  expect(told).toEqual(['added own-1', 'added cli-1']);
  expect((await h.api('GET', '/api/devices/cli-1')).status).toBe(200);
  await waitFor(
    () => broadcastRuntime(h.hub).locations.lookup('4001')?.room === 'CLI',
    10_000,
    'the location',
  );
});
