import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/load.js';
import { ManualClock } from '../../src/core/clock.js';
import { FailureLimiter } from '../../src/pubsub/accounts.js';
import { resolvePubSubSettings } from '../../src/pubsub/config.js';

// The store's own assertions (accounts, sessions, rotation, deletion, leases, dedup, limits, retention)
// are the PubSub store contract, run against every backend: test/store/pubsub-contract.ts.
const clock = new ManualClock();

describe('pubsub auth failure limiter and settings', () => {
  it('failure limiter: sliding window, bounded keys', () => {
    const l = new FailureLimiter({ windowMs: 1000, max: 2, clock, maxKeys: 3 });
    l.fail('ip');
    expect(l.blockedFor('ip')).toBe(0);
    l.fail('ip');
    expect(l.blockedFor('ip')).toBe(1000);
    clock.advance(600);
    expect(l.blockedFor('ip')).toBe(400);
    clock.advance(400);
    expect(l.blockedFor('ip')).toBe(0);
    for (let i = 0; i < 10; i++) l.fail(`k${i}`);
    expect((l as unknown as { hits: Map<string, number[]> }).hits.size).toBeLessThanOrEqual(3);
  });

  it('config: durations resolve, bad ones and inconsistent ones are refused', () => {
    const s = resolvePubSubSettings(defaultConfig().pubsub);
    expect(s).toMatchObject({
      retentionMs: 7 * 86_400_000,
      leaseMs: 30_000,
      defaultTimeoutMs: 30_000,
      maxTimeoutMs: 300_000,
      callXmlTimeoutMs: 25_000,
    });
    expect(() => defaultConfig({ 'pubsub.retention': 'forever' })).toThrow(/pubsub.retention/);
    expect(() => resolvePubSubSettings(defaultConfig({ 'pubsub.defaultTimeout': '10m' }).pubsub)).toThrow(
      /defaultTimeout/,
    );
  });
});
