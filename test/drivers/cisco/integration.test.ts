import dgram from 'node:dgram';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionResult } from '../../../src/core/driver.js';
import { ciscoSpec } from '../../../src/drivers/cisco/spec.js';
import { startCiscoSim } from '../../../src/sim/cisco/fleet.js';
import type { SimPhone } from '../../../src/sim/cisco/phone.js';
import { linearToUlaw } from '../../../src/sim/cisco/rtp.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { waitFor as until } from '../../helpers/wait.js';
import { modelFor, SAMPLE_PARAMS } from './samples.js';

/** Driver ↔ simulator over real sockets, through the hub's generic action API. */
const MODELS = ['8845', '8821', '8875', '9841', '7960', '8845-mpp'];
let t: TestHub;
let fleet: Awaited<ReturnType<typeof startCiscoSim>>;
const phone = (model: string): SimPhone => fleet.phones.find((p) => p.profile.id === model)!;
const devId = (model: string) => `cisco-${model}`;
// biome-ignore lint/suspicious/noExplicitAny: tests read the simulator's JSON state freely.
type St = Record<string, any>;
const st = (model: string): St => phone(model).state() as St;

async function act(
  model: string,
  actionId: string,
  params: Record<string, unknown> = {},
): Promise<{ status: number; body: ActionResult & { error?: { code: string; message: string } } }> {
  return t.api('POST', `/api/devices/${devId(model)}/actions/${actionId}`, params);
}

beforeAll(async () => {
  t = await startTestHub();
  fleet = await startCiscoSim({
    phones: MODELS.length,
    model: MODELS,
    authUrl: `${t.url}/cisco/authenticate`,
    servicesUrl: `${t.url}/cisco/services?name=#DEVICENAME#`,
    appEventUrl: `${t.url}/cisco/events/application`,
    prtDelayMs: 300,
  });
  for (const p of fleet.phones) {
    const r = await t.api('POST', '/api/devices', {
      id: devId(p.profile.id),
      kind: 'cisco',
      name: `Phone ${p.profile.id}`,
      address: p.address,
      groups: p.profile.id === '8845' ? ['security'] : [],
      settings: {
        model: p.profile.id,
        username: 'pushuser',
        password: 's3cret!',
        deviceName: p.deviceName,
        extension: p.dn,
      },
    });
    expect(r.status).toBe(201);
  }
});

afterAll(async () => {
  await fleet?.stop();
  await t?.close();
});

/** Actions whose sample cannot succeed as is, and what the phone answers instead. */
const PREP: Record<string, () => Promise<void>> = {
  send_digits: async () => void (await act('8845', 'dial', { dialSequence: '1000' })),
  settings_menu_open: async () => void (await act('8875', 'key_applications')),
  softkey_submit: async () =>
    void (await act('8845', 'object_input', {
      url: `${t.url}/cisco/services/info`,
      items: [{ display_name: 'Name', query_string_param: 'name', default_value: 'SEP00CAFE000000' }],
    })),
  softkey_backspace: async () =>
    void (await act('8845', 'object_input', {
      url: `${t.url}/cisco/services/info`,
      items: [{ display_name: 'PIN', query_string_param: 'pin', default_value: '12', input_flags: 'NP' }],
    })),
  softkey_dial: async () =>
    void (await act('8845', 'object_directory', { entries: [{ name: 'Security desk', telephone: '2000' }] })),
  softkey_editdial: async () =>
    void (await act('8845', 'object_directory', { entries: [{ name: 'Security desk', telephone: '2000' }] })),
};
const OVERRIDE = (): Record<string, Record<string, unknown>> => ({
  push_execute: { priority: 0, uri: `${t.url}/cisco/services?name=${phone('8845').deviceName}` },
  rtp_tx_start: { i: '127.0.0.1', p: 20482 },
  rtp_rx_start: { i: '127.0.0.1', p: 20490, v: 50, s: 1 },
  rtp_mrx: { i: '239.255.10.1', p: 20500, v: 80, s: 0 },
  rtp_mtx: { i: '239.255.10.2', p: 20502 },
  start_media: { type: 'audio', codec: 'G.711', mode: 'receiveOnly', ip: '127.0.0.1', port: 20510 },
  stop_media: { streamId: 'unknown1' },
});
const EXPECTED_NOT_OK: Record<string, string> = {
  stop_media: 'CISCO_MEDIA_InvalidResourceID',
};
const RENDER_ONLY = new Set(['object_error', 'notify', 'query_string_param', 'resource_icon']);

