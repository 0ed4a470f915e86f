import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { Cluster, type LeaseGrant, type LeaseStore } from '../../src/core/cluster.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { SqliteLeaseStore } from '../../src/store/sqlite/leases.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** A lease store whose answers the test decides: grant, refuse, fail or hang. */
class ScriptedStore implements LeaseStore {
  mode: 'grant' | 'refuse' | 'fail' | 'hang' = 'grant';
  token = 1;
  released: string[] = [];
  calls = 0;
  async acquire(): Promise<number | undefined> {
    this.calls++;
    if (this.mode === 'fail') throw Object.assign(new Error('store down'), { code: 'STORE_UNAVAILABLE' });
    if (this.mode === 'hang') return new Promise(() => {});
    return this.mode === 'grant' ? this.token : undefined;
  }
  async release(name: string): Promise<void> {
    this.released.push(name);
  }
  async holds(): Promise<boolean> {
    return this.mode === 'grant';
  }
  async list() {
    return [];
  }
}

/** Records the work a lease runs: started with which token, stopped (signal and stop function). */
function recorder() {
  const log: string[] = [];
  let grant: LeaseGrant | undefined;
  return {
    log,
    get grant() {
      return grant;
    },
    onAcquired(g: LeaseGrant) {
      grant = g;
      log.push(`start ${g.token}`);
      g.signal.addEventListener('abort', () => log.push(`abort ${g.token}`));
      return () => {
        log.push(`stop ${g.token}`);
      };
    },
  };
}

const clusters: Cluster[] = [];
const make = (store: LeaseStore, id = 'hub-a', ttlMs = 300, renewMs = 50) => {
  const c = new Cluster({ store, instanceId: id, ttlMs, renewMs });
  clusters.push(c);
  return c;
};
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.close();
});

describe('Cluster: work runs only while its lease is held', () => {
  it('starts the work with the token, renews quietly, and gives the lease back when stopped', async () => {
    const store = new ScriptedStore();
    const c = make(store);
    const r = recorder();
    const stop = c.hold('scheduler', r);
    await until(() => r.log.length > 0);
    await sleep(200);
    expect(store.calls).toBeGreaterThan(2);
    expect(r.log).toEqual(['start 1']);
    expect(c.status()).toEqual([
      expect.objectContaining({ name: 'scheduler', held: true, token: 1, error: null }),
    ]);
    await stop();
    expect(r.log).toEqual(['start 1', 'abort 1', 'stop 1']);
    expect(store.released).toEqual(['scheduler']);
    expect(c.holds('scheduler')).toBe(false);
  });

  it('the store fails: the work stops at once (fenced) and starts again when the store is back', async () => {
    const store = new ScriptedStore();
    const c = make(store);
    const r = recorder();
    c.hold('ipoffice:ipo-1', r);
    await until(() => c.holds('ipoffice:ipo-1'));
    store.mode = 'fail';
    await until(() => r.log.includes('stop 1'));
    expect(c.status()[0]).toMatchObject({ held: false, error: 'store down' });
    store.mode = 'grant';
    store.token = 2; // another hub held it meanwhile
    await until(() => r.log.includes('start 2'));
    expect(r.log).toEqual(['start 1', 'abort 1', 'stop 1', 'start 2']);
  });

  it('the store hangs (no answer, no error): the holder stops before the lease can have run out', async () => {
    const store = new ScriptedStore();
    const clock = new ManualClock(0);
    const c = new Cluster({
      store,
      instanceId: 'hub-a',
      ttlMs: 3000,
      renewMs: 1000,
      clock,
      monotonic: () => clock.now(),
    });
    clusters.push(c);
    const stoppedAt: number[] = [];
    let lastGoodStart = 0;
    const acquire = store.acquire.bind(store);
    store.acquire = () => {
      if (store.mode === 'grant') lastGoodStart = clock.now();
      return acquire();
    };
    c.hold('broadcast:b1', { onAcquired: () => () => void stoppedAt.push(clock.now()) });
    await until(() => c.holds('broadcast:b1'));
    await clock.advanceAsync(2000); // two renewals
    expect(lastGoodStart).toBe(2000);
    store.mode = 'hang';
    for (let t = 0; t < 6000 && stoppedAt.length === 0; t += 100) await clock.advanceAsync(100);
    // Stopped before the last good renewal's lease (from its start, the earliest the store can count from)
    // can have run out, so no other hub can yet hold it.
    expect(stoppedAt).toHaveLength(1);
    expect(stoppedAt[0]!).toBeLessThan(lastGoodStart + 3000);
    expect(stoppedAt[0]!).toBeGreaterThan(lastGoodStart + 1000);
  });

  it('another hub holds it: no work; the lease changed hands while held: old work stopped, new work started', async () => {
    const store = new ScriptedStore();
    store.mode = 'refuse';
    const c = make(store);
    const r = recorder();
    let missed = 0;
    c.hold('scheduler', { ...r, onAcquired: r.onAcquired, onMissed: () => missed++ });
    await until(() => missed >= 2);
    expect(r.log).toEqual([]);
    store.mode = 'grant';
    await until(() => c.holds('scheduler'));
    store.token = 7;
    await until(() => r.log.includes('start 7'));
    expect(r.log).toEqual(['start 1', 'abort 1', 'stop 1', 'start 7']);
  });

  it('refuses timings where one late renewal loses the lease', () => {
    expect(
      () => new Cluster({ store: new ScriptedStore(), instanceId: 'x', ttlMs: 1000, renewMs: 500 }),
    ).toThrow(expect.objectContaining({ code: 'CLUSTER_BAD_TIMING' }));
  });

  it('two hubs on one store: one runs the work; when it stops, the other takes over with a larger token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-cluster-'));
    const dbA = openDatabase({ dataDir: dir });
    const dbB = openDatabase({ dataDir: dir });
    try {
      const a = make(new SqliteLeaseStore(dbA), 'hub-a');
      const b = make(new SqliteLeaseStore(dbB), 'hub-b');
      const ra = recorder();
      const rb = recorder();
      const stopA = a.hold('ipoffice:ipo-1', ra);
      await until(() => a.holds('ipoffice:ipo-1'));
      b.hold('ipoffice:ipo-1', rb);
      await sleep(200);
      expect(rb.log).toEqual([]);
      await stopA(); // released: b need not wait for the ttl
      await until(() => b.holds('ipoffice:ipo-1'), 1000);
      expect(ra.log).toEqual(['start 1', 'abort 1', 'stop 1']);
      expect(rb.log).toEqual(['start 2']);
      expect(rb.grant?.signal.aborted).toBe(false);
    } finally {
      for (const c of clusters.splice(0)) await c.close();
      dbA.close();
      dbB.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
