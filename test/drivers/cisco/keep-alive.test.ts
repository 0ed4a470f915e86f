import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCiscoSim } from '../../../src/sim/cisco/fleet.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

/**
 * settings.keepAlive (opt-in): the pushes to one phone share one connection; without it (the default, as
 * the Cisco references describe) every push opens its own. A phone that closes the idle connection is
 * reached again on a new one.
 */
type Fleet = Awaited<ReturnType<typeof startCiscoSim>>;
let t: TestHub;
let phones: Fleet;
/** Phones whose firmware keeps connections alive when asked (the simulator's keepAlive option). */
let kaPhones: Fleet;

beforeAll(async () => {
  t = await startTestHub();
  phones = await startCiscoSim({ phones: 1, model: '8845', username: 'push', password: 'pw' });
  kaPhones = await startCiscoSim({
    phones: 2,
    model: '8845',
    username: 'push',
    password: 'pw',
    keepAlive: true,
  });
});

afterAll(async () => {
  await phones?.stop();
  await kaPhones?.stop();
  await t?.close();
});

type Counters = { execute: number; executeOk: number; connections: number };
const counters = (f: Fleet, i: number) => (f.phones[i]!.state() as { counters: Counters }).counters;

async function add(id: string, f: Fleet, i: number, settings: Record<string, unknown>) {
  const p = f.phones[i]!;
  const r = await t.api('POST', '/api/devices', {
    id,
    kind: 'cisco',
    address: p.address,
    settings: { username: 'push', password: 'pw', deviceName: p.deviceName, ...settings },
  });
  expect(r.status).toBe(201);
}

async function pushes(id: string, n: number): Promise<void> {
  for (let k = 0; k < n; k++) {
    const r = await t.api<{ ok?: boolean }>('POST', `/api/devices/${id}/actions/key_services`, {});
    expect(r.body.ok).toBe(true);
  }
}

describe('Cisco keep-alive (settings.keepAlive)', () => {
  it('off (default): one connection per push, even to a phone that would keep it open', async () => {
    await add('ka-off', kaPhones, 0, {});
    const before = counters(kaPhones, 0).connections;
    await pushes('ka-off', 3);
    expect(counters(kaPhones, 0).connections - before).toBe(3);
  });

  it('on: back-to-back pushes share one connection; after the idle time a new one is opened', async () => {
    await add('ka-on', kaPhones, 1, { keepAlive: true, keepAliveIdleMs: 300 });
    const c = () => counters(kaPhones, 1);
    const before = c().connections;
    const okBefore = c().executeOk;
    await pushes('ka-on', 3);
    expect(c().connections - before).toBe(1);
    // Idle longer than keepAliveIdleMs: the hub closed its side; the next push opens a new connection.
    await new Promise((r) => setTimeout(r, 600));
    await pushes('ka-on', 2);
    expect(c().connections - before).toBe(2);
    expect(c().executeOk - okBefore).toBe(5);
  });

  it('on, to a phone that closes after each answer: every push still goes out (on a new connection)', async () => {
    await add('ka-closing', phones, 0, { keepAlive: true });
    const before = { ...counters(phones, 0) };
    await pushes('ka-closing', 3);
    expect(counters(phones, 0).connections - before.connections).toBe(3);
    expect(counters(phones, 0).executeOk - before.executeOk).toBe(3);
  });

  it('refuses a keepAliveIdleMs out of range', async () => {
    const p = kaPhones.phones[0]!;
    const r = await t.api('POST', '/api/devices', {
      id: 'ka-bad',
      kind: 'cisco',
      address: p.address,
      settings: { keepAlive: true, keepAliveIdleMs: 10 },
    });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toMatch(/keepAliveIdleMs/);
  });
});
