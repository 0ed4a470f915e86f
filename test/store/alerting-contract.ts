import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Schedule, ScheduleStore } from '../../src/alerting/broadcast/schedules.js';
import type {
  Broadcast,
  BroadcastStore,
  Delivery,
  DeliveryState,
  Template,
  TemplateStore,
} from '../../src/alerting/broadcast/types.js';
import type { WebhookLog, WebhookLogEntry } from '../../src/alerting/channels/webhook.js';
import type { IncidentCallClaims } from '../../src/alerting/emergency/call-claim.js';
import type {
  Incident,
  IncidentStore,
  LocationEntry,
  LocationStore,
} from '../../src/alerting/emergency/types.js';
import type { Rule, RuleStore } from '../../src/alerting/rules/types.js';
import type { LeaseStore } from '../../src/core/cluster.js';
import type { PageRequest } from '../../src/core/paging.js';

/**
 * THE contract of the alerting store ports (broadcasts with targets and deliveries, templates, schedules,
 * rules, locations, incidents with exactly-once call claims, the webhook log), run against every backend
 * by one runner each (alerting-sqlite.test.ts, alerting-postgres.test.ts). "Two hubs" are two
 * store sets over the same data (`peer()`).
 */
export interface AlertingStores {
  broadcasts: BroadcastStore;
  templates: TemplateStore;
  schedules: ScheduleStore;
  rules: RuleStore;
  locations: LocationStore;
  incidents: IncidentStore & IncidentCallClaims;
  webhooks: WebhookLog;
  /** The lease store over the same data (broadcast ownership and write fences read its table). */
  leases: LeaseStore;
}

export interface AlertingBackendInstance extends AlertingStores {
  /** A second, independent set of stores over the same data (what a second hub has). */
  peer(): Promise<AlertingStores>;
  close(): Promise<void>;
}

export interface AlertingBackend {
  name: string;
  /** A fresh, empty, migrated database. */
  create(): Promise<AlertingBackendInstance>;
}

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const iso = (ms: number) => new Date(T0 + ms).toISOString();
/** Unicode that trips naive code: accents, CJK, emoji (astral), combining marks, RTL, quotes, backslashes. */
const UNICODE = 'Évacuez — 火災 🚨🔥 naïve café (e\u0301) עברית "quoted" \\ back\\slash \' single';

export function broadcastOf(id: string, createdAt: string, over: Partial<Broadcast> = {}): Broadcast {
  return {
    id,
    title: `Title ${id}`,
    text: `Text of ${id}`,
    priority: 'normal',
    tones: 'chime',
    audio: null,
    ack: false,
    expiresAt: null,
    targets: { all: true },
    busyPolicy: 'whisper',
    meta: {},
    state: 'delivering',
    createdAt,
    createdBy: 'api:admin',
    finishedAt: null,
    report: null,
    ...over,
  };
}

export function deliveryOf(broadcastId: string, n: number, state: DeliveryState = 'queued'): Delivery {
  return {
    id: `${broadcastId}:d${n}`,
    broadcastId,
    deviceId: `phone-${n}`,
    kind: n % 2 ? 'cisco' : 'avaya',
    state,
    reason: null,
    message: null,
    attempts: 0,
    busy: false,
    ackTokenHash: null,
    queuedAt: iso(n),
    sentAt: null,
    acceptedAt: null,
    latencyMs: null,
    acknowledgedAt: null,
    acknowledgedBy: null,
    steps: [],
  };
}

export function incidentOf(id: string, createdAt: string, over: Partial<Incident> = {}): Incident {
  return {
    id,
    createdAt,
    detectLagMs: 12,
    callKey: null,
    test: false,
    pbx: 'ipo-1',
    caller: {
      extension: '201',
      name: 'Ann Smith',
      callbackNumber: '+15551230201',
      callbackSource: 'table',
      dialled: '911',
      detectedBy: 'devlink3',
    },
    location: { from: 'table', site: 'HQ', building: 'North', floor: '2', room: '201' },
    state: 'notifying',
    broadcasts: [],
    notifiedGroups: ['security'],
    escalations: 0,
    acknowledgedAt: null,
    acknowledgedBy: null,
    callEndedAt: null,
    timeline: [],
    ...over,
  };
}

const page = (over: Partial<PageRequest> = {}): PageRequest => ({
  limit: 10,
  sort: 'createdAt',
  order: 'desc',
  ...over,
});

/** Every item of a paged listing, following `next` to the end; checks `total` on each page. */
async function allPages<T extends { id: string }>(
  get: (cursor: string | undefined) => Promise<{ items: T[]; next: string | null; total: number }>,
): Promise<{ ids: string[]; totals: number[]; pages: number }> {
  const ids: string[] = [];
  const totals: number[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const p = await get(cursor);
    pages++;
    ids.push(...p.items.map((i) => i.id));
    totals.push(p.total);
    if (!p.next) break;
    cursor = p.next;
    if (pages > 100) throw new Error('paging does not end');
  }
  return { ids, totals, pages };
}

