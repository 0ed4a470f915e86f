import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimPhone } from '../../../src/sim/cisco/phone.js';
import { builtinScenarios } from '../../../src/sim/ipoffice/scenario.js';
import { Devlink3Simulator } from '../../../src/sim/ipoffice/server.js';
import { type Json, LifeSafetyHub, until } from './harness.js';

interface Status {
  ready: boolean;
  reasons: Array<{ code: string; deviceId?: string; message: string; since?: string }>;
  phones: Array<{ deviceId: string; reachable: boolean | null; group: string }>;
  links: Array<{ deviceId: string; up: boolean }>;
}

/**
 * Defects 4-7: the 911 path is supervised before any emergency, and every failure on it is loud. The real
 * process, the DevLink3 simulator and simulated Cisco phones that check push credentials against the hub's
 * authentication URL, as phones set up following the docs do.
 */
describe('life safety: supervision of the 911 path (real process, simulators)', () => {
  const password = randomBytes(9).toString('base64url');
  const hub = new LifeSafetyHub([
    'emergency: { group: security, escalateAfterSeconds: 0, degradedNoticeSeconds: 3, probeIntervalSeconds: 1, probeTimeoutMs: 1500, linkStartGraceMs: 3000 }',
    'broadcast: { attempts: 2, backoffMs: 50 }',
  ]);
  let pbx: Devlink3Simulator;
  const phones: SimPhone[] = [];
  let deadPort = 0;
  const emergency = builtinScenarios().get('emergency')!;
  const status = async () => (await hub.api<Status>('GET', '/api/emergency')).body;
  const title = (p: SimPhone) => String((p.state().screen as { title?: string }).title ?? '');
  const newPbx = (port = 0) =>
    new Devlink3Simulator({ host: '127.0.0.1', port, credentials: { switchboard: password } }).start();

  beforeAll(async () => {
    pbx = await newPbx();
    // A port nothing listens on: a phone that is off.
    const tmp = net.createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    deadPort = (tmp.address() as net.AddressInfo).port;
    await new Promise((r) => tmp.close(r));
    await hub.start();
    await hub.addIpOffice('ipo-1', pbx.port, password);
    await until('the DevLink3 link', async () => (await status()).links.some((l) => l.up));
  }, 120_000);

  afterAll(async () => {
    await hub.close();
    for (const p of phones) await p.stop();
    await pbx?.stop();
  });

  it('a security phone that is off is flagged before any emergency; a 911 alert that reaches nobody is incident.unnotified', async () => {
    const r = await hub.api('POST', '/api/devices', {
      id: 'desk-off',
      kind: 'cisco',
      address: `127.0.0.1:${deadPort}`,
      groups: ['security'],
      settings: { model: '8845', username: 'push', password: 'x', deviceName: 'SEP00CAFE00B0FF' },
    });
    expect(r.status).toBe(201);
    const st = await until('the phone to be flagged unreachable', async () => {
      const s = await status();
      return s.phones.find((p) => p.deviceId === 'desk-off')?.reachable === false ? s : undefined;
    });
    expect(st.ready).toBe(false);
    expect(st.reasons.map((x) => x.code)).toEqual(
      expect.arrayContaining(['NO_REACHABLE_SECURITY_PHONE', 'SECURITY_PHONE_UNREACHABLE']),
    );
    expect(st.links).toEqual([expect.objectContaining({ deviceId: 'ipo-1', up: true })]);
    await pbx.play(emergency, { ext: '4001', name: 'Alice Able', number: '911' });
    const ev = await until('incident.unnotified', async () => (await hub.events('incident.unnotified'))[0]);
    expect((ev.data as Json).callerExtension).toBe('4001');
    await until('the error log line', () =>
      hub.logs().some((l) => l.level === 50 && /reached no security phone/.test(String(l.msg))),
    );
    expect(
      hub.logs().some((l) => l.level === 40 && /not delivered to a security phone/.test(String(l.msg))),
    ).toBe(true);
    expect((await hub.api('DELETE', '/api/devices/desk-off')).status).toBeLessThan(300);
  }, 120_000);

  it('Cisco phones using the hub as authentication URL get the alert without a configured deviceName; a phone refusing the credentials is flagged', async () => {
    const authUrl = `${hub.url}/cisco/authenticate`;
    // desk-0 and desk-1 ask the hub (authentication URL); desk-2 checks its own local credentials.
    for (const k of [0, 1, 2]) {
      const p = new SimPhone({
        model: '8845',
        mac: `00CAFE00B00${k}`,
        ...(k === 2 ? { username: 'push', password: 'the-right-one' } : { authUrl }),
      });
      await p.start();
      phones.push(p);
    }
    // As in the README: no deviceName (the phones send theirs to the authentication URL).
    for (const [k, p] of phones.entries()) {
      const r = await hub.api('POST', '/api/devices', {
        id: `desk-${k}`,
        kind: 'cisco',
        address: p.address,
        groups: ['security'],
        settings: { model: '8845', username: 'push', password: k === 2 ? 'a-wrong-one' : 'push-secret' },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    for (const k of [0, 1]) {
      const d = await until(`desk-${k}'s device name to be learnt`, async () => {
        const r = await hub.api<{ settings: Json }>('GET', `/api/devices/desk-${k}`);
        return r.body.settings?.deviceName ? r.body : undefined;
      });
      expect(d.settings.deviceName).toBe(phones[k]!.deviceName);
    }
    await pbx.play(emergency, { ext: '4002', name: 'Bob Baker', number: '911' });
    for (const k of [0, 1])
      await until(`desk-${k} to show the alert`, () => title(phones[k]!) === '911 CALL');
    const st = await until('desk-2 to be flagged (credentials refused)', async () => {
      const s = await status();
      return s.reasons.some((r) => r.code === 'SECURITY_PHONE_AUTH_FAILED' && r.deviceId === 'desk-2')
        ? s
        : undefined;
    });
    expect(st.ready).toBe(false);
    expect(title(phones[2]!)).not.toBe('911 CALL');
    expect((await hub.api('DELETE', '/api/devices/desk-2')).status).toBeLessThan(300);
    await until('911 notification to be ready', async () => (await status()).ready);
  }, 120_000);

  it('PBX link down: within seconds a warn log line, events, the gauges and ready:false; after degradedNoticeSeconds a notice on the security phones; and a notice when it recovers', async () => {
    const port = pbx.port;
    await pbx.stop();
    const st = await until(
      'ready:false with PBX_LINK_DOWN',
      async () => {
        const s = await status();
        return s.reasons.some((r) => r.code === 'PBX_LINK_DOWN' && r.deviceId === 'ipo-1') ? s : undefined;
      },
      10_000,
    );
    expect(st.ready).toBe(false);
    expect(st.links).toEqual([expect.objectContaining({ deviceId: 'ipo-1', up: false })]);
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toMatch(/^switchboard_pbx_link_up\{device="ipo-1"\} 0$/m);
    expect(metrics).toMatch(/^switchboard_emergency_ready 0$/m);
    expect(
      hub.logs().some((l) => l.level === 40 && l.msg === 'PBX link down: 911 calls on this PBX are not seen'),
    ).toBe(true);
    expect((await hub.events('device.link_down')).length).toBeGreaterThan(0);
    expect((await hub.events('emergency.degraded')).length).toBeGreaterThan(0);
    for (const k of [0, 1])
      await until(
        `the degraded notice on desk-${k}`,
        () => title(phones[k]!) === '911 ALERTS DEGRADED',
        20_000,
      );
    expect(String((phones[0]!.state().screen as { text?: string }).text)).toContain('ipo-1');
    pbx = await newPbx(port);
    await until('ready again', async () => (await status()).ready, 20_000);
    expect((await hub.events('device.link_up')).length).toBeGreaterThan(0);
    expect((await hub.events('emergency.recovered')).length).toBeGreaterThan(0);
    await until('the recovered notice', () => title(phones[0]!) === '911 alerts restored', 20_000);
    const m2 = await (await fetch(`${hub.url}/metrics`)).text();
    expect(m2).toMatch(/^switchboard_pbx_link_up\{device="ipo-1"\} 1$/m);
    expect(m2).toMatch(/^switchboard_emergency_ready 1$/m);
  }, 120_000);
});
