import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { testphoneDriver } from '../../helpers/testphone-driver.js';

/** 911 incidents and rule publishes reach a real long-poll subscriber of the hub's PubSub relay. */
describe('publishing to the PubSub relay', () => {
  let hub: TestHub;
  let sid = '';
  let session = '';
  beforeAll(async () => {
    hub = await startTestHub({
      drivers: [testphoneDriver()],
      config: { 'emergency.escalateAfterSeconds': 0 },
    });
    const acc = await hub.api<{ accountSid: string; authToken: string }>('POST', '/api/pubsub/accounts', {
      name: 'security-desk',
    });
    expect(acc.status).toBe(201);
    sid = acc.body.accountSid;
    const auth = await fetch(`${hub.url}/auth`, {
      headers: { authorization: `Basic ${Buffer.from(`${sid}:${acc.body.authToken}`).toString('base64')}` },
    });
    expect(auth.status).toBe(200);
    session = (await auth.text()).trim();
    await hub.api('POST', '/api/devices', {
      id: 'desk',
      kind: 'testphone',
      address: '127.0.0.1:1',
      groups: ['security'],
    });
    await hub.api('PUT', '/api/locations/301', { name: 'Kim', building: 'B2', floor: '3', room: '301' });
  });
  afterAll(async () => hub?.close());

  const poll = async (queue: string) => {
    const res = await fetch(`${hub.url}/${sid}/${queue}?timeout=5s`, {
      headers: { authorization: `Bearer ${session}` },
    });
    expect(res.status).toBe(200);
    return JSON.parse(await res.text()) as Array<{ FormParams: Record<string, string> }>;
  };

  it('a 911 incident is published to the emergency queue', async () => {
    const p = poll('emergency');
    hub.hub.bus.emit({
      source: 'ipo',
      type: 'call.emergency',
      data: { callKey: 'c1', callerExtension: '301', callbackNumber: '5550301', dialled: '911' },
    });
    const msgs = await p;
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.FormParams).toMatchObject({
      extension: '301',
      name: 'Kim',
      room: '301',
      building: 'B2',
      callbackNumber: '5550301',
      test: 'false',
    });
  });

  it('a rule publishes rendered form parameters', async () => {
    const put = await hub.api('PUT', '/api/rules/to-crm', {
      event: 'call.answered',
      actions: [
        { type: 'publish', queue: 'crm/pops', message: { number: '{{from}}', agent: '{{answeredByName}}' } },
      ],
    });
    expect(put.status).toBe(200);
    const p = poll('crm/pops');
    hub.hub.bus.emit({
      source: 'ipo',
      type: 'call.answered',
      data: { callKey: 'c2', from: '5557777', answeredByName: 'Ann' },
    });
    const msgs = await p;
    expect(msgs[0]!.FormParams).toEqual({ number: '5557777', agent: 'Ann' });
  });
});
