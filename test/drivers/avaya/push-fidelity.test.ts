import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import type { Device } from '../../../src/core/devices.js';
import { isSwitchboardError } from '../../../src/core/errors.js';
import { avayaAlertPlanner } from '../../../src/drivers/avaya/alert.js';
import {
  buildToplineContent,
  decodePushContentBody,
  MAX_TOPLINE_CHARS,
} from '../../../src/drivers/avaya/content.js';
import { avayaServiceOf } from '../../../src/drivers/avaya/module.js';
import { buildPushMessage } from '../../../src/drivers/avaya/push-message.js';
import { AvayaService } from '../../../src/drivers/avaya/service.js';
import { checkWml } from '../../../src/drivers/avaya/wml.js';
import { httpRequest } from '../../../src/net/http-client.js';
import { SimPhone } from '../../../src/sim/avaya/phone.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

// What a real 96x1/J100 phone would refuse or show differently (issue 21), proven hub → simulated phone.
let hub: TestHub;
let n = 0;
const phones: SimPhone[] = [];
const servers: net.Server[] = [];

async function phone(
  opts: Partial<ConstructorParameters<typeof SimPhone>[0]> = {},
  settings: Record<string, unknown> = {},
): Promise<{ p: SimPhone; id: string }> {
  n++;
  const p = new SimPhone({
    extension: String(5000 + n),
    mac: `02:00:00:00:05:${n.toString(16).padStart(2, '0')}`,
    tpsList: ['127.0.0.1'],
    audioTimerMs: 1500,
    ...opts,
  });
  await p.start();
  phones.push(p);
  const id = `fid${n}`;
  await hub.hub.devices.add({ id, kind: 'avaya', address: p.address, settings });
  return { p, id };
}
const run = (id: string, action: string, params: Record<string, unknown> = {}) =>
  hub.hub.actions.execute(id, action, params);

/** Stores `body` as push content and pushes it raw to `p`; resolves with the push status and the fetch record. */
async function pushRaw(p: SimPhone, type: 'topline' | 'display', contentType: string, body: string) {
  const s = avayaServiceOf(hub.hub);
  const item = await s.putContent(type, contentType, body);
  const before = p.history.length;
  const href = s.contentUrl(item.id);
  const xml = buildPushMessage({ type, mode: 'normal', href, method: 'get', postfields: [] });
  const r = await s.initiator.send({ host: '127.0.0.1', port: p.pushPort }, xml, 'normal');
  await p.waitFor((x) => x.history.length === before + 1 && x.history.at(-1)?.fetch !== undefined);
  return { pushStatus: r.pushStatus, fetch: p.history.at(-1)!.fetch! };
}

beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  for (const p of phones) await p.stop();
  for (const s of servers) s.close();
  await hub.close();
});

