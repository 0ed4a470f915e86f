import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootAsClient, userAgentFor } from '../../src/sim/provisioning/client.js';
import { startDemoProvisioning } from '../../src/sim/provisioning/demo.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

describe('simulated settings clients', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ config: { 'provisioning.pushNotifications': true } });
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('a J179 in group 3 boots like a phone: settings, then specials through GROUP_3', async () => {
    const r = await bootAsClient({
      baseUrl: hub.url,
      inputs: { MODEL4: 'J179', GROUP: '3' },
      userAgent: userAgentFor('J179'),
    });
    expect(r.files).toEqual(['46xxsettings.txt', '46xxspecials.txt']);
    expect(r.values.SUBSCRIBELIST).toBe(`${hub.url}/avaya/subscribe`);
    expect(
      r.trace.some((t) => t.file === '46xxspecials.txt' && t.kind === 'tag' && t.detail === 'GROUP_3'),
    ).toBe(true);
  });

  it('the demo clients show up in the request log', async () => {
    const demo = await startDemoProvisioning(hub.hub);
    try {
      let models: string[] = [];
      for (let i = 0; i < 100 && models.length < 3; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const res = await hub.api<{ clients: Array<{ model: string; lastFile: string }> }>(
          'GET',
          '/api/settings/clients',
        );
        models = [
          ...new Set(res.body.clients.filter((c) => c.lastFile === '46xxspecials.txt').map((c) => c.model)),
        ];
      }
      expect(models.sort()).toEqual(['9611', 'J179', 'Workplace']);
    } finally {
      await demo.stop();
    }
  });
});
