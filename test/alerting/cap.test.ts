import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCapFeed } from '../../src/alerting/cap/atom.js';
import { alertingRuntime } from '../../src/alerting/module.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { phoneLogs, testphoneDriver } from '../helpers/testphone-driver.js';
import { until } from '../helpers/wait.js';

/**
 * Issue 19, CAP 1.2 over real sockets: POST /api/cap and a local feed server in, rules matching on
 * event/severity/area, dedupe by identifier, a Cancel recalling the broadcast its Alert caused, and the
 * hub's own CAP Atom feed out (token access, Update once acknowledged). Attacker first: no key, bad,
 * oversized and mistyped bodies are 4xx, never 5xx.
 */

type Json = Record<string, unknown>;
const FEED_TOKEN = 'feed-token-0123456789abcdef';
const SITE = { lat: 41.8781, lon: -87.6298 };

function capDoc(o: {
  id: string;
  msgType?: string;
  refs?: string;
  severity?: string;
  status?: string;
  area?: string;
  expires?: string;
  sender?: string;
}): string {
  const sender = o.sender ?? 'nws@example.gov';
  return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>${o.id}</identifier><sender>${sender}</sender><sent>2026-12-02T10:00:00-06:00</sent>
  <status>${o.status ?? 'Actual'}</status><msgType>${o.msgType ?? 'Alert'}</msgType><scope>Public</scope>
  ${o.refs ? `<references>${o.refs}</references>` : ''}
  <info><category>Met</category><event>Tornado Warning</event><urgency>Immediate</urgency>
    <severity>${o.severity ?? 'Extreme'}</severity><certainty>Observed</certainty>
    ${o.expires ? `<expires>${o.expires}</expires>` : ''}
    <headline>Tornado ${o.id}</headline>
    <area><areaDesc>Cook County</areaDesc>${o.area ?? `<circle>${SITE.lat},${SITE.lon} 10</circle>`}</area>
  </info>
</alert>`;
}

let hub: TestHub;
let feedServer: http.Server;
let feedUrl: string;
let feedBody = '';

/** POSTs a document to /api/cap; the JSON answer ({} when it is not JSON). */
async function postCap(body: string, type = 'application/cap+xml', key: string | null = hub.key) {
  const auth: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  const res = await fetch(`${hub.url}/api/cap`, {
    method: 'POST',
    headers: { 'content-type': type, ...auth },
    body,
  });
  const json = (await res.json().catch(() => ({}))) as Json;
  return { status: res.status, body: json };
}

beforeAll(async () => {
  feedServer = http.createServer((req, res) => {
    if (req.url === '/linked.cap') {
      res.writeHead(200, { 'content-type': 'application/cap+xml' });
      res.end(capDoc({ id: 'FEED-LINKED', sender: 'feed@example.gov' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/atom+xml', etag: '"v1"' });
    res.end(feedBody);
  });
  await new Promise<void>((r) => feedServer.listen(0, '127.0.0.1', () => r()));
  feedUrl = `http://127.0.0.1:${(feedServer.address() as AddressInfo).port}`;
  const inline = capDoc({ id: 'FEED-INLINE', sender: 'feed@example.gov' }).replace(/^<\?xml[^>]*>\s*/, '');
  feedBody = `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:test</id><title>t</title><updated>2026-12-02T16:00:00Z</updated>
<entry><id>e1</id><updated>2026-12-02T16:00:00Z</updated><content type="text/xml">${inline}</content></entry>
<entry><id>e2</id><updated>2026-12-02T16:00:00Z</updated><link type="application/cap+xml" href="/linked.cap"/></entry>
</feed>`;
  hub = await startTestHub({
    drivers: [testphoneDriver()],
    config: {
      'emergency.escalateAfterSeconds': 0,
      'cap.enabled': true,
      'cap.maxBytes': 16 * 1024,
      'cap.site': { latitude: SITE.lat, longitude: SITE.lon, geocodes: [] },
      'cap.feeds': [{ name: 'local', url: `${feedUrl}/feed.atom`, intervalSeconds: 3600 }],
      'cap.feed.access': 'token',
      'cap.feed.token': FEED_TOKEN,
    },
  });
  expect(
    (
      await hub.api('POST', '/api/devices', {
        id: 'capguard',
        kind: 'testphone',
        address: '127.0.0.1:9481',
        groups: ['security'],
      })
    ).status,
  ).toBe(201);
  expect(
    (
      await hub.api('PUT', '/api/templates/cap-warning', {
        title: '{{data.headline}}',
        text: '{{data.event}} for {{data.areaDesc}}',
        priority: 'urgent',
      })
    ).status,
  ).toBe(200);
  const rule = await hub.api('PUT', '/api/rules/cap-severe', {
    event: 'cap.alert',
    where: {
      inArea: true,
      msgType: { in: ['Alert', 'Update'] },
      severity: { in: ['Extreme', 'Severe'] },
    },
    actions: [{ type: 'broadcast', template: 'cap-warning', targets: { groups: ['security'] } }],
  });
  expect(rule.status, JSON.stringify(rule.body)).toBeLessThan(300);
});

