import { describe, expect, it } from 'vitest';
import { isTimeZone, nextRun, parseCron, wallClock } from '../../src/core/cron.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
/** The next n runs after `from`. */
function runs(rule: string, tz: string, from: string, n: number): Array<string | null> {
  const r = parseCron(rule);
  const out: Array<string | null> = [];
  let t = at(from);
  for (let i = 0; i < n; i++) {
    const next = nextRun(r, tz, t);
    out.push(iso(next));
    if (next === null) break;
    t = next;
  }
  return out;
}

describe('cron matcher', () => {
  it('parses fields, ranges, steps, lists and names; rejects bad rules naming the field', () => {
    const r = parseCron('*/15 8-17 * jan-mar mon-fri');
    expect([...r.minutes]).toEqual([0, 15, 30, 45]);
    expect([...r.hours]).toEqual([8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect([...r.months]).toEqual([1, 2, 3]);
    expect([...r.weekdays]).toEqual([1, 2, 3, 4, 5]);
    expect([...parseCron('0 0 * * 7').weekdays]).toEqual([0]);
    expect([...parseCron('5,10-12 * * * *').minutes]).toEqual([5, 10, 11, 12]);
    expect([...parseCron('10/20 * * * *').minutes]).toEqual([10, 30, 50]);
    for (const [rule, msg] of [
      ['* * * *', 'needs 5 fields'],
      ['60 * * * *', 'minute: "60" is out of range 0-59'],
      ['* 24 * * *', 'hour: "24" is out of range'],
      ['* * 0 * *', 'day of month: "0" is out of range'],
      ['* * * 13 *', 'month'],
      ['* * * * 8', 'day of week'],
      ['*/0 * * * *', 'bad step'],
      ['5-1 * * * *', 'backwards'],
      ['x * * * *', 'is not a number'],
      ['1,,2 * * * *', 'not valid'],
    ] as const)
      expect(() => parseCron(rule), rule).toThrow(
        expect.objectContaining({ code: 'CRON_INVALID', message: expect.stringContaining(msg) }),
      );
  });

  it('school bells on weekdays in a time zone (local time, not UTC)', () => {
    // Wed 2 Dec 2026, 07:00 in Chicago (CST, UTC-6).
    expect(runs('0 8,15 * * mon-fri', 'America/Chicago', '2026-12-02T13:00:00Z', 5)).toEqual([
      '2026-12-02T14:00:00.000Z', // Wed 08:00 CST
      '2026-12-02T21:00:00.000Z', // Wed 15:00
      '2026-12-03T14:00:00.000Z', // Thu
      '2026-12-03T21:00:00.000Z',
      '2026-12-04T14:00:00.000Z', // Fri, then Monday
    ]);
    expect(runs('0 8 * * mon-fri', 'America/Chicago', '2026-12-04T15:00:00Z', 1)).toEqual([
      '2026-12-07T14:00:00.000Z',
    ]);
    // Strictly after: a run at exactly `after` is not returned again.
    expect(runs('0 8 * * *', 'Europe/Berlin', '2026-12-02T07:00:00Z', 1)).toEqual([
      '2026-12-03T07:00:00.000Z',
    ]);
  });

  it('daylight saving time: skipped local times do not run, repeated ones run once', () => {
    // US spring forward: Sun 8 Mar 2026, 02:00 -> 03:00 in New York. 02:30 does not exist that day.
    const spring = runs('30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', 2);
    expect(spring).toEqual(['2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z']);
    // After the change 08:00 is UTC-4.
    expect(runs('0 8 * * *', 'America/New_York', '2026-03-07T12:00:00Z', 2)).toEqual([
      '2026-03-07T13:00:00.000Z',
      '2026-03-08T12:00:00.000Z',
    ]);
    // US fall back: Sun 1 Nov 2026, 02:00 -> 01:00. 01:30 occurs twice: one run.
    expect(runs('30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', 2)).toEqual([
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
  });

  it('day of month and day of week: either, when both are restricted; impossible dates never run', () => {
    // The 1st of the month or any Monday (Vixie cron).
    expect(runs('0 9 1 * mon', 'UTC', '2026-11-27T00:00:00Z', 3)).toEqual([
      '2026-11-30T09:00:00.000Z', // Monday
      '2026-12-01T09:00:00.000Z', // the 1st
      '2026-12-07T09:00:00.000Z',
    ]);
    expect(runs('0 0 31 2 *', 'UTC', '2026-01-01T00:00:00Z', 1)).toEqual([null]);
    // Leap day: next 29 Feb is in 2028 (within the horizon when asked for).
    expect(iso(nextRun(parseCron('0 12 29 2 *'), 'UTC', at('2026-12-01T00:00:00Z'), 1200))).toBe(
      '2028-02-29T12:00:00.000Z',
    );
  });

  it('time zones: known names only; wall clock by Intl', () => {
    expect(isTimeZone('America/Chicago')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(wallClock(at('2026-12-02T01:42:00Z'), 'America/Chicago')).toEqual({
      year: 2026,
      month: 12,
      day: 1,
      hour: 19,
      minute: 42,
      weekday: 2,
    });
  });
});
