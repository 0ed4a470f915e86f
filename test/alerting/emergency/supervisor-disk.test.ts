import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SUPERVISOR, EmergencySupervisor } from '../../../src/alerting/emergency/supervisor.js';
import type { EventBus } from '../../../src/core/bus.js';
import { ManualClock } from '../../../src/core/clock.js';
import type { Device } from '../../../src/core/devices.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

/**
 * Issue 13 item 2: a full disk must show in the console. A full data directory means incidents, deliveries
 * and events may not be recorded, so it is a 911 readiness reason (DISK_FULL): the console's red banner, the
 * `emergency.degraded` event, the log line and the degraded notice all follow from it.
 */
describe('911 readiness: the data directory disk', () => {
  it('turns DISK_FULL on and off with the periodic storage check, loudly', () => {
    const clock = new ManualClock();
    const emitted: Array<{ type: string; data: Record<string, unknown> }> = [];
    const bus = {
      subscribe: () => ({ unsubscribe() {} }),
      emit: (e: { type: string; data: Record<string, unknown> }) => emitted.push(e),
    } as unknown as EventBus;
    const phone = { id: 'p1', name: 'Desk', kind: 'cisco', groups: ['security'] } as unknown as Device;
    const pbx = { id: 'ipo', name: 'IPO', kind: 'ipoffice', groups: [] } as unknown as Device;
    let free = 5000;
    const sup = new EmergencySupervisor({
      bus,
      devices: {
        list: (q) => (q?.kind === 'ipoffice' ? [pbx] : q?.group === 'security' ? [phone] : []),
        get: (id) => (id === 'p1' ? phone : id === 'ipo' ? pbx : undefined),
      },
      storage: () => ({ state: free < 100 ? 'full' : 'ok', freeMb: free, minFreeMb: 100 }),
      clock,
      options: { ...DEFAULT_SUPERVISOR, probeIntervalSeconds: 0, storageCheckSeconds: 30 },
    });
    sup.start();
    expect(sup.reasons().map((r) => r.code)).not.toContain('DISK_FULL');
    const before = emitted.length;
    free = 12;
    // Nothing else happens on the hub: the periodic check alone must notice.
    clock.advance(30_000);
    const degraded = emitted.slice(before).find((e) => e.type === 'emergency.degraded');
    expect(degraded, 'emergency.degraded after the storage check').toBeDefined();
    const reasons = degraded!.data.reasons as Array<{ code: string; message: string }>;
    expect(reasons.find((r) => r.code === 'DISK_FULL')?.message).toMatch(/12 MB free, minimum 100 MB/);
    expect(sup.ready()).toBe(false);
    free = 5000;
    clock.advance(30_000);
    expect(sup.reasons().map((r) => r.code)).not.toContain('DISK_FULL');
    sup.stop();
  });

  it('a storage check that throws is logged and does not break readiness', () => {
    const bus = { subscribe: () => ({ unsubscribe() {} }), emit: () => {} } as unknown as EventBus;
    const errors: string[] = [];
    const logger = {
      error: (_o: unknown, m: string) => errors.push(m),
      warn() {},
      info() {},
      debug() {},
      child() {
        return logger;
      },
    };
    const sup = new EmergencySupervisor({
      bus,
      devices: { list: () => [], get: () => undefined },
      storage: () => {
        throw new Error('statfs exploded');
      },
      logger: logger as never,
      options: { ...DEFAULT_SUPERVISOR, probeIntervalSeconds: 0 },
    });
    expect(sup.reasons().map((r) => r.code)).toEqual(['NO_PBX_CONFIGURED', 'NOTIFY_GROUP_EMPTY']);
    expect(errors).toEqual(['checking the free disk space failed']);
  });

  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  it('a real hub below events.minFreeDiskMb: GET /api/emergency says DISK_FULL, /readyz says disk full', async () => {
    hub = await startTestHub({ config: { 'events.minFreeDiskMb': 1_000_000 } });
    const r = await hub.api<{ ready: boolean; reasons: Array<{ code: string; message: string }> }>(
      'GET',
      '/api/emergency',
    );
    expect(r.status).toBe(200);
    expect(r.body.ready).toBe(false);
    expect(r.body.reasons.find((x) => x.code === 'DISK_FULL')?.message).toMatch(
      /disk is full \(\d+ MB free, minimum 1000000 MB\)/,
    );
    const ready = await fetch(`${hub.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ disk: 'full' });
  }, 60_000);
});
