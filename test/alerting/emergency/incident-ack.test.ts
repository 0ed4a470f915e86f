import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRILL_PLACED } from '../../../src/alerting/emergency/service.js';
import { UserService } from '../../../src/core/users.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { raiseIncident } from '../../helpers/incidents.js';
import { spawnSwitchboard } from '../../helpers/process.js';
import { phoneLogs, testphoneDriver } from '../../helpers/testphone-driver.js';

/**
 * Issue 12 (console part, server side): the operator acknowledgement records the SIGNED-IN principal
 * (never a free-text or default name) with an optional note; drills are marked and can be left out of the
 * compliance record (list and CSV); `open=true` lists what the console's alarm shows.
 */

type Json = Record<string, unknown>;

let hub: TestHub;
let n = 0;

/** Emits a 911 call on the bus and waits for its incident. */
async function emergency(data: Json = {}): Promise<Json> {
  n++;
  return raiseIncident(hub, `ipo:ack-${n}`, {
    callerExtension: `30${n}`,
    callerName: `Caller ${n}`,
    ...data,
  });
}

async function post(path: string, key: string | undefined, body?: string, type = 'application/json') {
  const res = await fetch(`${hub.url}${path}`, {
    method: 'POST',
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { 'content-type': type } : {}),
    },
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    // not JSON
  }
  return { status: res.status, body: json };
}

beforeAll(async () => {
  hub = await startTestHub({
    drivers: [testphoneDriver()],
    config: { 'emergency.escalateAfterSeconds': 0 },
  });
  const r = await hub.api('POST', '/api/devices', {
    id: 'guard1',
    kind: 'testphone',
    address: '127.0.0.1:9401',
    groups: ['security'],
  });
  expect(r.status).toBe(201);
});
afterAll(async () => {
  await hub?.close();
  phoneLogs.delete('guard1');
});

describe('POST /api/incidents/:id/ack records the signed-in principal', () => {
  it('an API key acknowledges under its own name, with the note stored, in the timeline and the event', async () => {
    const inc = await emergency();
    const desk = (await hub.hub.apiKeys.create('Security desk 1')).key;
    const r = await post(
      `/api/incidents/${inc.id}/ack`,
      desk,
      JSON.stringify({ note: 'Officer Diaz sent to room 214' }),
    );
    expect(r.status).toBe(200);
    expect(r.body.incident).toMatchObject({
      state: 'acknowledged',
      acknowledgedBy: 'Security desk 1',
      acknowledgedNote: 'Officer Diaz sent to room 214',
    });
    const d = await hub.api<{ incident: Json }>('GET', `/api/incidents/${inc.id}`);
    const ack = (d.body.incident.timeline as Json[]).find((t) => t.type === 'acknowledged');
    expect(ack?.detail).toMatchObject({ by: 'Security desk 1', note: 'Officer Diaz sent to room 214' });
    const ev = await hub.api<{ events: Array<{ data: Json }> }>(
      'GET',
      '/api/events?type=incident.acknowledged',
    );
    expect(ev.body.events.find((e) => e.data.incidentId === inc.id)?.data).toMatchObject({
      by: 'Security desk 1',
      note: 'Officer Diaz sent to room 214',
    });
  });

  it('a session token acknowledges as its local user (not "session:…", not "console", not "operator …")', async () => {
    const inc = await emergency();
    await new UserService(hub.hub.stores.users).create('kim', 'a long enough password 1');
    const s = await post(
      '/api/session',
      undefined,
      JSON.stringify({ username: 'kim', password: 'a long enough password 1' }),
    );
    expect(s.status).toBe(201);
    const r = await post(`/api/incidents/${inc.id}/ack`, s.body.token as string, '{}');
    expect(r.status).toBe(200);
    expect((r.body.incident as Json).acknowledgedBy).toBe('kim');
    expect((r.body.incident as Json).acknowledgedNote).toBeNull();
    // No body at all is fine too (a later acknowledgement keeps the first one's identity).
    const again = await post(`/api/incidents/${inc.id}/ack`, hub.key);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect((again.body.incident as Json).acknowledgedBy).toBe('kim');
  });

  it('refuses a free-text name in the body (400) and leaves the incident open', async () => {
    const inc = await emergency();
    const r = await post(`/api/incidents/${inc.id}/ack`, hub.key, JSON.stringify({ by: 'Somebody Else' }));
    expect(r.status).toBe(400);
    const d = await hub.api<{ incident: Json }>('GET', `/api/incidents/${inc.id}`);
    expect(d.body.incident.acknowledgedAt).toBeNull();
    expect(d.body.incident.state).not.toBe('acknowledged');
  });

  it('attacker input: no credentials, bad keys, malformed and oversized bodies, odd ids → 4xx, never 5xx', async () => {
    const inc = await emergency();
    const path = `/api/incidents/${inc.id}/ack`;
    expect((await post(path, undefined, '{}')).status).toBe(401);
    expect((await post(path, 'sbk_nope_nope', '{}')).status).toBe(401);
    expect((await post(path, hub.key, '{"note":')).status).toBe(400);
    expect((await post(path, hub.key, '[]')).status).toBe(400);
    expect((await post(path, hub.key, JSON.stringify({ note: 'x'.repeat(501) }))).status).toBe(400);
    expect((await post(path, hub.key, JSON.stringify({ note: { text: 'x' } }))).status).toBe(400);
    const plain = await post(path, hub.key, 'note', 'text/plain');
    expect(plain.status).toBeGreaterThanOrEqual(400);
    expect(plain.status).toBeLessThan(500);
    for (const id of ['%2e%2e', '..%2Fkeys', 'inc_%00', 'x'.repeat(101), '%F0%9F%9A%A8']) {
      const r = await post(`/api/incidents/${id}/ack`, hub.key, '{}');
      expect(r.status, id).toBeGreaterThanOrEqual(400);
      expect(r.status, id).toBeLessThan(500);
    }
    const d = await hub.api<{ incident: Json }>('GET', `/api/incidents/${inc.id}`);
    expect(d.body.incident.acknowledgedAt).toBeNull();
  });
});

