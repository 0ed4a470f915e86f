import { afterAll, describe, expect, it } from 'vitest';
import { parseSimVars } from '../../src/cli/ipoffice-sim.js';
import { callScenario } from '../../src/sim/ipoffice/control.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { type SpawnedHub, spawnSwitchboard } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 17: `sim ipoffice` played its scenarios before any client connected; now they start when a
 * DevLink3 client subscribes, take `--var`, and `sim ipoffice call --from 201 --to 911` places a call on
 * demand through the simulator's control port. Real processes, a real hub.
 */

type Incident = { id: string; caller: { extension: string }; test: boolean };
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('pure helpers', () => {
  it('callScenario picks the emergency scenario for emergency and test numbers, else an internal call', () => {
    expect(callScenario({ from: '201', to: '911' })).toMatchObject({
      scenario: { name: 'emergency' },
      vars: { ext: '201', number: '911', name: 'Extension 201' },
    });
    expect(callScenario({ from: '201', to: '933', name: 'A "B" <c>' }).vars.name).toBe('A B c');
    expect(callScenario({ from: '4001', to: '4002' })).toMatchObject({
      scenario: { name: 'internal' },
      vars: { a: '4001', b: '4002' },
    });
    expect(() => callScenario({ from: 'x; rm', to: '911' })).toThrow('from:');
    expect(() => callScenario({ from: '201', to: '' })).toThrow('to:');
  });

  it('parseSimVars takes name=value and refuses anything else', () => {
    expect(parseSimVars(['ext=201', 'number=933', 'name=A=B'])).toEqual({
      ext: '201',
      number: '933',
      name: 'A=B',
    });
    expect(() => parseSimVars(['=1'])).toThrow('--var expects name=value');
    expect(() => parseSimVars(['a.b=1'])).toThrow('--var expects name=value');
  });
});

describe('switchboard sim ipoffice (real processes)', () => {
  it('waits for a subscriber, plays with --var, and places calls on demand', async () => {
    const sim: SpawnedHub = spawnSwitchboard([
      'sim',
      'ipoffice',
      '--port',
      '0',
      '--control-port',
      '0',
      '--user',
      'u',
      '--password',
      'p',
      '--scenario',
      'emergency',
      '--var',
      'ext=201',
      '--var',
      'number=933',
    ]);
    cleanups.push(async () => {
      sim.proc.kill('SIGTERM');
      await sim.exited;
    });
    const port = Number((await sim.waitFor(/IP Office simulator on 127\.0\.0\.1:(\d+)/, 60_000))[1]);
    const control = (await sim.waitFor(/control port (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    await sim.waitFor(/scenarios start when a DevLink3 client subscribes/);

    const hub: TestHub = await startTestHub();
    cleanups.push(() => hub.close());
    const incidents = async () =>
      (await hub.api<{ incidents: Incident[] }>('GET', '/api/incidents')).body.incidents;

    // Nothing is played before a client subscribes: a call placed now is refused, not lost.
    const placeCall = () =>
      spawnSwitchboard(['sim', 'ipoffice', 'call', '--from', '202', '--to', '911', '--control', control]);
    const early = placeCall();
    expect(await early.exited).toBe(1);
    expect(early.stderr.join('\n')).toContain('no DevLink3 client is subscribed yet');
    expect(sim.stdout.join('\n')).not.toContain('client subscribed');

    await hub.api('POST', '/api/devices', {
      id: 'ipo-sim',
      kind: 'ipoffice',
      address: `127.0.0.1:${port}`,
      settings: { user: 'u', password: 'p' },
    });
    await sim.waitFor(/client subscribed: playing scenarios/, 30_000);
    // The scenario ran with --var: extension 201 dialled 933 (a test call).
    await waitFor(async () => (await incidents()).some((i) => i.caller.extension === '201'), 30_000);
    expect((await incidents()).find((i) => i.caller.extension === '201')?.test).toBe(true);

    const call = placeCall();
    expect(await call.exited, call.stderr.join('\n')).toBe(0);
    expect(call.stdout.join('\n')).toContain('placed: 202 → 911 (scenario emergency)');
    await waitFor(async () => (await incidents()).some((i) => i.caller.extension === '202'), 30_000);
    expect((await incidents()).find((i) => i.caller.extension === '202')?.test).toBe(false);
  }, 180_000);
});
