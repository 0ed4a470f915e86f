import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/core/audit.js';
import type { Device } from '../../src/core/devices.js';
import type { HubEvent } from '../../src/core/events.js';
import type { ApiKeyRecord, CoreStores, EventListQuery, UserRecord } from '../../src/core/store.js';

/**
 * THE contract of the core store ports (src/core/store.ts: events, devices, groups, API keys, users, kv;
 * src/core/audit.ts: the audit trail), run against every backend by one runner each (core-sqlite.test.ts,
 * core-postgres.test.ts). A backend passes when it behaves the same: order, filters, paging, prune
 * boundaries, revoke/extend semantics, unicode and large values, and a duplicate key (also from two hubs
 * at once) rejected with STORE_CONFLICT.
 */
export type CoreStoresUnderTest = Omit<CoreStores, 'ready' | 'close'>;

export interface CoreBackendInstance {
  stores: CoreStoresUnderTest;
  /** A second, independent set of stores over the same data (another hub, or another process). */
  peer(): Promise<CoreStoresUnderTest>;
  /** Runs a raw statement (to prove what the schema itself refuses). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

export interface CoreBackend {
  name: string;
  /** Fresh, empty, migrated stores. */
  create(): Promise<CoreBackendInstance>;
}

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const iso = (ms: number) => new Date(T0 + ms).toISOString();

function ev(
  seq: number,
  type = 'call.started',
  source = 'ipo-1',
  data: Record<string, unknown> = {},
): HubEvent {
  return { seq, id: `evt_${seq}`, time: iso(seq * 1000), source, type, data: { n: seq, ...data } };
}

function draft(x: string, type = 'call.started'): Omit<HubEvent, 'seq'> {
  return { id: `evt_${x}`, time: iso(0), source: 'ipo-1', type, data: { x } };
}

/** `evt_w<k>_<batch>_<i>` → a number that sorts a writer's events in the order it wrote them. */
function order(id: string): number {
  const [, b, i] = /_(\d+)_(\d+)$/.exec(id) ?? [];
  return Number(b) * 100 + Number(i);
}

function device(id: string, over: Partial<Device> = {}): Device {
  return {
    id,
    kind: 'cisco',
    name: id,
    address: '10.0.0.1',
    labels: [],
    groups: [],
    location: {},
    settings: {},
    createdAt: iso(0),
    updatedAt: iso(0),
    ...over,
  };
}

function key(id: string, over: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id,
    name: `key ${id}`,
    prefix: `sbk_${id}`,
    hash: 'ab'.repeat(32),
    salt: 'cd'.repeat(16),
    createdAt: iso(0),
    lastUsedAt: null,
    revokedAt: null,
    expiresAt: null,
    createdBy: null,
    role: 'admin',
    scopes: null,
    idleSeconds: null,
    absoluteExpiresAt: null,
    revokedReason: null,
    ...over,
  };
}

function user(name: string, over: Partial<UserRecord> = {}): UserRecord {
  return {
    name,
    passwordHash: 'scrypt$16384$8$1$00$11',
    createdAt: iso(0),
    lastLoginAt: null,
    disabledAt: null,
    role: 'operator',
    source: 'local',
    ...over,
  };
}

function audit(t: number, over: Partial<Omit<AuditEntry, 'seq'>> = {}): Omit<AuditEntry, 'seq'> {
  return {
    time: iso(t),
    actorKind: 'session',
    actorId: 'u1',
    actorName: 'ops',
    address: '127.0.0.1',
    action: 'device.added',
    target: 'device x1',
    outcome: 'ok',
    detail: {},
    ...over,
  };
}

/** Rejects with the typed conflict error, the same code on every backend. */
async function expectConflict(p: unknown): Promise<void> {
  await expect(Promise.resolve().then(() => p)).rejects.toMatchObject({
    code: 'STORE_CONFLICT',
    status: 409,
  });
}

