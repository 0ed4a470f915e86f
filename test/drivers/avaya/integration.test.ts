import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushInitiator } from '../../../src/drivers/avaya/initiator.js';
import { avayaServiceOf } from '../../../src/drivers/avaya/module.js';
import { buildPushMessage, encodePushForm } from '../../../src/drivers/avaya/push-message.js';
import { encodeRtp } from '../../../src/media/rtp.js';
import { httpRequest } from '../../../src/net/http-client.js';
import { SimPhone } from '../../../src/sim/avaya/phone.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

let hub: TestHub;
let n = 0;
const phones: SimPhone[] = [];

async function phone(
  opts: Partial<ConstructorParameters<typeof SimPhone>[0]> = {},
): Promise<{ p: SimPhone; id: string }> {
  n++;
  const p = new SimPhone({
    extension: String(3000 + n),
    mac: `02:00:00:00:01:${n.toString(16).padStart(2, '0')}`,
    tpsList: ['127.0.0.1'],
    audioTimerMs: 1500,
    ...opts,
  });
  await p.start();
  phones.push(p);
  const id = `ph${n}`;
  await hub.hub.devices.add({ id, kind: 'avaya', address: p.address });
  return { p, id };
}
const run = (id: string, action: string, params: Record<string, unknown> = {}) =>
  hub.hub.actions.execute(id, action, params);

beforeAll(async () => {
  hub = await startTestHub({
    config: {
      'avaya.multicastInterface': '127.0.0.1',
      'avaya.multicastLeadMs': 1000,
      'avaya.transmitIdleS': 1,
    },
  });
});
afterAll(async () => {
  for (const p of phones) await p.stop();
  await hub.close();
});

