import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fleet as AvayaFleet, startFleet as startAvayaFleet } from '../../src/sim/avaya/fleet.js';
import { type CiscoSimFleet, startCiscoSim } from '../../src/sim/cisco/fleet.js';
import { builtinScenarios } from '../../src/sim/ipoffice/scenario.js';
import { Devlink3Simulator } from '../../src/sim/ipoffice/server.js';
import { type SpawnedHub, spawnSwitchboard } from '../helpers/process.js';
import { until } from '../helpers/wait.js';

type Json = Record<string, unknown>;
/**
 * On-site 911, end to end: the real `switchboard serve` process, the DevLink3 (IP Office) simulator and
 * simulated Cisco phones, all over 127.0.0.1 sockets. Nothing is called in-process on the hub.
 */
describe('on-site 911 notification (real process and simulators)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-e2e-911-'));
  const key = `sbk_e2e_${randomBytes(16).toString('hex')}`;
  const devlinkPassword = randomBytes(9).toString('base64url');
  let pbx: Devlink3Simulator;
  let cisco: CiscoSimFleet;
  let avaya: AvayaFleet;
  let hub: SpawnedHub;
  let url = '';
  const api = async <T = Json>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  };

  beforeAll(async () => {
    pbx = await new Devlink3Simulator({
      host: '127.0.0.1',
      port: 0,
      credentials: { switchboard: devlinkPassword },
    }).start();
    cisco = await startCiscoSim({
      phones: 3,
      model: ['8845', '8861', '7841'],
      username: 'push',
      password: 'push-secret',
      firstDn: 2001,
    });
    avaya = await startAvayaFleet({ phones: 2, firstExtension: 3001, model: 'J179' });
    writeFileSync(
      join(dir, 'switchboard.yaml'),
      [
        `dataDir: ${JSON.stringify(join(dir, 'data'))}`,
        'http: { host: 127.0.0.1, port: 0 }',
        'log: { level: info }',
        `auth: { apiKeys: [${JSON.stringify(key)}] }`,
        'emergency: { group: security, escalationGroup: managers, escalateAfterSeconds: 2, maxEscalations: 1 }',
        '',
      ].join('\n'),
    );
    hub = spawnSwitchboard(['serve', '-c', join(dir, 'switchboard.yaml')]);
    url = (await hub.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/, 60_000))[1]!;

    // Security desk: two Cisco phones; managers: one Cisco phone (escalation).
    const groups = [['security'], ['security'], ['managers']];
    for (const [k, p] of cisco.phones.entries()) {
      const r = await api('POST', '/api/devices', {
        id: `cisco-${k + 1}`,
        kind: 'cisco',
        address: p.address,
        groups: groups[k],
        location: { building: 'HQ', floor: '1', room: 'Security office' },
        settings: {
          model: p.profile.id,
          username: 'push',
          password: 'push-secret',
          deviceName: p.deviceName,
          extension: p.dn,
        },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    // Two Avaya J179s at the security desk; the second is on a call (busy: the alert barges in).
    for (const [k, p] of avaya.phones.entries()) {
      const r = await api('POST', '/api/devices', {
        id: `avaya-${k + 1}`,
        kind: 'avaya',
        address: p.address,
        groups: ['security'],
        settings: { model: p.model, extension: p.extension, mac: p.mac },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    avaya.phones[1]!.setActivity({ call: 'in_call' });
    const ipo = await api('POST', '/api/devices', {
      id: 'ipo-1',
      kind: 'ipoffice',
      address: `127.0.0.1:${pbx.port}`,
      location: { site: 'HQ campus', building: 'HQ' },
      settings: {
        user: 'switchboard',
        password: devlinkPassword,
        emergencyNumbers: ['911', '9911'],
        testNumbers: ['933'],
      },
    });
    expect(ipo.status, JSON.stringify(ipo.body)).toBe(201);
    await until('the DevLink3 link', async () => {
      const ev = await api<{ events: Json[] }>('GET', '/api/events?type=pbx.link&limit=100');
      return ev.body.events.some((e) => JSON.stringify(e.data).includes('up'));
    });
    // Known location of the caller (extension 4001 of the simulator's user list).
    const loc = await api('PUT', '/api/locations/4001', {
      name: 'Alice Able',
      building: 'HQ',
      floor: '3',
      room: 'Room 301',
      callback: '+15550104001',
    });
    expect(loc.status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    if (hub) {
      hub.proc.kill('SIGTERM');
      await hub.exited;
    }
    await cisco?.stop();
    await avaya?.stop();
    await pbx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const screen = (k: number) =>
    cisco.phones[k]!.state().screen as { title: string; prompt: string; text: string; softkeys: string[] };

  it('a 911 call shows caller, callback number and room on every security phone; one acknowledges by softkey; the incident log shows it', async () => {
    expect((await api<Json>('GET', '/api/emergency')).body).toMatchObject({ active: true, phoneCount: 4 });
    await pbx.play(builtinScenarios().get('emergency')!, { ext: '4001', name: 'Alice Able', number: '911' });
    for (const k of [0, 1]) {
      const s = await until(`security phone ${k + 1} to show the alert`, () =>
        screen(k).title === '911 CALL' ? screen(k) : undefined,
      );
      expect(s.text).toContain('Alice Able, ext 4001');
      expect(s.text).toContain('Call back: +15550104001 (ext 4001)');
      expect(s.text).toContain('HQ, floor 3, Room 301');
      expect(s.softkeys).toContain('Ack');
    }
    for (const k of [0, 1]) {
      const p = avaya.phones[k]!;
      const d = await until(`Avaya phone ${k + 1} to show the alert`, () => {
        const disp = p.state().screen.display;
        return disp?.title === '911 CALL' ? disp : undefined;
      });
      expect(d.text).toContain('Alice Able, ext 4001');
      expect(d.text).toContain('Call back: +15550104001 (ext 4001)');
      expect(d.text).toContain('HQ, floor 3, Room 301');
      expect(d.mode).toBe('barge');
      expect(d.softkeys.find((s) => s.label === 'Ack')?.href).toMatch(
        /\/alerts\/ack\/dl_[^/]+\/[A-Za-z0-9_-]{32}$/,
      );
    }
    expect(screen(2).title).not.toBe('911 CALL');
    // The security guard presses the Ack softkey (position 1) on the first phone: the phone GETs the link.
    const r = await cisco.phones[0]!.execute('Key:Soft1');
    expect(r).toBeDefined();
    const inc = await until('the incident to be acknowledged', async () => {
      const l = await api<{ incidents: Json[] }>('GET', '/api/incidents');
      const i = l.body.incidents[0];
      return i && i.state === 'acknowledged' ? i : undefined;
    });
    expect(inc).toMatchObject({
      test: false,
      caller: { extension: '4001', name: 'Alice Able', callbackNumber: '+15550104001', dialled: '911' },
    });
    expect(inc.location).toMatchObject({ building: 'HQ', floor: '3', room: 'Room 301', from: 'table' });
    const det = await until('the call end and delivery report in the timeline', async () => {
      const d = await api<{ incident: Json; deliveries: Json[] }>('GET', `/api/incidents/${inc.id}`);
      const types = (d.body.incident.timeline as Json[]).map((t) => t.type);
      return types.includes('call.ended') && types.includes('delivery.report') ? d.body : undefined;
    });
    // Avaya phones are `displayed` once they fetched the pushed text from the hub (accepted before).
    expect(det.deliveries.map((d) => `${d.deviceId}:${d.state}`).sort()).toEqual([
      'avaya-1:displayed',
      'avaya-2:displayed',
      'cisco-1:acknowledged',
      'cisco-2:displayed',
    ]);
    // avaya-2 is on a call: emergency alerts are pushed as barge, so it took the alert at the first attempt.
    expect(det.deliveries.find((d) => d.deviceId === 'avaya-2')).toMatchObject({ attempts: 1 });
    expect(avaya.phones[1]!.state().activity.call).toBe('in_call');
    // The Avaya Ack link works too (recorded on that delivery; the incident keeps the first acknowledgement).
    const href = avaya.phones[0]!.state().screen.display!.softkeys.find((k) => k.label === 'Ack')!.href;
    const ackRes = await fetch(href);
    expect(ackRes.status).toBe(200);
    expect(ackRes.headers.get('content-type')).toMatch(/wml/);
    expect(det.incident.acknowledgedBy).toBe('cisco-1');
    const csv = await fetch(`${url}/api/incidents?format=csv`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(await csv.text()).toContain('Alice Able');
    // Acknowledged: no escalation to the managers.
    await new Promise((r) => setTimeout(r, 2500));
    expect(screen(2).title).not.toContain('911');
  }, 120_000);

  it('escalates (repeat and widen to the managers) when nobody acknowledges', async () => {
    await pbx.play(builtinScenarios().get('emergency')!, { ext: '4002', name: 'Bob Baker', number: '933' });
    const s = await until(
      'the managers phone to show the repeat',
      () => (screen(2).title.includes('REPEAT') ? screen(2) : undefined),
      20_000,
    );
    expect(s.title).toBe('TEST CALL 933 - NOT AN EMERGENCY (REPEAT 1)');
    expect(s.text).toContain('Bob Baker, ext 4002');
    const l = await api<{ incidents: Json[] }>('GET', '/api/incidents?limit=1');
    expect(l.body.incidents[0]).toMatchObject({
      test: true,
      state: 'unacknowledged',
      escalations: 1,
      notifiedGroups: ['security', 'managers'],
    });
    // Unknown in the location table, unknown device: the IP Office's own site is shown.
    expect(l.body.incidents[0]!.location).toMatchObject({ building: 'HQ', from: 'pbx' });
  }, 120_000);
});
