import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Schedule } from '../../src/alerting/broadcast/schedules.js';
import type { ConfigArea } from '../../src/core/config-sync.js';
import type { StorePorts } from '../../src/core/module.js';
import { waitFor } from '../helpers/wait.js';

/**
 * THE contract of the configuration versions port (core/config-sync.ts), run against every backend by one
 * runner each (config-changes-sqlite.test.ts, config-changes-postgres.test.ts): `bump` and every write of a
 * configuration table move exactly their area's version, by the writer's transaction (a failed write moves
 * nothing); the high-traffic columns (a key's last use, a session's sliding expiry, a user's last sign-in)
 * move nothing; another hub (`peer()`) reads the same versions.
 */
export type ConfigStores = Pick<
  StorePorts,
  | 'configChanges'
  | 'devices'
  | 'groups'
  | 'templates'
  | 'rules'
  | 'locations'
  | 'schedules'
  | 'apiKeys'
  | 'users'
>;

export interface ConfigStoresInstance extends ConfigStores {
  peer(): Promise<ConfigStores>;
  close(): Promise<void>;
}

export interface ConfigStoresBackend {
  name: string;
  create(): Promise<ConfigStoresInstance>;
}

const AT = '2026-01-05T09:00:00.000Z';

export function configChangesContract(backend: ConfigStoresBackend): void {
  describe(`configuration versions contract: ${backend.name}`, () => {
    let s: ConfigStoresInstance;
    beforeEach(async () => {
      s = await backend.create();
    });
    afterEach(async () => {
      await s.close();
    });

    /**
     * Runs `write` and answers the areas whose version went up (by how much is the backend's: an upsert may
     * count as an insert and an update; a version never goes down).
     */
    const moved = async (write: () => Promise<unknown>): Promise<ConfigArea[]> => {
      const before = await s.configChanges.versions();
      await write();
      const after = await s.configChanges.versions();
      const out: ConfigArea[] = [];
      for (const [a, v] of Object.entries(after) as Array<[ConfigArea, number]>) {
        expect(v).toBeGreaterThanOrEqual(before[a] ?? 0);
        if (v > (before[a] ?? 0)) out.push(a);
      }
      return out.sort();
    };

    it('starts with no versions; bump moves its area by one, and a peer reads it', async () => {
      expect(await s.configChanges.versions()).toEqual({});
      await s.configChanges.bump('rules');
      await s.configChanges.bump('rules');
      await s.configChanges.bump('keys');
      expect(await s.configChanges.versions()).toEqual({ rules: 2, keys: 1 });
      const peer = await s.peer();
      expect(await peer.configChanges.versions()).toEqual({ rules: 2, keys: 1 });
    });

    it('a watcher of the store hears its bumps (and stops hearing after unsubscribing)', async () => {
      const heard: Array<ConfigArea | undefined> = [];
      const off = s.configChanges.watch((a) => heard.push(a));
      // A store that notifies through a server connection may still be connecting: a bump made before it
      // listens is missed (the connection then asks for a re-check, `undefined`), a later one is heard.
      await waitFor(async () => {
        await s.configChanges.bump('templates');
        await new Promise((r) => setTimeout(r, 50));
        return heard.includes('templates');
      });
      off();
      const n = heard.length;
      await s.configChanges.bump('templates');
      await new Promise((r) => setTimeout(r, 50));
      expect(heard.length).toBe(n);
    });

    it('every write of devices and groups moves "devices" only; a failed write moves nothing', async () => {
      const d = {
        id: 'p1',
        kind: 'cisco',
        name: 'Lobby',
        address: '127.0.0.1',
        labels: [],
        groups: ['security'],
        location: {},
        settings: {},
        createdAt: AT,
        updatedAt: AT,
      };
      expect(await moved(() => s.devices.insert(d))).toEqual(['devices']);
      expect(await moved(() => s.devices.update({ ...d, name: 'Lobby 2' }))).toEqual(['devices']);
      expect(
        await moved(() => expect(s.devices.insert(d)).rejects.toMatchObject({ code: 'STORE_CONFLICT' })),
      ).toEqual([]);
      expect(await moved(() => s.groups.upsert({ id: 'security', name: 'Security' }))).toEqual(['devices']);
      expect(await moved(() => s.groups.remove('security'))).toEqual(['devices']);
      expect(await moved(() => s.devices.remove('p1'))).toEqual(['devices']);
    });

    it('templates, rules, locations and schedules each move their own area', async () => {
      const t = {
        id: 'fire',
        name: 'Fire',
        title: 'Fire',
        text: 'Leave now',
        priority: 'emergency' as const,
        tones: 'urgent' as const,
        ack: true,
        expiresInSeconds: null,
        description: '',
        createdAt: AT,
        updatedAt: AT,
      };
      expect(await moved(() => s.templates.upsert(t))).toEqual(['templates']);
      expect(await moved(() => s.templates.remove('fire'))).toEqual(['templates']);
      const r = {
        id: 'r1',
        name: 'r1',
        enabled: true,
        event: 'ipoffice.call',
        where: {},
        actions: [],
        throttleSeconds: 0,
        origin: 'api' as const,
        createdAt: AT,
        updatedAt: AT,
      };
      expect(await moved(() => s.rules.upsert(r))).toEqual(['rules']);
      expect(await moved(() => s.rules.remove('r1'))).toEqual(['rules']);
      const rows = [
        { extension: '201', building: 'A', updatedAt: AT },
        { extension: '202', building: 'B', updatedAt: AT },
      ];
      expect(await moved(() => s.locations.upsertMany(rows))).toEqual(['locations']);
      expect(await moved(() => s.locations.remove('201'))).toEqual(['locations']);
      const sch: Schedule = {
        id: 'sch1',
        name: 'drill',
        broadcast: { text: 'drill' },
        at: '2026-02-01T09:00:00.000Z',
        cron: null,
        timeZone: 'UTC',
        paused: false,
        catchUpMinutes: null,
        nextRunAt: null,
        lastRunAt: null,
        lastBroadcastId: null,
        lastError: null,
        runs: 0,
        missed: 0,
        createdAt: AT,
        updatedAt: AT,
        createdBy: 'test',
      };
      expect(await moved(() => s.schedules.upsert(sch))).toEqual(['schedules']);
      expect(await moved(() => s.schedules.remove('sch1'))).toEqual(['schedules']);
    });

    it('keys and users: creating, revoking, disabling and role changes move them; uses and sign-ins do not', async () => {
      const k = {
        id: 'abc12345',
        name: 'session:alice',
        prefix: 'sbk_abc12345',
        hash: '00',
        salt: '11',
        createdAt: AT,
        lastUsedAt: null,
        revokedAt: null,
        expiresAt: '2026-01-05T10:00:00.000Z',
        createdBy: 'alice',
        role: null,
        scopes: null,
        idleSeconds: 600,
        absoluteExpiresAt: '2026-01-05T18:00:00.000Z',
        revokedReason: null,
      };
      expect(await moved(() => s.apiKeys.insert(k))).toEqual(['keys']);
      expect(await moved(() => s.apiKeys.touch(k.id, AT))).toEqual([]);
      expect(await moved(() => s.apiKeys.extend(k.id, '2026-01-05T10:05:00.000Z', AT))).toEqual([]);
      expect(await moved(() => s.apiKeys.revoke(k.id, AT, 'revoked'))).toEqual(['keys']);
      const u = {
        name: 'alice',
        passwordHash: 'scrypt$1$1$1$00$00',
        createdAt: AT,
        lastLoginAt: null,
        disabledAt: null,
        role: 'operator' as const,
        source: 'local' as const,
      };
      expect(await moved(() => s.users.insert(u))).toEqual(['users']);
      expect(await moved(() => s.users.touchLogin('alice', AT))).toEqual([]);
      expect(await moved(() => s.users.setRole('alice', 'admin'))).toEqual(['users']);
      expect(await moved(() => s.users.setDisabled('alice', AT))).toEqual(['users']);
      expect(await moved(() => s.users.setPassword('alice', 'scrypt$1$1$1$01$01'))).toEqual(['users']);
    });

    it('a write on a peer (another hub) moves the versions this hub reads', async () => {
      const peer = await s.peer();
      const before = (await s.configChanges.versions()).locations ?? 0;
      await peer.locations.upsertMany([{ extension: '301', room: '12', updatedAt: AT }]);
      expect((await s.configChanges.versions()).locations).toBeGreaterThan(before);
    });
  });
}
