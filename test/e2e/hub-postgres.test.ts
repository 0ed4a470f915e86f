import { afterEach, expect, it } from 'vitest';
import { broadcastRuntime } from '../../src/alerting/broadcast-module.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { describePostgres } from '../helpers/postgres.js';
import { phoneLogs, testphoneDriver } from '../helpers/testphone-driver.js';
import { waitFor } from '../helpers/wait.js';

type Json = Record<string, unknown>;

/**
 * A whole hub on PostgreSQL (`store.url`): every store port on the shared database. What was written by one
 * hub is there for the next one (a restart, or another hub), the 911 path opens exactly one incident for a
 * call two hubs see at once, and a lost server shows in /readyz and answers writes with 503 until it is
 * back, without restarting the hub.
 */
describePostgres('a hub on PostgreSQL (store.url)', ({ cluster, db }) => {
  const hubs: TestHub[] = [];
  afterEach(async () => {
    for (const h of hubs.splice(0)) await h.close().catch(() => {});
  });

  const start = async (url: string) => {
    const h = await startTestHub({
      drivers: [testphoneDriver()],
      config: { 'store.url': url, 'emergency.enabled': 'on', 'emergency.resumeWithinSeconds': 0 },
    });
    hubs.push(h);
    return h;
  };

  const phone = (h: TestHub, id: string) =>
    h.api('POST', '/api/devices', {
      id,
      kind: 'testphone',
      address: `127.0.0.1:${9000 + id.length}`,
      groups: ['security'],
      settings: { behavior: 'ok' },
    });

  it('keeps devices, keys, audit, incidents and events in PostgreSQL: a second hub sees them', async () => {
    const url = await db();
    const a = await start(url);
    expect((await a.api<Json>('GET', '/api/system')).body).toMatchObject({ store: { kind: 'postgres' } });
    expect((await phone(a, 'desk-1')).status).toBe(201);
    expect((await phone(a, 'desk-2')).status).toBe(201);
    a.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.emergency',
      data: { callKey: 'n1:77', callerExtension: '2001', dialled: '911' },
    });
    let incidents: Json[] = [];
    await waitFor(async () => {
      incidents = (await a.api<{ incidents: Json[] }>('GET', '/api/incidents')).body.incidents;
      return incidents.length === 1;
    });
    await a.hub.bus.flush();
    // Another hub on the same database: the configuration, the incident and the trail are shared.
    const b = await start(url);
    expect(b.hub.devices.list().map((d) => d.id)).toEqual(['desk-1', 'desk-2']);
    const seen = (await b.api<{ incidents: Json[] }>('GET', '/api/incidents')).body.incidents;
    expect(seen.map((i) => i.id)).toEqual([incidents[0]!.id]);
    const audit = (await b.api<{ entries: Json[] }>('GET', '/api/audit?limit=100')).body.entries;
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['device.added']));
    const events = (await b.api<{ events: Json[] }>('GET', '/api/events?after=0&limit=1000&type=call.*')).body
      .events;
    expect(events.map((e) => e.type)).toContain('call.emergency');
    // A key made on A works on B (keys live in the shared store).
    expect(
      (await fetch(`${b.url}/api/devices`, { headers: { authorization: `Bearer ${a.key}` } })).status,
    ).toBe(200);
  });

  it('a 911 call seen by two hubs at once opens one incident, alerted by one hub', async () => {
    const url = await db();
    const a = await start(url);
    const b = await start(url);
    expect((await phone(a, 'desk-1')).status).toBe(201);
    await b.hub.devices.load();
    const call = {
      source: 'ipo-1',
      type: 'call.emergency',
      data: { callKey: 'n1:501', callerExtension: '2002', dialled: '911' },
    };
    a.hub.bus.emit(call);
    b.hub.bus.emit(call);
    const started = async (h: TestHub) =>
      (await h.hub.bus.list({ after: 0, limit: 1000, filter: { types: ['broadcast.started'] } })).length;
    await waitFor(async () => (await started(a)) > 0, 10_000, 'the alert');
    // Both hubs have handled the event (the loser of the claim attached it): still one incident.
    await new Promise((r) => setTimeout(r, 500));
    const incidents = (await a.api<{ incidents: Json[] }>('GET', '/api/incidents')).body.incidents;
    expect(incidents).toHaveLength(1);
    // Exactly one hub started the alert broadcast (the event table is shared: one read sees both hubs').
    expect(await started(b)).toBe(1);
  });

  it('PostgreSQL stopped: /readyz 503 "unreachable", the API 503 STORE_UNAVAILABLE, a 911 call still alerts; started: recovers by itself', async () => {
    const url = await db();
    const a = await start(url);
    expect((await phone(a, 'desk-5')).status).toBe(201);
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);
    cluster().stopServer();
    try {
      const w = await phone(a, 'desk-9');
      expect(w.status).toBe(503);
      expect(w.body).toMatchObject({ error: { code: 'STORE_UNAVAILABLE' } });
      expect(JSON.stringify(w.body)).not.toContain('postgres://');
      const r = await fetch(`${a.url}/readyz`);
      expect(r.status).toBe(503);
      expect(await r.json()).toMatchObject({ store: 'unreachable' });
      // The 911 readiness says so (the console's red banner on every page).
      expect(
        broadcastRuntime(a.hub)
          .supervisor.reasons()
          .map((x) => x.code),
      ).toContain('STORE_UNREACHABLE');
      // The 911 path needs no query: devices, templates and locations are in memory; the records that
      // cannot be written are logged, and the security phone is alerted all the same.
      const before = phoneLogs.get('desk-5')?.calls.length ?? 0;
      a.hub.bus.emit({
        source: 'ipo-1',
        type: 'call.emergency',
        data: { callKey: 'n1:900', callerExtension: '2009', dialled: '911' },
      });
      await waitFor(
        () => (phoneLogs.get('desk-5')?.calls.length ?? 0) > before,
        10_000,
        'the alert on desk-5',
      );
    } finally {
      cluster().startServer();
    }
    await waitFor(async () => (await phone(a, 'desk-9')).status === 201, 20_000);
    expect(
      broadcastRuntime(a.hub)
        .supervisor.reasons()
        .map((x) => x.code),
    ).not.toContain('STORE_UNREACHABLE');
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);
  });
});
