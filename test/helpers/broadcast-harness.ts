import { BroadcastEngine, type BroadcastEngineOptions } from '../../src/alerting/broadcast/engine.js';
import type { AlertPlanner, MulticastAudio } from '../../src/alerting/broadcast/types.js';
import { ActionRunner } from '../../src/core/actions.js';
import { EventBus } from '../../src/core/bus.js';
import type { Device } from '../../src/core/devices.js';
import { DeviceRegistry } from '../../src/core/devices.js';
import type { HubEvent } from '../../src/core/events.js';
import { silentLogger } from '../../src/core/logger.js';
import { sqliteBroadcastStores } from '../../src/store/sqlite/broadcast.js';
import { sqliteCoreStores } from '../../src/store/sqlite/core-stores.js';
import { type Db, openDatabase } from '../../src/store/sqlite/database.js';
import { resetPhones, testphoneDriver } from './testphone-driver.js';

/** An in-process broadcast engine over an in-memory database and the test phone driver. */
export function broadcastHarness(
  o: {
    options?: Partial<BroadcastEngineOptions>;
    isBusy?: (d: Device) => boolean;
    audio?: MulticastAudio;
    planners?: Record<string, AlertPlanner>;
    noPlanners?: boolean;
  } = {},
) {
  resetPhones();
  const db: Db = openDatabase({ dataDir: ':memory:' });
  const core = sqliteCoreStores(db);
  const stores = sqliteBroadcastStores(db);
  const bus = new EventBus(core.events, 0);
  const driver = testphoneDriver();
  const drivers = new Map([[driver.kind, driver]]);
  const devices = new DeviceRegistry(
    core.devices,
    core.groups,
    new Map([[driver.kind, { kind: driver.kind, configSchema: driver.configSchema }]]),
    bus,
  );
  const runner = new ActionRunner(
    devices,
    drivers,
    () => ({
      bus,
      logger: silentLogger,
      clock: { now: Date.now, setTimeout, clearTimeout } as never,
      hub: { publicUrl: 'http://hub.test', version: 't' },
      kv: core.kv,
      signal: new AbortController().signal,
    }),
    bus,
  );
  const events: HubEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const engine = new BroadcastEngine({
    store: stores.broadcasts,
    devices,
    runner,
    planner: (kind) => (o.noPlanners ? undefined : (o.planners?.[kind] ?? drivers.get(kind)?.alertPlanner)),
    bus,
    ackUrl: (id, token) => `http://hub.test/alerts/ack/${id}/${token}`,
    ...(o.isBusy ? { isBusy: o.isBusy } : {}),
    ...(o.audio ? { audio: o.audio } : {}),
    options: {
      backoff: { initialMs: 5, maxMs: 20 },
      busyRetry: { attempts: 3, initialMs: 5, maxMs: 20 },
      ...o.options,
    },
  });
  let n = 0;
  const phone = (id: string, behavior = 'ok', groups: string[] = ['security'], labels: string[] = []) =>
    devices.add({
      id,
      kind: 'testphone',
      address: `127.0.0.1:${1000 + n++}`,
      groups,
      labels,
      settings: { behavior },
    });
  return {
    db,
    core,
    stores,
    bus,
    devices,
    runner,
    engine,
    events,
    phone,
    close: async () => {
      await engine.close();
      await bus.close();
      db.close();
    },
  };
}
