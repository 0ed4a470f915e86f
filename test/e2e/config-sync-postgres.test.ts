import { performance } from 'node:perf_hooks';
import { afterEach, expect, it } from 'vitest';
import { broadcastRuntime } from '../../src/alerting/broadcast-module.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { describePostgres } from '../helpers/postgres.js';
import { phoneLogs, testphoneDriver } from '../helpers/testphone-driver.js';
import { waitFor } from '../helpers/wait.js';

type Json = Record<string, unknown>;

/**
 * Configuration changes across hubs (issue 15, docs/high-availability.md "Configuration changes across
 * hubs"): two hubs on one throw-away PostgreSQL database, each with its own pool and LISTEN connection and
 * its own HTTP server. What is created on A is answered and used by B without a restart; a key revoked on A
 * is refused by B and ends B's open event stream; a lost notification, or a LISTEN connection the server
 * killed, still gets the change to B. The delay from A's answer to B's is printed (never asserted).
 */
describePostgres('configuration changes across hubs (PostgreSQL)', ({ db }) => {
  const hubs: TestHub[] = [];
  afterEach(async () => {
    for (const h of hubs.splice(0)) await h.close().catch(() => {});
  });

  const start = async (url: string, config: Record<string, unknown> = {}) => {
    const h = await startTestHub({
      drivers: [testphoneDriver()],
      config: { 'store.url': url, 'emergency.enabled': 'off', ...config },
    });
    hubs.push(h);
    return h;
  };

  /** Milliseconds from now until `check` holds on B (polled every 5 ms), printed with `what`. */
  const delay = async (what: string, check: () => Promise<boolean> | boolean, ms = 10_000) => {
    const t0 = performance.now();
    await waitFor(check, ms, what);
    const took = performance.now() - t0;
    console.log(`config-sync: ${what}: ${took.toFixed(0)} ms`);
    return took;
  };

  /** Runs statements on a connection of its own (the test's, not a hub's), in one transaction. */
  const sql = async <R>(url: string, statements: Array<[string, unknown[]?]>): Promise<R[]> => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    await client.connect();
    try {
      await client.query('BEGIN');
      let rows: R[] = [];
      for (const [text, params] of statements) rows = (await client.query(text, params)).rows as R[];
      await client.query('COMMIT');
      return rows;
    } finally {
      await client.end().catch(() => {});
    }
  };

  /** The server's LISTEN backends on this database (one per hub). */
  const listenPids = async (url: string): Promise<number[]> =>
    (
      await sql<{ pid: number }>(url, [
        [
          "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()",
        ],
      ])
    ).map((r) => r.pid);

  it('a device, a template, a rule and a location made on A are answered and used by B; a key revoked on A stops on B', async () => {
    const url = await db();
    const a = await start(url);
    const b = await start(url, { 'auth.streamRecheckMs': 300_000 });
    const took: number[] = [];

    // A device: B's API answers it.
    expect(
      (
        await a.api('POST', '/api/devices', {
          id: 'desk-9',
          kind: 'testphone',
          address: '127.0.0.1:9009',
          groups: ['security'],
          settings: { behavior: 'ok' },
        })
      ).status,
    ).toBe(201);
    took.push(
      await delay('device on B', async () => (await b.api('GET', '/api/devices/desk-9')).status === 200),
    );

    // A template and a rule that uses it: B answers both.
    expect(
      (
        await a.api('PUT', '/api/templates/ping', {
          title: 'Ping {{data.n}}',
          text: 'Ping number {{data.n}}',
        })
      ).status,
    ).toBe(200);
    took.push(
      await delay('template on B', async () => (await b.api('GET', '/api/templates/ping')).status === 200),
    );
    const rule = await a.api('PUT', '/api/rules/on-ping', {
      event: 'call.ringing',
      actions: [{ type: 'broadcast', template: 'ping', targets: { devices: ['desk-9'] } }],
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(200);
    took.push(
      await delay('rule on B', async () => (await b.api('GET', '/api/rules/on-ping')).status === 200),
    );
    // The rule fires on B for an event only B sees: B's phone gets the broadcast rendered from A's template.
    const before = phoneLogs.get('desk-9')?.calls.length ?? 0;
    b.hub.bus.emit({ source: 'sim', type: 'call.ringing', data: { n: 7 } });
    await waitFor(
      () => (phoneLogs.get('desk-9')?.calls.length ?? 0) > before,
      10_000,
      'the broadcast from B',
    );
    expect(JSON.stringify(phoneLogs.get('desk-9')?.calls.slice(before))).toContain('Ping number 7');

    // A 911 location: B's in-memory table (the 911 path reads it) and its API answer it.
    expect(
      (await a.api('PUT', '/api/locations/2001', { building: 'North', floor: '2', room: '210' })).status,
    ).toBe(200);
    took.push(
      await delay('location on B', () => broadcastRuntime(b.hub).locations.lookup('2001')?.room === '210'),
    );
    expect((await b.api<Json>('GET', '/api/locations/2001')).body).toMatchObject({ entry: { room: '210' } });

    // An API key made on A works on B; revoked on A, B refuses it and ends the stream it opened.
    const made = await a.api<{ key: string; id: string }>('POST', '/api/keys', { name: 'desk app' });
    expect(made.status).toBe(201);
    const key = made.body.key;
    expect(
      (await fetch(`${b.url}/api/devices`, { headers: { authorization: `Bearer ${key}` } })).status,
    ).toBe(200);
    const stream = await fetch(`${b.url}/api/events/stream`, { headers: { authorization: `Bearer ${key}` } });
    expect(stream.status).toBe(200);
    let ended = false;
    const reader = stream.body!.getReader();
    // The stream is live (its first bytes came) before the key is revoked.
    expect((await reader.read()).done).toBe(false);
    void (async () => {
      for (;;) if ((await reader.read()).done) break;
      ended = true;
    })().catch(() => {
      ended = true;
    });
    expect((await a.api('DELETE', `/api/keys/${made.body.id}`)).status).toBe(200);
    expect(
      (await fetch(`${b.url}/api/devices`, { headers: { authorization: `Bearer ${key}` } })).status,
    ).toBe(401);
    // auth.streamRecheckMs is 5 minutes on B: only the configuration sync can end the stream this soon.
    took.push(await delay('event stream on B ended', () => ended));

    // Removing the device on A removes it from B's registry (its listeners are told).
    const removed: string[] = [];
    b.hub.devices.onChange((c) => {
      if (c.type === 'removed') removed.push(c.device.id);
    });
    expect((await a.api('DELETE', '/api/devices/desk-9')).status).toBe(204);
    took.push(await delay('device removed on B', () => removed.includes('desk-9')));
    console.log(
      `config-sync SUMMARY two hubs, one PostgreSQL: A's answer → B's answer max ${Math.max(...took).toFixed(0)} ms over ${took.length} changes`,
    );
  }, 120_000);

  it('a lost notification still applies by the poll; a LISTEN connection the server kills comes back, and notifications flow again', async () => {
    const url = await db();
    const a = await start(url);
    // B polls only every minute: what reaches it sooner came by a notification (or the re-check after a reconnect).
    const b = await start(url, { 'cluster.configPollMs': 60_000 });
    const c = await start(url);
    await waitFor(async () => (await listenPids(url)).length >= 3, 10_000, 'three LISTEN connections');

    // A lost notification: the row and its version change without a NOTIFY (triggers off for the transaction).
    await sql(url, [
      ["SET LOCAL session_replication_role = 'replica'"],
      [
        'INSERT INTO locations (extension, body) VALUES ($1, $2)',
        ['3001', JSON.stringify({ extension: '3001', room: 'Lost', updatedAt: '2026-01-01T00:00:00.000Z' })],
      ],
      [
        "INSERT INTO config_versions (area, version) VALUES ('locations', 1) ON CONFLICT (area) DO UPDATE SET version = config_versions.version + 1",
      ],
    ]);
    await delay(
      'lost notification, by the poll on C',
      () => broadcastRuntime(c.hub).locations.lookup('3001')?.room === 'Lost',
    );
    expect(broadcastRuntime(b.hub).locations.lookup('3001')).toBeUndefined();

    // The server kills every LISTEN connection; a change made right then reaches B (re-check on reconnect).
    const pids = await listenPids(url);
    await sql(url, [['SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]]]);
    expect((await a.api('PUT', '/api/locations/3002', { room: 'During' })).status).toBe(200);
    await delay(
      'change during the LISTEN loss, on B',
      () => broadcastRuntime(b.hub).locations.lookup('3002')?.room === 'During',
    );
    // Reconnected: B (polling every minute) hears the next change by NOTIFY.
    await waitFor(
      async () => (await listenPids(url)).filter((p) => !pids.includes(p)).length >= 3,
      10_000,
      'LISTEN back',
    );
    expect((await a.api('PUT', '/api/locations/3003', { room: 'After' })).status).toBe(200);
    await delay(
      'change after the reconnect, by NOTIFY on B',
      () => broadcastRuntime(b.hub).locations.lookup('3003')?.room === 'After',
    );
  }, 120_000);
});
