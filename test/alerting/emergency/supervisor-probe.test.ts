import { describe, expect, it } from 'vitest';
import { DEFAULT_SUPERVISOR, EmergencySupervisor } from '../../../src/alerting/emergency/supervisor.js';
import type { EventBus } from '../../../src/core/bus.js';
import { ManualClock } from '../../../src/core/clock.js';
import type { Device } from '../../../src/core/devices.js';
import type { HubEvent } from '../../../src/core/events.js';

/**
 * Issue 16 (profile of the 1,000-phone broadcast): the supervisor probed every security phone at once every
 * 5 s, so with hundreds of security phones each round was a burst of hundreds of requests, doubling the
 * hub's work during a broadcast. A round now has at most probeConcurrency probes in flight and skips a phone
 * that accepted an alert within the interval, still probing it every few rounds (what only a probe sees).
 */
function setup(n: number, concurrency: number, rate = 0) {
  const clock = new ManualClock();
  let onEvent: ((e: HubEvent) => void) | undefined;
  const bus = {
    subscribe: (fn: (e: HubEvent) => void) => {
      onEvent = fn;
      return { unsubscribe() {} };
    },
    emit: () => {},
  } as unknown as EventBus;
  const phones = Array.from(
    { length: n },
    (_, i) => ({ id: `p${i}`, name: `Desk ${i}`, kind: 'cisco', groups: ['security'] }) as unknown as Device,
  );
  let inFlight = 0;
  let maxInFlight = 0;
  const probed: string[] = [];
  const release: Array<() => void> = [];
  const sup = new EmergencySupervisor({
    bus,
    devices: {
      list: (q) => (q?.group === 'security' ? phones : []),
      get: (id) => phones.find((p) => p.id === id),
    },
    probe: async (d) => {
      probed.push(d.id);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise<void>((r) => release.push(r));
      inFlight--;
      return { reachable: d.id !== 'p3' };
    },
    clock,
    options: {
      ...DEFAULT_SUPERVISOR,
      probeIntervalSeconds: 5,
      probeConcurrency: concurrency,
      probeRatePerSecond: rate,
    },
  });
  const drain = async () => {
    // Answers every probe as it arrives until the round is over.
    for (let i = 0; i < 10_000; i++) {
      await new Promise((r) => setImmediate(r));
      const r = release.splice(0);
      if (r.length === 0 && inFlight === 0) return;
      for (const f of r) f();
    }
  };
  const deliver = (id: string, state: string) =>
    onEvent?.({
      id: 'e',
      seq: 0,
      time: new Date(clock.now()).toISOString(),
      source: id,
      type: 'broadcast.delivery',
      data: { deviceId: id, state },
    } as HubEvent);
  return { clock, sup, probed, drain, deliver, release, max: () => maxInFlight };
}

describe('911 readiness: probing the security phones', () => {
  it('keeps at most probeConcurrency probes in flight and probes every phone in the round', async () => {
    const t = setup(100, 8);
    t.sup.start();
    t.clock.advance(0);
    await t.drain();
    expect(new Set(t.probed).size).toBe(100);
    expect(t.max()).toBe(8);
    // p3 does not answer: loud, whatever the batching.
    expect(t.sup.reasons().map((r) => r.code)).toContain('SECURITY_PHONE_UNREACHABLE');
    t.sup.stop();
  });

  it('skips a phone that accepted an alert within the interval, but probes it every 12 rounds', async () => {
    const t = setup(10, 4);
    t.sup.start();
    t.clock.advance(0);
    await t.drain();
    expect(t.probed.length).toBe(10);
    const rounds: number[] = [];
    for (let round = 0; round < 13; round++) {
      t.probed.length = 0;
      // Every phone but p1 accepted an alert just before the round: nothing to learn from probing them.
      t.clock.advance(4000);
      for (let i = 0; i < 10; i++) if (i !== 1) t.deliver(`p${i}`, 'accepted');
      t.clock.advance(1000);
      await t.drain();
      expect(t.probed).toContain('p1');
      // p3 is down (its probe fails, a delivery marks it up again): probed as soon as that happens.
      rounds.push(t.probed.filter((id) => id === 'p5').length);
    }
    // p5 was heard from every round: probed only when its last real probe is 12 intervals old.
    expect(rounds.reduce((a, b) => a + b, 0)).toBe(1);
    t.sup.stop();
  });

  it('probes a phone whose last delivery failed (the delivery is not a sign of life)', async () => {
    const t = setup(3, 4);
    t.sup.start();
    t.clock.advance(0);
    await t.drain();
    t.probed.length = 0;
    t.clock.advance(4000);
    t.deliver('p0', 'accepted');
    t.deliver('p2', 'failed');
    t.clock.advance(1000);
    await t.drain();
    expect(t.probed.sort()).toEqual(['p1', 'p2']);
    t.sup.stop();
  });

  it('paces the probe starts at probeRatePerSecond: 100 phones at 50/s take 2 s, not one burst', async () => {
    const t = setup(100, 32, 50);
    t.sup.start();
    t.clock.advance(0);
    const settle = async () => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      for (const f of t.release.splice(0)) f();
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    };
    await settle();
    expect(t.probed.length).toBe(1);
    const seen: number[] = [];
    for (let ms = 0; ms < 2000; ms += 100) {
      t.clock.advance(100);
      await settle();
      seen.push(t.probed.length);
    }
    // 5 starts per 100 ms (one every 20 ms), never more; all 100 within 2 s.
    expect(seen.slice(0, 3)).toEqual([6, 11, 16]);
    expect(seen.at(-1)).toBe(100);
    expect(t.max()).toBeLessThanOrEqual(32);
    t.sup.stop();
  });

  it('stop() during a paced round ends it (no probe after stop)', async () => {
    const t = setup(100, 4, 10);
    t.sup.start();
    t.clock.advance(0);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    for (const f of t.release.splice(0)) f();
    t.sup.stop();
    const n = t.probed.length;
    t.clock.advance(60_000);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(t.probed.length).toBe(n);
  });
});