export function alertingStoreContract(backend: AlertingBackend): void {
  describe(`alerting stores contract: ${backend.name}`, () => {
    let s: AlertingBackendInstance;
    beforeEach(async () => {
      s = await backend.create();
    });
    afterEach(async () => {
      await s.close();
    });

    describe('broadcasts', () => {
      it('stores a broadcast with unicode and a large JSON body exactly, with its targets in order', async () => {
        const meta: Broadcast['meta'] = {};
        for (let i = 0; i < 2000; i++) meta[`k${i}`] = i % 3 ? `v${i} ${UNICODE}` : i % 2 === 0;
        const b = broadcastOf('bc-1', iso(0), {
          title: UNICODE,
          text: `${UNICODE}\n`.repeat(3000),
          meta,
          audio: { source: 'tts', text: UNICODE, repeat: 2 },
          compact: { text: 'short', prompt: '↩' },
          dial: '*911#',
        });
        const targets = Array.from({ length: 1000 }, (_, i) => ({
          deviceId: `phone-${1000 - i}`,
          kind: i % 2 ? 'cisco' : 'avaya',
        }));
        await s.broadcasts.insertBroadcast(b, targets);
        expect(await s.broadcasts.getBroadcast('bc-1')).toEqual(b);
        expect(await s.broadcasts.listTargets('bc-1')).toEqual(targets);
        await s.broadcasts.insertBroadcast(broadcastOf('bc-2', iso(1)));
        expect(await s.broadcasts.listTargets('bc-2')).toEqual([]);
        expect(await s.broadcasts.listTargets('nope')).toEqual([]);
        expect(await s.broadcasts.getBroadcast('nope')).toBeUndefined();
        // A second broadcast with the same id is refused, and the first is unchanged.
        await expect(
          Promise.resolve().then(() => s.broadcasts.insertBroadcast(broadcastOf('bc-1', iso(5)), targets)),
        ).rejects.toThrow();
        expect(await s.broadcasts.getBroadcast('bc-1')).toEqual(b);
      });

      it('updates state and body; listBroadcasts is newest first (ties: last inserted first) with before/state filters', async () => {
        // Inserted out of time order; two share a created_at.
        await s.broadcasts.insertBroadcast(broadcastOf('b-c', iso(2000)));
        await s.broadcasts.insertBroadcast(broadcastOf('b-a', iso(1000)));
        await s.broadcasts.insertBroadcast(broadcastOf('b-z', iso(2000)));
        await s.broadcasts.insertBroadcast(broadcastOf('b-d', iso(3000), { state: 'done' }));
        const upd = broadcastOf('b-a', iso(1000), { state: 'done', finishedAt: iso(1500), title: UNICODE });
        await s.broadcasts.updateBroadcast(upd);
        expect(await s.broadcasts.getBroadcast('b-a')).toEqual(upd);
        const ids = async (q: Parameters<BroadcastStore['listBroadcasts']>[0]) =>
          (await s.broadcasts.listBroadcasts(q)).map((b) => b.id);
        expect(await ids({ limit: 10 })).toEqual(['b-d', 'b-z', 'b-c', 'b-a']);
        expect(await ids({ limit: 2 })).toEqual(['b-d', 'b-z']);
        expect(await ids({ limit: 10, before: iso(3000) })).toEqual(['b-z', 'b-c', 'b-a']);
        expect(await ids({ limit: 10, state: 'done' })).toEqual(['b-d', 'b-a']);
        expect(await ids({ limit: 10, state: 'done', before: iso(3000) })).toEqual(['b-a']);
        expect(await ids({ limit: 10, state: 'recalled' })).toEqual([]);
        // Updating an unknown broadcast is a no-op, not an insert.
        await s.broadcasts.updateBroadcast(broadcastOf('ghost', iso(0)));
        expect(await s.broadcasts.getBroadcast('ghost')).toBeUndefined();
      });

      it('pageBroadcasts: keyset pages both ways (ties by id), filters, search, total, bad cursor', async () => {
        for (let i = 0; i < 25; i++) {
          // Pairs share a time, so the id tie-break matters.
          const id = `bc-${String(i).padStart(2, '0')}`;
          await s.broadcasts.insertBroadcast(
            broadcastOf(id, iso(Math.floor(i / 2) * 1000), {
              state: i % 3 === 0 ? 'done' : 'delivering',
              title: i === 7 ? `Fire drill ${UNICODE}` : `Notice ${i}`,
              text: i === 11 ? '100% sure_thing' : 'plain',
              createdBy: i === 4 ? 'api:Security-Desk' : 'api:admin',
            }),
          );
        }
        const all = Array.from({ length: 25 }, (_, i) => `bc-${String(i).padStart(2, '0')}`);
        const desc = await allPages((cursor) =>
          Promise.resolve(s.broadcasts.pageBroadcasts(page({ cursor }), {})),
        );
        expect(desc.ids).toEqual([...all].reverse());
        expect(desc.totals).toEqual([25, 25, 25]);
        const asc = await allPages((cursor) =>
          Promise.resolve(s.broadcasts.pageBroadcasts(page({ cursor, order: 'asc', limit: 7 }), {})),
        );
        expect(asc.ids).toEqual(all);
        expect(asc.pages).toBe(4);
        // Exactly a page full: no empty last page.
        const exact = await s.broadcasts.pageBroadcasts(page({ limit: 25 }), {});
        expect(exact.items).toHaveLength(25);
        expect(exact.next).toBeNull();
        // Filters combined with paging.
        const done = await allPages((cursor) =>
          Promise.resolve(
            s.broadcasts.pageBroadcasts(page({ cursor, limit: 3 }), { state: 'done', before: iso(10_000) }),
          ),
        );
        expect(done.ids).toEqual(['bc-18', 'bc-15', 'bc-12', 'bc-09', 'bc-06', 'bc-03', 'bc-00']);
        expect(new Set(done.totals)).toEqual(new Set([7]));
        // Search: case-insensitive (ASCII), over title, text, sender and id; % and _ are literal.
        const search = async (q: string, f = {}) =>
          (await s.broadcasts.pageBroadcasts(page({ q, limit: 50 }), f)).items.map((b) => b.id);
        expect(await search('FIRE DRILL')).toEqual(['bc-07']);
        expect(await search('火災 🚨')).toEqual(['bc-07']);
        expect(await search('security-desk')).toEqual(['bc-04']);
        expect(await search('bc-2')).toEqual(['bc-24', 'bc-23', 'bc-22', 'bc-21', 'bc-20']);
        expect(await search('100%')).toEqual(['bc-11']);
        expect(await search('0% s')).toEqual(['bc-11']);
        expect(await search('e_t')).toEqual(['bc-11']);
        expect(await search('plai_')).toEqual([]);
        expect(await search('%')).toEqual(['bc-11']);
        expect(await search('notice 1', { state: 'done' })).toEqual(['bc-18', 'bc-15', 'bc-12']);
        expect(await search('fire  drill')).toEqual([]);
        expect(await search('  fire ')).toEqual(['bc-07']);
        const p = await s.broadcasts.pageBroadcasts(page({ q: 'notice', limit: 2 }), {});
        expect(p.total).toBe(24);
        // A cursor made for the other order is refused with a stable code.
        await expect(
          Promise.resolve().then(() =>
            s.broadcasts.pageBroadcasts(page({ cursor: p.next!, order: 'asc' }), {}),
          ),
        ).rejects.toMatchObject({ code: 'PAGE_CURSOR_INVALID' });
        await expect(
          Promise.resolve().then(() => s.broadcasts.pageBroadcasts(page({ cursor: 'garbage!' }), {})),
        ).rejects.toMatchObject({ code: 'PAGE_CURSOR_INVALID' });
      });

      it('deliveries: a batch keeps its order, upserts keep their place, the last of a repeated id wins', async () => {
        await s.broadcasts.insertBroadcast(broadcastOf('bc', iso(0)));
        await s.broadcasts.insertBroadcast(broadcastOf('other', iso(0)));
        // Ids deliberately not in sort order: d499 … d0.
        const batch = Array.from({ length: 500 }, (_, i) => deliveryOf('bc', 499 - i));
        await s.broadcasts.saveDeliveries(batch);
        await s.broadcasts.saveDeliveries([]);
        await s.broadcasts.saveDeliveries([deliveryOf('other', 1)]);
        expect((await s.broadcasts.listDeliveries('bc')).map((d) => d.id)).toEqual(batch.map((d) => d.id));
        // Outcomes of a few phones, and one new phone, in one batch; the same id twice: the last wins.
        const accepted = { ...deliveryOf('bc', 10, 'accepted'), latencyMs: 42, message: UNICODE };
        const failed = { ...deliveryOf('bc', 10, 'failed'), reason: 'unreachable', attempts: 3 };
        const extra = deliveryOf('bc', 1000, 'sent');
        await s.broadcasts.saveDeliveries([accepted, extra, failed]);
        const list = await s.broadcasts.listDeliveries('bc');
        expect(list.map((d) => d.id)).toEqual([...batch.map((d) => d.id), extra.id]);
        expect(list.find((d) => d.id === 'bc:d10')).toEqual(failed);
        expect(await s.broadcasts.getDelivery('bc:d10')).toEqual(failed);
        expect(await s.broadcasts.getDelivery('bc:d1000')).toEqual(extra);
        expect(await s.broadcasts.getDelivery('nope')).toBeUndefined();
        expect((await s.broadcasts.listDeliveries('other')).map((d) => d.id)).toEqual(['other:d1']);
        expect(await s.broadcasts.listDeliveries('nope')).toEqual([]);
        // The counts by state come from the same rows (the list page's summary reads only these).
        expect(await s.broadcasts.countDeliveries('bc')).toEqual({ queued: 499, failed: 1, sent: 1 });
        expect(await s.broadcasts.countDeliveries('other')).toEqual({ queued: 1 });
        expect(await s.broadcasts.countDeliveries('nope')).toEqual({});
      });

      it('a batch with a bad delivery stores none of it (one transaction)', async () => {
        await s.broadcasts.insertBroadcast(broadcastOf('bc', iso(0)));
        // The last one names a broadcast that does not exist (foreign key).
        const bad = [deliveryOf('bc', 1), deliveryOf('bc', 2), deliveryOf('missing', 3)];
        await expect(Promise.resolve().then(() => s.broadcasts.saveDeliveries(bad))).rejects.toThrow();
        expect(await s.broadcasts.listDeliveries('bc')).toEqual([]);
      });

      it('concurrent writers on two hubs: every broadcast and delivery is stored once', async () => {
        const peer = await s.peer();
        const hubs = [s, peer];
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            hubs[i % 2]!.broadcasts.insertBroadcast(broadcastOf(`c-${i}`, iso(i)), [
              { deviceId: `p-${i}`, kind: 'cisco' },
            ]),
          ),
        );
        await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            hubs[i % 2]!.broadcasts.saveDeliveries(
              Array.from({ length: 25 }, (_, j) => deliveryOf(`c-${i % 20}`, (i >= 20 ? 100 : 0) + j)),
            ),
          ),
        );
        const list = await peer.broadcasts.listBroadcasts({ limit: 100 });
        expect(list).toHaveLength(20);
        for (let i = 0; i < 20; i++) {
          const ds = await s.broadcasts.listDeliveries(`c-${i}`);
          expect(ds).toHaveLength(50);
          expect(await peer.broadcasts.listTargets(`c-${i}`)).toEqual([
            { deviceId: `p-${i}`, kind: 'cisco' },
          ]);
        }
      });
    });

    describe('broadcast ownership (several hubs)', () => {
      it('listUnowned: running broadcasts whose lease is missing, given up or run out past the grace, oldest first', async () => {
        const peer = await s.peer();
        await s.broadcasts.insertBroadcast(broadcastOf('b-none', iso(3), { priority: 'urgent' }));
        await s.broadcasts.insertBroadcast(broadcastOf('b-held', iso(1), { priority: 'emergency' }));
        await s.broadcasts.insertBroadcast(broadcastOf('b-given', iso(2)));
        await s.broadcasts.insertBroadcast(broadcastOf('b-done', iso(0), { state: 'done' }));
        await s.broadcasts.insertBroadcast(broadcastOf('b-out', iso(4)));
        expect(await s.leases.acquire('broadcast:b-held', 'hub-1', 60_000)).toBe(1);
        expect(await s.leases.acquire('broadcast:b-given', 'hub-1', 60_000)).toBe(1);
        await s.leases.release('broadcast:b-given', 'hub-1');
        expect(await s.leases.acquire('broadcast:b-out', 'hub-1', 1)).toBe(1);
        await new Promise((r) => setTimeout(r, 20));
        const ids = async (graceMs: number) =>
          (await peer.broadcasts.listUnowned({ graceMs, limit: 10 })).map((b) => `${b.id}/${b.priority}`);
        expect(await ids(0)).toEqual(['b-given/normal', 'b-none/urgent', 'b-out/normal']);
        // Run out (or given up) for less than the grace: not yet listed; no lease at all: listed.
        expect(await ids(60_000)).toEqual(['b-none/urgent']);
        expect(await peer.broadcasts.listUnowned({ graceMs: 0, limit: 1 })).toEqual([
          { id: 'b-given', priority: 'normal' },
        ]);
        // Taken by another hub: owned again. Finished: never listed.
        expect(await peer.leases.acquire('broadcast:b-none', 'hub-2', 60_000)).toBe(1);
        await s.broadcasts.updateBroadcast(broadcastOf('b-out', iso(4), { state: 'done' }));
        expect(await ids(0)).toEqual(['b-given/normal']);
      });

      it('fenced writes: done while the lease is held with the token; refused as a whole (LEASE_LOST) once another hub took it', async () => {
        const peer = await s.peer();
        await s.broadcasts.insertBroadcast(broadcastOf('bc', iso(0)));
        const t1 = await s.leases.acquire('broadcast:bc', 'hub-1', 60_000);
        const f1 = { lease: 'broadcast:bc', holder: 'hub-1', token: t1! };
        await s.broadcasts.saveDeliveries([deliveryOf('bc', 1, 'accepted')], f1);
        await s.broadcasts.updateBroadcast(broadcastOf('bc', iso(0), { title: 'by hub-1' }), f1);
        expect((await peer.broadcasts.getBroadcast('bc'))?.title).toBe('by hub-1');
        // hub-1 is cut off; its lease runs out and hub-2 takes it with a larger token.
        await s.leases.release('broadcast:bc', 'hub-1');
        const t2 = await peer.leases.acquire('broadcast:bc', 'hub-2', 60_000);
        expect(t2).toBeGreaterThan(t1!);
        await peer.broadcasts.saveDeliveries([deliveryOf('bc', 2, 'displayed')], {
          lease: 'broadcast:bc',
          holder: 'hub-2',
          token: t2!,
        });
        const late = [deliveryOf('bc', 2, 'queued'), deliveryOf('bc', 3, 'failed')];
        await expect(s.broadcasts.saveDeliveries(late, f1)).rejects.toMatchObject({ code: 'LEASE_LOST' });
        await expect(
          s.broadcasts.updateBroadcast(broadcastOf('bc', iso(0), { state: 'done' }), f1),
        ).rejects.toMatchObject({ code: 'LEASE_LOST', status: 409 });
        // Nothing of the late writes landed.
        expect((await peer.broadcasts.listDeliveries('bc')).map((d) => `${d.id}=${d.state}`)).toEqual([
          'bc:d1=accepted',
          'bc:d2=displayed',
        ]);
        const b = await peer.broadcasts.getBroadcast('bc');
        expect([b?.state, b?.title]).toEqual(['delivering', 'by hub-1']);
        // Without a fence, writes are as before; an empty fenced batch is a no-op, not an error.
        await s.broadcasts.saveDeliveries([], f1);
        await s.broadcasts.saveDeliveries([deliveryOf('bc', 4)]);
        expect(await peer.broadcasts.listDeliveries('bc')).toHaveLength(3);
      });
    });

    describe('keyed stores (templates, schedules, rules, locations)', () => {
      const template = (id: string, over: Partial<Template> = {}): Template => ({
        id,
        name: `Template ${id}`,
        title: 'Lockdown',
        text: '{{building}}: stay inside',
        priority: 'urgent',
        tones: 'alert',
        ack: true,
        expiresInSeconds: 600,
        description: '',
        createdAt: iso(0),
        updatedAt: iso(0),
        ...over,
      });

      it('templates: list in byte order of the key, get, upsert replaces, remove says whether it removed', async () => {
        for (const id of ['b', 'B', 'a-10', 'a-9', 'Zulu', '_x']) await s.templates.upsert(template(id));
        expect((await s.templates.list()).map((t) => t.id)).toEqual(['B', 'Zulu', '_x', 'a-10', 'a-9', 'b']);
        const t2 = template('b', { title: UNICODE, updatedAt: iso(5) });
        await s.templates.upsert(t2);
        expect(await s.templates.get('b')).toEqual(t2);
        expect(await s.templates.list()).toHaveLength(6);
        expect(await s.templates.remove('b')).toBe(true);
        expect(await s.templates.remove('b')).toBe(false);
        expect(await s.templates.get('b')).toBeUndefined();
        expect(await s.templates.get('B')).toEqual(template('B'));
      });

      it('schedules: the same keyed behaviour, JSON bodies with nested broadcast bodies', async () => {
        const sched = (id: string, over: Partial<Schedule> = {}): Schedule => ({
          id,
          name: `S ${id}`,
          broadcast: {
            title: 'Drill',
            text: UNICODE,
            targets: { groups: ['all'] },
            meta: { n: 1.5, z: null },
          },
          at: null,
          cron: '0 9 * * 1-5',
          timeZone: 'America/Chicago',
          paused: false,
          catchUpMinutes: null,
          nextRunAt: iso(86_400_000),
          lastRunAt: null,
          lastBroadcastId: null,
          lastError: null,
          runs: 0,
          missed: 0,
          createdAt: iso(0),
          updatedAt: iso(0),
          createdBy: 'api:admin',
          ...over,
        });
        await s.schedules.upsert(sched('s2'));
        await s.schedules.upsert(sched('s1', { paused: true, at: iso(1), cron: null }));
        expect((await s.schedules.list()).map((x) => x.id)).toEqual(['s1', 's2']);
        expect(await s.schedules.get('s1')).toEqual(sched('s1', { paused: true, at: iso(1), cron: null }));
        await s.schedules.upsert(sched('s2', { runs: 3, lastRunAt: iso(9) }));
        expect((await s.schedules.get('s2'))?.runs).toBe(3);
        expect(await s.schedules.remove('s1')).toBe(true);
        expect((await s.schedules.list()).map((x) => x.id)).toEqual(['s2']);
      });

      it('rules: keyed by id with their origin; another hub sees a change at once', async () => {
        const rule = (id: string, origin: Rule['origin'], over: Partial<Rule> = {}): Rule => ({
          id,
          name: id,
          enabled: true,
          event: 'call.emergency',
          where: { dialled: { in: ['911', '933'] }, 'caller.name': { matches: '^Ann' } },
          actions: [{ type: 'webhook', url: 'https://hooks.example.invalid/x', headers: { 'X-A': UNICODE } }],
          throttleSeconds: 0,
          origin,
          createdAt: iso(0),
          updatedAt: iso(0),
          ...over,
        });
        const peer = await s.peer();
        await s.rules.upsert(rule('r1', 'api'));
        await s.rules.upsert(rule('r0', 'config'));
        expect(await peer.rules.list()).toEqual([rule('r0', 'config'), rule('r1', 'api')]);
        await peer.rules.upsert(rule('r1', 'api', { enabled: false }));
        expect((await s.rules.get('r1'))?.enabled).toBe(false);
        expect(await peer.rules.remove('r0')).toBe(true);
        expect(await s.rules.get('r0')).toBeUndefined();
      });

      it('locations: upsertMany in one transaction (a bad row stores none), replace, remove', async () => {
        const loc = (extension: string, over: Partial<LocationEntry> = {}): LocationEntry => ({
          extension,
          site: 'HQ',
          building: 'North',
          floor: '2',
          room: `R${extension}`,
          updatedAt: iso(0),
          ...over,
        });
        const rows = Array.from({ length: 300 }, (_, i) => loc(String(1000 + i)));
        await s.locations.upsertMany(rows);
        expect(await s.locations.list()).toHaveLength(300);
        await s.locations.upsertMany([loc('1000', { room: UNICODE, timeZone: 'Europe/Paris' }), loc('0999')]);
        expect(await s.locations.get('1000')).toEqual(
          loc('1000', { room: UNICODE, timeZone: 'Europe/Paris' }),
        );
        expect((await s.locations.list())[0]?.extension).toBe('0999');
        // The second row cannot be stored (a BigInt has no JSON form) after the first was written.
        const bad = [loc('2000'), { ...loc('2001'), floor: 1n as unknown as string }];
        await expect(Promise.resolve().then(() => s.locations.upsertMany(bad))).rejects.toThrow();
        expect(await s.locations.get('2000')).toBeUndefined();
        expect(await s.locations.remove('0999')).toBe(true);
        expect(await s.locations.remove('0999')).toBe(false);
        expect(await s.locations.list()).toHaveLength(300);
      });
    });

    describe('incidents', () => {
      it('insert, update, get and byCallKey (the newest incident of a key)', async () => {
        const a = incidentOf('inc-a', iso(0), {
          callKey: '1:77',
          caller: { ...incidentOf('x', '').caller, name: UNICODE },
        });
        const b = incidentOf('inc-b', iso(5000), { callKey: '1:77' });
        await s.incidents.insert(b);
        await s.incidents.insert(a);
        expect(await s.incidents.get('inc-a')).toEqual(a);
        expect(await s.incidents.byCallKey('1:77')).toEqual(b);
        expect(await s.incidents.byCallKey('1:78')).toBeUndefined();
        const acked = {
          ...a,
          state: 'acknowledged' as const,
          acknowledgedAt: iso(100),
          acknowledgedBy: 'desk',
          timeline: Array.from({ length: 500 }, (_, i) => ({
            at: iso(i),
            type: 'note',
            detail: { i, UNICODE },
          })),
        };
        await s.incidents.update(acked);
        expect(await s.incidents.get('inc-a')).toEqual(acked);
        expect(await s.incidents.get('nope')).toBeUndefined();
      });

      async function seedLog(): Promise<void> {
        // 12 incidents a minute apart: every 3rd a drill, every 4th a test call, every 2nd acknowledged.
        for (let i = 0; i < 12; i++) {
          const ack = i % 2 === 0;
          await s.incidents.insert(
            incidentOf(`inc-${String(i).padStart(2, '0')}`, iso(i * 60_000), {
              ...(i % 3 === 0 ? { drill: true } : {}),
              test: i % 4 === 0,
              state: ack ? 'acknowledged' : 'notifying',
              acknowledgedAt: ack ? iso(i * 60_000 + 1000) : null,
              acknowledgedBy: ack ? `Guard ${i}` : null,
              caller: { ...incidentOf('x', '').caller, name: i === 5 ? 'Zoë Ü. Café' : `Caller ${i}` },
              location: { from: 'table', site: 'HQ', building: i === 7 ? 'Annex 50%' : 'North' },
            }),
          );
        }
      }
      const ids = (xs: Incident[]) => xs.map((i) => i.id.slice(4));

      it('listOpen: not acknowledged, created at or after since, oldest first, bounded', async () => {
        await seedLog();
        expect(ids(await s.incidents.listOpen({ since: iso(0), limit: 100 }))).toEqual([
          '01',
          '03',
          '05',
          '07',
          '09',
          '11',
        ]);
        expect(ids(await s.incidents.listOpen({ since: iso(5 * 60_000), limit: 2 }))).toEqual(['05', '07']);
        expect(await s.incidents.listOpen({ since: iso(12 * 60_000), limit: 10 })).toEqual([]);
      });

      it('list: newest first with every combination of before, drills and open', async () => {
        await seedLog();
        const all = ['11', '10', '09', '08', '07', '06', '05', '04', '03', '02', '01', '00'];
        const exercise = new Set(['00', '03', '04', '06', '08', '09']);
        const open = new Set(['01', '03', '05', '07', '09', '11']);
        for (const drills of [undefined, 'include', 'exclude', 'only'] as const)
          for (const o of [undefined, false, true])
            for (const before of [undefined, iso(6 * 60_000)]) {
              const want = all
                .filter((x) =>
                  drills === 'exclude' ? !exercise.has(x) : drills === 'only' ? exercise.has(x) : true,
                )
                .filter((x) => (o ? open.has(x) : true))
                .filter((x) => (before ? Number(x) < 6 : true));
              const q = {
                limit: 100,
                ...(drills ? { drills } : {}),
                ...(o !== undefined ? { open: o } : {}),
                ...(before ? { before } : {}),
              };
              expect(ids(await s.incidents.list(q)), JSON.stringify(q)).toEqual(want);
              expect(ids(await s.incidents.list({ ...q, limit: 2 })), JSON.stringify(q)).toEqual(
                want.slice(0, 2),
              );
            }
      });

      it('page: keyset pages with the log filters and a search over caller, location and acknowledger', async () => {
        await seedLog();
        const real = await allPages((cursor) =>
          Promise.resolve(s.incidents.page(page({ cursor, limit: 2 }), { drills: 'exclude' })),
        );
        expect(real.ids.map((x) => x.slice(4))).toEqual(['11', '10', '07', '05', '02', '01']);
        expect(new Set(real.totals)).toEqual(new Set([6]));
        const openAsc = await allPages((cursor) =>
          Promise.resolve(
            s.incidents.page(page({ cursor, limit: 4, order: 'asc' }), { open: true, drills: 'only' }),
          ),
        );
        expect(openAsc.ids.map((x) => x.slice(4))).toEqual(['03', '09']);
        const search = async (q: string, f = {}) =>
          ids((await s.incidents.page(page({ q, limit: 50 }), f)).items);
        expect(await search('ZOë Ü')).toEqual(['05']);
        expect(await search('ZOË')).toEqual([]); // case folding is ASCII only, on every backend
        expect(await search('guard 1')).toEqual(['10']);
        expect(await search('annex 50%')).toEqual(['07']);
        expect(await search('+1555')).toHaveLength(12);
        expect(await search('inc-0', { before: iso(3 * 60_000) })).toEqual(['02', '01', '00']);
        expect(await search('caller', { drills: 'only', open: true })).toEqual(['09', '03']);
        // A NUL character in a searched field (a PBX name can carry anything) breaks neither search nor paging.
        await s.incidents.insert(
          incidentOf('inc-nul', iso(20 * 60_000), {
            caller: { ...incidentOf('x', '').caller, name: 'A\u0000B' },
          }),
        );
        expect(await search('guard 1')).toEqual(['10']);
        expect(await search('inc-nul')).toEqual(['nul']);
        expect(await search('A\u0000B')).toEqual(['nul']);
        expect((await s.incidents.get('inc-nul'))?.caller.name).toBe('A\u0000B');
      });

      it('claimCall: one incident per live call and PBX; ended, stale, other caller or other PBX open a new one', async () => {
        const stale = { staleBefore: iso(-3_600_000) };
        const first = incidentOf('inc-1', iso(0), { callKey: '7:1001' });
        expect(await s.incidents.claimCall(first, stale)).toEqual({ created: true, incident: first });
        // The same call seen again (another hub, or a re-announce after the link came back).
        const again = await s.incidents.claimCall(
          incidentOf('inc-2', iso(100), { callKey: '7:1001' }),
          stale,
        );
        expect(again).toEqual({ created: false, incident: first });
        expect(await s.incidents.get('inc-2')).toBeUndefined();
        // Another PBX with the same call key is another call.
        const other = incidentOf('inc-3', iso(200), { callKey: '7:1001', pbx: 'ipo-2' });
        expect((await s.incidents.claimCall(other, stale)).created).toBe(true);
        // A plain insert (today's service path) never conflicts with a claim.
        await s.incidents.insert(incidentOf('inc-4', iso(300), { callKey: '7:1001' }));
        // The call ends: the key is free for the next call (IP Office reuses CallIDs).
        await s.incidents.update({ ...first, callEndedAt: iso(400) });
        const next = incidentOf('inc-5', iso(500), { callKey: '7:1001' });
        expect(await s.incidents.claimCall(next, stale)).toEqual({ created: true, incident: next });
        // Updating without an end keeps the claim.
        await s.incidents.update({ ...next, escalations: 1 });
        expect(
          (await s.incidents.claimCall(incidentOf('inc-6', iso(600), { callKey: '7:1001' }), stale)).incident
            .id,
        ).toBe('inc-5');
        // Another caller on the same CallID: the PBX reused it; the old claim is stale.
        const reused = incidentOf('inc-7', iso(700), {
          callKey: '7:1001',
          caller: { ...first.caller, extension: '305' },
        });
        expect((await s.incidents.claimCall(reused, stale)).created).toBe(true);
        // Too old to be this call (the end was never seen): stale, a new incident.
        const later = incidentOf('inc-8', iso(10_000_000), { callKey: '7:1001', caller: reused.caller });
        expect(
          (await s.incidents.claimCall(later, { staleBefore: iso(10_000_000 - 3_600_000) })).created,
        ).toBe(true);
        expect(
          (
            await s.incidents.claimCall(
              incidentOf('inc-9', iso(10_000_001), { callKey: '7:1001', caller: reused.caller }),
              stale,
            )
          ).incident.id,
        ).toBe('inc-8');
        // No call key, or a late source (the call already ended): always stored.
        const noKey = incidentOf('inc-10', iso(1), { callKey: null });
        expect((await s.incidents.claimCall(noKey, stale)).created).toBe(true);
        expect(
          (await s.incidents.claimCall(incidentOf('inc-11', iso(2), { callKey: null }), stale)).created,
        ).toBe(true);
        const late = incidentOf('inc-12', iso(3), {
          callKey: '7:1001',
          callEndedAt: iso(3),
          late: true,
          caller: reused.caller,
        });
        expect((await s.incidents.claimCall(late, stale)).created).toBe(true);
        expect((await s.incidents.list({ limit: 100 })).map((i) => i.id).sort()).toEqual(
          ['inc-1', 'inc-10', 'inc-11', 'inc-12', 'inc-3', 'inc-4', 'inc-5', 'inc-7', 'inc-8'].sort(),
        );
      });

      it('claimCall from two hubs at once: exactly one incident per call, every caller gets it', async () => {
        const peer = await s.peer();
        const hubs = [s, peer];
        const stale = { staleBefore: iso(-3_600_000) };
        for (const call of ['9:1', '9:2', '9:3']) {
          const results = await Promise.all(
            Array.from({ length: 8 }, (_, i) =>
              hubs[i % 2]!.incidents.claimCall(
                incidentOf(`inc-${call}-${i}`, iso(i), { callKey: call }),
                stale,
              ),
            ),
          );
          expect(results.filter((r) => r.created)).toHaveLength(1);
          const winner = results.find((r) => r.created)!.incident.id;
          expect(new Set(results.map((r) => r.incident.id))).toEqual(new Set([winner]));
        }
        expect(await peer.incidents.list({ limit: 100 })).toHaveLength(3);
      });
    });

    describe('webhook log', () => {
      const entry = (id: string, createdAt: string, ruleId: string | null = 'r1'): WebhookLogEntry => ({
        id,
        ruleId,
        url: 'https://hooks.example.invalid/in',
        eventType: 'call.emergency',
        eventId: `ev-${id}`,
        createdAt,
        state: 'pending',
        attempts: [],
      });

      it('save upserts; list is newest first (ties: last saved first) with a rule filter; prune keeps the newest', async () => {
        await s.webhooks.save(entry('w1', iso(0)));
        await s.webhooks.save(entry('w3', iso(1000), 'r2'));
        await s.webhooks.save(entry('w2', iso(1000), null));
        await s.webhooks.save(entry('w0', iso(2000)));
        const done: WebhookLogEntry = {
          ...entry('w1', iso(0)),
          state: 'failed',
          attempts: [{ at: iso(1), status: null, ms: 5000, error: UNICODE }],
        };
        await s.webhooks.save(done);
        const list = async (q: { limit: number; ruleId?: string }) =>
          (await s.webhooks.list(q)).map((e) => e.id);
        expect(await list({ limit: 10 })).toEqual(['w0', 'w2', 'w3', 'w1']);
        expect((await s.webhooks.list({ limit: 10 }))[3]).toEqual(done);
        expect(await list({ limit: 10, ruleId: 'r1' })).toEqual(['w0', 'w1']);
        expect(await list({ limit: 1, ruleId: 'r2' })).toEqual(['w3']);
        expect(await list({ limit: 10, ruleId: 'none' })).toEqual([]);
        await s.webhooks.prune(2);
        expect(await list({ limit: 10 })).toEqual(['w0', 'w2']);
        await s.webhooks.prune(0);
        expect(await list({ limit: 10 })).toEqual([]);
      });
    });
  });
}
