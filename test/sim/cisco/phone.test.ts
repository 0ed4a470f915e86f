import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePushBody, formEncodeBytes } from '../../../src/drivers/cisco/encoding.js';
import { buildObject } from '../../../src/drivers/cisco/objects.js';
import { httpRequest } from '../../../src/net/http-client.js';
import { startCiscoSim } from '../../../src/sim/cisco/fleet.js';

/** The simulator on the wire: byte-exact answers per model, charset handling, auth via the auth URL. */
let fleet: Awaited<ReturnType<typeof startCiscoSim>>;
let authServer: http.Server;
let authUrl = '';
const authAnswers: string[] = [];

beforeAll(async () => {
  authServer = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    authAnswers.push(u.search);
    const user = u.searchParams.get('UserID');
    // "AUTHORIZED\n" (an extra newline) must be refused, like real phones do.
    const body = user === 'good' ? 'AUTHORIZED' : user === 'newline' ? 'AUTHORIZED\n' : 'UN-AUTHORIZED';
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => authServer.listen(0, '127.0.0.1', () => r()));
  authUrl = `http://127.0.0.1:${(authServer.address() as { port: number }).port}/auth`;
  fleet = await startCiscoSim({ phones: 3, model: ['8845', '7960', '8845-mpp'], authUrl });
});
afterAll(async () => {
  await fleet.stop();
  await new Promise<void>((r) => authServer.close(() => r()));
});

const push = (i: number, body: string, user = 'good', headers: Record<string, string> = {}) =>
  httpRequest({
    url: `${fleet.phones[i]!.url}/CGI/Execute`,
    method: 'POST',
    body,
    basicAuth: { username: user, password: 'pw' },
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
  });

