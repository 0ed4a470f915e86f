import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { HubEvent } from '../../src/core/events.js';
import { demoModule, drillProviderFrom, registerDrillProvider } from '../../src/server/demo.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

const callEvents = (h: TestHub): Promise<HubEvent[]> =>
  h.hub.bus.list({ after: 0, limit: 1000, filter: { types: ['call.*'] } });

describe('demo drill API (only in `switchboard demo`)', () => {
  it('is absent from a hub that did not register the demo module', async () => {
    hub = await startTestHub();
    expect((await hub.api('GET', '/api/demo')).status).toBe(404);
    expect((await hub.api('POST', '/api/demo/drill', {})).status).toBe(404);
  });

  it('plays an emergency call on the bus: started, emergency, answered, ended, flagged as a drill', async () => {
    const clock = new ManualClock(Date.parse('2026-11-22T10:00:00Z'));
    hub = await startTestHub({ modules: [demoModule()], clock });
    expect((await hub.api('GET', '/api/demo')).body).toEqual({
      demo: true,
      drill: { available: true, via: 'bus' },
    });
    const r = await hub.api<{ via: string; callKey: string; message: string }>('POST', '/api/demo/drill', {
      extension: '4002',
      name: 'Bob Baker',
      holdSeconds: 5,
    });
    expect(r.status).toBe(202);
    expect(r.body.via).toBe('bus');
    expect(r.body.message).toMatch(/Bob Baker \(extension 4002\) dialled 911/);
    let ev = await callEvents(hub);
    expect(ev.map((e) => e.type)).toEqual(['call.started', 'call.emergency']);
    expect(ev[1]!.data).toMatchObject({
      callKey: r.body.callKey,
      emergency: true,
      drill: true,
      callerExtension: '4002',
      callerName: 'Bob Baker',
      callbackNumber: '4002',
      dialled: '911',
      from: '4002',
      to: '911',
    });
    clock.advance(1000);
    clock.advance(4000);
    ev = await callEvents(hub);
    expect(ev.map((e) => e.type)).toEqual(['call.started', 'call.emergency', 'call.answered', 'call.ended']);
    expect(ev[3]!.data).toMatchObject({ callKey: r.body.callKey, durationSeconds: 5, talkSeconds: 4 });
  });

  it('validates the request and bounds concurrent drills', async () => {
    hub = await startTestHub({ modules: [demoModule()], clock: new ManualClock() });
    const bad = await hub.api<{ error: { code: string } }>('POST', '/api/demo/drill', {
      extension: '12; rm -rf',
    });
    expect(bad.status).toBe(400);
    expect((await hub.api('POST', '/api/demo/drill', { holdSeconds: 0 })).status).toBe(400);
    expect((await hub.api('POST', '/api/demo/drill', { other: 1 })).status).toBe(400);
    for (let i = 0; i < 3; i++) expect((await hub.api('POST', '/api/demo/drill', {})).status).toBe(202);
    const busy = await hub.api<{ error: { code: string } }>('POST', '/api/demo/drill', {});
    expect(busy.status).toBe(429);
    expect(busy.body.error.code).toBe('DEMO_DRILL_BUSY');
  });

  it('goes through a registered simulator provider (the IP Office demo part)', async () => {
    hub = await startTestHub({ modules: [demoModule()] });
    const placed: Array<[string, { number: string }]> = [];
    const part = {
      async placeEmergencyCall(ext: string, o: { number: string }) {
        placed.push([ext, o]);
      },
      async stop() {},
    };
    expect(drillProviderFrom('cisco phones', { stop: async () => {} })).toBeUndefined();
    registerDrillProvider(hub.hub, drillProviderFrom('ipoffice', part)!);
    expect((await hub.api('GET', '/api/demo')).body).toMatchObject({ drill: { via: 'ipoffice-simulator' } });
    const r = await hub.api<{ via: string }>('POST', '/api/demo/drill', { dialled: '933' });
    expect(r.status).toBe(202);
    expect(r.body.via).toBe('ipoffice-simulator');
    expect(placed).toEqual([['4001', { number: '933' }]]);
    expect(await callEvents(hub)).toEqual([]);
  });
});
