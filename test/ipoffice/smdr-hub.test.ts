import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HubEvent } from '../../src/core/events.js';
import { builtinScenarios } from '../../src/sim/ipoffice/scenario.js';
import { Devlink3Simulator } from '../../src/sim/ipoffice/server.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { testphoneDriver } from '../helpers/testphone-driver.js';
import { waitFor } from './helpers.js';
import { CAPTURE_LINES } from './smdr-capture.js';

/** The simulator ↔ hub SMDR path over TCP on 127.0.0.1: the simulator plays calls and sends their records. */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Setup {
  hub: TestHub;
  sim: Devlink3Simulator;
  events: HubEvent[];
  smdrPort: number;
}

async function setup(o: { devlinkPassword?: string; smdr?: Record<string, unknown> } = {}): Promise<Setup> {
  const sim = await new Devlink3Simulator({ credentials: { dl3: 'pw' } }).start();
  cleanups.push(() => sim.stop());
  const hub = await startTestHub({ drivers: [testphoneDriver()] });
  cleanups.push(() => hub.close());
  const events: HubEvent[] = [];
  hub.hub.bus.subscribe((e) => events.push(e), { filter: { source: 'ipo-1' } });
  const created = await hub.api('POST', '/api/devices', {
    id: 'ipo-1',
    kind: 'ipoffice',
    name: 'Main IP500',
    address: `127.0.0.1:${sim.port}`,
    location: { building: 'HQ' },
    settings: {
      user: 'dl3',
      password: o.devlinkPassword ?? 'pw',
      loadUsers: false,
      resyncQuietMs: 50,
      reconnectInitialMs: 5000,
      smdr: { enabled: true, port: 0, listenHost: '127.0.0.1', ...(o.smdr ?? {}) },
    },
  });
  expect(created.status).toBe(201);
  let smdrPort = 0;
  for (let i = 0; i < 200 && smdrPort === 0; i++) {
    const st = await hub.api<{ listening: boolean; port: number | null }>(
      'GET',
      '/api/ipoffice/ipo-1/smdr/status',
    );
    if (st.body.listening && st.body.port) smdrPort = st.body.port;
    else await new Promise((r) => setTimeout(r, 10));
  }
  expect(smdrPort).toBeGreaterThan(0);
  sim.enableSmdr({ host: '127.0.0.1', port: smdrPort, retryMs: 50 });
  return { hub, sim, events, smdrPort };
}

const of = (events: HubEvent[], type: string) => events.filter((e) => e.type === type);