describe('every action and query of the spec against the simulator', () => {
  for (const a of ciscoSpec().actions) {
    it(`${a.id}`, async () => {
      const model = modelFor(a.id);
      await PREP[a.id]?.();
      const before = st(model).counters.execute;
      const params = OVERRIDE()[a.id] ?? SAMPLE_PARAMS[a.id] ?? {};
      const r = await act(model, a.id, params);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      if (a.id === 'device_prt_status') {
        // device_generate_prt ran just before: the phone is generating (or done).
        expect(['generating', 'generated']).toContain(r.body.outcome);
        expect(r.body.ok).toBe(true);
      } else if (EXPECTED_NOT_OK[a.id]) {
        expect(r.body.ok).toBe(false);
        expect(r.body.outcome).toBe(EXPECTED_NOT_OK[a.id]);
      } else {
        expect(r.body.ok, JSON.stringify(r.body)).toBe(true);
      }
      if (RENDER_ONLY.has(a.id)) {
        expect(r.body.outcome).toBe('rendered');
        expect(st(model).counters.execute).toBe(before);
      } else if (a.kind === 'action') {
        expect(st(model).counters.execute).toBe(before + 1);
      }
      if (a.id === 'softkey_submit') expect(st('8845').screen.text).toContain('Name: SEP00CAFE000000');
      if (a.id === 'softkey_backspace') expect(st('8845').screen.input.fields[0].value).toBe('1');
      if (a.id === 'softkey_dial')
        expect(st('8845').call).toMatchObject({ state: 'connected', number: '2000' });
    });
  }
});

describe('pushes change the simulated screen', () => {
  it('CiscoIPPhoneText via the /api/cisco shortcut, screenshot shows it', async () => {
    const r = await t.api<ActionResult>('POST', `/api/cisco/${devId('8845')}/text`, {
      title: 'EMERGENCY',
      prompt: '911 call',
      text: 'Ext 2001 dialled 911\nBuilding A, floor 2',
    });
    expect(r.body.ok).toBe(true);
    expect(r.body.data).toEqual({ items: [{ status: 0, data: 'Success', url: '' }] });
    const s = st('8845');
    expect(s.screen.object).toBe('CiscoIPPhoneText');
    expect(s.screen.title).toBe('EMERGENCY');
    expect(s.screen.text).toBe('Ext 2001 dialled 911\nBuilding A, floor 2');
    const shot = await act('8845', 'get_screenshot');
    const d = shot.body.data as { contentType: string; width: number; height: number; base64: string };
    expect(d.contentType).toBe('image/png');
    const png = PNG.sync.read(Buffer.from(d.base64, 'base64'));
    expect([png.width, png.height]).toEqual([800, 480]);
    // The title bar is drawn and carries white glyph pixels on the bar colour.
    let white = 0;
    for (let x = 0; x < 200; x++)
      for (let y = 0; y < 20; y++) if (png.data[(y * 800 + x) * 4] === 255) white++;
    expect(white).toBeGreaterThan(20);
  });

  it('Execute with keys navigates a pulled menu (services with x-CiscoIPPhone headers and #DEVICENAME#)', async () => {
    const r = await t.api<ActionResult>('POST', `/api/cisco/${devId('8845')}/execute`, {
      uris: ['Key:Services'],
    });
    expect(r.body.ok).toBe(true);
    let s = st('8845');
    expect(s.screen.object).toBe('CiscoIPPhoneMenu');
    expect(s.screen.title).toBe('Switchboard');
    expect(s.screen.prompt).toBe('Phone 8845');
    expect(s.screen.softkeys).toEqual(['Exit', 'Select']);
    await t.api('POST', `/api/cisco/${devId('8845')}/execute`, { uris: ['Key:NavDwn', 'Key:NavSelect'] });
    s = st('8845');
    expect(s.screen.object).toBe('CiscoIPPhoneDirectory');
    expect(s.screen.items.length).toBeGreaterThanOrEqual(6);
    await t.api('POST', `/api/cisco/${devId('8845')}/execute`, {
      uris: ['SoftKey:Exit', 'Key:NavUp', 'Key:NavSelect'],
    });
    s = st('8845');
    expect(s.screen.object).toBe('CiscoIPPhoneText');
    expect(s.screen.text).toContain('Model: CP-8845');
    expect(s.screen.text).toContain('Display: 800, 480, 24, C');
  });

  it('status window with timer, Init:AppStatus clears it; Display off/on', async () => {
    await act('8845', 'object_status_file_push', {
      text: 'Lockdown',
      timer: 0,
      url: 'http://127.0.0.1/s.png',
    });
    expect(st('8845').status.text).toBe('Lockdown');
    await act('8845', 'init_app_status');
    expect(st('8845').status).toBeNull();
    await act('8845', 'display_off', { interval: 0 });
    expect(st('8845').display.on).toBe(false);
    await act('8845', 'display_default');
    expect(st('8845').display.on).toBe(true);
  });

  it('directory entries with the punctuation real directories use, and empty InputFlags, go through the API', async () => {
    const r = await act('8845', 'object_directory', {
      entries: [
        { name: 'Front desk', telephone: '+1 (555) 010-1000' },
        { name: 'Annex', telephone: '555.010.2000' },
      ],
    });
    expect(r.body.ok).toBe(true);
    expect(st('8845').screen.items.map((i: { name: string }) => i.name)).toEqual([
      'Front desk +1 (555) 010-1000',
      'Annex 555.010.2000',
    ]);
    const bad = await act('8845', 'object_directory', { entries: [{ name: 'x', telephone: 'a\u0000b' }] });
    expect(bad.status).toBe(400);
    const input = await act('8845', 'object_input', {
      url: `${t.url}/cisco/services/info`,
      items: [{ display_name: 'PIN', query_string_param: 'pin', input_flags: '' }],
    });
    expect(input.body.ok).toBe(true);
  });

  it('Latin-1 phones (7960) get ISO-8859-1 with transliteration', async () => {
    const r = await act('7960', 'object_text', { text: 'Łódź – café €' });
    expect(r.body.ok).toBe(true);
    expect(st('7960').screen.text).toBe('Lódz - café EUR');
  });

  it('Multiplatform phones accept pushes without CiscoIPPhoneResponse', async () => {
    const r = await act('8845-mpp', 'object_text', { text: 'hello MPP' });
    expect(r.body).toMatchObject({ ok: true, outcome: 'accepted' });
    expect(st('8845-mpp').screen.text).toBe('hello MPP');
  });

  it('Dial, SendDigits, Init:CallHistory and Play are recorded', async () => {
    await act('8845', 'dial', { dialSequence: '5551234' });
    expect(st('8845').call).toMatchObject({ state: 'connected', number: '5551234' });
    await act('8845', 'send_digits', { dtmfSequence: '99#' });
    expect(st('8845').call.digits).toBe('99#');
    await act('8845', 'key_release');
    const r = await act('8845', 'send_digits', { dtmfSequence: '1' });
    expect(r.body).toMatchObject({ ok: false, outcome: 'status_6' });
    expect(r.body.message).toContain('No Active Call');
    await act('8845', 'init_call_history');
    expect(st('8845').history.placed).toEqual([]);
    await act('8845', 'play_audio', { filename: 'chime.raw' });
    expect(st('8845').played.at(-1).file).toBe('chime.raw');
  });
});

