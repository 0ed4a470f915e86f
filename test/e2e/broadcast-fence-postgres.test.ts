import { afterEach, expect, it, vi } from 'vitest';
import type { Broadcast, Delivery } from '../../src/alerting/broadcast/types.js';
import { broadcastRuntime } from '../../src/alerting/broadcast-module.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { describePostgres } from '../helpers/postgres.js';
import { testphoneDriver } from '../helpers/testphone-driver.js';

const PHONES = 30;

/** Polls `cond` every 20 ms until it holds; fails after `ms`. */
async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The former owner of a broadcast is fenced (issue 15): two in-process hubs on one PostgreSQL; hub A is cut
 * off from the lease table in the middle of a broadcast. It keeps delivering (a store it cannot reach never
 * stops an alert), hub B takes the broadcast over when A's lease runs out, and A's late writes are refused
 * by their token (LEASE_LOST), which stops A. The broadcast ends with one record per phone, every phone
 * served, and both hubs named as owners.
 */
describePostgres('a broadcast whose hub is cut off (PostgreSQL)', ({ db }) => {
  const hubs: TestHub[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const h of hubs.splice(0)) await h.close().catch(() => {});
  });

  const start = async (url: string) => {
    const h = await startTestHub({
      drivers: [testphoneDriver()],
      config: {
        'store.url': url,
        'cluster.leaseTtlMs': 600,
        'cluster.leaseRenewMs': 200,
        'broadcast.concurrency': 3,
      },
    });
    hubs.push(h);
    return h;
  };

  it('cut off from the leases: keeps delivering, is taken over by another hub, and its late writes are refused', async () => {
    const url = await db();
    const a = await start(url);
    for (let i = 0; i < PHONES; i++)
      expect(
        (
          await a.api('POST', '/api/devices', {
            id: `p-${String(i).padStart(2, '0')}`,
            kind: 'testphone',
            address: `127.0.0.1:${9100 + i}`,
            groups: ['floor'],
            settings: { behavior: 'slow:150' },
          })
        ).status,
      ).toBe(201);
    const b = await start(url);
    const fenced: string[] = [];
    a.hub.bus.subscribe((e) => {
      if (e.type === 'broadcast.fenced') fenced.push(String(e.data.reason));
    });
    const r = await a.api<{ broadcast: Broadcast }>('POST', '/api/broadcasts', {
      text: 'Shelter in place',
      priority: 'urgent',
      tones: 'none',
      targets: { groups: ['floor'] },
    });
    expect(r.status).toBe(201);
    const id = r.body.broadcast.id;
    const engineA = broadcastRuntime(a.hub).engine;
    const engineB = broadcastRuntime(b.hub).engine;
    const shown = () => (engineA.liveDeliveries(id) ?? []).filter((d) => d.state === 'displayed').length;
    await until(() => shown() >= 6, 20_000, 'some phones served by A');
    // A is cut off from the lease table (the broadcast tables still answer): its renewals fail.
    const cut = new Error('partitioned from the lease table');
    vi.spyOn(a.hub.stores.leases, 'acquire').mockRejectedValue(cut);
    vi.spyOn(a.hub.stores.leases, 'list').mockRejectedValue(cut);
    // B finds the lease run out and resumes the broadcast.
    await until(() => engineB.isRunning(id), 20_000, 'hub B taking over');
    // A's next records carry its old token: refused, and A stops.
    await until(() => fenced.length > 0, 20_000, 'hub A fenced');
    expect(engineA.isRunning(id)).toBe(false);
    const report = await engineB.wait(id);
    const stored = (await b.hub.stores.broadcasts.getBroadcast(id))!;
    const ds: Delivery[] = await b.hub.stores.broadcasts.listDeliveries(id);
    console.log(
      `fenced: ${fenced[0]}; report: ${JSON.stringify({ counts: report.counts, duplicates: report.duplicates, deliveredBy: report.deliveredBy })}`,
    );
    expect(stored.state).toBe('done');
    expect(stored.owners?.map((o) => o.instance)).toEqual([
      a.hub.cluster.instanceId,
      b.hub.cluster.instanceId,
    ]);
    expect(stored.owners![1]!.token).toBeGreaterThan(stored.owners![0]!.token);
    // One record per phone, every phone served; nothing of A's after the takeover overwrote B's.
    expect(new Set(ds.map((d) => d.deviceId)).size).toBe(PHONES);
    expect(ds).toHaveLength(PHONES);
    expect(ds.every((d) => d.state === 'displayed')).toBe(true);
    expect(report.counts.displayed).toBe(PHONES);
    expect(Object.values(report.deliveredBy ?? {}).reduce((x, y) => x + y, 0)).toBe(PHONES);
  }, 90_000);
});
