import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startDemoPubsub } from '../../src/sim/cpaas/demo.js';
import { parseInboundXml } from '../../src/sim/cpaas/inboundxml.js';
import { CpaasSimulator, formatTranscript, startCpaasControlServer } from '../../src/sim/cpaas/simulator.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A scripted voice app: answers by path, records the webhook parameters it received. */
async function voiceApp(
  pages: Record<string, string>,
): Promise<{ url: string; seen: Array<{ path: string; params: URLSearchParams }> }> {
  const seen: Array<{ path: string; params: URLSearchParams }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      seen.push({ path, params: new URLSearchParams(body) });
      const page = pages[path];
      res.writeHead(page ? 200 : 404, { 'content-type': 'application/xml' });
      res.end(page ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('CPaaS simulator', () => {
  it('parses InboundXML verbs with attributes and unescapes entities', () => {
    const v = parseInboundXml(
      '<Response><Gather action="/a?x=1&amp;y=2" numDigits="2"><Say voice="woman">a &lt; b</Say></Gather><Hangup/></Response>',
    );
    expect(v).toEqual([
      {
        name: 'Gather',
        attrs: { action: '/a?x=1&y=2', numDigits: '2' },
        text: '',
        children: [{ name: 'Say', attrs: { voice: 'woman' }, text: 'a < b', children: [] }],
      },
      { name: 'Hangup', attrs: {}, text: '', children: [] },
    ]);
  });

  it('posts the call webhook, follows Gather (with and without digits), Redirect and Hangup', async () => {
    const app = await voiceApp({
      '/voice': '<Response><Say>Hi</Say><Pause length="2"/><Redirect>/menu</Redirect></Response>',
      '/menu':
        '<Response><Gather action="/got" numDigits="2" finishOnKey="#"><Say>Press</Say></Gather><Say>None</Say></Response>',
      '/got': '<Response><Gather action="/got2"><Say>Again</Say></Gather><Say>Bye</Say><Hangup/></Response>',
    });
    const sim = new CpaasSimulator({ accountSid: 'AC0123456789abcdef0123456789abcdef', signingKey: 'k' });
    const r = await sim.call({ url: `${app.url}/voice`, digits: ['123#'] });
    expect(r.status).toBe('completed');
    expect(formatTranscript(r.transcript)).toEqual([
      `→ POST ${app.url}/voice (200)`,
      'Say: Hi',
      'Pause 2s',
      `Redirect → ${app.url}/menu`,
      `→ POST ${app.url}/menu (200)`,
      'Say: Press',
      `Gather: pressed "12" → ${app.url}/got`,
      `→ POST ${app.url}/got (200)`,
      'Say: Again',
      `Gather: pressed nothing → ${app.url}/got2`,
      'Say: Bye',
      'Hangup',
    ]);
    expect(app.seen[0]!.params.get('CallSid')).toBe(r.callSid);
    expect(app.seen[0]!.params.get('CallStatus')).toBe('in-progress');
    expect(app.seen[2]!.params.get('Digits')).toBe('12');
  });

  it('reports failures (HTTP error, bad XML, redirect loops) in the result', async () => {
    const app = await voiceApp({
      '/bad': '<Response><Dance/></Response>',
      '/loop': '<Response><Redirect>/loop</Redirect></Response>',
    });
    const sim = new CpaasSimulator({ accountSid: 'AC0123456789abcdef0123456789abcdef' });
    expect((await sim.call({ url: `${app.url}/missing` })).error).toMatch(/HTTP 404/);
    expect((await sim.call({ url: `${app.url}/bad` })).error).toMatch(/InboundXML verb/);
    const loop = await sim.call({ url: `${app.url}/loop`, maxRequests: 5 });
    expect(loop.status).toBe('failed');
    expect(loop.error).toMatch(/more than 5/);
  });

  it('control server places calls and sends SMS', async () => {
    const app = await voiceApp({ '/v': '<Response><Say>Yo</Say></Response>', '/sms': '' });
    const sim = new CpaasSimulator({ accountSid: 'AC0123456789abcdef0123456789abcdef' });
    const srv = await startCpaasControlServer(sim);
    closers.push(() => srv.close());
    const call = (await (
      await fetch(`${srv.url}/calls`, { method: 'POST', body: JSON.stringify({ url: `${app.url}/v` }) })
    ).json()) as { status: string };
    expect(call.status).toBe('completed');
    const sms = await fetch(`${srv.url}/sms`, {
      method: 'POST',
      body: JSON.stringify({ url: `${app.url}/sms`, body: 'hello' }),
    });
    expect(sms.status).toBe(200);
    expect(app.seen.at(-1)!.params.get('Body')).toBe('hello');
    expect(((await (await fetch(`${srv.url}/calls`)).json()) as { calls: unknown[] }).calls).toHaveLength(1);
  });

  it('demo mode: the demo app answers simulated calls through the relay', async () => {
    const hub: TestHub = await startTestHub();
    closers.push(() => hub.close());
    const demo = await startDemoPubsub(hub.hub, { intervalMs: 200 });
    closers.push(() => demo.stop());
    for (let i = 0; i < 100 && demo.sim.calls.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const call = demo.sim.calls[0]!;
    expect(call.status).toBe('completed');
    const lines = formatTranscript(call.transcript);
    expect(lines).toContain('Say: Welcome to the Switchboard demo. Press a key.');
    expect(lines.some((l) => /^Say: You pressed \d\. Good bye\.$/.test(l))).toBe(true);
  });
});
