import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { parseDelta3 } from '../../src/drivers/ipoffice/records.js';
import { CallTracker } from '../../src/drivers/ipoffice/tracker.js';
import { SEED_ANSWERED, SEED_HANG_UP, SEED_INCOMING_ISDN } from './fixtures/seed-records.js';

function setup(o: { emergencyNumbers?: string[]; testNumbers?: string[] } = {}) {
  const clock = new ManualClock();
  const events: Array<{ type: string; data: Record<string, unknown> }> = [];
  const t = new CallTracker({ emit: (type, data) => events.push({ type, data }), clock, ...o });
  const feed = (xml: string) => t.onDelta3(parseDelta3(xml), xml);
  return { clock, events, t, feed };
}
const N = 'c0a82a03';

describe('call tracker', () => {
  it('summarises the seed incoming ISDN call: inbound, CLI, hunt group, trunk, ringing targets', () => {
    const { events, feed, t } = setup();
    feed(SEED_INCOMING_ISDN);
    expect(events.map((e) => e.type)).toEqual(['call.started', 'call.ringing']);
    expect(events[0]!.data).toMatchObject({
      callKey: 'c0a82a03:3',
      direction: 'inbound',
      state: 'ringing',
      from: '01707123456',
      to: '200',
      huntGroup: '200',
      trunk: '5.23',
      extension: '4002',
      targets: ['4002', '4003', '4001'],
      emergency: false,
    });
    expect(events[1]!.data.ringing).toEqual(['4002', '4003', '4001']);
    expect(t.list()[0]).not.toHaveProperty('record');
  });

  it('answer, hang up: durations from the injected clock and who cleared', () => {
    const { events, feed, clock, t } = setup();
    feed(SEED_ANSWERED);
    expect(events.map((e) => e.type)).toEqual(['call.started', 'call.answered']);
    expect(events[1]!.data).toMatchObject({ answeredBy: '4001', state: 'connected', direction: 'inbound' });
    clock.advance(12_300);
    feed(SEED_HANG_UP);
    expect(events.at(-1)!.type).toBe('call.updated');
    expect(t.size).toBe(1);
    clock.advance(700);
    feed(`<LinkLost>${N},${N}0000232a,0,16,5,5.23</LinkLost>`);
    const ended = events.at(-1)!;
    expect(ended.type).toBe('call.ended');
    expect(ended.data).toMatchObject({
      reason: 'cleared',
      cause: 16,
      causeName: 'Normal',
      durationSeconds: 13,
      talkSeconds: 13,
      // the seed's answered PartyA has one field fewer, so position 22 (CLI) holds '100'
      clearedBy: { endId: `${N}0000232a`, number: '100', role: 'A', clearedInbound: false },
    });
    expect(t.size).toBe(0);
  });

  it('emits call.emergency once, on the first Detail with the emergency digits, before answer', () => {
    const { events, feed } = setup();
    const party = (state: number, dialled: string, ct = 0) =>
      `<PartyA>${N}00000001,1,${state},1,0,0,0,0,42,8,106,,4001,${ct},0,,${dialled},,,,,4001,0,5,"Alice Able",</PartyA>`;
    feed(`<Detail><Call>${N},7</Call>${party(7, '9')}</Detail>`);
    feed(`<Detail><Call>${N},7</Call>${party(7, '91')}</Detail>`);
    expect(events.some((e) => e.type === 'call.emergency')).toBe(false);
    feed(`<Detail><Call>${N},7</Call>${party(8, '911')}</Detail>`);
    feed(`<Detail><Call>${N},7</Call>${party(8, '911', 119)}</Detail>`);
    const em = events.filter((e) => e.type === 'call.emergency');
    expect(em).toHaveLength(1);
    expect(em[0]!.data).toMatchObject({
      callerExtension: '4001',
      callerName: 'Alice Able',
      cli: '4001',
      emergencyLocationId: 42,
      dialled: '911',
      detectedBy: 'dialled',
      test: false,
      emergency: true,
    });
  });

  it('called type 119 alone is an emergency; configured test numbers are marked test', () => {
    const a = setup();
    a.feed(
      `<Detail><Call>${N},1</Call><PartyA>${N}00000001,1,8,1,0,0,0,0,,8,106,,4002,119,0,,112,,,,,4002,0</PartyA></Detail>`,
    );
    expect(a.events.find((e) => e.type === 'call.emergency')!.data).toMatchObject({
      detectedBy: 'calledType',
      test: false,
      emergencyLocationId: undefined,
    });
    const b = setup({ emergencyNumbers: ['999'], testNumbers: ['933'] });
    b.feed(
      `<Detail><Call>${N},1</Call><PartyA>${N}00000001,1,8,1,0,0,0,0,3,8,106,,4002,0,0,,933,,,,,4002,0</PartyA></Detail>`,
    );
    b.feed(
      `<Detail><Call>${N},2</Call><PartyA>${N}00000002,1,8,1,0,0,0,0,3,8,106,,4003,0,0,,9-99,,,,,4003,0</PartyA></Detail>`,
    );
    b.feed(
      `<Detail><Call>${N},3</Call><PartyA>${N}00000003,1,8,1,0,0,0,0,3,8,106,,4004,0,0,,911,,,,,4004,0</PartyA></Detail>`,
    );
    expect(
      b.events.filter((e) => e.type === 'call.emergency').map((e) => [e.data.callerExtension, e.data.test]),
    ).toEqual([
      ['4002', true],
      ['4003', false],
    ]);
  });

  it('names callers from the user list when the record has no name', () => {
    const { events, feed, t } = setup();
    t.setUsers([{ name: 'Bob', extension: '4002', fullName: 'Bob Baker' }]);
    feed(
      `<Detail><Call>${N},1</Call><PartyA>${N}00000001,1,8,1,0,0,0,0,1,8,106,,4002,119,0,,911,,,,,4002,0</PartyA></Detail>`,
    );
    expect(events.find((e) => e.type === 'call.emergency')!.data.callerName).toBe('Bob Baker');
  });

  it('detects counter gaps and restarts counting after a resync', () => {
    const { events, t } = setup();
    expect(t.noteCounter('1.2.3.4', 10)).toBe(0);
    expect(t.noteCounter('1.2.3.4', 11)).toBe(0);
    expect(t.noteCounter('1.2.3.4', 15)).toBe(3);
    expect(t.noteCounter('5.6.7.8', 1)).toBe(0);
    expect(t.noteCounter('1.2.3.4', 3)).toBe(0); // backwards: a restart, not a gap
    expect(t.noteCounter('1.2.3.4', 0xffffffff)).toBe(0); // backwards again
    expect(t.noteCounter('1.2.3.4', 0)).toBe(0); // wrap
    t.beginResync();
    expect(t.noteCounter('1.2.3.4', 500)).toBe(0);
    expect(events.filter((e) => e.type === 'pbx.gap')[0]!.data).toMatchObject({
      pbxIp: '1.2.3.4',
      expected: 12,
      received: 15,
      missing: 3,
    });
  });

  it('resync ends only the calls the PBX did not re-announce', () => {
    const { events, feed, t } = setup();
    feed(`<Detail><Call>${N},1</Call><PartyA>${N}00000001,1,2,1,0,0,0,0,1,8,106,,4001,0,0</PartyA></Detail>`);
    feed(`<Detail><Call>${N},2</Call><PartyA>${N}00000002,1,2,1,0,0,0,0,1,8,106,,4002,0,0</PartyA></Detail>`);
    t.beginResync();
    feed(`<Detail><Call>${N},2</Call><PartyA>${N}00000002,1,2,1,0,0,0,0,1,8,106,,4002,0,0</PartyA></Detail>`);
    expect(t.endResync()).toBe(1);
    expect(events.filter((e) => e.type === 'call.ended').map((e) => [e.data.callId, e.data.reason])).toEqual([
      [1, 'resync'],
    ]);
    expect(t.endResync()).toBe(0);
  });
});

