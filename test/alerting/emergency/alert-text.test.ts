import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  alertContext,
  alertHeadline,
  callbackDial,
  callbackText,
  compactAlert,
  coverageReport,
  isValidTimeZone,
  localTime,
  locationText,
  markFirstLine,
  resolveCallback,
  resolveTimeZone,
} from '../../../src/alerting/emergency/alert-text.js';
import type { Incident } from '../../../src/alerting/emergency/types.js';

const incident = (o: Partial<Incident> = {}, caller: Partial<Incident['caller']> = {}): Incident => ({
  id: 'inc_1',
  createdAt: '2026-12-02T01:42:44.000Z',
  detectLagMs: 0,
  callKey: 'k',
  test: false,
  pbx: 'ipo-1',
  caller: {
    extension: '4001',
    name: 'Alice Able',
    callbackNumber: '+15550104001',
    dialled: '911',
    detectedBy: 'calledType',
    ...caller,
  },
  location: { building: 'Main', floor: '1', from: 'pbx', description: 'PBX emergency location 3' },
  state: 'notifying',
  broadcasts: [],
  notifiedGroups: ['security'],
  escalations: 0,
  acknowledgedAt: null,
  acknowledgedBy: null,
  callEndedAt: null,
  timeline: [{ at: '2026-12-02T01:42:44.000Z', type: 'call.emergency', detail: {} }],
  ...o,
});

describe('local time with the zone abbreviation', () => {
  it('Eastern and Central, winter and summer (DST), UTC; the stored instant is unchanged', () => {
    expect(localTime('2026-12-02T01:42:44Z', 'America/New_York')).toBe('2026-12-01 20:42:44 EST');
    expect(localTime('2026-07-02T01:42:44Z', 'America/New_York')).toBe('2026-07-01 21:42:44 EDT');
    expect(localTime('2026-12-02T01:42:44Z', 'America/Chicago')).toBe('2026-12-01 19:42:44 CST');
    expect(localTime('2026-12-02T01:42:44Z', 'UTC')).toBe('2026-12-02 01:42:44 UTC');
    // Across the autumn change: 01:30 EDT and 01:30 EST are an hour apart and say which is which.
    expect(localTime('2026-11-01T05:30:00Z', 'America/New_York')).toBe('2026-11-01 01:30:00 EDT');
    expect(localTime('2026-11-01T06:30:00Z', 'America/New_York')).toBe('2026-11-01 01:30:00 EST');
  });
  it('an unknown zone or a bad time never throws (falls back to UTC / the input)', () => {
    expect(localTime('2026-12-02T01:42:44Z', 'Mars/Olympus')).toBe('2026-12-02 01:42:44 UTC');
    expect(localTime('not a time', 'America/New_York')).toBe('not a time');
    expect(isValidTimeZone('America/New_York')).toBe(true);
    expect(isValidTimeZone('America/New York')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.integer({ min: 0, max: 4102444800000 }), (tz, t) => {
        expect(typeof localTime(t, tz)).toBe('string');
      }),
      { numRuns: 300 },
    );
  });
  it('zone: the location row wins over the configured zone; nothing configured = the hub zone', () => {
    expect(resolveTimeZone({ timeZone: 'America/Chicago' }, 'America/New_York')).toBe('America/Chicago');
    expect(resolveTimeZone({ timeZone: 'Bogus/Zone' }, 'America/New_York')).toBe('America/New_York');
    expect(resolveTimeZone(undefined, '')).toBe(new Intl.DateTimeFormat().resolvedOptions().timeZone);
  });
});

describe('callback number', () => {
  it('table, then a PBX number longer than the extension, then the site number, else the extension', () => {
    expect(resolveCallback({ extension: '4001', tableCallback: '+15550104001', pbxNumber: '4001' })).toEqual({
      number: '+15550104001',
      source: 'table',
    });
    expect(resolveCallback({ extension: '4001', pbxNumber: '01707123456', siteNumber: '+15550100' })).toEqual(
      {
        number: '01707123456',
        source: 'pbx',
      },
    );
    expect(resolveCallback({ extension: '4001', pbxNumber: '4001', siteNumber: '+1 555 0100' })).toEqual({
      number: '+1 555 0100',
      source: 'site',
    });
    expect(resolveCallback({ extension: '4001', pbxNumber: '94001' })).toEqual({
      number: '4001',
      source: 'extension',
    });
  });
  it('shows the external number and the extension when they differ, and says when there is none', () => {
    expect(callbackText('4001', '+15550104001')).toBe('+15550104001 (ext 4001)');
    expect(callbackText('4001', '4001')).toBe('ext 4001 (no external number on file)');
  });
  it('the Call back key dials the extension, or the external number with the outside prefix', () => {
    const c = { extension: '4001', callbackNumber: '+1 (555) 010-4001' };
    expect(callbackDial(c, { dial: 'extension', prefix: '' })).toBe('4001');
    expect(callbackDial(c, { dial: 'external', prefix: '9' })).toBe('915550104001');
    expect(callbackDial({ extension: 'x', callbackNumber: '' }, { dial: 'extension', prefix: '' })).toBe('');
  });
});

