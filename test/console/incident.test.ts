import { describe, expect, it } from 'vitest';
import {
  deliverySummary,
  incidentKind,
  incidentStatus,
  isAcknowledged,
  locationQuality,
  locationText,
  readinessOf,
} from '../../console/src/incident.js';

describe('incident status as the console shows it', () => {
  it('defect 9: the state "unacknowledged" (escalated, nobody answered) is NOT acknowledged', () => {
    // The old console matched /ack/i on the state, which "unacknowledged" contains.
    const escalated = { id: 'i1', state: 'unacknowledged', escalations: 2, acknowledgedAt: null };
    expect(isAcknowledged(escalated)).toBe(false);
    expect(incidentStatus(escalated)).toEqual({
      acknowledged: false,
      tone: 'bad',
      label: 'escalated ×2, NOT acknowledged',
    });
    expect(incidentStatus({ id: 'i2', state: 'unacknowledged', escalations: 1 }).label).toBe(
      'escalated, NOT acknowledged',
    );
    expect(incidentStatus({ id: 'i3', state: 'notifying', escalations: 0 })).toMatchObject({
      acknowledged: false,
      tone: 'bad',
      label: 'open, NOT acknowledged',
    });
    // Unknown or odd states are never taken for acknowledged.
    for (const state of ['UNACKNOWLEDGED', 'ack-pending', 'notifying', '', 'acknowledging'])
      expect(isAcknowledged({ id: 'x', state }), state).toBe(false);
  });

  it('acknowledged: by state, by time or by a recorded acknowledgement', () => {
    expect(incidentStatus({ id: 'a', state: 'acknowledged' })).toMatchObject({
      acknowledged: true,
      tone: 'ok',
    });
    expect(isAcknowledged({ id: 'b', state: 'unacknowledged', acknowledgedAt: '2026-12-02T03:00:00Z' })).toBe(
      true,
    );
    expect(isAcknowledged({ id: 'c', acknowledgements: [{ by: 'kim' }] })).toBe(true);
  });

  it('drills and 933 tests say so first; a real call says EMERGENCY', () => {
    expect(incidentKind({ id: 'd', drill: true, caller: { dialled: '911' } })).toEqual({
      title: 'DRILL: 911 call (not a real emergency)',
      exercise: 'drill',
    });
    expect(incidentKind({ id: 't', test: true, caller: { dialled: '933' } }).exercise).toBe('test');
    expect(incidentKind({ id: 'r', caller: { dialled: '9911' } })).toEqual({
      title: '9911 EMERGENCY CALL',
      exercise: null,
    });
  });

  it('location: building, floor, room first; numbers get their word, names stay', () => {
    expect(locationText({ building: 'HQ', floor: '2', room: '214', site: 'Campus', from: 'table' })).toBe(
      'HQ, floor 2, room 214, Campus',
    );
    expect(locationText({ building: 'HQ', floor: 'Mezzanine', room: 'Room 214' })).toBe(
      'HQ, Mezzanine, Room 214',
    );
    expect(locationText({ from: 'none' })).toBe('');
    expect(locationText(undefined)).toBe('');
    // Only the PBX's site: the desk must ask for the room.
    expect(locationQuality({ building: 'Main', description: 'PBX emergency location 1', from: 'pbx' })).toBe(
      'site',
    );
    expect(locationQuality({ building: 'HQ', room: '214', from: 'table' })).toBe('room');
    expect(locationQuality({ from: 'none' })).toBe('none');
  });

  it('delivery summary counts phones, not deliveries (an escalation re-sends to the same phones)', () => {
    const s = deliverySummary([
      { deviceId: 'a', state: 'displayed' },
      { deviceId: 'b', state: 'failed' },
      { deviceId: 'c', state: 'sending' },
      { deviceId: 'a', state: 'failed' },
      { deviceId: 'b', state: 'accepted' },
    ]);
    expect(s).toMatchObject({ total: 3, reached: 2, failed: 0, pending: 1 });
    expect(s.text).toBe('2 of 3 security phones alerted, 1 in progress');
    expect(deliverySummary([{ deviceId: 'a', state: 'failed' }])).toMatchObject({
      tone: 'bad',
      text: '0 of 1 security phone alerted, 1 FAILED',
    });
    expect(deliverySummary(undefined).text).toBe('no security phone alerted yet');
  });
});

describe('readiness from GET /api/emergency', () => {
  it('reads the new fields', () => {
    const r = readinessOf({
      ready: false,
      reasons: [
        { code: 'PBX_LINK_DOWN', message: 'link down', deviceId: 'ipo-1', since: '2026-12-02T03:00:00Z' },
      ],
      phones: [
        { deviceId: 'c1', name: 'Desk', group: 'security', reachable: false, error: 'ECONNREFUSED' },
        { deviceId: 'c2', name: 'Guard', group: 'security', reachable: null },
      ],
      links: [{ deviceId: 'ipo-1', name: 'IPO', up: false }],
      coverage: { missingLocation: ['4001', { extension: '4002' }], missingCallback: [] },
    });
    expect(r.ready).toBe(false);
    expect(r.reasons[0]).toEqual({
      code: 'PBX_LINK_DOWN',
      message: 'link down',
      deviceId: 'ipo-1',
      since: '2026-12-02T03:00:00Z',
    });
    expect(r.phones?.map((p) => p.reachable)).toEqual([false, null]);
    expect(r.phones?.[0]?.error).toBe('ECONNREFUSED');
    expect(r.links).toEqual([{ deviceId: 'ipo-1', name: 'IPO', up: false }]);
    expect(r.coverage).toEqual([{ label: 'missing location', extensions: ['4001', '4002'] }]);
  });

  it('tolerates an older hub (phones as a count, no ready) and junk without throwing', () => {
    const old = readinessOf({ active: true, phones: 4, group: 'security' });
    expect(old).toEqual({ ready: undefined, reasons: [], phones: null, links: [], coverage: [] });
    for (const junk of [null, undefined, 'x', 42, [], { ready: 'no', reasons: 'x', phones: [null, 3] }])
      expect(() => readinessOf(junk)).not.toThrow();
    expect(readinessOf({ phones: [null] }).phones).toEqual([
      { deviceId: '', name: '', group: '', reachable: null },
    ]);
  });
});