describe('avaya push initiator ↔ simulated phone', () => {
  it('top line: normal and barge, content fetched from the trusted push server, 30 s expiry', async () => {
    const { p, id } = await phone();
    const r = await run(id, 'push_topline', { text: 'Fire drill at 3 & 4 <pm>', alert: 2 });
    expect(r).toMatchObject({ ok: true, outcome: 'accepted', data: { pushStatus: 200, httpStatus: 200 } });
    await p.waitFor((x) => x.screen.topline?.text === 'Fire drill at 3 & 4 <pm>');
    expect(p.alerts).toBe(2);
    const t = p.screen.topline!;
    expect(t.expiresAt - t.shownAt).toBe(30_000);
    const b = await run(id, 'push_topline', { text: 'Barge!', mode: 'barge' });
    expect(b.ok).toBe(true);
    await p.waitFor((x) => x.screen.topline?.text === 'Barge!' && x.screen.topline.mode === 'barge');
    expect(hub.hub.actions.variables(id)).toMatchObject({
      last_push_outcome: 'accepted',
      last_push_status: 200,
      last_push_action: 'push_topline',
    });
  });

  it('display: WML deck with title, softkeys and click-to-dial; 204 background while editing text', async () => {
    const { p, id } = await phone();
    const r = await run(id, 'push_display', {
      title: 'Lunch',
      text: 'Soup\n\nFish',
      softkeys: [{ label: 'Call', dial: '4455' }],
      dial: '1234',
    });
    expect(r.outcome).toBe('accepted');
    await p.waitFor((x) => x.screen.display?.title === 'Lunch');
    expect(p.screen.display).toMatchObject({
      text: 'Soup\nFish',
      softkeys: [{ label: 'Call', href: 'wtai://wp/mc;4455' }],
      links: [{ href: 'wtai://wp/mc;1234' }],
      background: false,
    });
    p.setActivity({ textEdit: true });
    const bg = await run(id, 'push_display', { title: 'Later', text: 'x' });
    expect(bg).toMatchObject({ ok: true, outcome: 'background', data: { pushStatus: 204 } });
    await p.waitFor((x) => x.screen.display?.title === 'Later');
    expect(p.screen.display?.background).toBe(true);
  });

  it('busy phone: 205 for a normal top line while alerting, retry as barge succeeds', async () => {
    const { p, id } = await phone();
    p.setActivity({ call: 'alerting' });
    const r = await run(id, 'push_topline', { text: 'Normal' });
    expect(r).toMatchObject({
      ok: false,
      outcome: 'not_in_push_state',
      data: { pushStatus: 205, retryAsBarge: true },
    });
    const rb = await run(id, 'push_topline', { text: 'Retried', retry_as_barge: true });
    expect(rb).toMatchObject({ ok: true, outcome: 'accepted', data: { retriedAsBarge: true } });
    await p.waitFor((x) => x.screen.topline?.text === 'Retried');
    expect(p.history.slice(-3).map((h) => [h.mode, h.pushStatus])).toEqual([
      ['normal', 205],
      ['normal', 205],
      ['barge', 200],
    ]);
    p.setActivity({ localProcedure: true });
    expect((await run(id, 'push_topline', { text: 'x', mode: 'barge' })).data).toMatchObject({
      pushStatus: 205,
    });
  });

  it('unicast audio: right number of RTP packets, consecutive sequence numbers and timestamps', async () => {
    const { p, id } = await phone();
    const r = await run(id, 'push_audio', {
      source: 'tone',
      tone: 'beep',
      packetsize: 20,
      codec: 'PCMA',
      promptline: 'Announcement',
      alert: 1,
    });
    expect(r.ok).toBe(true);
    const expected = (r.data as { packets: number }).packets;
    expect(expected).toBe(15); // beep = 200 ms tone + 100 ms gap = 2400 samples = 15 × 160
    await p.waitFor((x) => x.audio?.packets === expected, 5000);
    const a = p.audio!;
    expect(a).toMatchObject({
      kind: 'unicast',
      codec: 'PCMA',
      packetSizeMs: 20,
      sequenceErrors: 0,
      timestampErrors: 0,
      payloadTypeErrors: 0,
      markers: 1,
      samples: expected * 160,
      promptline: 'Announcement',
    });
    expect(a.peak).toBeGreaterThan(5000);
    expect(((a.lastSequence! - a.firstSequence! + 0x10000) & 0xffff) + 1).toBe(expected);
    expect(a.url).toBe(`RTPRx://127.0.0.1:${a.rtpLPort}`);
    await p.waitFor((x) => x.audio?.status === 'ended', 8000);
    expect(p.audio?.endReason).toBe('timeout');
  });

  it('audio while in a call: 208, barge plays, RTPRx://STOP stops it', async () => {
    const { p, id } = await phone({ audioTimerMs: 5000 });
    p.setActivity({ call: 'in_call' });
    const r = await run(id, 'push_audio', { tone: 'alert', repeat: 5 });
    expect(r).toMatchObject({ ok: false, outcome: 'not_in_audio_push_state', data: { pushStatus: 208 } });
    const b = await run(id, 'push_audio', { tone: 'alert', repeat: 5, mode: 'barge' });
    expect(b.ok).toBe(true);
    await p.waitFor((x) => (x.audio?.packets ?? 0) >= 3, 5000);
    expect(p.audio?.farEndHeld).toBe(true);
    // The receiver really checks what arrives: a foreign packet with the wrong payload type and one out of
    // sequence are counted.
    const rogue = dgram.createSocket('udp4');
    const a = p.audio!;
    const send = (pt: number, seq: number) =>
      new Promise<void>((res) =>
        rogue.send(
          encodeRtp({
            payloadType: pt,
            marker: false,
            sequence: seq,
            timestamp: 1,
            ssrc: 9,
            payload: new Uint8Array(320),
          }),
          a.rtpLPort,
          '127.0.0.1',
          () => res(),
        ),
      );
    await send(8, 1);
    await send(0, (a.lastSequence! + 1000) & 0xffff);
    await p.waitFor(
      (x) =>
        x.audio!.payloadTypeErrors === 1 && x.audio!.sequenceErrors >= 1 && x.audio!.timestampErrors >= 1,
      3000,
    );
    rogue.close();
    // Already playing pushed audio: a normal audio push is refused too.
    p.setActivity({ call: 'idle' });
    expect((await run(id, 'push_audio', { tone: 'beep' })).data).toMatchObject({ pushStatus: 208 });
    const s = await run(id, 'push_audio_stop');
    expect(s).toMatchObject({ ok: true, data: { streamsStopped: 1 } });
    await p.waitFor((x) => x.audio?.status === 'ended', 3000);
    expect(p.audio?.endReason).toBe('stopped');
  });

  it('multicast audio reaches several phones from one stream', async () => {
    const group = '239.255.77.1';
    const port = 40_000 + 2 * Math.floor(Math.random() * 5000);
    const ps = [await phone(), await phone(), await phone()];
    const rs = await Promise.all(
      ps.map(({ id }) =>
        run(id, 'push_audio_multicast', { group, port, tone: 'beep', packetsize: 20, lead_ms: 1200 }),
      ),
    );
    expect(rs.map((r) => r.ok)).toEqual([true, true, true]);
    expect(rs.filter((r) => (r.data as { multicast: { joined: boolean } }).multicast.joined).length).toBe(2);
    for (const { p } of ps) await p.waitFor((x) => x.audio?.packets === 15, 5000);
    for (const { p } of ps)
      expect(p.audio).toMatchObject({
        kind: 'multicast',
        url: `RTPRx://${group}:${port}`,
        sequenceErrors: 0,
      });
    expect(new Set(ps.map(({ p }) => p.audio!.ssrc)).size).toBe(1);
  });

  it('audio transmit: the phone sends RTP to the port the hub opened', async () => {
    // A 96x1 (H.323) takes Audio Transmit; J100 SIP phones do not (push-fidelity.test.ts).
    const { p, id } = await phone({ transmitSeconds: 0.6, model: '9611' });
    const r = await run(id, 'push_audio_transmit', { packetsize: 20 });
    expect(r.ok).toBe(true);
    await p.waitFor((x) => x.audio?.endReason === 'transmitted', 5000);
    expect(p.audio!.sentPackets).toBeGreaterThan(20);
    const port = (r.data as { receivePort: number }).receivePort;
    const received = async () =>
      (await hub.hub.bus.list({ filter: { types: ['avaya.audio.transmitted'] } })).find(
        (e) => e.data.port === port,
      );
    for (let i = 0; i < 60 && !(await received()); i++) await new Promise((res) => setTimeout(res, 100));
    expect((await received())?.data).toMatchObject({ port, packets: p.audio!.sentPackets });
  });

  it('PUSHCAP refusals: 201 for a disabled type, 205 for normal when barge-only', async () => {
    const { p, id } = await phone({ pushCap: '00012' });
    expect((await run(id, 'push_topline', { text: 'ok' })).data).toMatchObject({ pushStatus: 200 });
    expect((await run(id, 'push_display', { text: 'x' })).data).toMatchObject({
      pushStatus: 205,
      retryAsBarge: true,
    });
    expect((await run(id, 'push_display', { text: 'x', mode: 'barge' })).data).toMatchObject({
      pushStatus: 200,
    });
    expect((await run(id, 'push_audio', { tone: 'beep', mode: 'barge' })).data).toMatchObject({
      pushStatus: 201,
    });
    expect((await run(id, 'push_phonexml', { xml: '<PhoneXML/>', mode: 'barge' })).data).toMatchObject({
      pushStatus: 201,
    });
    void p;
  });

  it('phonexml push passes the document through', async () => {
    const { p, id } = await phone();
    const r = await run(id, 'push_phonexml', {
      xml: '<PhoneXML><Title>Hello &amp; welcome</Title></PhoneXML>',
    });
    expect(r.ok).toBe(true);
    await p.waitFor((x) => x.screen.phonexml?.text === 'Hello & welcome');
  });

  it('untrusted href: 402 with HTTP 403, nothing fetched', async () => {
    const { p, id } = await phone({ tpsList: ['10.9.9.9/push'] });
    const r = await run(id, 'push_topline', { text: 'nope' });
    expect(r).toMatchObject({
      ok: false,
      outcome: 'security_failure',
      data: { pushStatus: 402, httpStatus: 403 },
    });
    expect(p.screen.topline).toBeUndefined();
    const p2 = await phone({ tpsList: ['/'] });
    expect((await run(p2.id, 'push_topline', { text: 'trust all' })).ok).toBe(true);
  });

  it('the x-Avaya-Push-Status header spelling is read as well', async () => {
    const { id } = await phone({ statusHeader: 'x-Avaya-Push-Status' });
    expect((await run(id, 'push_topline', { text: 'hi' })).data).toMatchObject({
      pushStatus: 200,
      header: 'x-avaya-push-status',
    });
  });

  it('XML error codes and wrong paths, sent raw to the phone', async () => {
    const { p } = await phone();
    const post = (xml: string, path = '/forms/push') =>
      httpRequest({
        url: `http://${p.address}${path}`,
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: encodePushForm(xml),
      });
    const code = async (xml: string) => Number((await post(xml)).headers['x-push-status']);
    expect((await post('<Push/>', '/other')).status).toBe(403);
    expect((await httpRequest({ url: `http://${p.address}/forms/push` })).status).toBe(403);
    expect(
      Number(
        (await httpRequest({ url: `http://${p.address}/forms/push`, method: 'POST', body: 'nothing=1' }))
          .headers['x-push-status'],
      ),
    ).toBe(303);
    expect(await code('<Push type="topline"><go href="http://127.0.0.1/x"></Push>')).toBe(302);
    expect(
      await code(
        '<?xml version="1.0" encoding="KOI8-Q"?><Push type="topline"><go href="http://127.0.0.1/x"/></Push>',
      ),
    ).toBe(304);
    expect(await code('<Pash type="topline"><go href="http://127.0.0.1/x"/></Pash>')).toBe(305);
    expect(await code('<Push type="telex"><go href="http://127.0.0.1/x"/></Push>')).toBe(301);
    expect(await code('<Push type="topline"><go href="http://127.0.0.1/x" method="post"/></Push>')).toBe(306);
    expect(await code(`<Push type="topline"><go href="http://127.0.0.1/${'y'.repeat(5200)}"/></Push>`)).toBe(
      307,
    );
    expect(await code(`<Push type="topline"><go href="http://127.0.0.1/${'y'.repeat(1030)}"/></Push>`)).toBe(
      501,
    );
    const sec = await post('<Push type="topline"><go href="https://127.0.0.1/x"/></Push>');
    expect([sec.status, sec.headers['x-push-status']]).toEqual([403, '402']);
  });

  it('202 internal error (injected) is retryable; 201 push disabled is not', async () => {
    const init = new PushInitiator();
    const { p, id } = await phone({ pushCap: '00000' });
    const m = {
      type: 'topline' as const,
      mode: 'normal' as const,
      href: 'http://127.0.0.1/x',
      method: 'get' as const,
      postfields: [],
    };
    expect(await init.push({ host: '127.0.0.1', port: p.pushPort }, m)).toMatchObject({
      ok: false,
      outcome: 'push_disabled',
      pushStatus: 201,
      retryable: false,
    });
    p.injectStatus(202);
    expect(await run(id, 'push_topline', { text: 'x' })).toMatchObject({
      ok: false,
      outcome: 'internal_error',
      retryable: true,
      data: { pushStatus: 202 },
    });
  });

  it('one connection at a time: concurrent pushes to one phone are serialised', async () => {
    const { p, id } = await phone();
    const rs = await Promise.all(
      Array.from({ length: 8 }, (_, i) => run(id, 'push_topline', { text: `n${i}` })),
    );
    expect(rs.every((r) => r.ok)).toBe(true);
    expect(p.state().connections.maxConcurrent).toBe(1);
    // Even an impolite client that opens several sockets at once is served one at a time.
    const xml = buildPushMessage({
      type: 'topline',
      mode: 'normal',
      href: `${hub.url}/avaya/content/none`,
      method: 'get',
      postfields: [],
    });
    const raw = await Promise.all(
      Array.from({ length: 4 }, () =>
        httpRequest({ url: `http://${p.address}/forms/push`, method: 'POST', body: encodePushForm(xml) }),
      ),
    );
    expect(raw.map((x) => x.headers['x-push-status'])).toEqual(['200', '200', '200', '200']);
  });

  it('unreachable phone is a retryable outcome', async () => {
    await hub.hub.devices.add({ id: 'gone', kind: 'avaya', address: '127.0.0.1:1' });
    expect(await run('gone', 'push_topline', { text: 'x' })).toMatchObject({
      ok: false,
      outcome: 'unreachable',
      retryable: true,
    });
  });

  it('phone not registered or with empty TPSLIST does not listen', async () => {
    const p = new SimPhone({ extension: '1', mac: '020000000999', tpsList: [] });
    await p.start();
    expect(p.listening).toBe(false);
    await p.setTpsList(['/']);
    expect(p.listening).toBe(true);
    await p.setRegistered(false);
    expect(p.listening).toBe(false);
    await p.stop();
  });
});

