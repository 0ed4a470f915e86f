import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { computeSignature } from '../../src/pubsub/callxml.js';
import { pubsubRuntime } from '../../src/pubsub/module.js';
import { MessageListParser, type PubSubMessage } from '../../src/pubsub/protocol.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let hubs: TestHub[] = [];
afterEach(async () => {
  await Promise.all(hubs.map((h) => h.close()));
  hubs = [];
});

async function setup(config: Record<string, unknown> = {}, clock?: ManualClock) {
  const h = await startTestHub({ config, ...(clock ? { clock } : {}) });
  hubs.push(h);
  const acc = await pubsubRuntime(h.hub).accounts.create('test');
  const basic = `Basic ${Buffer.from(`${acc.accountSid}:${acc.authToken}`).toString('base64')}`;
  const token = async (query = '') => {
    const r = await fetch(`${h.url}/auth${query}`, { headers: { authorization: basic } });
    expect(r.status).toBe(200);
    return r.text();
  };
  return { h, sid: acc.accountSid, authToken: acc.authToken, basic, token };
}

const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
interface Json {
  error: { code: string; message: string };
  Id: string;
  Queue: string;
  Delivered: boolean;
  Duplicate: boolean;
}
const json = async (r: Response): Promise<Json> => (await r.json()) as Json;

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('PubSub HTTP API (seed 001)', () => {
  it('/auth: 401 on bad credentials, raw-text token on good ones, ttl bounds', async () => {
    const { h, sid, basic } = await setup();
    const bad = await fetch(`${h.url}/auth`, {
      headers: { authorization: `Basic ${Buffer.from(`${sid}:nope`).toString('base64')}` },
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect((await json(bad)).error.code).toBe('PUBSUB_BAD_CREDENTIALS');
    expect((await fetch(`${h.url}/auth`)).status).toBe(401);
    const ok = await fetch(`${h.url}/auth?ttl=10m`, { headers: { authorization: basic } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await ok.text()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const post = await fetch(`${h.url}/auth`, {
      method: 'POST',
      headers: { authorization: basic, ...FORM },
      body: 'ttl=2h',
    });
    expect(post.status).toBe(200);
    const long = await fetch(`${h.url}/auth?ttl=90d`, { headers: { authorization: basic } });
    expect(long.status).toBe(400);
    expect((await json(long)).error.code).toBe('PUBSUB_DURATION_TOO_LONG');
    const junk = await fetch(`${h.url}/auth?ttl=soon`, { headers: { authorization: basic } });
    expect((await json(junk)).error.code).toBe('PUBSUB_BAD_DURATION');
  });

  it('subscribe + publish form params: the seed headers, message shape, and streaming', async () => {
    const { h, sid, token } = await setup();
    const session = await token();
    const url = new URL(`${h.url}/${sid}/a/b?session=${session}&timeout=5s`);
    const chunks: string[] = [];
    let headers: http.IncomingHttpHeaders = {};
    const got: PubSubMessage[] = [];
    const parser = new MessageListParser();
    let firstChunkBeforePublish = false;
    let published = false;
    const done = new Promise<void>((resolve, reject) => {
      const req = http.get(url, (res) => {
        headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (chunks.length === 0 && !published) firstChunkBeforePublish = true;
          chunks.push(c);
          got.push(...parser.push(c));
        });
        res.on('end', resolve);
      });
      req.on('error', reject);
    });
    // The list opens at once, before any message exists.
    for (let i = 0; i < 100 && chunks.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(firstChunkBeforePublish).toBe(true);
    expect(chunks.join('')).toBe('[');
    published = true;
    const pub = await fetch(`${h.url}/${sid}/a/b`, {
      method: 'POST',
      headers: FORM,
      body: form({ Custom: '123', Param: 'abc' }),
    });
    expect(pub.status).toBe(200);
    expect(pub.headers.get('access-control-allow-origin')).toBe('*');
    const pubBody = await json(pub);
    expect(pubBody).toMatchObject({ Queue: 'a/b', Delivered: true, Duplicate: false });
    await done;
    expect(headers['access-control-allow-origin']).toBe('*');
    expect(headers['cache-control']).toBe('no-cache');
    expect(headers['content-type']).toBe('application/json');
    expect(headers['transfer-encoding']).toBe('chunked');
    expect(headers.connection).toBe('keep-alive');
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      AccountSid: sid,
      Url: `/${sid}/a/b`,
      FormParams: { Custom: '123', Param: 'abc' },
      Id: pubBody.Id,
    });
    expect(JSON.parse(chunks.join(''))).toEqual(got);
  });

  it('times out with [] and accepts the token in the Authorization header', async () => {
    const { h, sid, token } = await setup();
    const session = await token();
    const r = await fetch(`${h.url}/${sid}/Calls/?timeout=200ms`, { headers: { authorization: session } });
    expect(r.status).toBe(200);
    expect(JSON.parse(await r.text())).toEqual([]);
    const b = await fetch(`${h.url}/${sid}/Calls/?timeout=0`, {
      headers: { authorization: `Bearer ${session}` },
    });
    expect(JSON.parse(await b.text())).toEqual([]);
  });

  it('a token only grants its own account (403), no token is 401, unknown account 404', async () => {
    const { h, sid, token } = await setup();
    const other = await pubsubRuntime(h.hub).accounts.create('other');
    const session = await token();
    const r = await fetch(`${h.url}/${other.accountSid}/q?timeout=0&session=${session}`);
    expect(r.status).toBe(403);
    expect((await json(r)).error.code).toBe('PUBSUB_WRONG_ACCOUNT');
    const p = await fetch(`${h.url}/${other.accountSid}/q?session=${session}`, {
      method: 'POST',
      headers: FORM,
      body: 'a=1',
    });
    expect(p.status).toBe(403);
    expect((await fetch(`${h.url}/${sid}/q?timeout=0`)).status).toBe(401);
    expect((await fetch(`${h.url}/${sid}/q?timeout=0&session=not-a-token`)).status).toBe(401);
    const unknown = await fetch(`${h.url}/AC00000000000000000000000000000000/q`, {
      method: 'POST',
      headers: FORM,
      body: 'a=1',
    });
    expect(unknown.status).toBe(404);
  });

  it('session ttl expiry (controllable clock)', async () => {
    const clock = new ManualClock(Date.now());
    const { h, sid, token } = await setup({}, clock);
    const session = await token('?ttl=30s');
    expect((await fetch(`${h.url}/${sid}/q?timeout=0&session=${session}`)).status).toBe(200);
    clock.advance(29_999);
    expect((await fetch(`${h.url}/${sid}/q?timeout=0&session=${session}`)).status).toBe(200);
    clock.advance(1);
    const r = await fetch(`${h.url}/${sid}/q?timeout=0&session=${session}`);
    expect(r.status).toBe(401);
    expect((await json(r)).error.code).toBe('PUBSUB_SESSION_EXPIRED');
  });

  it('a client disconnect before the response completes returns its messages at once', async () => {
    const { h, sid, token } = await setup({ 'pubsub.linger': '20s' });
    const s1 = await token();
    await fetch(`${h.url}/${sid}/jobs`, { method: 'POST', headers: FORM, body: 'job=1' });
    // With linger the list stays open after the first message: read it, then hang up.
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${h.url}/${sid}/jobs?timeout=30s&session=${s1}`, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          if (text.includes('"job":"1"')) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', () => {});
      setTimeout(() => reject(new Error('no message')), 5000);
    });
    await new Promise((r) => setTimeout(r, 100));
    const s2 = await token();
    const r = await fetch(`${h.url}/${sid}/jobs?timeout=0&session=${s2}`);
    const list = JSON.parse(await r.text());
    expect(list.map((m: PubSubMessage) => m.FormParams.job)).toEqual(['1']);
  });

  it('failed /auth attempts are rate limited per address and per AccountSid', async () => {
    const { h, sid, basic } = await setup({ 'pubsub.authRateLimit.maxFailuresPerAddress': 3 });
    const wrong = `Basic ${Buffer.from(`${sid}:bad`).toString('base64')}`;
    for (let i = 0; i < 3; i++)
      expect((await fetch(`${h.url}/auth`, { headers: { authorization: wrong } })).status).toBe(401);
    const r = await fetch(`${h.url}/auth`, { headers: { authorization: basic } });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await json(r)).error.code).toBe('PUBSUB_AUTH_RATE_LIMITED');
  });

  it('per-(address, AccountSid) failure limit: failures elsewhere do not lock the account out', async () => {
    const { h, sid, basic } = await setup({
      'pubsub.authRateLimit.maxFailuresPerAccount': 2,
      'http.trustProxy': true,
    });
    const wrong = `Basic ${Buffer.from(`${sid}:bad`).toString('base64')}`;
    const from = (ip: string, authorization: string) =>
      fetch(`${h.url}/auth`, { headers: { authorization, 'x-forwarded-for': ip } });
    for (let i = 0; i < 2; i++) expect((await from('10.0.0.1', wrong)).status).toBe(401);
    expect((await from('10.0.0.1', wrong)).status).toBe(429);
    expect((await from('10.0.0.1', basic)).status).toBe(429);
    // The application at another address still gets its token.
    expect((await from('10.0.0.9', basic)).status).toBe(200);
  });

  it('JSON publish, Idempotency-Key dedup, CORS preflight, limits over HTTP', async () => {
    const { h, sid, token } = await setup({ 'pubsub.maxMessageBytes': 1024, 'pubsub.maxTimeout': '1m' });
    const a = await fetch(`${h.url}/${sid}/j`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k1' },
      body: '{"n":1}',
    });
    const b = await fetch(`${h.url}/${sid}/j`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k1' },
      body: '{"n":2}',
    });
    const ja = await json(a);
    const jb = await json(b);
    expect(jb).toMatchObject({ Duplicate: true, Id: ja.Id });
    const session = await token();
    const list = JSON.parse(await (await fetch(`${h.url}/${sid}/j?timeout=0&session=${session}`)).text());
    expect(list.map((m: PubSubMessage) => m.FormParams)).toEqual([{ n: 1 }]);
    const pre = await fetch(`${h.url}/${sid}/j`, { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    const big = await fetch(`${h.url}/${sid}/j`, {
      method: 'POST',
      headers: FORM,
      body: `x=${'y'.repeat(2000)}`,
    });
    expect(big.status).toBe(413);
    const longPoll = await fetch(`${h.url}/${sid}/j?timeout=2m&session=${session}`);
    expect(longPoll.status).toBe(400);
    expect((await json(longPoll)).error.code).toBe('PUBSUB_DURATION_TOO_LONG');
    const badJson = await fetch(`${h.url}/${sid}/j`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[1',
    });
    expect(badJson.status).toBe(400);
  });

  it('root routes do not shadow /healthz, /api or unknown paths; admin API works with a key', async () => {
    const { h, sid } = await setup();
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.url}/api/pubsub/accounts`)).status).toBe(401);
    const accounts = await h.api<{ accounts: Array<{ accountSid: string }> }>('GET', '/api/pubsub/accounts');
    expect(accounts.body.accounts.map((a) => a.accountSid)).toContain(sid);
    const created = await h.api<{ accountSid: string; authToken: string }>('POST', '/api/pubsub/accounts', {
      name: 'console',
    });
    expect(created.status).toBe(201);
    expect(created.body.authToken).toMatch(/^[0-9a-f]{32}$/);
    await fetch(`${h.url}/${sid}/node-1/critical/`, { method: 'POST', headers: FORM, body: 'a=1' });
    const queues = await h.api<{ queues: Array<{ queue: string; depth: number; oldestAgeMs: number }> }>(
      'GET',
      `/api/pubsub/queues?accountSid=${sid}`,
    );
    expect(queues.body.queues).toEqual([
      expect.objectContaining({ queue: 'node-1/critical', depth: 1, leased: 0, waiting: 0 }),
    ]);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/^switchboard_pubsub_published_total 1$/m);
    expect(metrics).toMatch(/^switchboard_pubsub_stored_messages 1$/m);
    const pubs = await h.api<{ publishes: Array<{ queue: string }> }>('GET', '/api/pubsub/publishes');
    expect(pubs.body.publishes[0]).toMatchObject({ queue: 'node-1/critical', delivered: false });
    const rot = await h.api<{ authToken: string }>(
      'POST',
      `/api/pubsub/accounts/${created.body.accountSid}/rotate`,
    );
    expect(rot.body.authToken).not.toBe(created.body.authToken);
    const oldAuth = await fetch(`${h.url}/auth`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${created.body.accountSid}:${created.body.authToken}`).toString('base64')}`,
      },
    });
    expect(oldAuth.status).toBe(401);
    expect((await h.api('DELETE', `/api/pubsub/accounts/${created.body.accountSid}`)).status).toBe(204);
    expect((await h.api('DELETE', `/api/pubsub/accounts/${created.body.accountSid}`)).status).toBe(404);
    expect((await fetch(`${h.url}/ACnothex/q`)).status).toBe(404);
    const noQueue = await fetch(`${h.url}/${sid}/`, { method: 'POST', headers: FORM, body: 'a=1' });
    expect(noQueue.status).toBe(400);
    expect((await json(noQueue)).error.code).toBe('PUBSUB_QUEUE_NAME_REQUIRED');
  });

  it('Call XML: the platform POST is answered with the XML the app posts to <queue>/<CallSid>', async () => {
    const { h, sid, token } = await setup();
    const session = await token();
    const waitCall = fetch(`${h.url}/${sid}/call.xml?session=${session}&timeout=10s`).then((r) => r.text());
    const platform = fetch(`${h.url}/${sid}/call.xml`, {
      method: 'POST',
      headers: FORM,
      body: form({
        CallSid: 'CA0123456789abcdef',
        AccountSid: sid,
        From: '+15550001',
        To: '+15550002',
        CallStatus: 'ringing',
      }),
    });
    const req = await waitCall;
    const callSid = /CA\w*/.exec(req.replace(sid, ''))?.[0];
    expect(callSid).toBe('CA0123456789abcdef');
    const bad = await fetch(`${h.url}/${sid}/call.xml/${callSid}`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<Response><Dance/></Response>',
    });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.message).toMatch(/not an InboundXML verb/);
    const ok = await fetch(`${h.url}/${sid}/call.xml/${callSid}`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<Response>\n    <Say>Unit test successful</Say>\n</Response>',
    });
    expect(ok.status).toBe(200);
    expect((await json(ok)).Delivered).toBe(true);
    const answer = await platform;
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/xml/);
    expect(await answer.text()).toBe('<Response>\n    <Say>Unit test successful</Say>\n</Response>');
    // Answering the call consumed both the app's XML and the call event it answered.
    await new Promise((r) => setTimeout(r, 50));
    expect(await pubsubRuntime(h.hub).store.depth(sid, 'call.xml')).toBe(0);
    expect(await pubsubRuntime(h.hub).store.depth(sid, `call.xml/${callSid}`)).toBe(0);
  });

  it('Call XML posted in ISO-8859-1 reaches the platform decoded by its declared charset (issue 14 item 13)', async () => {
    const { h, sid } = await setup();
    const cases: Array<{ ct: string; xml: string }> = [
      // the Content-Type charset and the declaration agree
      {
        ct: 'application/xml; charset=iso-8859-1',
        xml: '<?xml version="1.0" encoding="ISO-8859-1"?>\r\n<Response><Say>Grüße aus Köln</Say></Response>\r\n',
      },
      // only the Content-Type says it (a quoted, upper-case charset)
      { ct: 'text/xml; Charset="ISO-8859-1"', xml: '<Response><Say>Grüße aus Köln</Say></Response>' },
      // only the declaration says it
      {
        ct: 'application/xml',
        xml: "<?xml version='1.0' encoding='iso-8859-1'?><Response><Say>Grüße aus Köln</Say></Response>",
      },
    ];
    for (const [i, c] of cases.entries()) {
      const callSid = `CAlatin${i}`;
      const platform = fetch(`${h.url}/${sid}/call.xml`, {
        method: 'POST',
        headers: FORM,
        body: form({ CallSid: callSid, From: '+1', To: '+2' }),
      });
      const posted = await fetch(`${h.url}/${sid}/call.xml/${callSid}`, {
        method: 'POST',
        headers: { 'content-type': c.ct },
        body: Buffer.from(c.xml, 'latin1'),
      });
      expect(posted.status).toBe(200);
      const answer = await platform;
      expect(answer.headers.get('content-type')).toBe('application/xml; charset=utf-8');
      const text = new TextDecoder('utf-8', { fatal: true }).decode(await answer.arrayBuffer());
      expect(text).toContain('<Say>Grüße aus Köln</Say>');
      expect(text).not.toContain('\ufffd');
      // served as UTF-8, so it must not still claim ISO-8859-1
      expect(text).not.toMatch(/8859/i);
    }
  });

  it('a platform webhook form declared ISO-8859-1 keeps its non-ASCII values', async () => {
    const { h, sid, token } = await setup();
    const session = await token();
    const r = await fetch(`${h.url}/${sid}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=ISO-8859-1' },
      body: 'CallerName=J%F6rg+M%FCller&City=K%F6ln&City=Gen%E8ve',
    });
    expect(r.status).toBe(200);
    const list = JSON.parse(
      await (await fetch(`${h.url}/${sid}/events?timeout=0&session=${session}`)).text(),
    );
    const text = JSON.stringify(list);
    expect(text).toContain('Jörg Müller');
    expect(text).toContain('Köln');
    expect(text).toContain('Genève');
    expect(text).not.toContain('\\ufffd');
    expect(text).not.toContain('\ufffd');
  });

  it('Call XML: keep-alive XML on timeout that redirects back; the retry is not a new event', async () => {
    const { h, sid, token } = await setup({ 'pubsub.callXml.timeout': '300ms' });
    const body = form({ CallSid: 'CAkeepalive', From: '+1', To: '+2' });
    const r = await fetch(`${h.url}/${sid}/call.xml?x=1`, { method: 'POST', headers: FORM, body });
    const xml = await r.text();
    expect(r.headers.get('content-type')).toMatch(/^application\/xml/);
    expect(xml).toContain('<Pause length="1"/>');
    expect(xml).toContain(`<Redirect method="POST">${h.url}/${sid}/call.xml?x=1</Redirect>`);
    await fetch(`${h.url}/${sid}/call.xml?x=1`, { method: 'POST', headers: FORM, body });
    const session = await token();
    const list = JSON.parse(
      await (await fetch(`${h.url}/${sid}/call.xml?timeout=0&session=${session}`)).text(),
    );
    expect(list).toHaveLength(1);
  });

  it('shutdown answers waiting long-polls at once', async () => {
    const { h, sid, token } = await setup();
    const session = await token();
    // (The poll would otherwise outlive the test timeout.)
    const waiting = fetch(`${h.url}/${sid}/idle?timeout=60s&session=${session}`).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 200));
    await h.close();
    hubs = hubs.filter((x) => x !== h);
    expect(JSON.parse(await waiting)).toEqual([]);
  });

  it('signature check (when enabled) rejects unsigned webhooks and accepts signed ones', async () => {
    const { h, sid } = await setup({
      'pubsub.signature.enabled': true,
      'pubsub.signature.key': 'platform-secret',
    });
    const params = { SmsSid: 'SM1', Body: 'hi', From: '+1', To: '+2' };
    const unsigned = await fetch(`${h.url}/${sid}/SMS`, {
      method: 'POST',
      headers: FORM,
      body: form(params),
    });
    expect(unsigned.status).toBe(401);
    expect((await json(unsigned)).error.code).toBe('PUBSUB_SIGNATURE_INVALID');
    const sig = computeSignature('platform-secret', `${h.url}/${sid}/SMS`, params);
    const signed = await fetch(`${h.url}/${sid}/SMS`, {
      method: 'POST',
      headers: { ...FORM, 'X-Zang-Signature': sig },
      body: form(params),
    });
    expect(signed.status).toBe(200);
  });
});
