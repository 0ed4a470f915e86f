import { afterEach, describe, expect, it } from 'vitest';
import { seedDemoLocations } from '../../../src/cli/demo.js';
import { demoModule, drillProviderFrom, registerDrillProvider } from '../../../src/server/demo.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { phoneLogs, testphoneDriver } from '../../helpers/testphone-driver.js';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

const until = async (fn: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

/**
 * A drill placed through the PBX simulator reaches the hub as an ordinary emergency call (no drill flag in
 * DevLink3). The demo announces it to the emergency service first, so the phones' first line says DRILL.
 */
describe('drills through the PBX simulator say DRILL in the first line', () => {
  it('the simulator call after the drill button is a drill; a later real call from the same extension is not', async () => {
    hub = await startTestHub({ modules: [demoModule()], drivers: [testphoneDriver()] });
    const h = hub;
    expect(
      (
        await h.api('POST', '/api/devices', {
          id: 'sec1',
          kind: 'testphone',
          address: '127.0.0.1:9001',
          groups: ['security'],
        })
      ).status,
    ).toBe(201);
    let n = 0;
    const placeCall = (ext: string, dialled: string) =>
      h.hub.bus.emit({
        source: 'ipo-1',
        type: 'call.emergency',
        data: {
          callKey: `sim-${++n}`,
          callerExtension: ext,
          callerName: 'Alice Able',
          dialled,
          detectedBy: 'calledType',
          test: false,
        },
      });
    const part = {
      async placeEmergencyCall(ext: string, o: { number: string }) {
        placeCall(ext, o.number);
      },
      async stop() {},
    };
    registerDrillProvider(h.hub, drillProviderFrom('ipoffice', part)!);
    expect((await h.api('POST', '/api/demo/drill', { extension: '4001' })).status).toBe(202);
    const titles = () =>
      (phoneLogs.get('sec1')?.calls ?? []).filter((c) => c.action === 'show').map((c) => c.params.title);
    await until(() => titles().length === 1);
    expect(titles()[0]).toBe('DRILL - 911 CALL');
    const inc = await h.api<{ incidents: Array<{ drill?: boolean }> }>('GET', '/api/incidents');
    expect(inc.body.incidents[0]!.drill).toBe(true);
    placeCall('4001', '911');
    await until(() => titles().length === 2);
    expect(titles()[1]).toBe('911 CALL');
  });
});

describe("the demo's location data is complete", () => {
  it('every PBX user and every phone with an extension: building, floor, room, callback, zone', async () => {
    hub = await startTestHub({ drivers: [testphoneDriver()] });
    const before = await hub.api<{ coverage: { missingLocation: unknown[]; missingCallback: string[] } }>(
      'GET',
      '/api/emergency',
    );
    expect(before.body.coverage.missingCallback).toEqual([]);
    await hub.api('POST', '/api/devices', {
      id: 'desk',
      kind: 'testphone',
      address: '127.0.0.1:9002',
      groups: ['security'],
      settings: { behavior: 'ok' },
      labels: ['ext:2001'],
    });
    await hub.hub.devices.update('desk', {
      location: { site: 'HQ', building: 'Main', floor: '1', room: 'Security desk' },
    });
    const gap = await hub.api<{ coverage: { missingCallback: string[] } }>('GET', '/api/emergency');
    expect(gap.body.coverage.missingCallback).toEqual(['2001']);
    expect(await seedDemoLocations(hub.hub)).toBe(6);
    const after = await hub.api<{ coverage: Record<string, unknown> }>('GET', '/api/emergency');
    expect(after.body.coverage).toMatchObject({ extensions: 6, missingLocation: [], badTimeZone: [] });
    expect(after.body.coverage.missingCallback).toEqual([]);
  });
});
