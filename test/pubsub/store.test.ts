import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/load.js';
import { resolvePubSubSettings } from '../../src/pubsub/config.js';

// The store's own assertions (accounts, sessions, rotation, deletion, leases, dedup, limits, retention)
// are the PubSub store contract, run against every backend: test/store/pubsub-contract.ts.

describe('pubsub settings', () => {
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
