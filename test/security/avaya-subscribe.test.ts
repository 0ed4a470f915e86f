import { afterEach, describe, expect, it } from 'vitest';
import { subscriptionAddress } from '../../src/drivers/avaya/subscription.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { rawRequest } from '../helpers/raw-http.js';

/**
 * Attack 4 of issue 13: an unauthenticated `GET /avaya/subscribe?ip=…` re-pointed a security-group phone
 * to another address and extension, and registered 169.254.169.254. Only the phone itself may move its
 * registration now; special addresses are refused; moves raise `phone.moved`.
 */
let hubs: TestHub[] = [];
afterEach(async () => {
  await Promise.all(hubs.map((h) => h.close()));
  hubs = [];
});

const POLICY = { trustedProxies: [], allowLoopback: false, allowLinkLocal: false };

describe('subscription address policy (pure)', () => {
  it('ip= must be the socket address unless the request comes through a trusted proxy', () => {
    expect(subscriptionAddress('10.1.2.3', '::ffff:10.1.2.3', POLICY)).toBe('10.1.2.3');
    expect(subscriptionAddress('', '10.1.2.3', POLICY)).toBe('10.1.2.3');
    expect(() => subscriptionAddress('10.9.9.9', '10.1.2.3', POLICY)).toThrow(/only the phone itself/);
    const relay = { ...POLICY, trustedProxies: ['10.1.0.0/16', '192.0.2.7'] };
    expect(subscriptionAddress('10.9.9.9', '10.1.2.3', relay)).toBe('10.9.9.9');
    expect(subscriptionAddress('10.9.9.9', '192.0.2.7', relay)).toBe('10.9.9.9');
    expect(() => subscriptionAddress('10.9.9.9', '192.0.2.8', relay)).toThrow(/only the phone itself/);
  });
  it('refuses loopback and link-local unless configured, metadata/multicast/unspecified always', () => {
    for (const ip of ['127.0.0.1', '127.8.9.10', '::1'])
      expect(() => subscriptionAddress(ip, ip, POLICY)).toThrow(/loopback/);
    for (const ip of ['169.254.1.1', 'fe80::1'])
      expect(() => subscriptionAddress(ip, ip, POLICY)).toThrow(/link-local/);
    const open = { ...POLICY, allowLoopback: true, allowLinkLocal: true };
    expect(subscriptionAddress('127.0.0.1', '127.0.0.1', open)).toBe('127.0.0.1');
    expect(subscriptionAddress('169.254.1.1', '169.254.1.1', open)).toBe('169.254.1.1');
    for (const ip of ['169.254.169.254', 'fd00:ec2::254', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::'])
      expect(() => subscriptionAddress(ip, ip, open)).toThrow(/cannot be a phone address/);
  });
});

describe('GET /avaya/subscribe over HTTP', () => {
  it('refuses to re-point a security-group phone from another address, and to register 169.254.169.254', async () => {
    const h = await startTestHub({ config: { 'avaya.subscription.allowLoopback': true } });
    hubs.push(h);
    const sub = (q: string) => rawRequest(h.url, 'GET', `/avaya/subscribe?${q}`);
    // The phone itself (socket 127.0.0.1) subscribes; the admin puts it in the security group.
    expect((await sub('MAC=020000aa0001&Extn=4101&ip=127.0.0.1&SetID=9611D01A')).status).toBe(200);
    expect((await h.api('PATCH', '/api/devices/avaya-020000aa0001', { groups: ['security'] })).status).toBe(
      200,
    );
    // The attacker names another address for it: refused, registration unchanged.
    const hijack = await sub('MAC=020000aa0001&Extn=6666&ip=10.66.66.66&SetID=9611D01A');
    expect(hijack.status).toBe(403);
    // Phone-facing errors are plain text with the code (docs/avaya.md), not the API's JSON.
    expect(hijack.text).toMatch(/^ERROR AVAYA_SUBSCRIBE_ADDRESS_MISMATCH: /);
    const d = await h.api<{ address: string; settings: { extension: string } }>(
      'GET',
      '/api/devices/avaya-020000aa0001',
    );
    expect(d.body.address).toBe('127.0.0.1');
    expect(d.body.settings.extension).toBe('4101');
    const meta = await sub('MAC=020000aa0002&Extn=1&ip=169.254.169.254&SetID=9611D01A');
    expect(meta.status).toBe(403);
    expect((await h.api('GET', '/api/devices/avaya-020000aa0002')).status).toBe(404);
  }, 60_000);

  it('a move by the phone itself is logged and raises phone.moved (flagged for security-group phones)', async () => {
    const h = await startTestHub({ config: { 'avaya.subscription.allowLoopback': true } });
    hubs.push(h);
    const sub = (q: string) => rawRequest(h.url, 'GET', `/avaya/subscribe?${q}`);
    expect((await sub('MAC=020000aa0003&Extn=4103&SetID=J179')).status).toBe(200);
    await h.api('PATCH', '/api/devices/avaya-020000aa0003', { groups: ['security'] });
    expect((await sub('MAC=020000aa0003&Extn=4999&SetID=J179')).status).toBe(200);
    const moved = await h.hub.bus.list({ filter: { types: ['phone.moved'] } });
    expect(moved).toHaveLength(1);
    expect(moved[0]!.data).toMatchObject({ deviceId: 'avaya-020000aa0003', securityGroup: true });
  }, 60_000);

  it('refuses phones on loopback by default (simulators need avaya.subscription.allowLoopback)', async () => {
    const h = await startTestHub({ config: { 'avaya.subscription.allowLoopback': false } });
    hubs.push(h);
    const r = await rawRequest(h.url, 'GET', '/avaya/subscribe?MAC=020000aa0004&Extn=1&SetID=J179');
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/^ERROR AVAYA_SUBSCRIBE_ADDRESS_REFUSED: /);
  }, 60_000);
});