afterAll(async () => {
  await hub?.close();
  await new Promise<void>((r) => feedServer.close(() => r()));
  phoneLogs.delete('capguard');
});

const record = async (identifier: string) =>
  (await hub.api<{ alerts: Json[] }>('GET', '/api/cap?limit=100')).body.alerts.find(
    (a) => a.identifier === identifier,
  );

describe('POST /api/cap', () => {
  it('an Alert covering the site is emitted, the rule broadcasts it; the same message again is a duplicate', async () => {
    const r = await postCap(capDoc({ id: 'T-1' }));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ outcome: 'emitted', key: 'nws@example.gov|T-1', msgType: 'Alert' });
    const ev = await hub.api<{ events: Array<{ id: string; data: Json }> }>(
      'GET',
      '/api/events?type=cap.alert',
    );
    expect(ev.body.events.find((e) => e.id === r.body.eventId)?.data).toMatchObject({
      event: 'Tornado Warning',
      severity: 'Extreme',
      inArea: true,
      areaMatch: 'circle',
      origin: 'api',
    });
    const rec = await until('broadcast attached', async () => {
      const x = await record('T-1');
      return (x?.broadcasts as string[] | undefined)?.length ? x : undefined;
    });
    const b = await hub.api<{ broadcast: Json }>('GET', `/api/broadcasts/${(rec.broadcasts as string[])[0]}`);
    expect(b.body.broadcast).toMatchObject({ title: 'Tornado T-1', priority: 'urgent' });
    const again = await postCap(capDoc({ id: 'T-1' }));
    expect(again.body).toMatchObject({ outcome: 'duplicate', eventId: null });
  });

  it('a Cancel referencing the Alert recalls the broadcast it caused', async () => {
    const rec = await until('broadcast', async () => {
      const x = await record('T-1');
      return (x?.broadcasts as string[] | undefined)?.length ? x : undefined;
    });
    const bid = (rec.broadcasts as string[])[0]!;
    const r = await postCap(
      capDoc({ id: 'T-1-cancel', msgType: 'Cancel', refs: 'nws@example.gov,T-1,2026-12-02T10:00:00-06:00' }),
    );
    expect(r.body).toMatchObject({ outcome: 'emitted', recalled: [bid] });
    const b = await hub.api<{ broadcast: Json }>('GET', `/api/broadcasts/${bid}`);
    expect(b.body.broadcast.state).toBe('recalled');
    expect((await record('T-1'))?.state).toBe('cancelled');
    // The Cancel itself started no broadcast (the rule wants Alert/Update).
    expect((await record('T-1-cancel'))?.broadcasts).toEqual([]);
  });

  it('outside the site, expired, or not Actual: no broadcast', async () => {
    const far = await postCap(capDoc({ id: 'T-far', area: '<circle>38.5,-119.9 5</circle>' }));
    expect(far.body.outcome).toBe('emitted');
    const expired = await postCap(capDoc({ id: 'T-old', expires: '2003-06-17T16:00:00-07:00' }));
    expect(expired.body.outcome).toBe('expired');
    const exercise = await postCap(capDoc({ id: 'T-ex', status: 'Exercise' }));
    expect(exercise.body.outcome).toBe('ignored');
    await new Promise((r) => setTimeout(r, 300));
    for (const id of ['T-far', 'T-old', 'T-ex']) expect((await record(id))?.broadcasts).toEqual([]);
  });

  it.each([
    ['no key', capDoc({ id: 'A-1' }), 'application/cap+xml', null, 401],
    ['a bad key', capDoc({ id: 'A-2' }), 'application/cap+xml', 'sbk_nope', 401],
    ['not XML', 'hello', 'application/xml', undefined, 400],
    ['not CAP', '<feed xmlns="http://www.w3.org/2005/Atom"/>', 'text/xml', undefined, 400],
    ['an invalid alert', capDoc({ id: 'A 3' }), 'application/cap+xml', undefined, 400],
    [
      'an entity bomb',
      `<!DOCTYPE a [<!ENTITY x "y">]>${capDoc({ id: 'A-4' }).replace(/^<\?xml[^>]*>/, '')}`,
      'application/xml',
      undefined,
      400,
    ],
    [
      'an oversized alert',
      capDoc({ id: 'A-5' }).replace(
        '<headline>',
        `<description>${'x'.repeat(40_000)}</description><headline>`,
      ),
      'application/cap+xml',
      undefined,
      413,
    ],
    ['a far too large body', 'x'.repeat(200_000), 'application/cap+xml', undefined, 413],
    ['JSON', '{"identifier":"x"}', 'application/json', undefined, 400],
    ['an unknown type', capDoc({ id: 'A-6' }), 'image/png', undefined, 415],
  ])('refuses %s with a 4xx', async (_n, body, type, key, status) => {
    const r = await postCap(body, type, key === undefined ? hub.key : key);
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(r.body.error).toBeDefined();
  });
});

