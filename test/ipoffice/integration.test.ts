import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from '../../src/drivers/ipoffice/connection.js';
import type { Devlink3Monitor } from '../../src/drivers/ipoffice/monitor.js';
import { parseUserList } from '../../src/drivers/ipoffice/users.js';
import { builtinScenarios } from '../../src/sim/ipoffice/scenario.js';
import { Devlink3Simulator, type SimulatorOptions } from '../../src/sim/ipoffice/server.js';
import { type Captured, makeCert, monitor, sleep, waitFor } from './helpers.js';

const CREDS = { credentials: { dl3: 'S3cret!' } };
let cert: { key: string; cert: string };
const cleanups: Array<() => Promise<void>> = [];

beforeAll(() => {
  cert = makeCert();
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function sim(o: SimulatorOptions = {}): Promise<Devlink3Simulator> {
  const s = await new Devlink3Simulator({ ...CREDS, ...o }).start();
  cleanups.push(() => s.stop());
  return s;
}
function track(m: Devlink3Monitor): void {
  cleanups.push(() => m.stop());
  m.start();
}
const types = (ev: Captured[], skip = ['call.updated', 'pbx.link', 'pbx.gap']) =>
  ev.map((e) => e.type).filter((t) => !skip.includes(t));
const linkStates = (ev: Captured[]) => ev.filter((e) => e.type === 'pbx.link').map((e) => e.data.state);

describe('client <-> simulator over TCP and TLS', () => {
  it('authenticates over TCP (SHA1) and reports the PBX type', async () => {
    const s = await sim();
    const { m, events } = monitor({
      client: { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!', applicationName: 'test' },
    });
    track(m);
    await waitFor(() => m.link.state === 'up');
    const up = events.find((e) => e.type === 'pbx.link' && e.data.state === 'up')!;
    expect(up.data).toMatchObject({
      pbxType: s.opts.pbxType,
      variant: 'Standard 1.0',
      authMethod: 'sha1',
      partial: false,
    });
  });

  it('authenticates over TLS with a pinned CA, with allowSelfSigned, PLAIN over TLS, and refuses an untrusted certificate', async () => {
    const s = await sim({ port: null, tlsPort: 0, tls: { key: cert.key, cert: cert.cert } });
    const a = monitor({
      client: {
        host: '127.0.0.1',
        port: s.tlsPort,
        tls: { ca: cert.cert },
        user: 'dl3',
        password: 'S3cret!',
      },
    });
    track(a.m);
    await waitFor(() => a.m.link.state === 'up');
    const b = monitor({
      client: {
        host: '127.0.0.1',
        port: s.tlsPort,
        tls: { allowSelfSigned: true },
        user: 'dl3',
        password: 'S3cret!',
      },
    });
    track(b.m);
    await waitFor(() => b.m.link.state === 'up');
    const c = monitor({
      client: { host: '127.0.0.1', port: s.tlsPort, tls: true, user: 'dl3', password: 'S3cret!' },
    });
    track(c.m);
    await waitFor(() => c.events.some((e) => e.type === 'pbx.link' && e.data.state === 'down'));
    expect(c.m.link.state).not.toBe('up');
    await c.m.stop();
    const p = await sim({
      port: null,
      tlsPort: 0,
      tls: { key: cert.key, cert: cert.cert },
      plainChallengeOnTls: true,
    });
    const d = monitor({
      client: {
        host: '127.0.0.1',
        port: p.tlsPort,
        tls: { ca: cert.cert },
        user: 'dl3',
        password: 'S3cret!',
      },
    });
    track(d.m);
    await waitFor(() => d.m.link.state === 'up');
    expect(d.m.link.authMethod).toBe('plain');
  });

  it('mutual TLS: a client certificate is required when the PBX asks for one', async () => {
    const client = makeCert();
    const s = await sim({
      port: null,
      tlsPort: 0,
      tls: { key: cert.key, cert: cert.cert, requestCert: true, rejectUnauthorized: true, ca: client.cert },
    });
    const good = monitor({
      client: {
        host: '127.0.0.1',
        port: s.tlsPort,
        tls: { ca: cert.cert, cert: client.cert, key: client.key },
        user: 'dl3',
        password: 'S3cret!',
      },
    });
    track(good.m);
    await waitFor(() => good.m.link.state === 'up');
    const bad = monitor({
      client: {
        host: '127.0.0.1',
        port: s.tlsPort,
        tls: { ca: cert.cert },
        user: 'dl3',
        password: 'S3cret!',
      },
    });
    track(bad.m);
    await waitFor(() => bad.events.some((e) => e.type === 'pbx.link' && e.data.state === 'down'));
    expect(bad.m.link.state).not.toBe('up');
  });

  it('wrong password: auth-failed once, no retry storm, resumes after reconfigure', async () => {
    const s = await sim();
    const { m, events } = monitor({
      client: { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'wrong' },
    });
    track(m);
    await waitFor(() => m.link.state === 'auth-failed');
    await sleep(300); // 15 backoff periods at 20 ms would have passed
    expect(s.stats.authFailures).toBe(1);
    expect(linkStates(events)).toEqual(['auth-failed']);
    expect(events.at(-1)!.data).toMatchObject({ code: 'DEVLINK3_AUTH_FAILED', fatal: true });
    await m.client.reconfigure({ ...m.client['opts'], password: 'S3cret!' });
    await waitFor(() => m.link.state === 'up');
  });

  it('locks a user out after repeated failures, even with the right password', async () => {
    const s = await sim({ lockoutThreshold: 2 });
    const o = { host: '127.0.0.1', port: s.port, user: 'dl3' };
    for (let i = 0; i < 2; i++)
      await expect(readFile({ ...o, password: 'nope' }, 'nasystem/user_list')).rejects.toMatchObject({
        code: 'DEVLINK3_AUTH_FAILED',
      });
    await expect(readFile({ ...o, password: 'S3cret!' }, 'nasystem/user_list')).rejects.toMatchObject({
      code: 'DEVLINK3_AUTH_FAILED',
    });
    s.resetLockout();
    expect((await readFile({ ...o, password: 'S3cret!' }, 'nasystem/user_list')).length).toBeGreaterThan(0);
  });

  it('enforces the 3-connection limit: the 4th gets LIMITS EXCEEDED and backs off (not fatal)', async () => {
    const s = await sim();
    const ms = [0, 1, 2].map(() =>
      monitor({ client: { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!' } }),
    );
    for (const x of ms) track(x.m);
    await waitFor(() => ms.every((x) => x.m.link.state === 'up'));
    const fourth = monitor({ client: { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!' } });
    track(fourth.m);
    await waitFor(() => fourth.events.some((e) => e.data.code === 'DEVLINK3_LIMITS_EXCEEDED'));
    expect(fourth.m.link.fatal).toBeUndefined();
    await waitFor(() => s.stats.refusedConnections >= 2, 3000, 'a retry');
    await ms[0]!.m.stop();
    await waitFor(() => fourth.m.link.state === 'up');
  });

  it('the limit counts only connections monitoring events: a file read still works beside 3 monitors', async () => {
    const s = await sim();
    const ms = [0, 1, 2].map(() =>
      monitor({ client: { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!' } }),
    );
    for (const x of ms) track(x.m);
    await waitFor(() => ms.every((x) => x.m.link.state === 'up'));
    const o = { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!' };
    // seed 004 §6.6: one short-lived connection per ReadFile is the recommended pattern
    expect((await readFile(o, 'nasystem/user_list')).toString('utf8')).toContain('4001');
    expect((await readFile(o, 'nasystem/user_list')).length).toBeGreaterThan(0);
    expect(s.stats.refusedConnections).toBe(0);
  });

  it('partial flags: reports which flags were refused', async () => {
    const s = await sim({ scnLicensed: false });
    const { m, events } = monitor({
      client: {
        host: '127.0.0.1',
        port: s.port,
        user: 'dl3',
        password: 'S3cret!',
        flags: '-SCN -CMExtn -Bogus',
      },
    });
    track(m);
    await waitFor(() => m.link.state === 'up');
    expect(events.find((e) => e.type === 'pbx.link')!.data).toMatchObject({
      partial: true,
      acceptedFlags: ['-CMExtn'],
      refusedFlags: ['-SCN', '-Bogus'],
    });
    const bad = monitor({
      client: { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!', flags: '-Bogus' },
    });
    track(bad.m);
    await waitFor(() => bad.m.link.fatal === true);
    expect(bad.m.link).toMatchObject({ state: 'down', code: 'DEVLINK3_EVENT_REQUEST_FAILED' });
    expect(bad.m.link.reason).toContain('UNKNOWN_FLAG');
  });

  it('LICENCE MISSING stops with a clear error', async () => {
    const s = await sim({ licenceMissing: true });
    const { m } = monitor({ client: { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!' } });
    track(m);
    await waitFor(() => m.link.fatal === true);
    expect(m.link).toMatchObject({ state: 'down', code: 'DEVLINK3_LICENCE_MISSING' });
  });

  it('reconnects after a dropped link and reconciles: calls the PBX no longer reports end with reason resync', async () => {
    const s = await sim();
    const { m, events } = monitor({
      client: { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!' },
    });
    track(m);
    await waitFor(() => m.link.state === 'up');
    const node = s.nodeId;
    s.emitDelta3(
      `<Detail><Call>${node},1,,,,0</Call><PartyA>${node}00000001,1,2,1,0,0,0,0,1,8,106,,4001,0,0</PartyA><PartyB>${node}00000002,0,2,1,0,0,0,0,1,8,106,,4002,101,0</PartyB></Detail>`,
    );
    s.emitDelta3(
      `<Detail><Call>${node},2,,,,0</Call><PartyA>${node}00000003,1,2,1,0,0,0,0,1,8,106,,4003,0,0</PartyA><PartyB>${node}00000004,0,2,1,0,0,0,0,1,8,106,,4004,101,0</PartyB></Detail>`,
    );
    await waitFor(() => m.tracker.size === 2);
    s.dropAll();
    await waitFor(() => m.link.state !== 'up');
    // While the link is down, call 2 ends on the PBX.
    s.emitDelta3(`<CallLost>${node},${node}00000003,1,16</CallLost>`);
    s.emitDelta3(`<CallLost>${node},${node}00000004,0,16</CallLost>`);
    await waitFor(() => m.link.state === 'up');
    await waitFor(() => events.some((e) => e.type === 'call.ended'));
    const ended = events.filter((e) => e.type === 'call.ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]!.data).toMatchObject({ callId: 2, reason: 'resync' });
    expect(m.tracker.list().map((c) => c.callId)).toEqual([1]);
    expect(linkStates(events)).toEqual(['up', 'down', 'up']);
  });

  it('ReadFile: user list and NOT FOUND', async () => {
    const s = await sim();
    const o = { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!' };
    const users = parseUserList((await readFile(o, 'nasystem/user_list')).toString('utf8'));
    expect(users[0]).toMatchObject({ name: 'Alice', extension: '4001', fullName: 'Alice Able', userId: '1' });
    await expect(readFile(o, 'nasystem/nothing')).rejects.toMatchObject({
      code: 'DEVLINK3_READ_FILE_FAILED',
    });
    // A large user list needs the 3-octet frame length (> 0x7FFF octets).
    const many = Array.from({ length: 2000 }, (_, i) => ({
      name: `User${i}`,
      extension: String(10000 + i),
      fullName: `User Number ${i}`,
    }));
    const big = await sim({ users: many });
    const raw = await readFile({ ...o, port: big.port }, 'nasystem/user_list');
    expect(raw.length).toBeGreaterThan(0x7fff);
    const list = parseUserList(raw.toString('utf8'));
    expect(list).toHaveLength(2000);
    expect(list[1999]).toMatchObject({ extension: '11999', fullName: 'User Number 1999', userId: '2000' });
  });
});

describe('scenarios end with the expected bus events', () => {
  for (const [name, scenario] of builtinScenarios()) {
    it(name, async () => {
      const s = await sim();
      const legacy = scenario.steps.some((st) => st.delta2 !== undefined);
      const kinds: string[] = [];
      const { m, events } = monitor({
        client: {
          host: '127.0.0.1',
          port: s.port,
          user: 'dl3',
          password: 'S3cret!',
          flags: legacy ? '-CD2 -SIPTrack' : '-CMExtn -SIPTrack',
        },
        onRecord: (r) => kinds.push(r.kind),
      });
      track(m);
      await waitFor(() => m.link.state === 'up');
      await sleep(200); // past the resync window
      await s.play(scenario, {}, { speed: 4 });
      if (legacy) {
        const want = scenario.steps.map((st) =>
          st.delta2 !== undefined ? 'delta2' : st.siptrack !== undefined ? 'siptrack' : 'delta3',
        );
        await waitFor(() => kinds.length >= want.length);
        expect(kinds).toEqual(want);
      }
      const want = scenario.expect ?? [];
      await waitFor(
        () => types(events).length >= want.length && m.tracker.size === 0,
        5000,
        `${name} events`,
      );
      expect(types(events)).toEqual(want);
      expect(s.liveCallCount).toBe(0);
    });
  }
});

describe("emergency calls (Kari's Law)", () => {
  it('over TLS too: the emergency scenario ends with the expected events', async () => {
    const s = await sim({ port: null, tlsPort: 0, tls: { key: cert.key, cert: cert.cert } });
    const { m, events } = monitor({
      client: {
        host: '127.0.0.1',
        port: s.tlsPort,
        tls: { ca: cert.cert },
        user: 'dl3',
        password: 'S3cret!',
      },
    });
    track(m);
    await waitFor(() => m.link.state === 'up');
    await sleep(200);
    const sc = builtinScenarios().get('emergency')!;
    await s.play(sc, {}, { speed: 4 });
    await waitFor(() => events.some((e) => e.type === 'call.ended'));
    expect(types(events)).toEqual(sc.expect);
  });

  it('emits call.emergency on the first Detail showing the emergency dial, with caller, name, CLI and location', async () => {
    const s = await sim();
    const { m, events } = monitor({
      client: { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!' },
    });
    track(m);
    await waitFor(() => m.link.state === 'up');
    const sc = builtinScenarios().get('emergency')!;
    await s.play(sc, { ext: '4005', name: 'Erin Evans', loc: '7' }, { speed: 4 });
    await waitFor(() => events.some((e) => e.type === 'call.ended'));
    const t = types(events);
    expect(t.indexOf('call.emergency')).toBeLessThan(t.indexOf('call.answered'));
    const e = events.find((x) => x.type === 'call.emergency')!.data;
    expect(e).toMatchObject({
      callerExtension: '4005',
      callerName: 'Erin Evans',
      cli: '4005',
      callbackNumber: '4005',
      emergencyLocationId: 7,
      dialled: '911',
      calledType: 119,
      test: false,
    });
    expect(e.record).toMatchObject({ type: 'Detail' });
    expect(String(e.raw)).toContain('<Detail>');
    expect(events.filter((x) => x.type === 'call.emergency')).toHaveLength(1);
  });
  it('marks configured test numbers (933) with test: true', async () => {
    const s = await sim();
    const { m, events } = monitor({
      client: { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!' },
    });
    track(m);
    await waitFor(() => m.link.state === 'up');
    await s.play(builtinScenarios().get('emergency')!, { number: '933' }, { speed: 4 });
    await waitFor(() => events.some((e) => e.type === 'call.emergency'));
    expect(events.find((x) => x.type === 'call.emergency')!.data).toMatchObject({
      test: true,
      dialled: '933',
      callerExtension: '4001',
    });
  });
});

describe('-CONN', () => {
  it('reports Delta3 only after the call first connected (live and in the snapshot)', async () => {
    const s = await sim();
    const node = s.nodeId;
    // A ringing call in progress before the client subscribes: not in a -CONN snapshot.
    s.emitDelta3(
      `<Detail><Call>${node},77</Call><PartyA>${node}00000077,1,19,1,2,0,0,0,1,8,106,,4001,0,0</PartyA></Detail>`,
    );
    const { m, events } = monitor({
      client: { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!', flags: '-CONN' },
    });
    track(m);
    await waitFor(() => m.link.state === 'up');
    await sleep(200);
    expect(m.tracker.size).toBe(0);
    await s.play(builtinScenarios().get('internal')!, {}, { speed: 4 });
    await waitFor(() => events.some((e) => e.type === 'call.ended'));
    expect(types(events)).toEqual(['call.started', 'call.answered', 'call.ended']);
  });
});

describe('fault injection', () => {
  it('split writes and 3-octet frames: the scenario still decodes', async () => {
    const s = await sim({ faults: { splitWrites: 7, largeFrames: true } });
    const { m, events } = monitor({
      client: { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!' },
    });
    track(m);
    await waitFor(() => m.link.state === 'up', 10000);
    s.setFaults({ splitWrites: 4096 });
    await s.play(builtinScenarios().get('internal')!, {}, { speed: 10 });
    await waitFor(() => events.some((e) => e.type === 'call.ended'), 10000);
    expect(types(events)).toEqual(['call.started', 'call.ringing', 'call.answered', 'call.ended']);
  });
  it('coalesced writes: many events in one chunk', async () => {
    const s = await sim({ faults: { coalesceMs: 30 } });
    const { m, events } = monitor({
      client: { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!' },
    });
    track(m);
    await waitFor(() => m.link.state === 'up');
    s.playSync(builtinScenarios().get('transfer')!);
    await waitFor(() => events.filter((e) => e.type === 'call.ended').length === 2);
    expect(types(events)).toEqual(builtinScenarios().get('transfer')!.expect);
  });
  it('a wrong frame length drops the link and the client reconnects', async () => {
    const s = await sim();
    const { m, events } = monitor({
      client: { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!' },
    });
    track(m);
    await waitFor(() => m.link.state === 'up');
    s.setFaults({ wrongLengthOnce: true });
    s.emitDelta3('<CallLost>c0a82a03,c0a82a0300000001,1,16</CallLost>');
    await waitFor(() => linkStates(events).join() === 'up,down,up');
    expect(events.find((e) => e.data.state === 'down')!.data.code).toBe('DEVLINK3_BAD_FRAME');
  });
  it('STREAM_INTEGRITY_LOST on a keepalive reconnects', async () => {
    const s = await sim({ faults: { streamErrorOnce: true } });
    const { m, events } = monitor({
      client: { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!', keepaliveMs: 50 },
    });
    track(m);
    await waitFor(() => linkStates(events).join() === 'up,down,up');
    expect(events.find((e) => e.data.state === 'down')!.data).toMatchObject({
      code: 'DEVLINK3_STREAM_ERROR',
    });
  });
  it('a slow PBX times the keepalive out and the client reconnects', async () => {
    const s = await sim();
    const { m, events } = monitor({
      client: {
        host: '127.0.0.1',
        port: s.port,
        user: 'dl3',
        password: 'S3cret!',
        keepaliveMs: 50,
        requestTimeoutMs: 100,
      },
    });
    track(m);
    await waitFor(() => m.link.state === 'up');
    s.setFaults({ slowMs: 400 });
    await waitFor(() => events.some((e) => e.data.state === 'down'));
    expect(events.find((e) => e.data.state === 'down')!.data).toMatchObject({ code: 'DEVLINK3_TIMEOUT' });
    s.setFaults({ slowMs: 0 });
    await waitFor(() => m.link.state === 'up');
  });
  it('a silent PBX is down within two keepalive intervals, whatever the request timeout', async () => {
    const s = await sim();
    const { m, events } = monitor({
      client: {
        host: '127.0.0.1',
        port: s.port,
        user: 'dl3',
        password: 'S3cret!',
        keepaliveMs: 100,
        requestTimeoutMs: 120_000,
      },
    });
    track(m);
    await waitFor(() => m.link.state === 'up');
    // The PBX stops answering but keeps the socket open: only the keepalive's own deadline can see it.
    s.setFaults({ slowMs: 60_000 });
    await waitFor(() => events.some((e) => e.data.state === 'down'));
    expect(events.find((e) => e.data.state === 'down')!.data).toMatchObject({ code: 'DEVLINK3_TIMEOUT' });
    s.setFaults({ slowMs: 0 });
  });
  it('a counter gap is detected', async () => {
    const s = await sim();
    const { m, events } = monitor({
      client: { host: '127.0.0.1', port: s.port, user: 'dl3', password: 'S3cret!' },
    });
    track(m);
    await waitFor(() => m.link.state === 'up');
    s.emitDelta3('<CallLost>c0a82a03,c0a82a0300000001,1,16</CallLost>');
    s.setFaults({ skipCounter: 3 });
    s.emitDelta3('<CallLost>c0a82a03,c0a82a0300000002,1,16</CallLost>');
    await waitFor(() => events.some((e) => e.type === 'pbx.gap'));
    expect(events.find((e) => e.type === 'pbx.gap')!.data).toMatchObject({ missing: 3 });
  });
  it('-CD2 -TEXT delivers Delta2 records as UTF-8; SIPTrack as UTF-16BE', async () => {
    const s = await sim();
    const recs: string[] = [];
    const { m } = monitor({
      client: {
        host: '127.0.0.1',
        port: s.port,
        user: 'dl3',
        password: 'S3cret!',
        flags: '-CD2 -TEXT -SIPTrack',
      },
      onRecord: (r) =>
        recs.push(
          r.kind === 'delta2'
            ? `d2:${r.record.type}`
            : r.kind === 'siptrack'
              ? `sip:${r.record.endId}`
              : r.kind,
        ),
    });
    track(m);
    await waitFor(() => m.link.state === 'up');
    s.emitStep({ delta2: 'CALL:S 1.2.3,4.5.6,2,2' });
    s.emitStep({ siptrack: 'START,c0a82a1f000003eb,17.1003.1,TRUNK,IN,abc' });
    s.emitStep({ delta3: '<CallLost>c0a82a03,c0a82a0300000001,1,16</CallLost>' });
    await waitFor(() => recs.length >= 2);
    await sleep(50);
    expect(recs).toEqual(['d2:S', 'sip:17.1003.1']);
  });
});