describe('1–2. WML: $ escaping and unique <do> names, checked by the simulator', () => {
  it('a display with $ in text, title and softkey label shows the dollars, not empty variables', async () => {
    const { p, id } = await phone();
    const r = await run(id, 'push_display', {
      title: 'A$B',
      text: 'Price: $5 $(x)',
      softkeys: [{ label: 'Pay $5', href: 'http://127.0.0.1/pay?x=$1' }],
    });
    expect(r.outcome).toBe('accepted');
    await p.waitFor((x) => x.history.at(-1)?.fetch !== undefined);
    expect(p.history.at(-1)?.fetch).toEqual({ status: 'ok' });
    expect(p.screen.display).toMatchObject({
      title: 'A$B',
      text: 'Price: $5 $(x)',
      softkeys: [{ label: 'Pay $5', href: 'http://127.0.0.1/pay?x=$1' }],
    });
  });

  it('three softkeys all reach the screen (no two <do> share a name)', async () => {
    const { p, id } = await phone();
    const softkeys = ['Ack', 'Call back', 'Later'].map((label, i) => ({
      label,
      href: `http://127.0.0.1/k${i}`,
    }));
    expect((await run(id, 'push_display', { text: 'Three keys', softkeys })).outcome).toBe('accepted');
    await p.waitFor((x) => x.history.at(-1)?.fetch !== undefined);
    expect(p.history.at(-1)?.fetch).toEqual({ status: 'ok' });
    expect(p.screen.display?.softkeys.map((k) => k.label)).toEqual(['Ack', 'Call back', 'Later']);
  });

  it('the simulator refuses a deck with a malformed $ reference or duplicate <do> names, as the browser does', async () => {
    const { p, id } = await phone();
    const bad = [
      '<?xml version="1.0" encoding="UTF-8"?><wml><card id="c"><p>Price: $5</p></card></wml>',
      '<?xml version="1.0" encoding="UTF-8"?><wml><card id="c"><do type="options" label="A"><go href="http://h/a"/></do><do type="options" label="B"><go href="http://h/b"/></do><p>x</p></card></wml>',
    ];
    for (const body of bad) {
      expect((await run(id, 'push_display', { text: 'before' })).outcome).toBe('accepted');
      await p.waitFor((x) => x.screen.display?.text === 'before');
      const r = await pushRaw(p, 'display', 'text/vnd.wap.wml; charset=utf-8', body);
      expect(r.pushStatus).toBe(200);
      expect(r.fetch).toMatchObject({
        status: 'failed',
        detail: expect.stringMatching(/not valid WML 1\.3/),
      });
      expect(p.screen.display?.text).toBe('before');
    }
  });

  it('the phone-facing 404 for unknown content is a valid WML deck', async () => {
    const res = await httpRequest({ url: `${hub.url}/avaya/content/${'0'.repeat(32)}` });
    expect(checkWml(res.text())).toMatchObject({ ok: true });
  });
});

describe('3. per-model push capabilities', () => {
  it('the hub refuses a Display push to a J139 before sending, with a typed error naming the model', async () => {
    const { p, id } = await phone({ model: 'J139' }, { model: 'J139' });
    let err: unknown;
    try {
      await run(id, 'push_display', { text: 'x' });
    } catch (e) {
      err = e;
    }
    expect(isSwitchboardError(err) && err.code).toBe('AVAYA_PUSH_UNSUPPORTED_BY_MODEL');
    expect((err as Error).message).toMatch(/Avaya J139 .*does not support Display \(WML\) pushes/);
    expect(p.history).toHaveLength(0);
    // Through the API: 422 with the code.
    const api = await hub.api<{ error: { code: string; message: string } }>(
      'POST',
      `/api/devices/${id}/actions/push_display`,
      { text: 'x' },
    );
    expect(api.status).toBe(422);
    expect(api.body.error.code).toBe('AVAYA_PUSH_UNSUPPORTED_BY_MODEL');
    // A raw Push Message macro step is checked the same way.
    const session = hub.hub.actions.session(id);
    await expect(
      session.push!(
        buildPushMessage({
          type: 'display',
          mode: 'normal',
          href: 'http://127.0.0.1/x',
          method: 'get',
          postfields: [],
        }),
      ),
    ).rejects.toMatchObject({ code: 'AVAYA_PUSH_UNSUPPORTED_BY_MODEL' });
    expect((await run(id, 'push_topline', { text: 'fine' })).outcome).toBe('accepted');
  });

  it('the hub refuses Audio Transmit to a J100 SIP phone; a 9611 takes it', async () => {
    const { id } = await phone({ model: 'J179' }, { model: 'J179' });
    await expect(run(id, 'push_audio_transmit', {})).rejects.toMatchObject({
      code: 'AVAYA_PUSH_UNSUPPORTED_BY_MODEL',
      message: expect.stringMatching(/J179 \(J100 SIP\) does not support Audio Transmit/),
    });
  });

  it('the simulator enforces its model: a J139 answers 201 to a Display push and shows nothing; a J179 aborts RTPTx', async () => {
    const { p, id } = await phone({ model: 'J139' }); // the hub does not know the model: it sends
    const r = await run(id, 'push_display', { text: 'x' });
    expect(r).toMatchObject({ ok: false, outcome: 'push_disabled', data: { pushStatus: 201 } });
    expect(p.screen.display).toBeUndefined();
    const { p: j179, id: j } = await phone({ model: 'J179' });
    expect((await run(j, 'push_audio_transmit', {})).outcome).toBe('accepted');
    await j179.waitFor((x) => x.history.at(-1)?.fetch !== undefined);
    expect(j179.history.at(-1)?.fetch).toMatchObject({
      status: 'aborted',
      detail: expect.stringMatching(/J179 does not support audio_transmit/),
    });
    expect(j179.audio).toBeUndefined();
  });

  it('the broadcast planner falls back to the Top Line for a model without a WML browser', () => {
    const planner = avayaAlertPlanner();
    const device = (model?: string) =>
      ({ id: 'd', kind: 'avaya', settings: model ? { model } : {} }) as unknown as Device;
    const alert = {
      broadcastId: 'b',
      title: 'Fire',
      text: 'Leave by the east stairs',
      priority: 'emergency' as const,
      tones: 'alert' as const,
      ackUrl: 'http://hub/ack/1',
      audio: null,
      expiresAt: null,
      whisper: false,
    };
    expect(planner.plan(alert, device('J179'))[0]!.actionId).toBe('push_display');
    expect(planner.plan(alert, device())[0]!.actionId).toBe('push_display');
    for (const m of ['J139', 'J129', 'J159']) {
      expect(planner.plan(alert, device(m))[0]).toMatchObject({
        actionId: 'push_topline',
        role: 'display',
        params: { text: 'Fire: Leave by the east stairs', mode: 'barge', alert: 3 },
      });
    }
    const long = planner.plan({ ...alert, text: '🔥'.repeat(400) }, device('J139'))[0]!;
    expect([...(long.params.text as string)]).toHaveLength(MAX_TOPLINE_CHARS);
  });
});

