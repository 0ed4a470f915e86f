import { describe, expect, it } from 'vitest';
import { AttemptLimiter, reserveAll, SlowDown } from '../../src/core/limiter.js';

describe('AttemptLimiter', () => {
  it('reserves before the check: the (max+1)th attempt is refused even while the others are in flight', () => {
    let now = 0;
    const l = new AttemptLimiter({ max: 3, windowMs: 1000, now: () => now });
    expect([l.reserve('a'), l.reserve('a'), l.reserve('a')]).toEqual([0, 0, 0]);
    expect(l.reserve('a')).toBe(1000);
    expect(l.reserve('b')).toBe(0);
    now = 600;
    expect(l.blockedFor('a')).toBe(400);
    now = 1000;
    expect(l.reserve('a')).toBe(0);
  });

  it('release gives back a successful attempt; reset forgets them all', () => {
    const l = new AttemptLimiter({ max: 2, windowMs: 1000, now: () => 0 });
    l.reserve('a');
    l.release('a');
    l.reserve('a');
    expect(l.reserve('a')).toBe(0);
    expect(l.reserve('a')).toBeGreaterThan(0);
    l.reset('a');
    expect(l.blockedFor('a')).toBe(0);
  });

  it('keeps at most maxKeys keys', () => {
    const l = new AttemptLimiter({ max: 1, windowMs: 1000, now: () => 0, maxKeys: 3 });
    for (let i = 0; i < 10; i++) l.reserve(`k${i}`);
    expect(l.blockedFor('k9')).toBeGreaterThan(0);
    expect(l.blockedFor('k0')).toBe(0);
  });

  it('reserveAll is all or nothing', () => {
    const a = new AttemptLimiter({ max: 5, windowMs: 1000, now: () => 0 });
    const b = new AttemptLimiter({ max: 1, windowMs: 1000, now: () => 0 });
    expect(
      reserveAll([
        [a, 'x'],
        [b, 'y'],
      ]),
    ).toBe(0);
    expect(
      reserveAll([
        [a, 'x'],
        [b, 'y'],
      ]),
    ).toBe(1000);
    // the refused second attempt did not use one of a's five
    for (let i = 0; i < 4; i++) expect(a.reserve('x')).toBe(0);
    expect(a.reserve('x')).toBeGreaterThan(0);
  });
});

describe('SlowDown', () => {
  it('delays every check once failures pass the threshold, and stops after the window', () => {
    let now = 0;
    const s = new SlowDown({ after: 3, delayMs: 250, windowMs: 1000, now: () => now });
    s.fail();
    s.fail();
    expect(s.delayMs()).toBe(0);
    s.fail();
    expect(s.delayMs()).toBe(250);
    now = 1001;
    expect(s.delayMs()).toBe(0);
  });
});
