import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LeaseStore } from '../../src/core/cluster.js';

/**
 * THE contract of the lease store port (core/cluster.ts), run against every backend by one runner each
 * (leases-sqlite.test.ts, leases-postgres.test.ts). "Another hub" is a second store over the same data
 * (`peer()`). Expiry runs on the backend's clock, so the tests wait real (short) times.
 */
export interface LeaseStoresInstance {
  leases: LeaseStore;
  peer(): Promise<{ leases: LeaseStore }>;
  close(): Promise<void>;
}

export interface LeaseBackend {
  name: string;
  create(): Promise<LeaseStoresInstance>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function leaseContract(backend: LeaseBackend): void {
  describe(`lease store contract: ${backend.name}`, () => {
    let s: LeaseStoresInstance;
    beforeEach(async () => {
      s = await backend.create();
    });
    afterEach(async () => {
      await s.close();
    });

    it('a free lease is taken with token 1; the holder renews it with the same token; another hub is refused', async () => {
      const b = await s.peer();
      expect(await s.leases.acquire('ipoffice:ipo-1', 'hub-a', 5000)).toBe(1);
      expect(await s.leases.acquire('ipoffice:ipo-1', 'hub-a', 5000)).toBe(1);
      expect(await b.leases.acquire('ipoffice:ipo-1', 'hub-b', 5000)).toBeUndefined();
      expect(await b.leases.holds('ipoffice:ipo-1', 'hub-a', 1)).toBe(true);
      expect(await b.leases.holds('ipoffice:ipo-1', 'hub-b', 1)).toBe(false);
      const [l] = await b.leases.list();
      expect(l).toMatchObject({ name: 'ipoffice:ipo-1', holder: 'hub-a', token: 1 });
      expect(Date.parse(l!.expiresAt)).toBeGreaterThan(Date.now() + 3000);
    });

    it('a lease that ran out goes to another hub with a larger token; the old holder is fenced', async () => {
      const b = await s.peer();
      expect(await s.leases.acquire('scheduler', 'hub-a', 150)).toBe(1);
      await sleep(300);
      expect(await s.leases.holds('scheduler', 'hub-a', 1)).toBe(false);
      expect(await b.leases.acquire('scheduler', 'hub-b', 5000)).toBe(2);
      // The former holder comes back (a long GC pause, a partition): refused, and its token is stale.
      expect(await s.leases.acquire('scheduler', 'hub-a', 5000)).toBeUndefined();
      expect(await s.leases.holds('scheduler', 'hub-a', 1)).toBe(false);
      expect(await s.leases.holds('scheduler', 'hub-b', 2)).toBe(true);
    });

    it('a holder that lets its own lease run out and takes it again gets a new token (its old work is fenced)', async () => {
      expect(await s.leases.acquire('broadcast:b1', 'hub-a', 100)).toBe(1);
      await sleep(250);
      expect(await s.leases.acquire('broadcast:b1', 'hub-a', 5000)).toBe(2);
    });

    it('release gives the lease up at once to a hub without grace; one with a grace still waits it out', async () => {
      const b = await s.peer();
      expect(await s.leases.acquire('ipoffice:x', 'hub-a', 60_000)).toBe(1);
      await b.leases.release('ipoffice:x', 'hub-a');
      expect(await s.leases.holds('ipoffice:x', 'hub-a', 1)).toBe(false);
      expect(await b.leases.acquire('ipoffice:x', 'hub-c', 5000, { graceMs: 10_000 })).toBeUndefined();
      expect(await b.leases.acquire('ipoffice:x', 'hub-b', 5000)).toBe(2);
      // Releasing a lease one does not hold changes nothing.
      await s.leases.release('ipoffice:x', 'hub-a');
      expect(await b.leases.holds('ipoffice:x', 'hub-b', 2)).toBe(true);
    });

    it('a grace keeps an expired lease for the standby: other hubs get it only once the grace is over', async () => {
      const b = await s.peer();
      expect(await s.leases.acquire('ipoffice:y', 'hub-a', 100)).toBe(1);
      await sleep(250);
      expect(await b.leases.acquire('ipoffice:y', 'hub-c', 5000, { graceMs: 60_000 })).toBeUndefined();
      expect(await b.leases.acquire('ipoffice:y', 'hub-b', 5000, { graceMs: 0 })).toBe(2);
    });

    it('hubs racing for a free lease: exactly one gets it', async () => {
      const peers = [s, ...(await Promise.all([1, 2, 3, 4].map(() => s.peer())))];
      const got = await Promise.all(
        peers.flatMap((p, i) =>
          [0, 1].map((j) => p.leases.acquire('race', `hub-${i}-${j}`, 5000).then((t) => [i, j, t] as const)),
        ),
      );
      const winners = got.filter(([, , t]) => t !== undefined);
      expect(winners).toHaveLength(1);
      expect(winners[0]![2]).toBe(1);
    });

    it('lists by prefix, by name; names are checked', async () => {
      await s.leases.acquire('ipoffice:b', 'hub-a', 5000);
      await s.leases.acquire('ipoffice:a', 'hub-a', 5000);
      await s.leases.acquire('scheduler', 'hub-a', 5000);
      expect((await s.leases.list('ipoffice:')).map((l) => l.name)).toEqual(['ipoffice:a', 'ipoffice:b']);
      expect(await s.leases.list('nothing')).toEqual([]);
      expect((await s.leases.list()).length).toBe(3);
      await expect(s.leases.acquire('', 'hub-a', 5000)).rejects.toMatchObject({ code: 'LEASE_NAME_INVALID' });
      await expect(s.leases.acquire('x'.repeat(201), 'hub-a', 5000)).rejects.toMatchObject({
        code: 'LEASE_NAME_INVALID',
      });
      // Unicode and quotes are data, never SQL.
      const odd = "broadcast:'; DROP TABLE leases; -- 火災";
      expect(await s.leases.acquire(odd, 'hub-a', 5000)).toBe(1);
      expect((await s.leases.list("broadcast:'")).map((l) => l.name)).toEqual([odd]);
    });
  });
}