describe('location: what is known, never a placeholder', () => {
  it('names the missing parts; keeps values that name their kind', () => {
    expect(locationText({ building: 'Main', floor: '1' })).toBe('Main building, floor 1, room unknown');
    expect(locationText({ site: 'HQ', building: 'Main', floor: '1', room: '101' })).toBe(
      'HQ: Main building, floor 1, room 101',
    );
    expect(locationText({ building: 'North Tower', floor: 'Level 2', room: 'Security office' })).toBe(
      'North Tower, Level 2, Security office',
    );
    expect(locationText({})).toBe('Location unknown');
    expect(locationText({ site: 'Plant 7' })).toBe('Plant 7: building, floor and room unknown');
    // No "?" placeholder of our own: values are any strings but a "?" an operator typed (shown as typed).
    const value = fc.string().filter((v) => !/(^|[ /,])\?($|[ /,])/.test(v));
    fc.assert(
      fc.property(fc.record({ building: value, floor: value, room: value, site: value }), (l) => {
        expect(locationText(l)).not.toMatch(/(^|[ /,])\?($|[ /,])/);
      }),
    );
  });
  it('compact form for 20-column displays', () => {
    expect(compactAlert(incident())).toEqual({
      text: 'Main fl 1 no room\nAlice Able x4001',
      prompt: 'CB +15550104001',
    });
  });
});

describe('first line: test calls and drills say so', () => {
  it('headline and a marker in front of an edited template title', () => {
    expect(alertHeadline(incident())).toBe('911 CALL');
    expect(alertHeadline(incident({ test: true }, { dialled: '933' }))).toBe(
      'TEST CALL 933 - NOT AN EMERGENCY',
    );
    expect(alertHeadline(incident({ drill: true }))).toBe('DRILL - 911 CALL');
    expect(alertHeadline(incident({}, { detectedBy: 'drill' }))).toBe('DRILL - 911 CALL');
    expect(markFirstLine('Emergency!', incident({ test: true }))).toBe('TEST - Emergency!');
    expect(markFirstLine('TEST CALL 933', incident({ test: true }))).toBe('TEST CALL 933');
    expect(markFirstLine('Emergency!', incident())).toBe('Emergency!');
  });
  it('the template context: local time, ready-made lines, the PBX note', () => {
    const c = alertContext(incident({ timeZone: 'America/New_York' })) as { alert: Record<string, string> };
    expect(c.alert).toMatchObject({
      headline: '911 CALL',
      caller: 'Alice Able, ext 4001',
      callback: '+15550104001 (ext 4001)',
      location: 'Main building, floor 1, room unknown',
      note: 'PBX emergency location 3',
      time: '2026-12-01 20:42:44 EST',
      timeUtc: '2026-12-02 01:42:44 UTC',
    });
  });
});

describe('coverage report', () => {
  it('lists extensions with incomplete locations or no callback, from the table and the phones', () => {
    const r = coverageReport({
      rows: [
        {
          extension: '201',
          building: 'HQ',
          floor: '2',
          room: '214',
          callback: '+15550100201',
          updatedAt: '',
        },
        { extension: '202', building: 'HQ', floor: '2', updatedAt: '' },
        { extension: '203', building: 'HQ', floor: '2', room: '1', timeZone: 'Nope/Zone', updatedAt: '' },
      ],
      deviceExtensions: ['301', '201'],
      locate: (ext) =>
        ext === '201'
          ? { building: 'HQ', floor: '2', room: '214' }
          : ext === '202'
            ? { building: 'HQ', floor: '2' }
            : ext === '203'
              ? { building: 'HQ', floor: '2', room: '1' }
              : {},
      siteNumber: '',
    });
    expect(r).toEqual({
      extensions: 4,
      missingLocation: [
        { extension: '202', missing: ['room'] },
        { extension: '301', missing: ['building', 'floor', 'room'] },
      ],
      missingCallback: ['202', '203', '301'],
      badTimeZone: ['203'],
    });
  });
});