describe('SMDR: simulator → hub over TCP', () => {
  it('stores the record of a played call, emits cdr.record and reconciles it with the DevLink3 call', async () => {
    const { hub, sim, events } = await setup();
    await waitFor(() => events.some((e) => e.type === 'pbx.link' && e.data.state === 'up'));
    await sim.play(builtinScenarios().get('internal')!);
    await waitFor(() => of(events, 'call.ended').length === 1 && of(events, 'cdr.record').length === 1);
    const ended = of(events, 'call.ended')[0]!;
    const cdr = of(events, 'cdr.record')[0]!;
    expect(cdr.data).toMatchObject({
      caller: '4001',
      called: '4002',
      direction: 'outbound',
      internal: true,
      party1: { kind: 'extension', id: '4001', name: 'Alice Able' },
      party2: { kind: 'extension', id: '4002' },
      emergency: false,
    });
    // Both orders happen (both are written at call end): reconciled on arrival, or by a later cdr.reconciled.
    await waitFor(
      () =>
        cdr.data.devlinkCallKey === ended.data.callKey ||
        of(events, 'cdr.reconciled').some((e) => e.data.devlinkCallKey === ended.data.callKey),
    );
    const list = await hub.api<{ records: Array<{ devlinkCallKey: string; callId: string; line: string }> }>(
      'GET',
      '/api/ipoffice/ipo-1/smdr',
    );
    expect(list.status).toBe(200);
    expect(list.body.records).toHaveLength(1);
    expect(list.body.records[0]!.devlinkCallKey).toBe(ended.data.callKey);
    expect(list.body.records[0]!.line).toBe(sim.smdr!.produced[0]);
  });

  it('a 911 call seen only in SMDR (DevLink3 down) is raised late as call.emergency via smdr, once', async () => {
    const { hub, sim, events } = await setup({ devlinkPassword: 'wrong' });
    // a security desk phone, so the emergency service opens an incident
    const desk = await hub.api('POST', '/api/devices', {
      id: 'desk-1',
      kind: 'testphone',
      address: '127.0.0.1:9401',
      groups: ['security'],
    });
    expect(desk.status).toBe(201);
    await waitFor(() => events.some((e) => e.type === 'pbx.link' && e.data.state === 'auth-failed'));
    await sim.play(builtinScenarios().get('emergency')!, { ext: '4003', name: 'Carol Clark' });
    await waitFor(() => of(events, 'call.emergency').length === 1);
    const em = of(events, 'call.emergency')[0]!;
    expect(em.data).toMatchObject({
      via: 'smdr',
      late: true,
      callerExtension: '4003',
      callerName: 'Carol Clark',
      dialled: '911',
      test: false,
      detectedBy: 'smdr',
      pbx: { deviceId: 'ipo-1', name: 'Main IP500', location: { building: 'HQ' } },
    });
    expect(String(em.data.callKey)).toMatch(/^smdr:ipo-1:\d+$/);
    const incidents = async () =>
      (await hub.api<{ incidents: Array<Record<string, unknown>> }>('GET', '/api/incidents?limit=5')).body
        .incidents;
    for (let i = 0; i < 300 && (await incidents()).length === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(await incidents()).toHaveLength(1);
    expect((await incidents())[0]).toMatchObject({
      late: true,
      callKey: em.data.callKey,
      caller: { extension: '4003', dialled: '911' },
    });
    expect(of(events, 'cdr.record')[0]!.data.emergency).toBe(true);
    // IP Office replays its buffer after a link failure: the same line again is neither stored nor raised.
    const line = sim.smdr!.produced[0]!;
    const port = (await waitForPort(sim)).port;
    await sendRaw(port, `${line}\r\n`);
    await new Promise((r) => setTimeout(r, 100));
    expect(of(events, 'cdr.record')).toHaveLength(1);
    expect(of(events, 'call.emergency')).toHaveLength(1);
  });

  it('with DevLink3 up, the 911 call is raised by DevLink3 only; SMDR marks the record as emergency', async () => {
    const { sim, events } = await setup();
    await waitFor(() => events.some((e) => e.type === 'pbx.link' && e.data.state === 'up'));
    await sim.play(builtinScenarios().get('emergency')!);
    await waitFor(() => of(events, 'cdr.record').length === 1);
    const ems = of(events, 'call.emergency');
    expect(ems).toHaveLength(1);
    expect(ems[0]!.data.via).toBeUndefined();
    expect(of(events, 'cdr.record')[0]!.data).toMatchObject({ emergency: true, dialled: '911' });
  });

  it('the simulator buffers records while the hub is unreachable and sends them later', async () => {
    const { sim, events, smdrPort } = await setup();
    const smdr = sim.enableSmdr({ host: '127.0.0.1', port: 1, retryMs: 30 });
    sim.playSync(builtinScenarios().get('internal')!);
    await waitFor(() => smdr.stats.failedConnections > 0);
    expect(smdr.pending).toBe(1);
    // point it at the hub (as an admin fixing the SMDR address would) and it drains its buffer
    (smdr as unknown as { opts: { port: number } }).opts.port = smdrPort;
    await waitFor(() => of(events, 'cdr.record').length === 1, 5000, 'the buffered record');
    expect(smdr.pending).toBe(0);
  });
});

async function waitForPort(sim: Devlink3Simulator): Promise<{ port: number }> {
  const o = (sim.smdr as unknown as { opts: { port: number } }).opts;
  return { port: o.port };
}

function sendRaw(
  port: number,
  text: string | Buffer,
  opts: { keepOpen?: boolean } = {},
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      if (opts.keepOpen) s.write(text, () => resolve(s));
      else s.end(text, () => resolve(s));
    });
    s.on('error', reject);
  });
}

