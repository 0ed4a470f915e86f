import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CiscoSimFleet, startCiscoSim } from '../../../src/sim/cisco/fleet.js';
import { builtinScenarios } from '../../../src/sim/ipoffice/scenario.js';
import { Devlink3Simulator } from '../../../src/sim/ipoffice/server.js';
import { type Json, LifeSafetyHub, until } from './harness.js';

/**
 * Defect 1: IP Office numbers calls from 1000 again after a restart, so a 911 call after a PBX restart has
 * the CallID (and callKey) of an earlier call. It must open its own incident, never be dropped as a duplicate.
 */
describe('life safety: a reused CallID is a new incident (real process, DevLink3 simulator)', () => {
  const password = randomBytes(9).toString('base64url');
  const hub = new LifeSafetyHub(['emergency: { group: security, escalateAfterSeconds: 0 }']);
  let pbx: Devlink3Simulator;
  let cisco: CiscoSimFleet;
  const emergency = builtinScenarios().get('emergency')!;
  const newPbx = (port = 0) =>
    new Devlink3Simulator({ host: '127.0.0.1', port, credentials: { switchboard: password } }).start();
  const linkUps = async () =>
    (await hub.events('pbx.link')).filter((e) => (e.data as Json).state === 'up').length;

  beforeAll(async () => {
    pbx = await newPbx();
    cisco = await startCiscoSim({ phones: 1, model: '8845', username: 'push', password: 'push-secret' });
    await hub.start();
    const p = cisco.phones[0]!;
    const r = await hub.api('POST', '/api/devices', {
      id: 'desk-1',
      kind: 'cisco',
      address: p.address,
      groups: ['security'],
      settings: { model: '8845', username: 'push', password: 'push-secret', deviceName: p.deviceName },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    await hub.addIpOffice('ipo-1', pbx.port, password);
    await until('the DevLink3 link', async () => (await linkUps()) >= 1);
  }, 120_000);

  afterAll(async () => {
    await hub.close();
    await cisco?.stop();
    await pbx?.stop();
  });

  it('a 911 call after a PBX restart (CallID reused, first call ended) opens a second incident', async () => {
    await pbx.play(emergency, { ext: '4001', name: 'Alice Able', number: '911' });
    const first = await until('the first incident, call ended', async () => {
      const i = (await hub.incidents())[0];
      return i?.callEndedAt ? i : undefined;
    });
    // The PBX restarts: same address, same node, call numbering starts again.
    const port = pbx.port;
    await pbx.stop();
    pbx = await newPbx(port);
    await until('the link to come back', async () => (await linkUps()) >= 2);
    await pbx.play(emergency, { ext: '4002', name: 'Bob Baker', number: '911' });
    const list = await until('a second incident', async () => {
      const l = await hub.incidents();
      return l.length >= 2 ? l : undefined;
    });
    expect(list[0]!.callKey).toBe(first.callKey);
    expect(list[0]!.id).not.toBe(first.id);
    expect(list[0]!.caller).toMatchObject({ extension: '4002', name: 'Bob Baker' });
    expect(list[1]!.caller).toMatchObject({ extension: '4001' });
    // One call.emergency per call, one incident each.
    expect((await hub.events('call.emergency')).length).toBe(2);
    // Defect 8: no PubSub account exists, so nothing is published, and that is not a failure.
    const tl = ((await hub.incident(String(first.id))).incident.timeline as Json[]).map((t) => t.type);
    expect(tl).not.toContain('publish.failed');
    expect(tl).toContain('publish.skipped');
  }, 120_000);

  it('a PBX restart in the middle of a 911 call ends it; the next call with that CallID is a new incident', async () => {
    const before = (await hub.incidents()).length;
    // A freshly restarted PBX: its first call gets the first CallID again.
    const port0 = pbx.port;
    const ups0 = await linkUps();
    await pbx.stop();
    pbx = await newPbx(port0);
    await until('the link to come back', async () => (await linkUps()) > ups0);
    // Only the first three records: the caller dialled 911 and the PSAP answered; no CallLost.
    await pbx.play(
      { ...emergency, steps: emergency.steps.slice(0, 3) },
      { ext: '4003', name: 'Carol Clark' },
    );
    const open = await until('the third incident', async () => {
      const l = await hub.incidents();
      return l.length === before + 1 ? l[0] : undefined;
    });
    expect(open.callEndedAt).toBeNull();
    const ups = await linkUps();
    const port = pbx.port;
    await pbx.stop();
    pbx = await newPbx(port);
    await until('the link to come back', async () => (await linkUps()) > ups);
    // The restarted PBX does not re-announce the call: it is over.
    await until('the open incident to be marked ended', async () =>
      (await hub.incident(String(open.id))).incident.callEndedAt ? true : undefined,
    );
    await pbx.play(emergency, { ext: '4004', name: 'Dan Dunn', number: '911' });
    const l = await until('the fourth incident', async () => {
      const x = await hub.incidents();
      return x.length === before + 2 ? x : undefined;
    });
    expect(l[0]!.callKey).toBe(open.callKey);
    expect(l[0]!.caller).toMatchObject({ extension: '4004' });
  }, 120_000);
});