describe('simulated phone on the wire', () => {
  it('checks credentials through the authentication URL (exactly AUTHORIZED)', async () => {
    const xml = encodePushBody(buildObject({ type: 'CiscoIPPhoneText', text: 'hi' }), 'utf-8').body;
    const ok = await push(0, xml, 'good');
    expect(ok.text()).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<CiscoIPPhoneResponse>\n<ResponseItem Status="0" Data="Success" URL=""/>\n</CiscoIPPhoneResponse>\n',
    );
    expect(ok.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(authAnswers.at(-1)).toBe(`?UserID=good&Password=pw&devicename=${fleet.phones[0]!.deviceName}`);
    for (const u of ['bad', 'newline'])
      expect((await push(0, xml, u)).text()).toBe(
        '<?xml version="1.0" encoding="UTF-8"?>\n<CiscoIPPhoneError Number="4"/>\n',
      );
    const none = await httpRequest({ url: `${fleet.phones[0]!.url}/CGI/Execute`, method: 'POST', body: xml });
    expect(none.status).toBe(401);
  });

  it('answers Error 1 for a missing XML field (case-sensitive), malformed XML and unknown objects', async () => {
    const err1 = '<?xml version="1.0" encoding="UTF-8"?>\n<CiscoIPPhoneError Number="1"/>\n';
    expect((await push(0, 'xml=%3CCiscoIPPhoneText%2F%3E')).text()).toBe(err1);
    expect((await push(0, 'XML=%3CCiscoIPPhoneText%3E')).text()).toBe(err1);
    expect((await push(0, 'XML=%3CFoo%2F%3E')).text()).toBe(err1);
    expect((fleet.phones[0]!.state().screen as { prompt: string }).prompt).toBe(
      'XML Error[5] = Unsupported XML Object',
    );
  });

  it('a Latin-1 phone answers in ISO-8859-1 and shows only Latin-1', async () => {
    const body = encodePushBody(buildObject({ type: 'CiscoIPPhoneText', text: 'Grüße ✓' }), 'utf-8').body;
    const r = await push(1, body);
    expect(r.headers['content-type']).toBe('text/xml; charset=ISO-8859-1');
    expect(r.text().startsWith('<?xml version="1.0" encoding="ISO-8859-1"?>')).toBe(true);
    expect((fleet.phones[1]!.state().screen as { text: string }).text).toBe('Grüße ?');
  });

  it('honours the declared encoding and the Content-Type charset of a push (ISO-8859-1 on a UTF-8 phone)', async () => {
    const text = (i: number) => (fleet.phones[i]!.state().screen as { text: string }).text;
    const latin = (xml: string) => `XML=${formEncodeBytes(Buffer.from(xml, 'latin1'))}`;
    // No XML declaration: the Content-Type charset decides.
    await push(0, latin('<CiscoIPPhoneText><Text>Grüße aus Köln</Text></CiscoIPPhoneText>'), 'good', {
      'Content-Type': 'application/x-www-form-urlencoded; charset=ISO-8859-1',
    });
    expect(text(0)).toBe('Grüße aus Köln');
    // A declaration in single quotes, an alias spelling, and a Content-Type charset that disagrees: the
    // declaration wins (XML 1.0 appendix F: the document's own declaration describes its bytes).
    for (const enc of ["'iso-8859-1'", '"ISO8859-1"', '"latin1"', '"windows-1252"']) {
      await push(
        0,
        latin(
          `<?xml version="1.0" encoding=${enc}?><CiscoIPPhoneText><Text>Straße ${enc}</Text></CiscoIPPhoneText>`,
        ),
        'good',
        { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
      );
      expect(text(0)).toBe(`Straße ${enc}`);
    }
    // Still UTF-8 when the bytes and the declaration say so.
    await push(0, encodePushBody(buildObject({ type: 'CiscoIPPhoneText', text: 'Grüße ✓' }), 'utf-8').body);
    expect(text(0)).toBe('Grüße ✓');
  });

  it('a directory entry shows the Telephone as written and the Dial softkey dials its digits', async () => {
    const dir = buildObject({
      type: 'CiscoIPPhoneDirectory',
      entries: [{ name: 'Security desk', telephone: '+1 (555) 010-2000' }],
    });
    expect((await push(0, encodePushBody(dir, 'utf-8').body)).text()).toContain('Status="0"');
    const screen = fleet.phones[0]!.state().screen as { items: Array<{ name: string }> };
    expect(screen.items[0]!.name).toBe('Security desk +1 (555) 010-2000');
    await push(
      0,
      encodePushBody(
        buildObject({ type: 'CiscoIPPhoneExecute', items: [{ url: 'SoftKey:EditDial' }] }),
        'utf-8',
      ).body,
    );
    expect((fleet.phones[0]!.state() as { call: { digits: string } }).call.digits).toBe('+15550102000');
  });

  it('Multiplatform phones answer with the HTTP status only', async () => {
    const body = encodePushBody(
      buildObject({ type: 'CiscoIPPhoneExecute', items: [{ url: 'Key:Services' }] }),
      'utf-8',
    ).body;
    const ok = await push(2, body);
    expect([ok.status, ok.body.length]).toEqual([200, 0]);
    const bad = await push(2, body, 'bad');
    expect([bad.status, bad.body.length]).toEqual([401, 0]);
  });

  it('an Expect: 100-continue push gets the undocumented error 6 (research A2)', async () => {
    const body = encodePushBody(buildObject({ type: 'CiscoIPPhoneText', text: 'x' }), 'utf-8').body;
    const r = await push(0, body, 'good', { Expect: '100-continue' });
    expect(r.text()).toContain('<CiscoIPPhoneError Number="6"/>');
  });

  it('URIs answer per the seed feedbacks (Invalid URI, URI not found, Notify in Execute)', async () => {
    const body = encodePushBody(
      buildObject({
        type: 'CiscoIPPhoneExecute',
        items: [{ url: 'Display:Off:9999' }, { url: 'Bogus:Thing' }, { url: 'RTPRx:127.0.0.1:20481' }],
      }),
      'utf-8',
    ).body;
    const r = await push(0, body);
    expect(r.text()).toContain('<ResponseItem Status="1" Data="Invalid URI" URL="Display:Off:9999"/>');
    expect(r.text()).toContain('<ResponseItem Status="6" Data="URI not found" URL="Bogus:Thing"/>');
    expect(r.text()).toContain('<ResponseItem Status="1" Data="Invalid URI" URL="RTPRx:127.0.0.1:20481"/>');
    const notify = `XML=${encodeURIComponent('<CiscoIPPhoneExecute><ExecuteItem URL="Notify:http:127.0.0.1:80:/x::"/></CiscoIPPhoneExecute>')}`;
    expect((await push(0, notify)).text()).toContain(
      '<ResponseItem Status="1" Data="Invalid URI" URL="Notify:http:127.0.0.1:80:/x::"/>',
    );
    const tooMany = `XML=${encodeURIComponent(`<CiscoIPPhoneExecute>${'<ExecuteItem URL="Key:Services"/>'.repeat(4)}</CiscoIPPhoneExecute>`)}`;
    expect((await push(0, tooMany)).text()).toContain('Number="1"');
  });

  it('a softkey with a Notify URI posts to its host (3 tries)', async () => {
    const got: string[] = [];
    const srv = http.createServer((req, res) => {
      let b = '';
      req.on('data', (c) => (b += c));
      req.on('end', () => {
        got.push(`${req.url} ${req.headers.authorization} ${b}`);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    const text = buildObject({
      type: 'CiscoIPPhoneText',
      text: 'Ack?',
      softkeys: [
        { name: 'Ack', url: `Notify:http:127.0.0.1:${port}:/ack:dXNlcjpwdw==:alert=42`, position: 1 },
      ],
    });
    await push(0, encodePushBody(text, 'utf-8').body);
    await push(
      0,
      encodePushBody(buildObject({ type: 'CiscoIPPhoneExecute', items: [{ url: 'Key:Soft1' }] }), 'utf-8')
        .body,
    );
    expect(got).toEqual(['/ack Basic dXNlcjpwdw== alert=42']);
    await new Promise<void>((r) => srv.close(() => r()));
  });

  it('an Execute fetched from a server that points back at itself is bounded', async () => {
    let hits = 0;
    const srv = http.createServer((_req, res) => {
      hits++;
      const port = (srv.address() as { port: number }).port;
      const body = `<CiscoIPPhoneExecute><ExecuteItem URL="http://127.0.0.1:${port}/loop"/></CiscoIPPhoneExecute>`;
      res.writeHead(200, { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    const r = await push(
      0,
      encodePushBody(
        buildObject({ type: 'CiscoIPPhoneExecute', items: [{ url: `http://127.0.0.1:${port}/loop` }] }),
        'utf-8',
      ).body,
    );
    expect(r.status).toBe(200);
    expect(hits).toBe(3);
    await new Promise<void>((res) => srv.close(() => res()));
  });

  it('fuzz: any XML field gets a well-formed answer (Response or Error 1), never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.constantFrom(
            '<CiscoIPPhoneExecute><ExecuteItem URL="Key:',
            '<CiscoIPPhoneMenu><MenuItem><Name>x</Name></MenuItem>',
            '<CiscoIPPhoneText><Text>&#xD800;</Text></CiscoIPPhoneText>',
          ),
          fc
            .array(
              fc.constantFrom(
                'Key:Services',
                'SoftKey:<<',
                'Display:On:1',
                'RTPMRx:239.1.1.1:20480',
                'App:Close:0:60:x',
                'Dial:1',
                'Init:Foo',
                ':::',
                'Play:',
              ),
              { minLength: 1, maxLength: 3 },
            )
            .map(
              (uris) =>
                `<CiscoIPPhoneExecute>${uris.map((u) => `<ExecuteItem URL="${u.replace(/</g, '&lt;')}"/>`).join('')}</CiscoIPPhoneExecute>`,
            ),
        ),
        async (xml) => {
          const r = await push(0, `XML=${encodeURIComponent(xml)}`);
          expect(r.status).toBe(200);
          expect(r.text()).toMatch(
            /^<\?xml version="1.0" encoding="UTF-8"\?>\n<(CiscoIPPhoneResponse>|CiscoIPPhoneError Number="1"\/>)/,
          );
        },
      ),
      { numRuns: 60 },
    );
    await push(
      0,
      encodePushBody(buildObject({ type: 'CiscoIPPhoneExecute', items: [{ url: 'RTPRx:Stop' }] }), 'utf-8')
        .body,
    );
  });

  it('Priority applies to HTTP URLs: 1 waits until idle, 2 only if idle; URIs run at once', async () => {
    const srv = http.createServer((_req, res) => {
      const body =
        '<?xml version="1.0" encoding="UTF-8"?><CiscoIPPhoneText><Title>Queued</Title><Text>after the call</Text></CiscoIPPhoneText>';
      res.writeHead(200, { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}/t.xml`;
    const ex = (items: Array<{ url: string; priority?: 0 | 1 | 2 }>) =>
      push(0, encodePushBody(buildObject({ type: 'CiscoIPPhoneExecute', items }), 'utf-8').body);
    await ex([{ url: 'Dial:1000' }]);
    const r = await ex([
      { url, priority: 1 },
      { url: 'Play:chime.raw', priority: 1 },
    ]);
    expect(r.text()).toContain(`<ResponseItem Status="0" Data="Success" URL="${url}"/>`);
    const st = () =>
      fleet.phones[0]!.state() as {
        queued: string[];
        screen: { title: string };
        played: Array<{ file: string }>;
      };
    expect(st().queued).toEqual([url]);
    expect(st().played.at(-1)?.file).toBe('chime.raw');
    expect((await ex([{ url, priority: 2 }])).text()).toContain('Status="6" Data="Phone is not idle"');
    await ex([{ url: 'Key:Release' }]);
    for (let i = 0; i < 100 && st().screen.title !== 'Queued'; i++)
      await new Promise((res) => setTimeout(res, 20));
    expect(st().screen.title).toBe('Queued');
    expect(st().queued).toEqual([]);
    await new Promise<void>((res) => srv.close(() => res()));
  });
});