describe('credentials and model support', () => {
  it('the authentication URL answers exactly AUTHORIZED / UN-AUTHORIZED', async () => {
    const p = phone('8845');
    const ok = await fetch(
      `${t.url}/cisco/authenticate?UserID=pushuser&Password=s3cret!&devicename=${p.deviceName}`,
    );
    expect(await ok.text()).toBe('AUTHORIZED');
    const bad = await fetch(`${t.url}/cisco/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `UserID=pushuser&Password=nope&devicename=${p.deviceName}`,
    });
    expect(await bad.text()).toBe('UN-AUTHORIZED');
  });

  it('wrong credentials give CiscoIPPhoneError 4 with its meaning', async () => {
    const p = phone('8845');
    await t.api('POST', '/api/devices', {
      id: 'cisco-wrong',
      kind: 'cisco',
      address: p.address,
      settings: { model: '8845', username: 'pushuser', password: 'wrong', deviceName: p.deviceName },
    });
    const fails = st('8845').counters.authFailures;
    const r = await t.api<ActionResult>('POST', '/api/devices/cisco-wrong/actions/object_text', {
      text: 'x',
    });
    expect(r.body).toMatchObject({ ok: false, outcome: 'CISCO_ERROR_4' });
    expect(r.body.message).toContain('Authentication error');
    expect(st('8845').counters.authFailures).toBe(fails + 1);
  });

  it('unsupported actions are refused per model before sending', async () => {
    const cases: Array<[string, string, Record<string, unknown>]> = [
      ['8845-mpp', 'display_off', { interval: 5 }],
      ['8845-mpp', 'send_digits', { dtmfSequence: '1' }],
      ['8845-mpp', 'rtp_mrx', { i: '239.1.1.1', p: 20480 }],
      ['8845-mpp', 'app_close', { applicationId: 'a' }],
      ['8845-mpp', 'notify', { host: 'h', port: 80, path: '/p' }],
      ['8845', 'key_ptt', {}],
      ['8845', 'device_generate_prt', {}],
      ['8845', 'settings_button_apply', {}],
      ['8821', 'key_soft', { n: 3 }],
      ['7960', 'key_fixed_feature', { n: 1 }],
      ['7960', 'object_input', { url: 'http://127.0.0.1/x', method: 'post', items: [] }],
    ];
    for (const [model, id, params] of cases) {
      const before = st(model).counters.execute;
      const r = await act(model, id, params);
      expect(r.status, `${model} ${id}`).toBe(400);
      expect(r.body.error?.code, `${model} ${id}`).toBe(
        id === 'object_input' ? 'CISCO_INPUT_POST_UNSUPPORTED' : 'CISCO_UNSUPPORTED_BY_MODEL',
      );
      if (id !== 'object_input') expect(r.body.error?.message).toContain(model);
      expect(st(model).counters.execute).toBe(before);
    }
  });

  it('Notify is refused inside Execute', async () => {
    const r = await act('8845', 'push_execute', { uri: 'Notify:http:127.0.0.1:80:/x::' });
    expect(r.status).toBe(400);
    expect(r.body.error?.code).toBe('CISCO_NOTIFY_IN_EXECUTE');
  });
});

describe('macros on the generic runner', () => {
  it('generate_problem_report polls Device:PRTStatus until the PRT is generated (8821)', async () => {
    const r = await t.api<{
      ok: boolean;
      steps: Array<{ verb: string; attempts?: number }>;
      last: ActionResult;
    }>('POST', `/api/devices/${devId('8821')}/macros/generate_problem_report`, {});
    expect(r.status).toBe(200);
    expect(r.body.ok).toBe(true);
    expect(r.body.steps.map((s) => s.verb)).toEqual(['push', 'wait_for', 'poll']);
    expect(r.body.last.outcome).toBe('generated');
    expect(JSON.stringify(r.body.last.data)).toMatch(
      /Generated PRT at https:\/\/127\.0\.0\.1\/FS\/prt-\d{8}-\d{6}-[0-9A-F]{12}\.tar\.gz/,
    );
  }, 20_000);

  it('set_tftp_server_address_8875 types the address into the settings menu', async () => {
    const r = await t.api<{ ok: boolean; steps: unknown[] }>(
      'POST',
      `/api/devices/${devId('8875')}/macros/set_tftp_server_address_8875`,
      {},
    );
    expect(r.body.ok).toBe(true);
    expect(r.body.steps).toHaveLength(17);
    expect(st('8875').settings.values.tftpserver1).toBe('1.00.7.34.1');
    const q = await act('8875', 'query_network_configuration_xml');
    expect((q.body.data as { tftpServer1: string }).tftpServer1).toBe('1.00.7.34.1');
  });
});

describe('RTP', () => {
  it('RTPMRx on 239.x receives and decodes real G.711 packets on 127.0.0.1', async () => {
    const group = '239.255.42.42';
    const port = 20600;
    for (const m of ['8845', '8821'])
      expect((await act(m, 'rtp_mrx', { i: group, p: port, v: 60 })).body.ok).toBe(true);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    sock.setMulticastInterface('127.0.0.1');
    sock.setMulticastLoopback(true);
    for (let i = 0; i < 25; i++) {
      const pkt = Buffer.alloc(172);
      pkt[0] = 0x80;
      pkt[1] = 0;
      pkt.writeUInt16BE(i, 2);
      pkt.writeUInt32BE(i * 160, 4);
      pkt.writeUInt32BE(0x1234, 8);
      for (let k = 0; k < 160; k++)
        pkt[12 + k] = linearToUlaw(10000 * Math.sin((2 * Math.PI * 1000 * (i * 160 + k)) / 8000));
      await new Promise<void>((r) => sock.send(pkt, port, group, () => r()));
    }
    sock.close();
    await until(() => st('8845').rtp.rx?.packets === 25 && st('8821').rtp.rx?.packets === 25);
    const rx = st('8845').rtp.rx;
    expect(rx).toMatchObject({
      multicast: true,
      codec: 'G.711 u-law',
      lost: 0,
      ssrc: 0x1234,
      samples: 25 * 160,
    });
    expect(rx.peak).toBeGreaterThan(9000);
    const q = await act('8845', 'query_streaming_statistics_xml', { n: 1 });
    expect(q.body.data).toMatchObject({ rcvrPackets: 25, streamStatus: 'Active', rcvrCodec: 'G.711 u-law' });
    await act('8845', 'rtp_rx_stop');
    await act('8821', 'rtp_rx_stop');
  });

  it('RTPTx sends G.711 frames that another phone receives with RTPRx', async () => {
    expect((await act('8821', 'rtp_rx_start', { i: '127.0.0.1', p: 20700 })).body.ok).toBe(true);
    expect((await act('8845', 'rtp_tx_start', { i: '127.0.0.1', p: 20700 })).body.ok).toBe(true);
    await until(() => (st('8821').rtp.rx?.packets ?? 0) >= 5);
    expect(st('8821').rtp.rx.rms).toBeGreaterThan(1000);
    await act('8845', 'rtp_tx_stop');
    await act('8821', 'rtp_rx_stop');
  });

  it('startMedia → mediaStream id; the user stopping it posts notifyMediaEvent → bus event', async () => {
    const r = await act('8845', 'start_media', {
      codec: 'G.711',
      mode: 'receiveOnly',
      ip: '127.0.0.1',
      port: 20800,
    });
    expect(r.body.outcome).toBe('media_started');
    const id = (r.body.data as { streamId: string }).streamId;
    expect(id).toMatch(/^[0-9a-f]{6}$/);
    expect(await phone('8845').userStopsMedia(id)).toBe(true);
    await until(
      async () => (await t.hub.bus.list({ filter: { types: ['cisco.media.stopped'] } })).length > 0,
    );
    const ev = (await t.hub.bus.list({ filter: { types: ['cisco.media.stopped'] } })).at(-1)!;
    expect(ev).toMatchObject({
      source: devId('8845'),
      data: { streamId: id, origin: 'user', type: 'stopped' },
    });
    const again = await act('8845', 'start_media', {
      codec: 'G.711',
      mode: 'receiveOnly',
      ip: '127.0.0.1',
      port: 20802,
    });
    const sid = (again.body.data as { streamId: string }).streamId;
    expect((await act('8845', 'stop_media', { streamId: sid })).body.ok).toBe(true);
  });

  it('App URIs post notifyApplicationEvent → bus events', async () => {
    await act('8845', 'app_request_focus', { applicationId: 'Acme/Alerts' });
    await act('8845', 'app_minimize', { applicationId: 'Acme/Alerts' });
    await until(async () =>
      (await t.hub.bus.list({ filter: { types: ['cisco.app.minimized'] } })).some(
        (e) => e.data.appId === 'Acme/Alerts',
      ),
    );
    expect(
      (await t.hub.bus.list({ filter: { types: ['cisco.app.focus_gained'] } })).some(
        (e) => e.data.appId === 'Acme/Alerts',
      ),
    ).toBe(true);
    const r = await act('8845', 'app_close', { applicationId: 'Unknown/App' });
    expect(r.body).toMatchObject({ ok: false, outcome: 'status_6' });
    expect(r.body.message).toContain('Unknown Application ID');
  });
});

describe('queries', () => {
  it('DeviceInformationX → typed JSON; HTML twin → fields', async () => {
    const p = phone('8845');
    const x = await act('8845', 'query_device_information_xml');
    expect(x.body.data).toMatchObject({
      page: 'DeviceInformation',
      macAddress: p.mac,
      hostName: p.deviceName,
      modelNumber: 'CP-8845',
      phoneDN: p.dn,
      messageWaiting: false,
    });
    const h = await act('8845', 'query_device_information');
    expect((h.body.data as { fields: Record<string, string> }).fields.HostName).toBe(p.deviceName);
    const vars = await t.api<{ variables: Record<string, unknown> }>(
      'GET',
      `/api/devices/${devId('8845')}/variables`,
    );
    expect(vars.body.variables).toMatchObject({
      device_name_substitution: p.deviceName,
      content_type: 'text/html',
      model: '8845',
    });
    const caps = await act('8821', 'get_device_caps');
    expect(caps.body.data).toMatchObject({
      modelNumber: 'CP-8821',
      display: { width: 240, height: 320, isColor: true },
    });
    const missing = await act('8845', 'query_port_information_xml', { n: 3 });
    expect(missing.body).toMatchObject({ ok: false, outcome: 'not_found' });
  });
});
