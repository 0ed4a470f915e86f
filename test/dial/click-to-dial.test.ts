import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimPhone as AvayaSimPhone } from '../../src/sim/avaya/phone.js';
import { type CiscoSimFleet, startCiscoSim } from '../../src/sim/cisco/fleet.js';
import { apiCall, startTestHub, type TestHub } from '../helpers/hub.js';
import { raiseIncident } from '../helpers/incidents.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 19, "Phones as a service": click-to-dial and call keys on real simulated phones over sockets
 * (Cisco `Dial:` / `Key:` URIs per seed 003 with the model tables; Avaya's Push API cannot dial, so a Call
 * prompt or a typed refusal), role permission, "Call back" from an incident (timeline + audit trail), and
 * the `screenpop` rule action on `call.ringing`.
 */

type Json = Record<string, unknown>;
let hub: TestHub;
let cisco: CiscoSimFleet;
let avaya: AvayaSimPhone;
let operator: string;
let viewer: string;

const call = (key: string, method: string, path: string, body?: unknown) =>
  apiCall<Json>(hub.url, key, method, path, body);
const phoneState = (k: number) =>
  cisco.phones[k]!.state() as {
    call: { state: string; number: string; hold: boolean };
    uris: Array<{ uri: string; status: number }>;
    keys: string[];
    screen: { title: string; text: string };
  };