describe('SMDR listener limits and the API (attacker first)', () => {
  it('refuses peers not allowed, over-long lines and too many connections; never crashes', async () => {
    const { hub, events, smdrPort } = await setup({ smdr: { maxConnections: 2, maxLineBytes: 512 } });
    const socks = [
      await sendRaw(smdrPort, '', { keepOpen: true }),
      await sendRaw(smdrPort, '', { keepOpen: true }),
    ];
    const third = await sendRaw(smdrPort, `${CAPTURE_LINES[0]}\r\n`, { keepOpen: true });
    await new Promise<void>((r) => (third.destroyed ? r() : third.once('close', () => r())));
    for (const s of socks) s.destroy();
    const st = async () =>
      (await hub.api<{ stats: Record<string, number> }>('GET', '/api/ipoffice/ipo-1/smdr/status')).body.stats;
    expect((await st()).refused).toBeGreaterThanOrEqual(1);
    // junk, an over-long line, a partial record, then a good record without a final CR LF: only that one stored
    await waitForOpenBelow(hub, 1);
    await sendRaw(
      smdrPort,
      Buffer.concat([
        Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
        Buffer.alloc(2000, 0x41),
        Buffer.from('\r\n2026/11/30 09:10:00,00:00:30\r\n'),
        Buffer.from(CAPTURE_LINES[1]!),
      ]),
    );
    await waitFor(() => of(events, 'cdr.record').length === 1);
    expect(of(events, 'cdr.record')[0]!.data.party1).toMatchObject({ name: 'Zoë Müller' });
    expect((await st()).tooLong).toBe(1);
    expect((await st()).invalid).toBeGreaterThanOrEqual(3);
  });

  it('only the IP Office address may send records (allowFrom)', async () => {
    const { hub, events, smdrPort } = await setup({ smdr: { allowFrom: ['192.0.2.10'] } });
    const s = await sendRaw(smdrPort, `${CAPTURE_LINES[6]}\r\n`);
    await new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));
    await new Promise((r) => setTimeout(r, 50));
    expect(of(events, 'cdr.record')).toHaveLength(0);
    expect(of(events, 'call.emergency')).toHaveLength(0);
    const st = await hub.api<{ stats: Record<string, number> }>('GET', '/api/ipoffice/ipo-1/smdr/status');
    expect(st.body.stats.refused).toBe(1);
  });

  it('a record burst above the rate limit is paused, not dropped', async () => {
    const { hub, events, smdrPort } = await setup({ smdr: { maxRecordsPerSecond: 20 } });
    const lines = Array.from({ length: 45 }, (_, i) =>
      CAPTURE_LINES[0]!.replace('1004217', String(2000000 + i)),
    );
    await sendRaw(smdrPort, `${lines.join('\r\n')}\r\n`);
    await waitFor(() => of(events, 'cdr.record').length === 45, 10_000, '45 records');
    const st = await hub.api<{ stats: Record<string, number> }>('GET', '/api/ipoffice/ipo-1/smdr/status');
    expect(st.body.stats.throttled).toBeGreaterThan(0);
  });

  it('API: credentials required, bad queries are 400, unknown devices 404, CSV neutralises formulas', async () => {
    const { hub, events, smdrPort } = await setup({ smdr: { timeZone: 'UTC' } });
    const line = CAPTURE_LINES[0]!.replace('Grace Hopper', '=HYPERLINK("http://x")');
    await sendRaw(smdrPort, `${line}\r\n`);
    await waitFor(() => of(events, 'cdr.record').length === 1);
    expect((await fetch(`${hub.url}/api/ipoffice/ipo-1/smdr`)).status).toBe(401);
    expect((await fetch(`${hub.url}/api/ipoffice/ipo-1/smdr?format=csv`)).status).toBe(401);
    for (const q of [
      'limit=0',
      'limit=abc',
      'from=yesterday',
      'format=xml',
      'callId=%27%3B--',
      'limit=99999999',
    ])
      expect((await hub.api('GET', `/api/ipoffice/ipo-1/smdr?${q}`)).status, q).toBe(400);
    expect((await hub.api('GET', '/api/ipoffice/nope/smdr')).status).toBe(404);
    expect((await hub.api('GET', '/api/ipoffice/%2e%2e%2fetc/smdr')).status).toBe(404);
    const csv = await fetch(`${hub.url}/api/ipoffice/ipo-1/smdr?format=csv`, {
      headers: { authorization: `Bearer ${hub.key}` },
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await csv.text();
    const [header, row] = text.split('\r\n');
    expect(header!.split(',').slice(0, 4)).toEqual(['Call Start', 'Connected Time', 'Ring Time', 'Caller']);
    expect(header).toContain('SMDR Record Time');
    expect(row).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(row!.startsWith('2026/11/30 08:14:05,00:02:31,6,01632960123,I,')).toBe(true);
    const range = async (q: string) =>
      (await hub.api<{ records: Array<{ callStart: string }> }>('GET', `/api/ipoffice/ipo-1/smdr?${q}`)).body
        .records;
    expect(
      (await range('from=2026-11-30T08:00:00Z&to=2026-11-30T09:00:00Z')).map((r) => r.callStart),
    ).toEqual(['2026-11-30T08:14:05.000Z']);
    expect(await range('from=2026-11-30T08:14:06Z')).toEqual([]);
  });
});

