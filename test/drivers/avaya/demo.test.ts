import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoAvaya } from '../../../src/sim/avaya/demo.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub.close();
});

describe('avaya demo', () => {
  it('phones subscribe to the hub, two end up in group security, and they take pushes', async () => {
    const demo = await startDemoAvaya(hub.hub, { phones: 4 });
    try {
      const phones = hub.hub.devices.list({ kind: 'avaya' });
      expect(phones.length).toBe(4);
      expect(
        hub.hub.devices
          .list({ group: 'security' })
          .map((d) => d.settings.extension)
          .sort(),
      ).toEqual(['2001', '2002']);
      const r = await hub.api<{ ok: boolean; outcome: string }>(
        'POST',
        `/api/devices/${phones[0]!.id}/actions/push_topline`,
        { text: 'Demo' },
      );
      expect(r.body).toMatchObject({ ok: true, outcome: 'accepted' });
      const st = await fetch(`${demo.controlUrl}/sim/state`).then(
        (x) => x.json() as Promise<{ phones: unknown[] }>,
      );
      expect(st.phones.length).toBe(4);
    } finally {
      await demo.stop();
    }
  });
});

describe('discovery limit', () => {
  it('refuses subscriptions beyond avaya.maxDiscoveredPhones but refreshes known phones', async () => {
    const h = await startTestHub({ config: { 'avaya.maxDiscoveredPhones': 1 } });
    try {
      const sub = (mac: string) =>
        fetch(`${h.url}/avaya/subscribe?MAC=${mac}&Extn=1&ip=127.0.0.1&SetID=J179D01A`);
      expect((await sub('020000000001')).status).toBe(200);
      expect((await sub('020000000001')).status).toBe(200);
      const r = await sub('020000000002');
      expect(r.status).toBe(429);
      // Phone-facing: plain text the phone can ignore, and the connection closed.
      expect(r.headers.get('connection')).toBe('close');
      expect(await r.text()).toMatch(/^ERROR AVAYA_TOO_MANY_PHONES: already 1 avaya devices/);
    } finally {
      await h.close();
    }
  });
});