beforeAll(async () => {
  hub = await startTestHub({
    config: {
      'emergency.escalateAfterSeconds': 0,
      'emergency.callbackDial': 'external',
      'emergency.dialPrefix': '9',
      'dial.deskPhones': { 'desk-op': 'cisco-8845' },
    },
  });
  // 8845 (Enterprise, long Dial form), 7841 Multiplatform, 8821 (2 soft keys, Offhook/Onhook).
  cisco = await startCiscoSim({
    phones: 3,
    model: ['8845', '7841-mpp', '8821'],
    username: 'push',
    password: 'push-pw',
    firstDn: 5001,
  });
  const ids = ['cisco-8845', 'cisco-7841', 'cisco-8821'];
  for (const [k, p] of cisco.phones.entries()) {
    const r = await hub.api('POST', '/api/devices', {
      id: ids[k],
      kind: 'cisco',
      address: p.address,
      groups: ['security'],
      settings: {
        model: p.profile.id,
        username: 'push',
        password: 'push-pw',
        deviceName: p.deviceName,
        extension: p.dn,
      },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }
  avaya = new AvayaSimPhone({ extension: '3001', mac: '00:1b:4f:00:30:01', model: 'J179' });
  await avaya.start();
  const r = await hub.api('POST', '/api/devices', {
    id: 'avaya-1',
    kind: 'avaya',
    address: avaya.address,
    settings: { model: 'J179', extension: '3001', mac: avaya.mac },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  operator = (await hub.hub.apiKeys.create('desk-op', { role: 'operator' })).key;
  viewer = (await hub.hub.apiKeys.create('watcher', { role: 'viewer' })).key;
}, 60_000);

afterAll(async () => {
  await hub?.close();
  await cisco?.stop();
  await avaya?.stop();
});

describe('POST /api/devices/:id/dial on Cisco phones (seed 003 Dial:)', () => {
  it('an operator dials a formatted number: the phone gets Dial:<digits> (long form on 8800) and is in a call', async () => {
    const r = await call(operator, 'POST', '/api/devices/cisco-8845/dial', { number: '(555) 010-4001' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      deviceId: 'cisco-8845',
      number: '5550104001',
      mode: 'dialled',
      result: { ok: true },
    });
    const s = phoneState(0);
    expect(s.uris.at(-1)).toEqual(expect.objectContaining({ uri: 'Dial:5550104001:0::1', status: 0 }));
    expect(s.call).toMatchObject({ state: 'connected', number: '5550104001' });
  });
  it('a Multiplatform 7841 gets the short form Dial:<digits>', async () => {
    const r = await call(operator, 'POST', '/api/devices/cisco-7841/dial', { number: '4001' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(phoneState(1).uris.at(-1)).toMatchObject({ uri: 'Dial:4001', status: 0 });
  });
  it('bad numbers are 400 with the DIAL_* code and the field, and nothing reaches the phone', async () => {
    const before = phoneState(0).uris.length;
    const cases: Array<[unknown, string]> = [
      ['555-CALL-NOW', 'DIAL_NUMBER_INVALID'],
      ['+15550104001', 'DIAL_PLUS_UNSUPPORTED'],
      ['1'.repeat(33), 'DIAL_NUMBER_TOO_LONG'],
      ['---', 'DIAL_NUMBER_EMPTY'],
      ['4001;Key:Release', 'DIAL_NUMBER_INVALID'],
      ['4001:1:evil:0', 'DIAL_NUMBER_INVALID'],
    ];
    for (const [number, code] of cases) {
      const r = await call(operator, 'POST', '/api/devices/cisco-8845/dial', { number });
      expect(r.status, String(number)).toBe(400);
      expect(r.body.error, String(number)).toMatchObject({ code, field: 'number' });
    }
    for (const body of [
      {},
      { number: { a: 1 } },
      { number: '1'.repeat(65) },
      { number: '1', extra: true },
      'x',
    ]) {
      const r = await call(operator, 'POST', '/api/devices/cisco-8845/dial', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    expect(phoneState(0).uris.length).toBe(before);
  });
  it('no credential is 401; a viewer is 403; an unknown phone is 404; an IP Office is 409', async () => {
    const res = await fetch(`${hub.url}/api/devices/cisco-8845/dial`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ number: '4001' }),
    });
    expect(res.status).toBe(401);
    const v = await call(viewer, 'POST', '/api/devices/cisco-8845/dial', { number: '4001' });
    expect(v.status).toBe(403);
    expect((await call(operator, 'POST', '/api/devices/nope/dial', { number: '4001' })).status).toBe(404);
    await hub.api('POST', '/api/devices', {
      id: 'ipo-x',
      kind: 'ipoffice',
      address: '127.0.0.1:1',
      settings: { user: 'u', password: 'p' },
    });
    const i = await call(operator, 'POST', '/api/devices/ipo-x/dial', { number: '4001' });
    expect(i.status).toBe(409);
    expect(i.body.error).toMatchObject({ code: 'DIAL_UNSUPPORTED_KIND' });
    await hub.api('DELETE', '/api/devices/ipo-x');
  });
  it('is recorded in the audit trail with the number and the phone', async () => {
    const a = await hub.api<{ entries: Array<Json & { detail: Json }> }>(
      'GET',
      '/api/audit?action=device.dialled',
    );
    expect(a.status).toBe(200);
    const e = a.body.entries.find((x) => x.target === 'id=cisco-7841');
    expect(e).toMatchObject({ actorName: 'desk-op', detail: { number: '4001' } });
  });
});

describe('POST /api/devices/:id/keys (seed 003 Key:)', () => {
  it('Hold and Release drive the call on the phone', async () => {
    await call(operator, 'POST', '/api/devices/cisco-8845/dial', { number: '4002' });
    const h = await call(operator, 'POST', '/api/devices/cisco-8845/keys', { key: 'Hold' });
    expect(h.status, JSON.stringify(h.body)).toBe(200);
    expect(h.body).toMatchObject({ key: 'Hold', actionId: 'key_hold', result: { ok: true } });
    expect(phoneState(0).call.hold).toBe(true);
    const r = await call(operator, 'POST', '/api/devices/cisco-8845/keys', { key: 'Release' });
    expect(r.status).toBe(200);
    expect(phoneState(0).call.state).toBe('idle');
    const l = await call(operator, 'POST', '/api/devices/cisco-8845/keys', { key: 'Line2' });
    expect(l.body).toMatchObject({ actionId: 'key_line', result: { ok: true } });
    expect(phoneState(0).uris.at(-1)).toMatchObject({ uri: 'Key:Line2', status: 0 });
  });
  it('model support: Offhook is 8821-only; Soft5 does not exist on the 2-key 8821; numbers have ranges', async () => {
    const off = await call(operator, 'POST', '/api/devices/cisco-8845/keys', { key: 'Offhook' });
    expect(off.status).toBe(400);
    expect(off.body.error).toMatchObject({ code: 'CISCO_UNSUPPORTED_BY_MODEL' });
    const ok = await call(operator, 'POST', '/api/devices/cisco-8821/keys', { key: 'Offhook' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(phoneState(2).keys.at(-1)).toBe('Offhook');
    const soft = await call(operator, 'POST', '/api/devices/cisco-8821/keys', { key: 'Soft5' });
    expect(soft.body.error).toMatchObject({ code: 'CISCO_UNSUPPORTED_BY_MODEL' });
    const line = await call(operator, 'POST', '/api/devices/cisco-8845/keys', { key: 'Line121' });
    expect(line.status).toBe(400);
    const unknown = await call(operator, 'POST', '/api/devices/cisco-8845/keys', { key: 'SelfDestruct' });
    expect(unknown.body.error).toMatchObject({ code: 'DIAL_KEY_UNKNOWN', field: 'key' });
    const inj = await call(operator, 'POST', '/api/devices/cisco-8845/keys', { key: 'Hold:Dial:911' });
    expect(inj.status).toBe(400);
  });
});

describe('Avaya: the Push API cannot dial', () => {
  it('dial without prompt is 409 AVAYA_DIAL_UNSUPPORTED; keys are 409 AVAYA_KEYS_UNSUPPORTED', async () => {
    const d = await call(operator, 'POST', '/api/devices/avaya-1/dial', { number: '+1 555 010 4001' });
    expect(d.status).toBe(409);
    expect(d.body.error).toMatchObject({ code: 'AVAYA_DIAL_UNSUPPORTED', field: 'prompt' });
    const k = await call(operator, 'POST', '/api/devices/avaya-1/keys', { key: 'Hold' });
    expect(k.body.error).toMatchObject({ code: 'AVAYA_KEYS_UNSUPPORTED' });
    expect(avaya.dialled).toEqual([]);
  });
  it('with prompt: a page with a WTAI Call softkey; the user presses it and the phone dials (+ kept)', async () => {
    const d = await call(operator, 'POST', '/api/devices/avaya-1/dial', {
      number: '+1 555 010 4001',
      prompt: true,
    });
    expect(d.status, JSON.stringify(d.body)).toBe(200);
    expect(d.body).toMatchObject({ mode: 'prompted', number: '+15550104001', result: { ok: true } });
    await waitFor(() => avaya.screen.display?.softkeys.some((k) => k.label === 'Call') === true);
    expect(await avaya.pressSoftkey('Call')).toBe('dialled');
    expect(avaya.dialled).toEqual(['+15550104001']);
  });
});

describe('POST /api/incidents/:id/callback', () => {
  const incident = (ext: string) =>
    raiseIncident(hub, `ipo:cb-${ext}`, {
      callerExtension: ext,
      callerName: 'Pat Doe',
      callbackNumber: '5550109999',
    });

  it("dials the callback number (with the outside prefix) from the operator's configured desk phone; timeline and audit record it", async () => {
    const inc = await incident('4101');
    const r = await call(operator, 'POST', `/api/incidents/${inc.id}/callback`, {});
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      incidentId: inc.id,
      deviceId: 'cisco-8845',
      number: '95550109999',
      mode: 'dialled',
    });
    expect(phoneState(0).call).toMatchObject({ state: 'connected', number: '95550109999' });
    const show = await hub.api<{ incident: { timeline: Array<{ type: string; detail: Json }> } }>(
      'GET',
      `/api/incidents/${inc.id}`,
    );
    expect(show.body.incident.timeline.find((t) => t.type === 'callback.dialled')?.detail).toMatchObject({
      by: 'desk-op',
      deviceId: 'cisco-8845',
      number: '95550109999',
    });
    const a = await hub.api<{ entries: Array<Json & { detail: Json }> }>(
      'GET',
      '/api/audit?action=incident.callback',
    );
    expect(a.body.entries[0]).toMatchObject({ actorName: 'desk-op', target: `id=${inc.id}` });
  });
  it('another phone chosen in the console; a key without a desk phone is 400 DESK_PHONE_NOT_SET; failures are in the timeline', async () => {
    const inc = await incident('4102');
    const other = await call(operator, 'POST', `/api/incidents/${inc.id}/callback`, {
      deviceId: 'cisco-7841',
    });
    expect(other.status).toBe(200);
    expect(phoneState(1).uris.at(-1)).toMatchObject({ uri: 'Dial:95550109999' });
    const none = await hub.api<Json>('POST', `/api/incidents/${inc.id}/callback`, {});
    expect(none.status).toBe(400);
    expect(none.body.error).toMatchObject({ code: 'DESK_PHONE_NOT_SET', field: 'deviceId' });
    const gone = await call(operator, 'POST', `/api/incidents/${inc.id}/callback`, { deviceId: 'nope' });
    expect(gone.status).toBe(404);
    const show = await hub.api<{ incident: { timeline: Array<{ type: string; detail: Json }> } }>(
      'GET',
      `/api/incidents/${inc.id}`,
    );
    expect(
      show.body.incident.timeline.filter((t) => t.type.startsWith('callback.')).map((t) => t.type),
    ).toEqual(['callback.dialled', 'callback.failed']);
    expect((await call(viewer, 'POST', `/api/incidents/${inc.id}/callback`, {})).status).toBe(403);
    expect((await call(operator, 'POST', '/api/incidents/no-such/callback', {})).status).toBe(404);
  });
  it('GET /api/dial/desk-phone answers the configured phone of the caller', async () => {
    expect((await call(operator, 'GET', '/api/dial/desk-phone')).body).toEqual({
      user: 'desk-op',
      deviceId: 'cisco-8845',
    });
    expect((await call(viewer, 'GET', '/api/dial/desk-phone')).body).toEqual({
      user: 'watcher',
      deviceId: null,
    });
  });
});

describe('rule action screenpop on call.ringing', () => {
  it('shows the caller on the ringing extension phone and emits screen.pop for the console', async () => {
    const put = await hub.api('PUT', '/api/rules/pop', {
      id: 'pop',
      event: 'call.ringing',
      actions: [{ type: 'screenpop' }],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const ext = cisco.phones[1]!.dn;
    hub.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.ringing',
      data: {
        callKey: 'ipo:ring-1',
        from: '5550107777',
        fromName: 'Acme Supply',
        to: ext,
        toName: '',
        ringing: [ext],
        targets: [ext],
      },
    });
    await waitFor(() => phoneState(1).screen.title === 'Call from 5550107777');
    expect(phoneState(1).screen.text).toContain('Acme Supply');
    expect(phoneState(0).screen.title).not.toBe('Call from 5550107777');
    const ev = await hub.api<{ events: Array<{ type: string; data: Json }> }>(
      'GET',
      '/api/events?type=screen.pop',
    );
    const pop = ev.body.events.find((e) => e.type === 'screen.pop');
    expect(pop?.data).toMatchObject({
      extensions: [ext],
      fromName: 'Acme Supply',
      phones: [{ deviceId: 'cisco-7841', ok: true }],
    });
  });
  it('is refused on events that are not calls', async () => {
    const put = await hub.api<Json>('PUT', '/api/rules/pop2', {
      id: 'pop2',
      event: 'incident.opened',
      actions: [{ type: 'screenpop' }],
    });
    expect(put.status).toBe(400);
  });
});