async function waitForOpenBelow(hub: TestHub, n: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const st = await hub.api<{ stats: Record<string, number> }>('GET', '/api/ipoffice/ipo-1/smdr/status');
    if ((st.body.stats.open ?? 0) < n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('connections did not close');
}

describe('SMDR across restarts and reused Call IDs', () => {
  it('IP Office reusing a Call ID after its restart: a second 911 call is raised again, a segment of the same call is not', async () => {
    const { events, smdrPort } = await setup({ devlinkPassword: 'wrong', smdr: { timeZone: 'UTC' } });
    const first = CAPTURE_LINES[6]!; // 911 from 4021, Call ID 1004224, 2026/11/30 09:01:12
    const segment = first.replace(',0,E4021,Ana López,T9001', ',1,E4021,Ana López,T9002'); // same call, continuation
    const nextDay = first.replaceAll('2026/11/30', '2026/12/01');
    await sendRaw(smdrPort, `${segment}\r\n${first}\r\n`);
    await waitFor(() => of(events, 'cdr.record').length === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(of(events, 'call.emergency')).toHaveLength(1);
    await sendRaw(smdrPort, `${nextDay}\r\n`);
    await waitFor(() => of(events, 'call.emergency').length === 2, 5000, 'the second 911 call');
    expect(of(events, 'call.emergency').map((e) => e.data.startedAt)).toEqual([
      '2026-11-30T09:01:12.000Z',
      '2026-12-01T09:01:12.000Z',
    ]);
  });

  it('after a hub restart (same data directory) the history is kept and a replayed record is not stored twice', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-smdr-restart-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const start = async () => {
      const hub = await startTestHub({ dataDir });
      const events: HubEvent[] = [];
      hub.hub.bus.subscribe((e) => events.push(e), { filter: { types: ['cdr.*'] } });
      let port = 0;
      for (let i = 0; i < 300 && port === 0; i++) {
        const st = await hub.api<{ port: number | null; listening: boolean }>(
          'GET',
          '/api/ipoffice/ipo-9/smdr/status',
        );
        if (st.status === 200 && st.body.listening && st.body.port) port = st.body.port;
        else await new Promise((r) => setTimeout(r, 10));
      }
      return { hub, events, port };
    };
    const a = await startTestHub({ dataDir });
    const created = await a.api('POST', '/api/devices', {
      id: 'ipo-9',
      kind: 'ipoffice',
      address: '127.0.0.1:1',
      settings: {
        user: 'dl3',
        password: 'x',
        loadUsers: false,
        reconnectInitialMs: 60_000,
        smdr: { enabled: true, port: 0, listenHost: '127.0.0.1' },
      },
    });
    expect(created.status).toBe(201);
    await a.close();
    const one = await start();
    expect(one.port).toBeGreaterThan(0);
    await sendRaw(one.port, `${CAPTURE_LINES[0]}\r\n${CAPTURE_LINES[1]}\r\n`);
    await waitFor(() => one.events.length === 2);
    await one.hub.close();
    const two = await start();
    cleanups.push(() => two.hub.close());
    // IP Office replays its buffer to the restarted hub: one old record and one new
    await sendRaw(two.port, `${CAPTURE_LINES[1]}\r\n${CAPTURE_LINES[2]}\r\n`);
    await waitFor(() => two.events.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(two.events.map((e) => e.data.callId)).toEqual(['1004221']);
    const list = await two.hub.api<{ records: unknown[] }>('GET', '/api/ipoffice/ipo-9/smdr');
    expect(list.body.records).toHaveLength(3);
  });
});