describe('drills in the incident log', () => {
  it('marks drills (flagged events and drills announced by the demo) and filters them out of the record', async () => {
    const real = await emergency();
    const flagged = await emergency({ drill: true });
    const test933 = await emergency({ dialled: '933', test: true });
    // A drill placed through a simulator: announced first, then its (unflagged) DevLink3 call arrives.
    hub.hub.bus.emit({ source: 'demo', type: DRILL_PLACED, data: { extension: '399', dialled: '911' } });
    const announced = await emergency({ callerExtension: '399' });
    // The announcement is used once: the next call from that extension is real.
    const after = await emergency({ callerExtension: '399' });
    expect(real.drill).toBeUndefined();
    expect(flagged.drill).toBe(true);
    expect(announced.drill).toBe(true);
    expect(after.drill).toBeUndefined();
    const ids = async (q: string) =>
      (await hub.api<{ incidents: Json[] }>('GET', `/api/incidents?limit=1000${q}`)).body.incidents.map(
        (i) => i.id,
      );
    const excluded = await ids('&drills=exclude');
    expect(excluded).toContain(real.id);
    expect(excluded).toContain(after.id);
    for (const x of [flagged, test933, announced]) expect(excluded).not.toContain(x.id);
    const only = await ids('&drills=only');
    expect(only.sort()).toEqual([flagged.id, test933.id, announced.id].sort());
    expect((await ids('')).length).toBeGreaterThanOrEqual(5);
    // The timeline's first entry says it is a drill.
    const d = await hub.api<{ incident: Json }>('GET', `/api/incidents/${flagged.id}`);
    expect((d.body.incident.timeline as Json[])[0]).toMatchObject({
      type: 'call.emergency',
      detail: { drill: true },
    });
    // CSV: a drill column; the compliance export leaves drills out.
    const csv = async (q: string) =>
      (
        await fetch(`${hub.url}/api/incidents?format=csv${q}`, {
          headers: { authorization: `Bearer ${hub.key}` },
        })
      ).text();
    const all = (await csv('')).split('\r\n');
    expect(all[0]).toMatch(/^id,createdAt,test,extension,.*,broadcasts,drill$/);
    expect(all.find((l) => l.startsWith(`${flagged.id},`))).toMatch(/^[^,]+,[^,]+,false,.*,true$/);
    expect(all.find((l) => l.startsWith(`${real.id},`))).toMatch(/^[^,]+,[^,]+,false,.*,false$/);
    expect(all.find((l) => l.startsWith(`${test933.id},`))).toMatch(/^[^,]+,[^,]+,true,.*,false$/);
    const record = await csv('&drills=exclude');
    expect(record).toContain(real.id);
    expect(record).not.toContain(flagged.id as string);
    expect(record).not.toContain(test933.id as string);
    // The CLI (a real process): `incidents export --real-only` is the compliance record, `list` marks drills.
    const cli = (args: string[]) => {
      const p = spawnSwitchboard([...args, '--url', hub.url, '--key', hub.key]);
      return p.exited.then(() => p.stdout.join('\n'));
    };
    const exported = await cli(['incidents', 'export', '--real-only']);
    expect(exported).toContain(real.id as string);
    expect(exported).not.toContain(flagged.id as string);
    expect(exported).not.toContain(test933.id as string);
    const listed = await cli(['incidents', 'list', '--limit', '1000']);
    expect(listed.split('\n').find((l) => l.startsWith(flagged.id as string))).toMatch(/ DRILL /);
    expect(listed.split('\n').find((l) => l.startsWith(test933.id as string))).toMatch(/ TEST /);
    // A bad filter value is a 400.
    expect((await hub.api('GET', '/api/incidents?drills=maybe')).status).toBe(400);
  });

  it('open=true lists only incidents nobody acknowledged yet', async () => {
    const a = await emergency();
    const b = await emergency();
    expect((await post(`/api/incidents/${a.id}/ack`, hub.key, '{}')).status).toBe(200);
    const open = (await hub.api<{ incidents: Json[] }>('GET', '/api/incidents?open=true&limit=1000')).body
      .incidents;
    expect(open.map((i) => i.id)).toContain(b.id);
    expect(open.map((i) => i.id)).not.toContain(a.id);
    expect(open.every((i) => i.acknowledgedAt === null)).toBe(true);
  });
});
