import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Broadcast } from '../../src/alerting/broadcast/types.js';
import { broadcastRuntime } from '../../src/alerting/broadcast-module.js';
import type { Device } from '../../src/core/devices.js';
import { compareSort } from '../../src/core/paging.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { pastIncident } from '../helpers/incidents.js';
import { testphoneDriver } from '../helpers/testphone-driver.js';

/**
 * Server-side paging, sorting and search with 10,000 phones (inserted through the store, not HTTP), and the
 * broadcast, incident and event lists: every row exactly once across pages, natural sort, stable pages
 * while rows are added, search, and 400 for cursors that do not belong to the query.
 */
const N = 10_000;
type DevicePage = { devices: Device[]; next: string | null; total: number };

describe('paging with 10,000 phones', () => {
  let hub: TestHub;
  const T = Date.parse('2026-12-01T00:00:00Z');

  beforeAll(async () => {
    hub = await startTestHub({ drivers: [testphoneDriver()] });
    const { stores } = hub.hub;
    for (let i = 1; i <= N; i++) {
      const at = new Date(T + i * 1000).toISOString();
      await stores.devices.insert({
        id: `ph-${String(i).padStart(5, '0')}`,
        kind: 'testphone',
        name: `Phone ${i}`,
        address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        labels: i % 100 === 0 ? ['lobby'] : [],
        groups: [`floor-${(i % 10) + 1}`],
        location: { building: i % 2 ? 'North' : 'South', floor: String((i % 10) + 1), room: String(i) },
        settings: { extension: String(20000 + i) },
        createdAt: at,
        updatedAt: at,
      });
    }
    // Written behind the registry's back (as another hub would): it reads them again.
    await hub.hub.devices.load();
    const rt = broadcastRuntime(hub.hub);
    for (let i = 1; i <= 120; i++) {
      const at = new Date(T + i * 60_000).toISOString();
      await rt.stores.broadcasts.insertBroadcast({
        id: `bc_${String(i).padStart(4, '0')}`,
        title: i % 10 === 0 ? `Fire drill ${i}` : `Notice ${i}`,
        text: 'text',
        priority: 'normal',
        tones: 'chime',
        audio: null,
        ack: false,
        expiresAt: null,
        targets: { all: true },
        busyPolicy: 'retry',
        meta: {},
        state: 'done',
        createdAt: at,
        createdBy: i % 2 ? 'alice' : 'bob',
        finishedAt: at,
        report: null,
      } satisfies Broadcast);
    }
    for (let i = 1; i <= 30; i++)
      await rt.stores.incidents.insert(
        pastIncident(i, T + i * 3_600_000, {
          ...(i === 7 ? { name: 'Zoë Quinn' } : {}),
          acknowledged: i % 3 === 0,
        }),
      );
  }, 120_000);
  afterAll(async () => hub?.close());

  const all = async (query: string) => {
    const seen: Device[] = [];
    let cursor: string | null = null;
    let pages = 0;
    let total = -1;
    do {
      const r: { status: number; body: DevicePage } = await hub.api<DevicePage>(
        'GET',
        `/api/devices?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(200);
      seen.push(...r.body.devices);
      total = r.body.total;
      cursor = r.body.next;
      pages++;
    } while (cursor);
    return { seen, pages, total };
  };

  it('pages through all 10,000 by name in natural order, each phone exactly once', async () => {
    const { seen, pages, total } = await all('limit=1000&sort=name');
    expect(total).toBe(N);
    expect(pages).toBe(10);
    expect(seen).toHaveLength(N);
    expect(new Set(seen.map((d) => d.id)).size).toBe(N);
    // Natural: Phone 1, Phone 2 … Phone 9, Phone 10 (not Phone 1, Phone 10, Phone 100 …).
    expect(seen.slice(0, 11).map((d) => d.name)).toEqual([
      'Phone 1',
      'Phone 2',
      'Phone 3',
      'Phone 4',
      'Phone 5',
      'Phone 6',
      'Phone 7',
      'Phone 8',
      'Phone 9',
      'Phone 10',
      'Phone 11',
    ]);
    expect(seen[N - 1]!.name).toBe('Phone 10000');
    for (let i = 1; i < seen.length; i++)
      expect(compareSort(seen[i - 1]!.name, seen[i]!.name)).toBeLessThan(0);
  }, 120_000);

  it('descending, by location, with a group filter and search', async () => {
    const d = await hub.api<DevicePage>('GET', '/api/devices?limit=3&sort=name&order=desc');
    expect(d.body.devices.map((x) => x.name)).toEqual(['Phone 10000', 'Phone 9999', 'Phone 9998']);
    const loc = await hub.api<DevicePage>('GET', '/api/devices?limit=2&sort=location');
    // "North 2 1" (Phone 1) sorts first: North before South, then floor and room naturally.
    expect(loc.body.devices.map((x) => x.name)).toEqual(['Phone 1', 'Phone 11']);
    expect(loc.body.total).toBe(N);
    const g = await all('limit=300&group=floor-3&sort=id');
    expect(g.total).toBe(1000);
    expect(g.seen.every((x) => x.groups.includes('floor-3'))).toBe(true);
    expect(g.pages).toBe(4);
    const q = await hub.api<DevicePage>('GET', '/api/devices?limit=50&q=phone%201234');
    expect(q.body.devices.map((x) => x.id)).toEqual(['ph-01234']);
    const ext = await hub.api<DevicePage>('GET', '/api/devices?limit=50&q=25000');
    expect(ext.body.devices.map((x) => x.id)).toEqual(['ph-05000']);
    const lobby = await hub.api<DevicePage>('GET', '/api/devices?limit=1000&label=lobby&q=south');
    expect(lobby.body.total).toBe(100);
    // Without limit: everything (compatible with older clients).
    const every = await hub.api<DevicePage>('GET', '/api/devices?group=floor-1');
    expect(every.body.devices).toHaveLength(1000);
    expect(every.body.next).toBeNull();
  }, 60_000);

  it('pages stay stable while phones are added and removed before the cursor', async () => {
    const p1 = await hub.api<DevicePage>('GET', '/api/devices?limit=500&sort=name');
    const last = p1.body.devices[499]!;
    // A phone sorted before the cursor appears and one of page 1 goes: page 2 neither repeats nor skips.
    await hub.hub.devices.add({ id: 'aaa-new', kind: 'testphone', name: 'Phone 0', address: '10.9.9.9' });
    await hub.hub.devices.remove(p1.body.devices[0]!.id);
    const p2 = await hub.api<DevicePage>(
      'GET',
      `/api/devices?limit=500&sort=name&cursor=${encodeURIComponent(p1.body.next!)}`,
    );
    expect(compareSort(last.name, p2.body.devices[0]!.name)).toBeLessThan(0);
    const names = p1.body.devices.map((d) => Number(d.name.slice(6)));
    const next = p2.body.devices.map((d) => Number(d.name.slice(6)));
    expect(next[0]).toBe(names[499]! + 1);
    expect(p2.body.total).toBe(N);
  });

  it('rejects cursors that are not ours or belong to another sort (400, never 500)', async () => {
    const p1 = await hub.api<DevicePage>('GET', '/api/devices?limit=5&sort=name');
    for (const [query, field] of [
      [`limit=5&sort=id&cursor=${encodeURIComponent(p1.body.next!)}`, 'cursor'],
      [`limit=5&sort=name&order=desc&cursor=${encodeURIComponent(p1.body.next!)}`, 'cursor'],
      ['limit=5&cursor=%7B%7D', 'cursor'],
      ['limit=5&cursor=bm90IGpzb24', 'cursor'],
      [
        `limit=5&cursor=${Buffer.from('{"s":"id","o":"asc","v":{"x":1},"id":"a"}').toString('base64url')}`,
        'cursor',
      ],
    ] as const) {
      const r = await hub.api<{ error: { code: string; field: string } }>('GET', `/api/devices?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'PAGE_CURSOR_INVALID', field });
    }
    const badSort = await hub.api('GET', '/api/devices?sort=password');
    expect(badSort.status).toBe(400);
    const badLimit = await hub.api('GET', '/api/devices?limit=100000');
    expect(badLimit.status).toBe(400);
  });

  it('broadcasts: newest first, cursor pages, search by title and sender', async () => {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const r: { status: number; body: { broadcasts: Broadcast[]; next: string | null; total: number } } =
        await hub.api(
          'GET',
          `/api/broadcasts?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
      expect(r.status).toBe(200);
      expect(r.body.total).toBe(120);
      ids.push(...r.body.broadcasts.map((b) => b.id));
      cursor = r.body.next;
    } while (cursor);
    expect(ids).toHaveLength(120);
    expect(ids[0]).toBe('bc_0120');
    expect(ids[119]).toBe('bc_0001');
    const fire = await hub.api<{ broadcasts: Broadcast[]; total: number }>(
      'GET',
      '/api/broadcasts?limit=5&q=fire%20DRILL',
    );
    expect(fire.body.total).toBe(12);
    expect(fire.body.broadcasts.map((b) => b.id)).toEqual([
      'bc_0120',
      'bc_0110',
      'bc_0100',
      'bc_0090',
      'bc_0080',
    ]);
    const asc = await hub.api<{ broadcasts: Broadcast[] }>('GET', '/api/broadcasts?limit=2&order=asc&q=bob');
    expect(asc.body.broadcasts.map((b) => b.id)).toEqual(['bc_0002', 'bc_0004']);
    // LIKE wildcards in the search are literal.
    const pct = await hub.api<{ total: number }>('GET', '/api/broadcasts?limit=5&q=%25');
    expect(pct.body.total).toBe(0);
  });

  it('a broadcast report lists its phones by name (natural) or location, with name and location', async () => {
    const sent = await hub.api<{ broadcast: Broadcast }>('POST', '/api/broadcasts', {
      text: 'report order',
      targets: { devices: ['ph-00100', 'ph-00010', 'ph-00009', 'ph-00020'] },
    });
    expect(sent.status).toBe(201);
    type View = { deliveries: Array<{ deviceId: string; deviceName: string; location: string }> };
    const byName = await hub.api<View>('GET', `/api/broadcasts/${sent.body.broadcast.id}?sort=name`);
    expect(byName.body.deliveries.map((d) => d.deviceName)).toEqual([
      'Phone 9',
      'Phone 10',
      'Phone 20',
      'Phone 100',
    ]);
    expect(byName.body.deliveries[0]!.location).toBe('North 10 9');
    const byLoc = await hub.api<View>('GET', `/api/broadcasts/${sent.body.broadcast.id}?sort=location`);
    // North (odd i) before South, then floor and room naturally.
    expect(byLoc.body.deliveries.map((d) => d.location)).toEqual([
      'North 10 9',
      'South 1 10',
      'South 1 20',
      'South 1 100',
    ]);
  });

  it('incidents: search by caller and location, open ones only, pages', async () => {
    const z = await hub.api<{ incidents: Array<{ id: string }>; total: number }>(
      'GET',
      `/api/incidents?q=${encodeURIComponent('zoë')}`,
    );
    expect(z.body.incidents.map((i) => i.id)).toEqual(['inc-007']);
    const open = await hub.api<{ incidents: Array<{ id: string }>; total: number; next: string }>(
      'GET',
      '/api/incidents?open=true&limit=5&order=desc',
    );
    expect(open.body.total).toBe(20);
    expect(open.body.incidents.map((i) => i.id)).toEqual([
      'inc-029',
      'inc-028',
      'inc-026',
      'inc-025',
      'inc-023',
    ]);
    const p2 = await hub.api<{ incidents: Array<{ id: string }> }>(
      'GET',
      `/api/incidents?open=true&limit=5&order=desc&cursor=${encodeURIComponent(open.body.next)}`,
    );
    expect(p2.body.incidents[0]!.id).toBe('inc-022');
    const room = await hub.api<{ total: number }>('GET', '/api/incidents?q=115');
    expect(room.body.total).toBe(1);
  });

  it('history (events): newest first with before, search', async () => {
    for (let i = 0; i < 30; i++)
      hub.hub.bus.emit({
        source: `probe-${i}`,
        type: 'test.paging',
        data: { n: i, word: i === 17 ? 'needle' : 'hay' },
      });
    type Ev = { events: Array<{ seq: number; data: { n: number } }>; next: number };
    const p1 = await hub.api<Ev>('GET', '/api/events?order=desc&limit=10&type=test.paging');
    expect(p1.body.events.map((e) => e.data.n)).toEqual([29, 28, 27, 26, 25, 24, 23, 22, 21, 20]);
    const p2 = await hub.api<Ev>(
      'GET',
      `/api/events?order=desc&limit=10&type=test.paging&before=${p1.body.next}`,
    );
    expect(p2.body.events.map((e) => e.data.n)).toEqual([19, 18, 17, 16, 15, 14, 13, 12, 11, 10]);
    const needle = await hub.api<Ev>('GET', '/api/events?q=NEEDLE&limit=10');
    expect(needle.body.events.map((e) => e.data.n)).toEqual([17]);
  });
});