describe('4. one character unit (code points) on both sides', () => {
  it('312 emoji pass the hub and all 312 reach the top line; 313 are refused', async () => {
    const { p, id } = await phone();
    const text = '🚨'.repeat(MAX_TOPLINE_CHARS);
    expect((await run(id, 'push_topline', { text })).outcome).toBe('accepted');
    await p.waitFor((x) => x.screen.topline !== undefined);
    expect(p.screen.topline!.text).toBe(text);
    expect(() => buildToplineContent(`${text}!`)).toThrow(/longer than 312 characters/);
  });

  it('the simulator cuts longer content at 312 code points without splitting a surrogate pair', async () => {
    const { p } = await phone();
    const body = `<?xml version="1.0" encoding="UTF-8"?><Response><Topline>a${'😀'.repeat(400)}</Topline></Response>`;
    expect((await pushRaw(p, 'topline', 'text/xml; charset=utf-8', body)).fetch).toEqual({ status: 'ok' });
    await p.waitFor((x) => x.screen.topline !== undefined);
    const shown = p.screen.topline!.text;
    expect([...shown]).toHaveLength(312);
    expect(shown).toBe(`a${'😀'.repeat(311)}`);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])/.test(shown)).toBe(false);
  });
});

describe('5. charset declared', () => {
  it('content carries encoding="UTF-8" and charset=utf-8, and umlauts reach the phone', async () => {
    const { p, id } = await phone();
    const r = await run(id, 'push_topline', { text: 'Grüße – Übung 3 €' });
    const href = (r.data as { href: string }).href;
    await p.waitFor((x) => x.screen.topline?.text === 'Grüße – Übung 3 €');
    const res = await httpRequest({ url: href });
    expect(res.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(res.text()).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>/);
    const d = await run(id, 'push_display', { text: 'Grüße' });
    const wml = await httpRequest({ url: (d.data as { href: string }).href });
    expect(wml.headers['content-type']).toBe('text/vnd.wap.wml; charset=utf-8');
  });

  it('the simulator reads text/xml without charset as US-ASCII (RFC 3023): non-ASCII bytes are refused', async () => {
    const { p } = await phone();
    const umlauts = '<?xml version="1.0"?><Response><Topline>Grüße</Topline></Response>';
    expect((await pushRaw(p, 'topline', 'text/xml', umlauts)).fetch).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(/without a charset/),
    });
    const ascii = '<Response><Topline>plain ASCII</Topline></Response>';
    expect((await pushRaw(p, 'topline', 'text/xml', ascii)).fetch).toEqual({ status: 'ok' });
    expect(p.screen.topline?.text).toBe('plain ASCII');
  });

  it('decodes fetched bytes by the Content-Type charset: UTF-8 (strict), ISO-8859-1; others refused', () => {
    const latin1 = Buffer.from('<Response><Topline>Grüße</Topline></Response>', 'latin1');
    expect(decodePushContentBody(latin1, 'text/xml; charset=ISO-8859-1')).toContain('Grüße');
    expect(() => decodePushContentBody(latin1, 'text/xml; charset=utf-8')).toThrow(/not valid UTF-8/);
    expect(decodePushContentBody(Buffer.from('Grüße'), 'text/xml;charset="UTF-8"')).toBe('Grüße');
    expect(() => decodePushContentBody(Buffer.from('x'), 'text/xml; charset=shift_jis')).toThrow(
      /unsupported charset/,
    );
    expect(() => decodePushContentBody(latin1, undefined)).toThrow(/without a charset/);
  });
});

