import { afterEach, describe, expect, it } from 'vitest';
import type { HubEvent } from '../../src/core/events.js';
import { findAction } from '../../src/core/spec.js';
import { ipofficeDriver } from '../../src/drivers/ipoffice/driver.js';
import { startDemoIpoffice } from '../../src/sim/ipoffice/demo.js';
import { builtinScenarios } from '../../src/sim/ipoffice/scenario.js';
import { Devlink3Simulator } from '../../src/sim/ipoffice/server.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { waitFor } from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function hubWithSim(): Promise<{ hub: TestHub; sim: Devlink3Simulator; events: HubEvent[] }> {
  const sim = await new Devlink3Simulator({ credentials: { dl3: 'pw' } }).start();
  cleanups.push(() => sim.stop());
  const hub = await startTestHub();
  cleanups.push(() => hub.close());
  const events: HubEvent[] = [];
  hub.hub.bus.subscribe((e) => events.push(e), { filter: { source: 'ipo-1' } });
  return { hub, sim, events };
}

describe('ipoffice driver and module', () => {
  it('every action of the spec is implemented', async () => {
    const d = ipofficeDriver();
    expect(d.spec.kind).toBe('ipoffice');
    for (const id of ['list_calls', 'list_users', 'link_status', 'read_file', 'reconnect'])
      expect(findAction(d.spec, id)).toBeDefined();
    const sim = await new Devlink3Simulator({ credentials: { u: 'p' } }).start();
    cleanups.push(() => sim.stop());
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    await hub.hub.devices.upsert({
      id: 'ipo-x',
      kind: 'ipoffice',
      address: `127.0.0.1:${sim.port}`,
      settings: { user: 'u', password: 'p', loadUsers: false },
    });
    await waitFor(() => hub.hub.actions.variables('ipo-x').link_state === 'up');
    for (const a of d.spec.actions) {
      const params = a.id === 'read_file' ? { filename: 'nasystem/user_list' } : {};
      const r = await hub.hub.actions.execute('ipo-x', a.id, params);
      expect(r.ok, a.id).toBe(true);
    }
  });

  it('a registered device connects, publishes bus events and serves live calls and users over the API', async () => {
    const { hub, sim, events } = await hubWithSim();
    const created = await hub.api('POST', '/api/devices', {
      id: 'ipo-1',
      kind: 'ipoffice',
      address: `127.0.0.1:${sim.port}`,
      settings: { user: 'dl3', password: 'pw', flags: ['-CMExtn'], resyncQuietMs: 50 },
    });
    expect(created.status).toBeLessThan(300);
    await waitFor(() => events.some((e) => e.type === 'pbx.link' && e.data.state === 'up'));
    const sc = builtinScenarios().get('internal')!;
    // Play up to the answered step, then look at the live calls.
    sim.playSync({ ...sc, steps: sc.steps.slice(0, 4) });
    await waitFor(() => events.some((e) => e.type === 'call.answered'));
    const calls = await hub.api<{ calls: Array<Record<string, unknown>> }>(
      'GET',
      '/api/ipoffice/ipo-1/calls',
    );
    expect(calls.status).toBe(200);
    expect(calls.body.calls).toHaveLength(1);
    expect(calls.body.calls[0]).toMatchObject({
      state: 'connected',
      direction: 'internal',
      from: '4001',
      to: '4002',
      fromName: 'Alice Able',
    });
    const users = await hub.api<{ users: Array<Record<string, unknown>> }>(
      'GET',
      '/api/ipoffice/ipo-1/users',
    );
    expect(users.status).toBe(200);
    expect(users.body.users[1]).toEqual({
      name: 'Bob',
      extension: '4002',
      fullName: 'Bob Baker',
      userId: '2',
    });
    const stored = await hub.api<{ events: HubEvent[] }>('GET', '/api/events?type=call.*&source=ipo-1');
    expect(stored.body.events.map((e) => e.type)).toContain('call.started');
    const notIpo = await hub.api('GET', '/api/ipoffice/nope/calls');
    expect(notIpo.status).toBe(404);
  });

  it('the demo starter registers a device and placeEmergencyCall raises call.emergency on the bus', async () => {
    const hub = await startTestHub();
    cleanups.push(() => hub.close());
    const events: HubEvent[] = [];
    hub.hub.bus.subscribe((e) => events.push(e), {
      filter: { types: ['call.emergency', 'pbx.link', 'cdr.record'] },
    });
    const demo = await startDemoIpoffice(hub.hub, { loopMs: 60_000, callsPerSecond: 0.001 });
    cleanups.push(() => demo.stop());
    await waitFor(() => events.some((e) => e.type === 'pbx.link' && e.data.state === 'up'));
    await demo.placeEmergencyCall('4003', { test: true, locationId: 12 });
    const e = events.find((x) => x.type === 'call.emergency')!;
    expect(e.source).toBe('ipo-demo');
    expect(e.data).toMatchObject({
      callerExtension: '4003',
      callerName: 'Carol Clark',
      test: true,
      emergencyLocationId: 12,
    });
    expect(e.data.pbx).toMatchObject({ deviceId: 'ipo-demo', location: { site: 'Demo HQ' } });
    // The demo's IP Office also sends SMDR: the call's record arrives, marked test, and raises nothing late.
    await waitFor(
      () => events.some((x) => x.type === 'cdr.record' && x.data.test === true),
      10_000,
      'its SMDR record',
    );
    expect(events.filter((x) => x.type === 'call.emergency')).toHaveLength(1);
  });
});

describe('CLI', () => {
  it('registers devlink tail|users and sim ipoffice with help text and examples', async () => {
    const { Command } = await import('commander');
    const { registerIpofficeCommands } = await import('../../src/cli/ipoffice.js');
    const program = new Command();
    registerIpofficeCommands(program);
    const devlink = program.commands.find((c) => c.name() === 'devlink')!;
    const sim = program.commands.find((c) => c.name() === 'sim')!;
    expect(devlink.commands.map((c) => c.name())).toEqual(['tail', 'users']);
    expect(sim.commands.map((c) => c.name())).toEqual(['ipoffice']);
    for (const c of [...devlink.commands, ...sim.commands]) {
      let help = '';
      c.configureOutput({
        writeOut: (s) => {
          help += s;
        },
      });
      c.outputHelp();
      expect(help).toContain('Examples:');
    }
  });
});