const BIG = 'x'.repeat(1_000_000);
/** Unicode text for every text field (no NUL: PostgreSQL text cannot hold one, see core-postgres.test.ts). */
const UNICODE = 'Ünïcødé 911 ☎️ 𝄞 日本語 "quoted" \\ back\nslash\ttab \u0001';
/** Inside JSON values a NUL is escaped, so every backend keeps it. */
const JSON_NUL = { nul: 'a\u0000b' };

export function coreStoreContract(backend: CoreBackend): void {
  describe(`core store contract: ${backend.name}`, () => {
    let inst: CoreBackendInstance;
    let s: CoreStoresUnderTest;
    beforeEach(async () => {
      inst = await backend.create();
      s = inst.stores;
    });
    afterEach(async () => {
      await inst.close();
    });

    describe('EventStore', () => {
      it('is empty at first: lastSeq 0, no events', async () => {
        expect(await s.events.lastSeq()).toBe(0);
        expect(await s.events.list({})).toEqual([]);
        expect(await s.events.prune({ before: iso(0), keep: 0 })).toBe(0);
      });

      it('lists by seq after/before, oldest first, limit 100 by default and clamped to 1…10,000', async () => {
        await s.events.append([ev(3), ev(1), ev(2)]);
        await s.events.append(Array.from({ length: 150 }, (_, i) => ev(i + 10)));
        expect(await s.events.lastSeq()).toBe(159);
        const all = await s.events.list({});
        expect(all).toHaveLength(100);
        expect(all.slice(0, 4).map((e) => e.seq)).toEqual([1, 2, 3, 10]);
        expect(all[0]).toEqual(ev(1));
        expect((await s.events.list({ after: 2, before: 12 })).map((e) => e.seq)).toEqual([3, 10, 11]);
        expect((await s.events.list({ limit: 0 })).map((e) => e.seq)).toEqual([1]);
        expect(await s.events.list({ limit: 1_000_000 })).toHaveLength(153);
        expect(await s.events.list({ after: 159 })).toEqual([]);
      });

      it('filters by exact type, `prefix.*` (with %, _ and \\ literal), `*`, and source', async () => {
        await s.events.append([
          ev(1, 'call.started'),
          ev(2, 'call.answered', 'ipo-2'),
          ev(3, 'phone.subscribed', 'desk-1'),
          ev(4, 'a_b.x'),
          ev(5, 'aXb.x'),
          ev(6, 'p%q.y'),
          ev(7, 'pZq.y'),
          ev(8, 'call'),
          ev(9, 'b\\c.z'),
        ]);
        const seqs = async (filter: { types?: string[]; source?: string }) =>
          (await s.events.list({ filter })).map((e) => e.seq);
        expect(await seqs({ types: ['call.*'] })).toEqual([1, 2]);
        expect(await seqs({ types: ['call.started', 'phone.*'] })).toEqual([1, 3]);
        expect(await seqs({ types: ['call.*'], source: 'ipo-2' })).toEqual([2]);
        expect(await seqs({ source: 'desk-1' })).toEqual([3]);
        expect(await seqs({ types: ['a_b.*'] })).toEqual([4]);
        expect(await seqs({ types: ['p%q.*'] })).toEqual([6]);
        expect(await seqs({ types: ['b\\c.*'] })).toEqual([9]);
        expect(await seqs({ types: ['*'] })).toHaveLength(9);
        expect(await seqs({ types: [] })).toHaveLength(9);
        expect(await seqs({ types: ['CALL.STARTED'] })).toEqual([]);
      });

      it('keeps unicode and large data exactly', async () => {
        const data = { text: UNICODE, big: BIG, nested: { a: [1, 2.5, null, true, 'é'] }, ...JSON_NUL };
        await s.events.append([{ ...ev(1, 'alert.ü', 'quelle-ß'), data }]);
        const [e] = await s.events.list({});
        expect(e).toEqual({ ...ev(1, 'alert.ü', 'quelle-ß'), data });
      });

      it('a batch is atomic: one duplicate seq or id rejects the whole batch with STORE_CONFLICT', async () => {
        await s.events.append([ev(1)]);
        await expectConflict(s.events.append([ev(2), ev(1), ev(3)]));
        await expectConflict(s.events.append([ev(4), { ...ev(5), id: 'evt_1' }]));
        expect((await s.events.list({})).map((e) => e.seq)).toEqual([1]);
        await s.events.append([]);
        expect(await s.events.lastSeq()).toBe(1);
      });

      it('two hubs appending the same seq at once: one stores it, the other gets STORE_CONFLICT', async () => {
        const other = await inst.peer();
        const r = await Promise.allSettled([
          s.events.append([ev(7, 'call.a')]),
          other.events.append([ev(7, 'call.b')]),
        ]);
        expect(r.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
        const failed = r.find((x) => x.status === 'rejected') as PromiseRejectedResult;
        expect(failed.reason).toMatchObject({ code: 'STORE_CONFLICT' });
        expect(await other.events.list({})).toHaveLength(1);
      });

      it('insert numbers events: the next seqs in the given order, past any stored seq, answered in order', async () => {
        await s.events.append([ev(5)]);
        const drafts = ['a', 'b', 'c'].map((x) => draft(x));
        expect(await s.events.insert(drafts)).toEqual([6, 7, 8]);
        expect(await s.events.insert([])).toEqual([]);
        expect(await s.events.lastSeq()).toBe(8);
        const all = await s.events.list({});
        expect(all.map((e) => [e.seq, e.id])).toEqual([
          [5, 'evt_5'],
          [6, 'evt_a'],
          [7, 'evt_b'],
          [8, 'evt_c'],
        ]);
        expect(all[1]).toEqual({ ...drafts[0], seq: 6 });
      });

      it('insert is idempotent by id: a retried batch answers the stored seqs and stores nothing twice', async () => {
        expect(await s.events.insert([draft('a'), draft('b')])).toEqual([1, 2]);
        // The answer was lost, the batch is written again with one more event: only that one is new.
        expect(await s.events.insert([draft('a'), draft('b'), draft('c')])).toEqual([1, 2, 3]);
        const other = await inst.peer();
        expect(await other.events.insert([draft('b')])).toEqual([2]);
        expect((await s.events.list({})).map((e) => e.id)).toEqual(['evt_a', 'evt_b', 'evt_c']);
      });

      it('concurrent writers on several connections: a reader polling `after` never skips an event (commit order = seq order)', async () => {
        const writers = [s, await inst.peer(), await inst.peer(), await inst.peer()];
        const seen: HubEvent[] = [];
        let done = false;
        // The reader pages through `after` while the writers run, exactly as GET /api/events?after= does.
        const reader = (async () => {
          let cursor = 0;
          for (;;) {
            const finished = done;
            const page = await s.events.list({ after: cursor, limit: 50 });
            seen.push(...page);
            if (page.length) cursor = page[page.length - 1]!.seq;
            else if (finished) return;
          }
        })();
        await Promise.all(
          writers.map(async (w, k) => {
            for (let b = 0; b < 25; b++)
              await w.events.insert(
                Array.from({ length: 1 + ((b * 7 + k) % 4) }, (_, i) => draft(`w${k}_${b}_${i}`)),
              );
          }),
        );
        done = true;
        await reader;
        const stored = await s.events.list({ limit: 10_000 });
        expect(stored.length).toBeGreaterThanOrEqual(25 * 4);
        // Everything stored was seen, once, in seq order: no skip, no duplicate.
        expect(seen.map((e) => e.id)).toEqual(stored.map((e) => e.id));
        // Each writer's batches keep their order and a batch's events are consecutive.
        for (let k = 0; k < writers.length; k++) {
          const mine = stored.filter((e) => e.id.startsWith(`evt_w${k}_`)).map((e) => e.id);
          expect(mine).toEqual([...mine].sort((x, y) => order(x) - order(y)));
        }
      });

      it('prune: all but the newest `keep` by seq, and every event strictly older than `before`', async () => {
        await s.events.append(Array.from({ length: 10 }, (_, i) => ev(i + 1)));
        // Nothing older than the first event, and keep more than there are: nothing goes.
        expect(await s.events.prune({ before: iso(1000), keep: 100 })).toBe(0);
        // Keep exactly 10 of 10: nothing goes.
        expect(await s.events.prune({ before: iso(0), keep: 10 })).toBe(0);
        // Time bound is strict: the event at exactly `before` (seq 3) stays.
        expect(await s.events.prune({ before: iso(3000), keep: 100 })).toBe(2);
        expect((await s.events.list({})).map((e) => e.seq)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
        // Keep the newest 3 (by seq, not count of rows left).
        expect(await s.events.prune({ before: iso(0), keep: 3 })).toBe(5);
        expect((await s.events.list({})).map((e) => e.seq)).toEqual([8, 9, 10]);
        expect(await s.events.lastSeq()).toBe(10);
        expect(await s.events.prune({ before: iso(1e9), keep: 0 })).toBe(3);
        expect(await s.events.lastSeq()).toBe(0);
      });

      it('pages (GET /api/events): either order, before/after, filter, search over type/source/data', async () => {
        await s.events.append([
          ev(1, 'call.started', 'ipo-1', { caller: 'Alice' }),
          ev(2, 'call.answered', 'ipo-1', { caller: 'Bob' }),
          ev(3, 'phone.subscribed', 'desk-1', { note: '50%_off' }),
          ev(4, 'call.ended', 'ipo-2', { caller: 'alice' }),
          ev(5, 'call.started', 'ipo-1', { note: '50 percent' }),
        ]);
        const seqs = async (o: Partial<EventListQuery>) =>
          (await s.events.list({ limit: 10, order: 'asc', ...o })).map((e) => e.seq);
        expect(await seqs({})).toEqual([1, 2, 3, 4, 5]);
        expect(await seqs({ order: 'desc', limit: 2 })).toEqual([5, 4]);
        expect(await seqs({ order: 'desc', before: 4, limit: 2 })).toEqual([3, 2]);
        expect(await seqs({ after: 2, limit: 2 })).toEqual([3, 4]);
        expect(await seqs({ filter: { types: ['call.*'] }, order: 'desc' })).toEqual([5, 4, 2, 1]);
        expect(await seqs({ filter: { source: 'ipo-2' } })).toEqual([4]);
        // Case-insensitive (ASCII), over type, source and data.
        expect(await seqs({ q: 'ALICE' })).toEqual([1, 4]);
        expect(await seqs({ q: ' desk-1 ' })).toEqual([3]);
        expect(await seqs({ q: 'answered' })).toEqual([2]);
        // % and _ are literal in a search.
        expect(await seqs({ q: '50%' })).toEqual([3]);
        expect(await seqs({ q: '%_' })).toEqual([3]);
        expect(await seqs({ q: '' })).toEqual([1, 2, 3, 4, 5]);
        expect(await seqs({ q: 'nobody' })).toEqual([]);
      });
    });

    describe('DeviceStore', () => {
      it('inserts, gets, updates and removes; unknown ids answer undefined/false', async () => {
        const d = device('lobby', {
          name: UNICODE,
          labels: ['front', 'ü'],
          groups: ['security'],
          location: { site: 'HQ', building: 'A', floor: '1', room: 'Lobby ☎' },
          settings: { model: '8845', password: 'secret', blob: BIG, ...JSON_NUL },
        });
        await s.devices.insert(d);
        expect(await s.devices.get('lobby')).toEqual(d);
        expect(await s.devices.get('nope')).toBeUndefined();
        const changed = { ...d, name: 'Lobby', address: '10.0.0.2', labels: [], updatedAt: iso(5000) };
        await s.devices.update(changed);
        expect(await s.devices.get('lobby')).toEqual(changed);
        // Updating an unknown id changes nothing.
        await s.devices.update(device('ghost'));
        expect(await s.devices.get('ghost')).toBeUndefined();
        expect(await s.devices.remove('lobby')).toBe(true);
        expect(await s.devices.remove('lobby')).toBe(false);
        expect(await s.devices.list()).toEqual([]);
      });

      it('lists by id in code-point order, filtered by kind, group, label and site', async () => {
        await s.devices.insert(device('b', { kind: 'avaya', groups: ['security', 'lobby'], labels: ['x'] }));
        await s.devices.insert(device('a', { groups: ['security'], location: { site: 'HQ' } }));
        await s.devices.insert(device('B', { labels: ['x', 'y'], location: { site: 'Annex' } }));
        await s.devices.insert(device('é', { groups: ['sec'], location: { site: 'HQ' } }));
        await s.devices.insert(device('a-1'));
        const ids = async (q?: { kind?: string; group?: string; label?: string; site?: string }) =>
          (await s.devices.list(q)).map((d) => d.id);
        expect(await ids()).toEqual(['B', 'a', 'a-1', 'b', 'é']);
        expect(await ids({ kind: 'avaya' })).toEqual(['b']);
        expect(await ids({ group: 'security' })).toEqual(['a', 'b']);
        // An element, not a substring of the JSON text.
        expect(await ids({ group: 'sec' })).toEqual(['é']);
        expect(await ids({ label: 'x' })).toEqual(['B', 'b']);
        expect(await ids({ site: 'HQ' })).toEqual(['a', 'é']);
        expect(await ids({ kind: 'cisco', group: 'security', site: 'HQ' })).toEqual(['a']);
        expect(await ids({ site: 'hq' })).toEqual([]);
      });

      it('a duplicate id is STORE_CONFLICT, also from two hubs at once; the first row stays', async () => {
        await s.devices.insert(device('x1', { name: 'first' }));
        await expectConflict(s.devices.insert(device('x1', { name: 'second' })));
        expect((await s.devices.get('x1'))?.name).toBe('first');
        const other = await inst.peer();
        const r = await Promise.allSettled([
          s.devices.insert(device('x2', { name: 'here' })),
          other.devices.insert(device('x2', { name: 'there' })),
        ]);
        expect(r.map((x) => x.status).sort()).toEqual(['fulfilled', 'rejected']);
        expect((r.find((x) => x.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({
          code: 'STORE_CONFLICT',
          details: { entity: 'device', id: 'x2' },
        });
        expect(await other.devices.list()).toHaveLength(2);
      });
    });

    describe('GroupStore', () => {
      it('upserts (insert, then replace name and description), lists by id, removes', async () => {
        await s.groups.upsert({ id: 'security', name: 'Security', description: 'Desk ☎' });
        await s.groups.upsert({ id: 'Lobby', name: 'Lobby' });
        expect(await s.groups.get('security')).toEqual({
          id: 'security',
          name: 'Security',
          description: 'Desk ☎',
        });
        // No description: the key is absent, not undefined or null.
        expect(await s.groups.get('Lobby')).toStrictEqual({ id: 'Lobby', name: 'Lobby' });
        await s.groups.upsert({ id: 'security', name: 'Security desk' });
        expect(await s.groups.get('security')).toStrictEqual({ id: 'security', name: 'Security desk' });
        expect((await s.groups.list()).map((g) => g.id)).toEqual(['Lobby', 'security']);
        expect(await s.groups.remove('security')).toBe(true);
        expect(await s.groups.remove('security')).toBe(false);
        expect(await s.groups.get('security')).toBeUndefined();
      });
    });

    describe('ApiKeyStore', () => {
      it('stores every field, lists by creation time then id, drops unknown scopes and roles', async () => {
        const full = key('k1', {
          createdAt: iso(2000),
          expiresAt: iso(9000),
          createdBy: 'ops',
          role: null,
          scopes: ['devices:read', 'audit:read'],
          idleSeconds: 900,
          absoluteExpiresAt: iso(99_000),
        });
        await s.apiKeys.insert(full);
        await s.apiKeys.insert(key('k0', { createdAt: iso(2000) }));
        await s.apiKeys.insert(key('k9', { createdAt: iso(1000) }));
        expect(await s.apiKeys.get('k1')).toEqual(full);
        expect(await s.apiKeys.get('none')).toBeUndefined();
        expect((await s.apiKeys.list()).map((k) => k.id)).toEqual(['k9', 'k0', 'k1']);
        await s.apiKeys.insert(
          key('k2', { role: 'root' as never, scopes: ['devices:read', 'fly' as never] }),
        );
        expect(await s.apiKeys.get('k2')).toMatchObject({ role: null, scopes: ['devices:read'] });
        await expectConflict(s.apiKeys.insert(key('k1')));
      });

      it('revoke: once (its time and reason stay), default reason `revoked`; unknown ids false', async () => {
        await s.apiKeys.insert(key('k1'));
        await s.apiKeys.insert(key('k2'));
        expect(await s.apiKeys.revoke('k1', iso(1000), 'signed-out')).toBe(true);
        expect(await s.apiKeys.revoke('k1', iso(2000), 'revoked')).toBe(false);
        expect(await s.apiKeys.get('k1')).toMatchObject({
          revokedAt: iso(1000),
          revokedReason: 'signed-out',
        });
        expect(await s.apiKeys.revoke('k2', iso(3000))).toBe(true);
        expect(await s.apiKeys.get('k2')).toMatchObject({ revokedAt: iso(3000), revokedReason: 'revoked' });
        expect(await s.apiKeys.revoke('nope', iso(3000))).toBe(false);
      });

      it('extend moves expiry and last use of a live key only; touch records the use, revoked or not', async () => {
        await s.apiKeys.insert(
          key('s1', { expiresAt: iso(1000), absoluteExpiresAt: iso(50_000), idleSeconds: 60 }),
        );
        await s.apiKeys.extend('s1', iso(61_000), iso(1000));
        expect(await s.apiKeys.get('s1')).toMatchObject({
          expiresAt: iso(61_000),
          lastUsedAt: iso(1000),
          absoluteExpiresAt: iso(50_000),
        });
        await s.apiKeys.revoke('s1', iso(2000));
        await s.apiKeys.extend('s1', iso(99_000), iso(3000));
        expect(await s.apiKeys.get('s1')).toMatchObject({ expiresAt: iso(61_000), lastUsedAt: iso(1000) });
        await s.apiKeys.touch('s1', iso(4000));
        expect((await s.apiKeys.get('s1'))?.lastUsedAt).toBe(iso(4000));
        await s.apiKeys.touch('nope', iso(4000));
        await s.apiKeys.extend('nope', iso(4000), iso(4000));
        expect(await s.apiKeys.get('nope')).toBeUndefined();
      });

      it('revokeCreatedBy revokes the live keys a user created and its sessions, and counts them', async () => {
        await s.apiKeys.insert(key('a', { createdBy: 'ops' }));
        await s.apiKeys.insert(key('b', { name: 'session:ops', createdBy: null }));
        await s.apiKeys.insert(key('c', { createdBy: 'ops', revokedAt: iso(1), revokedReason: 'revoked' }));
        await s.apiKeys.insert(key('d', { createdBy: 'opsx', name: 'session:opsx' }));
        await s.apiKeys.insert(key('e', { name: 'ops' }));
        expect(await s.apiKeys.revokeCreatedBy('ops', iso(5000), 'user-disabled')).toBe(2);
        const byId = Object.fromEntries((await s.apiKeys.list()).map((k) => [k.id, k]));
        expect(byId.a).toMatchObject({ revokedAt: iso(5000), revokedReason: 'user-disabled' });
        expect(byId.b).toMatchObject({ revokedAt: iso(5000), revokedReason: 'user-disabled' });
        // Already revoked: untouched (insert stores no reason: `revokedReason` is written by revoke only).
        expect(byId.c).toMatchObject({ revokedAt: iso(1), revokedReason: null });
        expect(byId.d?.revokedAt).toBeNull();
        expect(byId.e?.revokedAt).toBeNull();
        expect(await s.apiKeys.revokeCreatedBy('ops', iso(6000))).toBe(0);
      });
    });

    describe('UserStore', () => {
      it('inserts, lists by name, changes password, role, disabled and last login; unknown names false', async () => {
        const u = user('Zoë', { source: 'oidc', role: 'viewer', lastLoginAt: iso(5) });
        await s.users.insert(u);
        await s.users.insert(user('admin', { role: 'admin' }));
        await s.users.insert(user('Bob'));
        expect(await s.users.get('Zoë')).toEqual(u);
        expect(await s.users.get('zoë')).toBeUndefined();
        expect((await s.users.list()).map((x) => x.name)).toEqual(['Bob', 'Zoë', 'admin']);
        expect(await s.users.setPassword('Bob', 'scrypt$new')).toBe(true);
        expect(await s.users.setRole('Bob', 'sender')).toBe(true);
        expect(await s.users.setDisabled('Bob', iso(7))).toBe(true);
        await s.users.touchLogin('Bob', iso(8));
        expect(await s.users.get('Bob')).toEqual(
          user('Bob', {
            passwordHash: 'scrypt$new',
            role: 'sender',
            disabledAt: iso(7),
            lastLoginAt: iso(8),
          }),
        );
        expect(await s.users.setDisabled('Bob', null)).toBe(true);
        expect((await s.users.get('Bob'))?.disabledAt).toBeNull();
        expect(await s.users.setPassword('nope', 'x')).toBe(false);
        expect(await s.users.setRole('nope', 'admin')).toBe(false);
        expect(await s.users.setDisabled('nope', null)).toBe(false);
        await s.users.touchLogin('nope', iso(1));
        expect(await s.users.get('nope')).toBeUndefined();
      });

      it('a duplicate name is STORE_CONFLICT, also from two hubs at once', async () => {
        await s.users.insert(user('ops'));
        await expectConflict(s.users.insert(user('ops', { role: 'admin' })));
        expect((await s.users.get('ops'))?.role).toBe('operator');
        const other = await inst.peer();
        const r = await Promise.allSettled([s.users.insert(user('desk')), other.users.insert(user('desk'))]);
        expect(r.map((x) => x.status).sort()).toEqual(['fulfilled', 'rejected']);
        expect((r.find((x) => x.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({
          code: 'STORE_CONFLICT',
        });
      });
    });

    describe('KvStore', () => {
      it('sets, overwrites, deletes and lists per namespace by key; JSON values round-trip exactly', async () => {
        expect(await s.kv.get('ns', 'a')).toBeUndefined();
        await s.kv.set('ns', 'b', { deep: [1, 'two', { three: 3 }], text: UNICODE });
        await s.kv.set('ns', 'a', 1.5);
        await s.kv.set('ns', 'Z', null);
        await s.kv.set('other', 'a', 'other');
        // null is a value, not absence.
        expect(await s.kv.get('ns', 'Z')).toBeNull();
        expect(await s.kv.get('ns', 'b')).toEqual({ deep: [1, 'two', { three: 3 }], text: UNICODE });
        await s.kv.set('ns', 'a', [true]);
        expect(await s.kv.get('ns', 'a')).toEqual([true]);
        expect((await s.kv.list('ns')).map((e) => e.key)).toEqual(['Z', 'a', 'b']);
        expect(await s.kv.list('other')).toEqual([{ key: 'a', value: 'other' }]);
        await s.kv.delete('ns', 'a');
        await s.kv.delete('ns', 'never');
        expect(await s.kv.get('ns', 'a')).toBeUndefined();
        expect(await s.kv.get('other', 'a')).toBe('other');
        expect(await s.kv.list('empty')).toEqual([]);
      });

      it('keeps a large value (1 MB) and unicode keys', async () => {
        await s.kv.set('ns', '鍵 ☎', { big: BIG, ...JSON_NUL });
        expect(await s.kv.get('ns', '鍵 ☎')).toEqual({ big: BIG, ...JSON_NUL });
      });
    });

    describe('AuditStore', () => {
      it('appends with growing seq; lists newest first, pages with `before`', async () => {
        const seqs: number[] = [];
        for (let i = 0; i < 5; i++)
          seqs.push(await s.audit.append(audit(i * 1000, { detail: { i, t: UNICODE } })));
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        expect(new Set(seqs).size).toBe(5);
        const first = await s.audit.list({ limit: 2 });
        expect(first.map((e) => e.seq)).toEqual([seqs[4], seqs[3]]);
        expect(first[0]).toEqual({ seq: seqs[4], ...audit(4000, { detail: { i: 4, t: UNICODE } }) });
        const next = await s.audit.list({ limit: 10, before: first[1]!.seq });
        expect(next.map((e) => e.seq)).toEqual([seqs[2], seqs[1], seqs[0]]);
      });

      it('appendMany stores a batch in its order (seq follows it), with nulls and unicode; an empty batch is nothing', async () => {
        await s.audit.appendMany([]);
        expect(await s.audit.list({ limit: 10 })).toEqual([]);
        const batch = Array.from({ length: 300 }, (_, i) =>
          audit(i % 7, {
            action: `a.${i}`,
            actorName: i % 3 === 0 ? null : `n ${UNICODE}`,
            target: i % 2 ? null : `id=${i}`,
            detail: { i, t: UNICODE },
          }),
        );
        await s.audit.appendMany(batch);
        const got = (await s.audit.list({ limit: 1000 })).reverse();
        expect(got.map(({ seq: _, ...e }) => e)).toEqual(batch);
        expect(got.map((e) => e.seq)).toEqual([...got.map((e) => e.seq)].sort((a, b) => a - b));
        expect(await s.audit.append(audit(9000))).toBeGreaterThan(got.at(-1)!.seq);
      });

      it('filters: actor (name or id), action exact or `prefix.*` (literal _), outcome, since ≤ time < until', async () => {
        await s.audit.append(audit(0, { actorName: 'ops', actorId: 'k1', action: 'device.added' }));
        await s.audit.append(audit(1000, { actorName: null, actorId: 'ops', action: 'device.removed' }));
        await s.audit.append(
          audit(2000, { actorName: 'desk', actorId: 'k2', action: 'key.created', outcome: 'denied' }),
        );
        await s.audit.append(audit(3000, { actorName: 'desk', action: 'deviceXadded', outcome: 'failed' }));
        await s.audit.append(
          audit(4000, { actorName: 'sys', actorKind: 'system', actorId: null, action: 'dev_ce.x' }),
        );
        const actions = async (q: Record<string, unknown>) =>
          (await s.audit.list({ limit: 100, ...q })).map((e) => e.action);
        expect(await actions({ actor: 'ops' })).toEqual(['device.removed', 'device.added']);
        expect(await actions({ actor: 'k2' })).toEqual(['key.created']);
        expect(await actions({ action: 'device.*' })).toEqual(['device.removed', 'device.added']);
        expect(await actions({ action: 'dev_ce.*' })).toEqual(['dev_ce.x']);
        expect(await actions({ action: 'key.created' })).toEqual(['key.created']);
        expect(await actions({ outcome: 'denied' })).toEqual(['key.created']);
        expect(await actions({ since: iso(1000), until: iso(3000) })).toEqual([
          'key.created',
          'device.removed',
        ]);
        expect(await actions({ actor: 'desk', outcome: 'failed' })).toEqual(['deviceXadded']);
        expect(await actions({ limit: 1 })).toEqual(['dev_ce.x']);
      });

      it('prune deletes entries strictly older than `before`; rows cannot be updated (append-only)', async () => {
        for (let i = 0; i < 4; i++) await s.audit.append(audit(i * 1000));
        expect(await s.audit.prune(iso(0))).toBe(0);
        expect(await s.audit.prune(iso(2000))).toBe(2);
        expect((await s.audit.list({ limit: 10 })).map((e) => e.time)).toEqual([iso(3000), iso(2000)]);
        await expect(inst.exec("UPDATE audit_log SET action = 'forged'")).rejects.toThrow(/append-only/);
        expect((await s.audit.list({ limit: 10 })).map((e) => e.action)).toEqual([
          'device.added',
          'device.added',
        ]);
        // Entries appended after a prune keep growing their seq.
        const [top] = await s.audit.list({ limit: 1 });
        expect(await s.audit.append(audit(5000))).toBeGreaterThan(top!.seq);
      });
    });
  });
}
