import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { broadcastRuntime } from '../../../src/alerting/broadcast-module.js';
import { SimPhone as AvayaSimPhone } from '../../../src/sim/avaya/phone.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * An Avaya phone's concurrency slot is released when it acknowledges the push, not when it fetches the
 * content the push names (issue 16): with one slot, a phone that never fetches does not keep the next phone
 * waiting, and the fetch of a phone that does fetch is still recorded (its delivery moves to `displayed`).
 * Real hub, real Avaya driver, simulated phones over 127.0.0.1.
 */
describe('Avaya broadcast slots', () => {
  let hub: TestHub;
  const nofetch = new AvayaSimPhone({
    extension: '3001',
    mac: '00:1b:4f:00:30:01',
    model: 'J179',
    fetchContent: false,
  });
  const fetches = new AvayaSimPhone({ extension: '3002', mac: '00:1b:4f:00:30:02', model: 'J179' });

  beforeAll(async () => {
    hub = await startTestHub({ config: { 'broadcast.concurrency': 1 } });
    for (const [id, sim] of [
      ['nofetch', nofetch],
      ['fetches', fetches],
    ] as const) {
      await sim.start();
      const r = await hub.api('POST', '/api/devices', {
        id,
        kind: 'avaya',
        address: sim.address,
        settings: { model: 'J179', extension: sim.extension, mac: sim.mac },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
  }, 60_000);

  afterAll(async () => {
    await hub?.close();
    await nofetch.stop();
    await fetches.stop();
  });

  it('a phone that never fetches its content does not hold the only slot; the other phone is served and its fetch recorded', async () => {
    const engine = broadcastRuntime(hub.hub).engine;
    // What the hub knew about the first phone when the second phone got its push.
    let seen: { state: string | undefined; fetched: boolean } | undefined;
    let id = '';
    fetches.once('push', async () => {
      seen = {
        state: (await engine.deliveries(id)).find((d) => d.deviceId === 'nofetch')?.state,
        fetched: nofetch.history.some((r) => r.fetch !== undefined),
      };
    });
    const r = await hub.api<{ broadcast: { id: string } }>('POST', '/api/broadcasts', {
      title: 'Notice',
      text: 'Slot test',
      tones: 'none',
      targets: { devices: ['nofetch', 'fetches'] },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    id = r.body.broadcast.id;
    const report = await engine.wait(id);

    // The only slot went to the second phone while the first had acknowledged its push and not fetched.
    expect(seen).toEqual({ state: 'accepted', fetched: false });
    expect(nofetch.history.length).toBeGreaterThan(0);
    expect(nofetch.history.every((h) => h.fetch === undefined)).toBe(true);
    // The fetch outcome is recorded apart: the phone that fetched is displayed, the other stays accepted.
    await waitFor(() => fetches.history.some((h) => h.fetch?.status === 'ok'));
    const states = Object.fromEntries((await engine.deliveries(id)).map((d) => [d.deviceId, d.state]));
    expect(states).toEqual({ nofetch: 'accepted', fetches: 'displayed' });
    expect(report.counts).toMatchObject({ accepted: 1, displayed: 1, failed: 0 });
  });
});