describe('subscription and discovery', () => {
  it('a phone subscribing on boot becomes an avaya device with a phone.subscribed event', async () => {
    const seen: Array<Record<string, unknown>> = [];
    hub.hub.bus.subscribe((e) => seen.push(e.data), { filter: { types: ['phone.subscribed'] } });
    const p = new SimPhone({
      extension: '4100',
      mac: '02:00:00:00:aa:01',
      model: 'J179',
      subscribeList: [`${hub.url}/avaya/subscribe`],
    });
    await p.start();
    phones.push(p);
    await p.waitFor((x) => [...x.subscriptions.values()].some((s) => s.ok));
    const d = hub.hub.devices.get('avaya-02000000aa01')!;
    expect(d).toMatchObject({
      kind: 'avaya',
      address: p.address,
      settings: { model: 'J179', extension: '4100', mac: '02000000aa01', setId: 'J179D01A' },
    });
    expect(seen.at(-1)).toMatchObject({ deviceId: d.id, extension: '4100', model: 'J179', created: true });
    // The discovered device is pushable.
    expect((await run(d.id, 'push_topline', { text: 'discovered' })).ok).toBe(true);
    expect(hub.hub.actions.variables(d.id).subscribed_at).toBe(seen.at(-1)!.at);
    expect(seen.filter((e) => e.deviceId === d.id).length).toBe(1);
  });

  it('accepts + separators, retries at boot until the server answers, keeps admin groups', async () => {
    const url = `${hub.url}/avaya/subscribe-missing`;
    const p = new SimPhone({
      extension: '4101',
      mac: '020000aa0002',
      subscribeList: [url],
      subscribeSeparator: '+',
      subscribeRetry: { intervalMs: 50, attempts: 3 },
    });
    await p.start();
    phones.push(p);
    await p.waitFor((x) => x.subscriptions.get(url)?.attempts === 4, 3000);
    expect(p.subscriptions.get(url)).toMatchObject({ ok: false, lastStatus: 404 });
    p.subscribeList = [`${hub.url}/avaya/subscribe`];
    const r = await httpRequest({
      url: `${hub.url}/avaya/subscribe?MAC=020000aa0002+Extn=4101+ip=127.0.0.1+SetID=9611D01A+PushPort=${p.pushPort}`,
    });
    expect(r.status).toBe(200);
    await hub.hub.devices.update('avaya-020000aa0002', { groups: ['security'] });
    await httpRequest({
      url: `${hub.url}/avaya/subscribe?MAC=020000aa0002&Extn=4101&ip=127.0.0.1&SetID=9611D01A&PushPort=${p.pushPort}`,
    });
    expect(hub.hub.devices.get('avaya-020000aa0002')).toMatchObject({
      groups: ['security'],
      settings: { model: '9611' },
    });
    expect((await httpRequest({ url: `${hub.url}/avaya/subscribe?Extn=1` })).status).toBe(400);
  });

  it('subscribe push: type all re-subscribes, one per minute (the hub paces; the phone would 503), 503 without SUBSCRIBELIST', async () => {
    const p = new SimPhone({
      extension: '4102',
      mac: '020000aa0003',
      subscribeList: [`${hub.url}/avaya/subscribe`],
    });
    await p.start();
    phones.push(p);
    await p.waitFor((x) => [...x.subscriptions.values()].some((s) => s.ok));
    const id = 'avaya-020000aa0003';
    const r = await run(id, 'push_subscribe', { type: 'all' });
    expect(r).toMatchObject({ ok: true, data: { pushStatus: 200 } });
    await p.waitFor((x) => x.subscriptions.get(`${hub.url}/avaya/subscribe`)?.attempts === 2);
    expect(await run(id, 'push_subscribe', { type: 'me' })).toMatchObject({ ok: false, outcome: 'paced' });
    // Sent anyway (a raw push, as another hub would): the phone's own one-minute window answers 503.
    const s = avayaServiceOf(hub.hub);
    const item = await s.putContent(
      'subscribe',
      'text/xml; charset=utf-8',
      '<Response><Subscribe type="all"/></Response>',
    );
    const raw = await s.initiator.send(
      { host: '127.0.0.1', port: p.pushPort },
      buildPushMessage({ type: 'subscribe', href: s.contentUrl(item.id), method: 'get', postfields: [] }),
      undefined,
    );
    expect(raw.pushStatus).toBe(503);
    expect(avayaServiceOf(hub.hub).subscribedAt.get(id)).toBeDefined();
    const { id: other } = await phone();
    expect((await run(other, 'push_subscribe', {})).data).toMatchObject({ pushStatus: 503 });
  });

  it('subscribe "me" must match SUBSCRIBELIST exactly', async () => {
    const url = `${hub.url}/avaya/subscribe`;
    const p = new SimPhone({ extension: '4103', mac: '020000aa0004', subscribeList: [url] });
    await p.start();
    phones.push(p);
    await p.waitFor((x) => x.subscriptions.get(url)?.ok === true);
    const r = await run('avaya-020000aa0004', 'push_subscribe', { type: 'me', url: `${url}?other=1` });
    expect(r.ok).toBe(true);
    await p.waitFor((x) => x.history.at(-1)?.fetch?.status === 'aborted');
    expect(p.subscriptions.get(url)?.attempts).toBe(1);
  });
});

