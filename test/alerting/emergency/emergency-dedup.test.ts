import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { testphoneDriver } from '../../helpers/testphone-driver.js';
import { until } from '../../helpers/wait.js';

type Json = Record<string, unknown>;

/**
 * Which `call.emergency` events are the same call (attach) and which are a new incident: live DevLink3
 * events by callKey only while that call is live; late SMDR events (`via: 'smdr'`, `late: true`, sent after
 * the call, only when DevLink3 did not report it) attach to that call's incident or open a late one.
 */
describe('911 incidents: one per call, never a dropped call', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({
      drivers: [testphoneDriver()],
      config: { 'emergency.escalateAfterSeconds': 0, 'emergency.probeIntervalSeconds': 0 },
    });
    await hub.api('POST', '/api/devices', {
      id: 'desk',
      kind: 'testphone',
      address: '127.0.0.1:1',
      groups: ['security'],
    });
  });
  afterAll(async () => hub?.close());

  const incidents = async () =>
    (await hub.api<{ incidents: Json[] }>('GET', '/api/incidents?limit=100')).body.incidents;
  const emit = (source: string, data: Json) =>
    hub.hub.bus.emit({ source, type: 'call.emergency', data: { dialled: '911', ...data } });
  const count = async (n: number) => until(`${n} incidents`, async () => (await incidents()).length === n);

  it('a repeated event of a live call attaches; after the call ended the same callKey is a new incident', async () => {
    emit('ipo-1', { callKey: 'n1:1000', callerExtension: '201' });
    await count(1);
    emit('ipo-1', { callKey: 'n1:1000', callerExtension: '201' });
    // A different caller with the same key is not the same call (a reused CallID the hub missed the end of).
    emit('ipo-1', { callKey: 'n1:1000', callerExtension: '299' });
    await count(2);
    // Another PBX with the same node id and CallID: another call.
    emit('ipo-2', { callKey: 'n1:1000', callerExtension: '201' });
    await count(3);
    hub.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.ended',
      data: { callKey: 'n1:1000', reason: 'cleared' },
    });
    hub.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.ended',
      data: { callKey: 'n1:1000', reason: 'cleared' },
    });
    emit('ipo-1', { callKey: 'n1:1000', callerExtension: '201' });
    await count(4);
    const l = await incidents();
    const first = l.find((i) => (i.caller as Json).extension === '201' && i.pbx === 'ipo-1' && i.callEndedAt);
    expect(first).toBeDefined();
    const tl = (await hub.api<{ incident: Json }>('GET', `/api/incidents/${first!.id}`)).body.incident
      .timeline as Json[];
    expect(tl.filter((t) => t.type === 'call.emergency.again')).toHaveLength(1);
  });

  it('a late SMDR event attaches to the incident of the call DevLink3 reported, else opens a late incident', async () => {
    const before = (await incidents()).length;
    emit('ipo-1', { callKey: 'n1:2000', callerExtension: '301' });
    await count(before + 1);
    const live = (await incidents())[0]!;
    emit('smdr-1', {
      callKey: 'smdr:smdr-1:77',
      via: 'smdr',
      late: true,
      callerExtension: '301',
      startedAt: live.createdAt,
    });
    // An SMDR-only 911 from another phone: a new incident, marked late (the call is over).
    emit('smdr-1', {
      callKey: 'smdr:smdr-1:78',
      via: 'smdr',
      late: true,
      callerExtension: '302',
      startedAt: new Date().toISOString(),
    });
    await count(before + 2);
    // The same SMDR event again (a replayed record): attaches, no third incident.
    emit('smdr-1', { callKey: 'smdr:smdr-1:78', via: 'smdr', late: true, callerExtension: '302' });
    const late = await until('the late incident', async () =>
      (await incidents()).find((i) => (i.caller as Json).extension === '302'),
    );
    expect(late).toMatchObject({ late: true });
    expect(late.callEndedAt).not.toBeNull();
    const tl = async (id: unknown) =>
      (
        (await hub.api<{ incident: Json }>('GET', `/api/incidents/${id}`)).body.incident.timeline as Json[]
      ).map((t) => t.type);
    await until('the replay to attach', async () => (await tl(late.id)).includes('call.emergency.again'));
    expect(await tl(live.id)).toContain('call.emergency.again');
    expect((await incidents()).length).toBe(before + 2);
    // An SMDR event for an earlier 911 call of the same phone (long before): not that incident.
    emit('smdr-1', {
      callKey: 'smdr:smdr-1:79',
      via: 'smdr',
      late: true,
      callerExtension: '301',
      startedAt: new Date(Date.parse(String(live.createdAt)) + 3_600_000).toISOString(),
    });
    await count(before + 3);
  });
});