describe('6. phone-facing error replies', () => {
  it('unknown content: 404, Connection: close, a WML body; bad subscribe: 400, Connection: close, text', async () => {
    const miss = await httpRequest({
      url: `${hub.url}/avaya/content/${'f'.repeat(32)}`,
      agent: new (await import('node:http')).Agent({ keepAlive: true }),
    });
    expect(miss.status).toBe(404);
    expect(miss.headers.connection).toBe('close');
    expect(miss.headers['content-type']).toBe('text/vnd.wap.wml; charset=utf-8');
    expect(miss.text()).toContain('no longer available');
    expect(miss.headers['content-length']).toBe(String(miss.body.length));
    const tooLong = await httpRequest({ url: `${hub.url}/avaya/content/${'a'.repeat(80)}` });
    expect(tooLong.status).toBe(400);
    expect(tooLong.headers.connection).toBe('close');
    expect(checkWml(tooLong.text())).toMatchObject({ ok: true });
    const bad = await httpRequest({ url: `${hub.url}/avaya/subscribe?Extn=1` });
    expect(bad.status).toBe(400);
    expect(bad.headers.connection).toBe('close');
    expect(bad.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(bad.text()).toBe('ERROR AVAYA_SUBSCRIPTION_INVALID: MAC is missing\n');
    const badMac = await httpRequest({ url: `${hub.url}/avaya/subscribe?MAC=zz%00&Extn=%3Cscript%3E` });
    expect(badMac.status).toBe(400);
    expect(badMac.headers.connection).toBe('close');
  });
});

describe('7. hub-side Subscribe pacing', () => {
  it('a second Subscribe push to the same phone within 60 s is not sent', async () => {
    const url = `${hub.url}/avaya/subscribe`;
    const { p, id } = await phone({ subscribeList: [url] });
    await p.waitFor((x) => x.subscriptions.get(url)?.ok === true);
    expect((await run(id, 'push_subscribe', { type: 'all' })).data).toMatchObject({ pushStatus: 200 });
    const second = await run(id, 'push_subscribe', { type: 'all' });
    expect(second).toMatchObject({ ok: false, outcome: 'paced', retryable: true, data: { sent: false } });
    expect((second.data as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    expect((second.data as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(p.history.filter((h) => h.type === 'subscribe').map((h) => h.pushStatus)).toEqual([200]);
  });

  it('the window is per phone and ends after 60 s (manual clock)', async () => {
    const clock = new ManualClock(1_000_000);
    const s = new AvayaService({
      store: avayaServiceOf(hub.hub).store,
      publicUrl: () => 'http://127.0.0.1',
      clock,
    });
    s.noteSubscribePush('10.0.0.5:80');
    expect(s.subscribePushWaitMs('10.0.0.5:80')).toBe(60_000);
    expect(s.subscribePushWaitMs('10.0.0.6:80')).toBe(0);
    clock.advance(59_999);
    expect(s.subscribePushWaitMs('10.0.0.5:80')).toBe(1);
    clock.advance(1);
    expect(s.subscribePushWaitMs('10.0.0.5:80')).toBe(0);
    await s.close();
  });
});

describe('8. not sent vs sent without an answer', () => {
  let silentRequests = 0;
  /** A "phone" that reads the whole push request, then closes without answering. */
  async function silentPhone(): Promise<string> {
    const srv = net.createServer((sock) => {
      let buf = '';
      sock.on('data', (c) => {
        buf += c.toString('latin1');
        const head = buf.indexOf('\r\n\r\n');
        const len = Number(/content-length:\s*(\d+)/i.exec(buf)?.[1] ?? 0);
        if (head >= 0 && buf.length >= head + 4 + len) {
          silentRequests++;
          sock.destroy();
        }
      });
    });
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return `127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
  }

  it('a phone that closes after reading the request: sent, no answer; only idempotent pushes are retryable', async () => {
    const address = await silentPhone();
    await hub.hub.devices.add({ id: 'silent', kind: 'avaya', address });
    const tl = await run('silent', 'push_topline', { text: 'x' });
    expect(tl).toMatchObject({
      ok: false,
      outcome: 'no_answer',
      retryable: true,
      data: { sent: true, idempotent: true },
    });
    expect(tl.message).toMatch(/sent, no answer: the phone may have shown it; retrying is safe/);
    const audio = await run('silent', 'push_audio', { tone: 'beep' });
    expect(audio).toMatchObject({
      ok: false,
      outcome: 'no_answer',
      retryable: false,
      data: { sent: true, idempotent: false },
    });
    expect(audio.message).toMatch(/not retried/);
  });

  it('a broadcast retries the idempotent Top Line to a silent phone and says so in the delivery record', async () => {
    await hub.hub.devices.add({ id: 'silent-b', kind: 'avaya', address: await silentPhone() });
    const before = silentRequests;
    const sent = await hub.api<{ broadcast: { id: string } }>('POST', '/api/broadcasts', {
      text: 'Short notice',
      tones: 'none',
      targets: { devices: ['silent-b'] },
    });
    expect(sent.status).toBe(201);
    const id = sent.body.broadcast.id;
    type Report = { deliveries: Array<{ state: string; reason: string; message: string; attempts: number }> };
    let report: Report | undefined;
    for (let i = 0; i < 300; i++) {
      report = (await hub.api<Report>('GET', `/api/broadcasts/${id}`)).body;
      if (report.deliveries?.[0]?.state === 'failed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const d = report!.deliveries[0]!;
    expect(d).toMatchObject({ state: 'failed', reason: 'no_answer' });
    expect(d.message).toMatch(/sent, no answer: the phone may have shown it; retrying is safe/);
    expect(d.attempts).toBeGreaterThan(1);
    expect(silentRequests - before).toBe(d.attempts);
  });

  it('a refused connection: not sent, retryable for every push type', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    await hub.hub.devices.add({ id: 'refusing', kind: 'avaya', address: `127.0.0.1:${port}` });
    expect(await run('refusing', 'push_audio', { tone: 'beep' })).toMatchObject({
      ok: false,
      outcome: 'unreachable',
      retryable: true,
      data: { sent: false },
    });
  });
});