describe('the B party when voicemail or a conference answers (issue 14 item 11)', () => {
  // PartyB CLI is the *calling* party (seed 004 §6.7.3): it must never be reported as the destination.
  const cli = '01707444333';
  const vmCall = (state: number) =>
    `<Detail><Call>${N},21,,,,0,,,4002,,4002,1,0,0,1700000000,0,,0</Call>` +
    `<PartyA>${N}0000a001,1,${state},1,0,0,1,0,0,5,0,sip-21@127.0.0.1,,0,0,4002,,,,,,${cli},0,9,"",</PartyA>` +
    `<PartyB>${N}0000a002,0,2,1,0,0,0,0,0,12,0,VM 1,,102,0,,,,,,4002,${cli},0,12,"Voicemail",</PartyB></Detail>`;

  it('voicemail: to/answeredBy name the mailbox (Purpose), not the caller', () => {
    const { events, feed } = setup();
    feed(vmCall(2));
    const answered = events.find((e) => e.type === 'call.answered')!.data;
    expect(answered).toMatchObject({ from: cli, to: '4002', toName: 'Voicemail', answeredBy: '4002' });
    expect(answered.answeredByName).toBe('Voicemail');
  });

  it('conference: the destination is the conference, never the joining user', () => {
    const { events, feed } = setup();
    feed(
      `<Detail><Call>${N},22,,,,0,,,,,,0,0,0,1700000000,0,,0</Call>` +
        `<PartyA>${N}0000b001,1,2,1,0,0,0,0,1,8,106,,4001,116,0,,,,,,,4001,0,5,"Alice Able",</PartyA>` +
        `<PartyB>${N}0000b002,0,2,1,0,0,0,0,0,17,0,join conf 1 host,,116,0,,,,,,,4001,0,8,"Conference 1",</PartyB></Detail>`,
    );
    const d = events.find((e) => e.type === 'call.answered')!.data;
    expect(d.from).toBe('4001');
    expect(d.to).not.toBe('4001');
    expect(d.answeredBy).not.toBe('4001');
    expect(d.toName).toBe('Conference 1');
  });

  it('a B-party handset still reports its extension, and an inbound trunk B party its CLI', () => {
    const { events, feed } = setup();
    feed(
      `<Detail><Call>${N},23</Call>` +
        `<PartyA>${N}0000c001,1,2,1,0,0,0,0,1,8,106,,4001,0,0,,4002,,,,,4001,0,5,"Alice Able",</PartyA>` +
        `<PartyB>${N}0000c002,0,2,1,0,0,0,0,0,8,106,,4002,0,0,,,,,,,4001,0,5,"Alice Able",</PartyB></Detail>`,
    );
    const d = events.find((e) => e.type === 'call.answered')!.data;
    expect(d).toMatchObject({ to: '4002', answeredBy: '4002' });
    expect(d.answeredByName).not.toBe('Alice Able');
  });
});