describe('trusted push server', () => {
  it('serves stored content with Content-Length and Connection: close; unknown or expired ids are 404', async () => {
    const s = avayaServiceOf(hub.hub);
    const item = await s.putContent('topline', 'text/xml', '<Response><Topline>x</Topline></Response>');
    const r = await httpRequest({ url: s.contentUrl(item.id) });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(r.body.length));
    expect(r.headers.connection).toBe('close');
    expect(r.headers['content-type']).toContain('text/xml');
    expect((await httpRequest({ url: `${hub.url}/avaya/content/${'0'.repeat(32)}` })).status).toBe(404);
    expect((await httpRequest({ url: `${hub.url}/avaya/content/..%2f..%2fetc` })).status).toBe(404);
    const audio = await s.putContent('audio', 'text/xml', '', {
      audio: { codec: 'PCMU', packetSizeMs: 40, audioTimerS: 20 },
      audioData: new Uint8Array(320),
    });
    expect((await httpRequest({ url: s.contentUrl(audio.id) })).status).toBe(400);
    expect(await s.store.sweep(Date.now() + 10 * 86_400_000)).toBeGreaterThan(0);
    expect((await httpRequest({ url: s.contentUrl(item.id) })).status).toBe(404);
  });
});

describe('macros and raw push commands', () => {
  it('runs the attention macro (raw push step + action step) and raw Push Messages', async () => {
    const { p, id } = await phone();
    const r = await hub.hub.actions.runMacro(id, 'attention', {});
    expect(r.ok).toBe(true);
    await p.waitFor(
      (x) => x.screen.topline?.text === 'Attention please' && (x.audio?.packets ?? 0) > 0,
      5000,
    );
    const s = avayaServiceOf(hub.hub);
    const item = await s.putContent('topline', 'text/xml', '<Response><Topline>raw</Topline></Response>');
    const session = hub.hub.actions.session(id);
    const raw = await session.push!(
      buildPushMessage({
        type: 'topline',
        mode: 'barge',
        href: s.contentUrl(item.id),
        method: 'get',
        postfields: [],
      }),
    );
    expect(raw).toMatchObject({ ok: true, outcome: 'accepted' });
    await p.waitFor((x) => x.screen.topline?.text === 'raw');
    await expect(session.push!('fax:hello')).rejects.toMatchObject({ code: 'AVAYA_BAD_COMMAND' });
    await expect(session.push!('<Push type="fax"><go href="http://a/b"/></Push>')).rejects.toMatchObject({
      code: 'AVAYA_PM_NOT_VALID',
    });
  });
});
