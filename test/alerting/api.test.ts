import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { broadcastRuntime, setAlertPublisher } from '../../src/alerting/broadcast-module.js';
import { verifyWebhook } from '../../src/alerting/channels/webhook.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { phoneLogs, testphoneDriver } from '../helpers/testphone-driver.js';

type Json = Record<string, unknown>;
const until = async (fn: () => boolean | Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('broadcast API', () => {
  let hub: TestHub;
  let hook: Server;
  let hookUrl = '';
  const received: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
  let failFirst = 0;
  const published: Array<{ queue: string; message: Record<string, string> }> = [];

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        if (failFirst > 0) {
          failFirst--;
          res.writeHead(503).end('later');
          return;
        }
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    hub = await startTestHub({
      drivers: [testphoneDriver()],
      config: {
        'broadcast.backoffMs': 10,
        'broadcast.webhook.backoffMs': 10,
        'emergency.escalateAfterSeconds': 1,
        'emergency.escalationGroup': 'managers',
        'emergency.webhooks': [{ url: hookUrl, secret: 'emergency-secret' }],
      },
    });
    setAlertPublisher(hub.hub, {
      async publish(p) {
        published.push(p);
        return { id: `msg-${published.length}` };
      },
    });
    for (let i = 1; i <= 3; i++) {
      const r = await hub.api('POST', '/api/devices', {
        id: `sec${i}`,
        kind: 'testphone',
        address: `127.0.0.1:${9000 + i}`,
        groups: ['security'],
      });
      expect(r.status).toBe(201);
    }
    await hub.api('POST', '/api/devices', {
      id: 'mgr1',
      kind: 'testphone',
      address: '127.0.0.1:9100',
      groups: ['managers'],
    });
    await hub.api('POST', '/api/devices', {
      id: 'lobby',
      kind: 'testphone',
      address: '127.0.0.1:9200',
      labels: ['lobby'],
      settings: { behavior: 'refuse' },
    });
  });
  afterAll(async () => {
    await hub?.close();
    hook?.close();
  });

  it('sends, reports per phone, streams progress as events, acknowledges without an API key', async () => {
    const r = await hub.api<{ broadcast: Json; total: number }>('POST', '/api/broadcasts', {
      title: 'Drill',
      text: 'Fire drill at 3 pm',
      ack: true,
      targets: { groups: ['security'], labels: ['lobby'] },
    });
    expect(r.status).toBe(201);
    expect(r.body.total).toBe(4);
    const id = r.body.broadcast.id as string;
    await broadcastRuntime(hub.hub).engine.wait(id);
    const g = await hub.api<{ broadcast: Json; counts: Json; deliveries: Json[] }>(
      'GET',
      `/api/broadcasts/${id}`,
    );
    expect(g.body.counts).toMatchObject({ displayed: 3, failed: 1 });
    expect((g.body.broadcast.report as Json).failuresByReason).toEqual({ forbidden: 1 });
    expect(JSON.stringify(g.body)).not.toContain('ackTokenHash');
    const ev = await hub.api<{ events: Json[] }>('GET', '/api/events?type=broadcast.*&limit=1000');
    const types = ev.body.events.map((e) => e.type);
    expect(types).toContain('broadcast.started');
    expect(types).toContain('broadcast.progress');
    expect(types.filter((t) => t === 'broadcast.delivery')).toHaveLength(4);
    expect(types).toContain('broadcast.finished');

    const url = phoneLogs.get('sec2')!.calls.find((c) => c.action === 'show')!.params.ack_url as string;
    expect(url.startsWith(`${hub.hub.hub.publicUrl}/alerts/ack/`)).toBe(true);
    const bad = await fetch(`${url.slice(0, -3)}xyz`);
    expect(bad.status).toBe(404);
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^ACK: Thank you/);
    const again = await fetch(url, { method: 'POST' });
    expect(await again.text()).toMatch(/Already acknowledged/);
    const after = await hub.api<{ counts: Json }>('GET', `/api/broadcasts/${id}`);
    expect(after.body.counts).toMatchObject({ acknowledged: 1, displayed: 2 });
    const list = await hub.api<{ broadcasts: Json[] }>('GET', '/api/broadcasts');
    expect(list.body.broadcasts[0]!.id).toBe(id);
    const cancel = await hub.api<{ error: Json }>('POST', `/api/broadcasts/${id}/cancel`);
    expect(cancel.status).toBe(409);
  });

  it('live progress over SSE (/api/events/stream)', async () => {
    const ac = new AbortController();
    const res = await fetch(`${hub.url}/api/events/stream?type=broadcast.*`, {
      headers: { authorization: `Bearer ${hub.key}` },
      signal: ac.signal,
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const r = await hub.api<{ broadcast: Json }>('POST', '/api/broadcasts', {
      title: 'SSE',
      text: 'x',
      targets: { groups: ['security'] },
    });
    const id = r.body.broadcast.id as string;
    let buf = '';
    const seen: string[] = [];
    while (!seen.includes(`broadcast.finished:${id}`)) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += new TextDecoder().decode(value);
      for (const m of buf.matchAll(/event: (\S+)\ndata: (.*)\n/g)) {
        const e = JSON.parse(m[2]!) as { data: { broadcastId?: string } };
        if (e.data.broadcastId === id) seen.push(`${m[1]}:${id}`);
      }
      const cut = buf.lastIndexOf('\n\n');
      if (cut >= 0) buf = buf.slice(cut + 2);
    }
    ac.abort();
    expect(seen[0]).toBe(`broadcast.started:${id}`);
    expect(seen).toContain(`broadcast.progress:${id}`);
    expect(seen.filter((x) => x.startsWith('broadcast.delivery'))).toHaveLength(3);
  });

  it('validates broadcasts naming the field', async () => {
    const r = await hub.api<{ error: Json }>('POST', '/api/broadcasts', {
      title: 't',
      text: 'x',
      targets: { devices: ['nope'] },
    });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'BROADCAST_UNKNOWN_DEVICE', field: 'targets.devices.0' });
    const r2 = await hub.api<{ error: Json }>('POST', '/api/broadcasts', {
      title: 't',
      text: 'x',
      targets: {},
    });
    expect(r2.body.error.code).toBe('BROADCAST_NO_TARGETS');
  });

  it('templates: stored, rendered with variables, used by broadcasts', async () => {
    const put = await hub.api('PUT', '/api/templates/visitor', {
      title: 'Visitor for {{host}}',
      text: '{{visitor.name}} is waiting in {{place | reception}}',
    });
    expect(put.status).toBe(200);
    const bad = await hub.api<{ error: Json }>('PUT', '/api/templates/broken', {
      title: 'x',
      text: 'hello {{ bad..var }}',
    });
    expect(bad.body.error).toMatchObject({ code: 'TEMPLATE_INVALID', field: 'text' });
    const prev = await hub.api<Json>('POST', '/api/templates/visitor/render', {
      vars: { host: 'Ann', visitor: { name: 'Bob' } },
    });
    expect(prev.body).toEqual({ title: 'Visitor for Ann', text: 'Bob is waiting in reception' });
    const b = await hub.api<{ broadcast: Json }>('POST', '/api/broadcasts', {
      template: 'visitor',
      vars: { host: 'Ann', visitor: { name: 'Bob' } },
      targets: { devices: ['mgr1'] },
    });
    expect(b.status).toBe(201);
    expect(b.body.broadcast).toMatchObject({ title: 'Visitor for Ann', text: 'Bob is waiting in reception' });
    const list = await hub.api<{ templates: Json[] }>('GET', '/api/templates');
    expect(list.body.templates.map((t) => t.id)).toEqual(
      expect.arrayContaining(['emergency-911', 'visitor']),
    );
    // Each template says which variables it uses (title first, each once, with its fallback): the
    // console's compose screen makes one field per variable.
    expect(list.body.templates.find((t) => t.id === 'visitor')?.variables).toEqual([
      { path: 'host' },
      { path: 'visitor.name' },
      { path: 'place', fallback: 'reception' },
    ]);
    const one = await hub.api<Json>('GET', '/api/templates/visitor');
    expect(one.body.variables).toEqual(list.body.templates.find((t) => t.id === 'visitor')?.variables);
  });

  it('rules are validated on save, naming the field', async () => {
    const cases: Array<[Json, string, string]> = [
      [
        { event: 'call.exploded', actions: [{ type: 'webhook', url: hookUrl }] },
        'RULE_UNKNOWN_EVENT',
        'event',
      ],
      [
        { event: 'call.answered', where: { colour: 'red' }, actions: [{ type: 'webhook', url: hookUrl }] },
        'RULE_UNKNOWN_FIELD',
        'where.colour',
      ],
      [
        {
          event: 'call.answered',
          actions: [{ type: 'broadcast', template: 'nope', targets: { all: true } }],
        },
        'RULE_UNKNOWN_TEMPLATE',
        'actions.0.template',
      ],
      [
        { event: 'call.answered', actions: [{ type: 'webhook', url: 'ftp://x' }] },
        'RULE_INVALID',
        'actions.0',
      ],
      [
        {
          event: 'call.answered',
          actions: [{ type: 'publish', queue: 'q', message: { who: '{{nobody}}' } }],
        },
        'RULE_UNKNOWN_FIELD',
        'actions.0.message.who',
      ],
      [
        { event: 'call.answered', actions: [{ type: 'action', device: 'sec1', action: 'explode' }] },
        'RULE_INVALID_ACTION',
        'actions.0.action',
      ],
      [
        {
          event: 'call.answered',
          actions: [{ type: 'action', device: 'sec1', action: 'tone', params: { name: 5 } }],
        },
        'RULE_INVALID_ACTION',
        'actions.0.params.name',
      ],
      [
        {
          event: 'broadcast.finished',
          actions: [{ type: 'broadcast', template: 'visitor', targets: { all: true } }],
        },
        'RULE_LOOP',
        'actions.0.type',
      ],
    ];
    for (const [body, code, field] of cases) {
      const r = await hub.api<{ error: Json }>('PUT', '/api/rules/r1', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code, JSON.stringify(r.body)).toBe(code);
      expect(String(r.body.error.field)).toContain(field);
    }
  });

  it('a rule fires: broadcast from a template, PubSub publish, signed webhook retried with a delivery log', async () => {
    await hub.api('PUT', '/api/templates/vip', {
      title: 'VIP call',
      text: '{{fromName}} ({{from}}) is calling {{toName}}',
    });
    failFirst = 2;
    received.length = 0;
    const put = await hub.api<Json>('PUT', '/api/rules/vip', {
      event: 'call.ringing',
      where: { from: { in: ['5551234', '5559999'] }, direction: 'inbound' },
      actions: [
        { type: 'broadcast', template: 'vip', targets: { devices: ['mgr1'] } },
        { type: 'publish', queue: 'vip-calls', message: { caller: '{{fromName}}', number: '{{from}}' } },
        { type: 'webhook', url: hookUrl, secret: 'rule-secret-123' },
      ],
    });
    expect(put.status).toBe(200);
    expect(((put.body.actions as Json[])[2] as Json).secret).toBe('********');
    hub.hub.bus.emit({
      source: 'ipo',
      type: 'call.ringing',
      data: { callKey: 'k1', from: '5550000', fromName: 'Nobody', direction: 'inbound', toName: 'Ann' },
    });
    hub.hub.bus.emit({
      source: 'ipo',
      type: 'call.ringing',
      data: { callKey: 'k2', from: '5551234', fromName: 'Big Boss', direction: 'inbound', toName: 'Ann' },
    });
    await until(
      async () =>
        (await hub.api<{ events: Json[] }>('GET', '/api/events?type=rule.*')).body.events.length > 0,
    );
    const fired = (await hub.api<{ events: Json[] }>('GET', '/api/events?type=rule.*')).body.events;
    expect(fired).toHaveLength(1);
    expect(fired[0]!.type).toBe('rule.fired');
    expect(published.at(-1)).toEqual({
      queue: 'vip-calls',
      message: { caller: 'Big Boss', number: '5551234' },
    });
    expect(received).toHaveLength(3);
    const last = received[2]!;
    expect(last.headers['x-switchboard-event']).toBe('call.ringing');
    const sig = String(last.headers['x-switchboard-signature']);
    expect(verifyWebhook('rule-secret-123', sig, last.body, Math.floor(Date.now() / 1000))).toBe(true);
    expect(verifyWebhook('wrong-secret', sig, last.body, Math.floor(Date.now() / 1000))).toBe(false);
    expect(verifyWebhook('rule-secret-123', sig, `${last.body} `, Math.floor(Date.now() / 1000))).toBe(false);
    expect(JSON.parse(last.body)).toMatchObject({ type: 'call.ringing', data: { from: '5551234' } });
    const log = await hub.api<{ deliveries: Json[] }>('GET', '/api/webhooks/deliveries?rule=vip');
    expect(log.body.deliveries[0]).toMatchObject({ state: 'delivered', eventType: 'call.ringing' });
    expect((log.body.deliveries[0]!.attempts as Json[]).map((a) => a.status)).toEqual([503, 503, 204]);
    const bc = await hub.api<{ broadcasts: Json[] }>('GET', '/api/broadcasts?limit=1');
    expect(bc.body.broadcasts[0]).toMatchObject({
      title: 'VIP call',
      text: 'Big Boss (5551234) is calling Ann',
      createdBy: 'rule:vip',
    });
    await hub.api('DELETE', '/api/rules/vip');
  });

  it('on-site 911: location from the CSV table, alert to security, PubSub + webhook, ack, incident log and CSV', async () => {
    const csv = 'extension,name,building,floor,room,callback\n201,"Lee, Ann",HQ,2,Room 214,+15550100201\n';
    const imp = await fetch(`${hub.url}/api/locations/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hub.key}`, 'content-type': 'text/csv' },
      body: csv,
    });
    expect(await imp.json()).toEqual({ imported: 1 });
    const st = await hub.api<Json>('GET', '/api/emergency');
    expect(st.body).toMatchObject({ active: true, group: 'security', phoneCount: 3 });
    received.length = 0;
    for (const id of ['sec1', 'sec2', 'sec3', 'mgr1']) phoneLogs.get(id)!.calls.length = 0;
    hub.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.emergency',
      data: {
        callKey: 'ipo:911',
        callerExtension: '201',
        callerName: '',
        callbackNumber: '201',
        dialled: '911',
        detectedBy: 'dialled',
        test: false,
      },
    });
    await until(() =>
      ['sec1', 'sec2', 'sec3'].every((id) => phoneLogs.get(id)!.calls.some((c) => c.action === 'tone')),
    );
    for (const id of ['sec1', 'sec2', 'sec3']) {
      const show = phoneLogs.get(id)!.calls.find((c) => c.action === 'show')!.params;
      expect(show.title).toBe('911 CALL');
      expect(show.text).toContain('Lee, Ann, ext 201');
      expect(show.text).toContain('Call back: +15550100201 (ext 201)');
      expect(show.text).toContain('HQ, floor 2, Room 214');
      expect(show.mode).toBe('barge');
      expect(phoneLogs.get(id)!.calls.find((c) => c.action === 'tone')!.params.name).toBe('urgent');
    }
    expect(phoneLogs.get('mgr1')!.calls).toHaveLength(0);
    await until(() => published.some((p) => p.queue === 'emergency') && received.length > 0);
    expect(published.find((p) => p.queue === 'emergency')!.message).toMatchObject({
      extension: '201',
      room: 'Room 214',
      callbackNumber: '+15550100201',
      timeZone: new Intl.DateTimeFormat().resolvedOptions().timeZone,
      timeLocal: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$/),
    });
    expect(received[0]!.headers['x-switchboard-event']).toBe('incident.opened');

    // Duplicate events for the same call do not open a second incident.
    hub.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.emergency',
      data: { callKey: 'ipo:911', callerExtension: '201' },
    });
    const url = phoneLogs.get('sec3')!.calls.find((c) => c.action === 'show')!.params.ack_url as string;
    expect((await fetch(`${url}?by=Guard%20Joe`)).status).toBe(200);
    hub.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.ended',
      data: { callKey: 'ipo:911', reason: 'cleared', durationSeconds: 42 },
    });
    const list = await hub.api<{ incidents: Json[] }>('GET', '/api/incidents');
    expect(list.body.incidents).toHaveLength(1);
    const inc = list.body.incidents[0]!;
    expect(inc).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'Guard Joe', escalations: 0 });
    await until(async () => {
      const d = await hub.api<{ incident: Json }>('GET', `/api/incidents/${inc.id}`);
      return (d.body.incident.timeline as Json[]).some((t) => t.type === 'delivery.report');
    });
    const det = await hub.api<{ incident: Json; deliveries: Json[] }>('GET', `/api/incidents/${inc.id}`);
    expect(det.body.incident.callEndedAt).not.toBeNull();
    const tl = (det.body.incident.timeline as Json[]).map((t) => t.type);
    expect(tl).toEqual(
      expect.arrayContaining([
        'call.emergency',
        'notified',
        'published',
        'webhook.sent',
        'acknowledged',
        'call.ended',
        'delivery.report',
      ]),
    );
    expect(det.body.deliveries.map((d) => d.state).sort()).toEqual([
      'acknowledged',
      'displayed',
      'displayed',
    ]);
    const csvRes = await fetch(`${hub.url}/api/incidents?format=csv`, {
      headers: { authorization: `Bearer ${hub.key}` },
    });
    const text = await csvRes.text();
    expect(text.split('\r\n')[0]).toMatch(/^id,createdAt,test,extension,name,callbackNumber/);
    // Cells starting with = + - @ are prefixed with ' (spreadsheet formula injection).
    expect(text).toContain('"Lee, Ann",\'+15550100201,911,HQ,2,Room 214,table,acknowledged');
    // Escalation does not fire once acknowledged.
    await new Promise((r) => setTimeout(r, 1300));
    expect(phoneLogs.get('mgr1')!.calls).toHaveLength(0);
  });

  it('on-site 911: escalates (repeat + second group) when nobody acknowledges; falls back to the device location', async () => {
    await hub.api('POST', '/api/devices', {
      id: 'desk-305',
      kind: 'testphone',
      address: '127.0.0.1:9305',
      labels: ['ext:305'],
      location: { building: 'Annex', floor: '1', room: '12' },
    });
    hub.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.emergency',
      data: {
        callKey: 'ipo:912',
        callerExtension: '305',
        callerName: 'Sam',
        callbackNumber: '5550305',
        dialled: '933',
        test: true,
      },
    });
    await until(() => phoneLogs.get('mgr1')!.calls.some((c) => c.action === 'show'), 5000);
    const show = phoneLogs.get('mgr1')!.calls.find((c) => c.action === 'show')!.params;
    expect(show.title).toMatch(/^TEST CALL 933 - NOT AN EMERGENCY \(REPEAT 1\)/);
    expect(show.text).toContain('Annex, floor 1, room 12');
    const list = await hub.api<{ incidents: Json[] }>('GET', '/api/incidents?limit=1');
    expect(list.body.incidents[0]).toMatchObject({
      test: true,
      state: 'unacknowledged',
      escalations: 1,
      notifiedGroups: ['security', 'managers'],
    });
    expect((list.body.incidents[0]!.location as Json).from).toBe('device');
    const ev = await hub.api<{ events: Json[] }>('GET', '/api/events?type=incident.escalated');
    expect(ev.body.events.length).toBeGreaterThan(0);

    // The security desk acknowledges from the console: escalation stops, who and when are recorded.
    const id = list.body.incidents[0]!.id as string;
    // Who is the signed-in principal (here an API key named after the desk officer), never a body field.
    const kim = (await hub.hub.apiKeys.create('Desk officer Kim')).key;
    const ack = await hub.api<{ incident: Json }>(
      'POST',
      `/api/incidents/${id}/ack`,
      {},
      { authorization: `Bearer ${kim}` },
    );
    expect(ack.status).toBe(200);
    expect(ack.body.incident).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'Desk officer Kim' });
    const again = await hub.api<{ incident: Json }>('POST', `/api/incidents/${id}/ack`, {});
    expect(again.body.incident.acknowledgedBy).toBe('Desk officer Kim');
    const acks = await hub.api<{ events: Json[] }>('GET', '/api/events?type=incident.acknowledged');
    expect(acks.body.events.filter((e) => (e.data as Json).incidentId === id)).toHaveLength(1);
    const missing = await hub.api<{ error: { code: string } }>('POST', '/api/incidents/nope/ack', {});
    expect(missing.body.error.code).toBe('INCIDENT_NOT_FOUND');
    const before = phoneLogs.get('mgr1')!.calls.length;
    await new Promise((r) => setTimeout(r, 1300));
    expect(phoneLogs.get('mgr1')!.calls.length).toBe(before);
  });
});