describe('feed polling', () => {
  it('inline and linked alerts of an Atom feed are emitted once', async () => {
    const rt = alertingRuntime(hub.hub);
    await until(
      'both feed alerts',
      async () => (await record('FEED-INLINE')) && (await record('FEED-LINKED')),
    );
    const feed = {
      name: 'local',
      url: `${feedUrl}/feed.atom`,
      intervalSeconds: 3600,
      timeoutMs: 5000,
      maxLinked: 10,
    };
    await rt.poller.poll(feed);
    const st = (await hub.api<{ feeds: Json[] }>('GET', '/api/cap')).body.feeds[0]!;
    expect(st).toMatchObject({ name: 'local', entries: 2, emitted: 2, lastError: null });
    expect(st.host).toBe(new URL(feedUrl).host);
    expect((await record('FEED-INLINE'))?.origin).toBe('feed:local');
  });
});

describe('GET /cap/feed.atom', () => {
  it('needs its token; answers the incidents and broadcasts as CAP, an acknowledged incident as an Update', async () => {
    expect((await fetch(`${hub.url}/cap/feed.atom`)).status).toBe(401);
    expect((await fetch(`${hub.url}/cap/feed.atom?token=wrong`)).status).toBe(401);
    hub.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.emergency',
      data: { callKey: 'ipo:cap-1', callerExtension: '2140', callerName: 'Secret Name', dialled: '911' },
    });
    const inc = await until('incident', async () =>
      (await hub.api<{ incidents: Json[] }>('GET', '/api/incidents')).body.incidents.find(
        (i) => i.callKey === 'ipo:cap-1',
      ),
    );
    const get = async () => {
      const res = await fetch(`${hub.url}/cap/feed.atom`, {
        headers: { authorization: `Bearer ${FEED_TOKEN}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/atom\+xml/);
      return res.text();
    };
    const xml = await get();
    expect(xml).not.toContain('Secret Name');
    const entries = parseCapFeed(xml);
    const mine = entries.find((e) => e.cap?.alert.identifier === inc.id);
    expect(mine?.cap?.alert).toMatchObject({ msgType: 'Alert', status: 'Actual' });
    expect(mine?.cap?.alert.infos[0]).toMatchObject({
      event: '911 call',
      severity: 'Extreme',
      urgency: 'Immediate',
    });
    // The recalled CAP broadcast is published as a Cancel of it.
    expect(entries.some((e) => e.cap?.alert.msgType === 'Cancel')).toBe(true);
    expect((await hub.api('POST', `/api/incidents/${inc.id}/ack`, { note: 'on it' })).status).toBe(200);
    const after = parseCapFeed(await get());
    const upd = after.find((e) => e.cap?.alert.identifier === `${inc.id}.ack`);
    expect(upd?.cap?.alert).toMatchObject({
      msgType: 'Update',
      references: [expect.objectContaining({ identifier: inc.id })],
    });
    expect((await fetch(`${hub.url}/cap/feed.atom?token=${FEED_TOKEN}`)).status).toBe(200);
  });
});
