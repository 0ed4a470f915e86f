import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { type ConfigArea, type ConfigChanges, ConfigSync } from '../../src/core/config-sync.js';
import { type Device, DeviceRegistry } from '../../src/core/devices.js';
import type { Logger } from '../../src/core/logger.js';
import { SqliteConfigChanges } from '../../src/store/sqlite/config-changes.js';
import { sqliteCoreStores } from '../../src/store/sqlite/core-stores.js';
import { type Db, openDatabase } from '../../src/store/sqlite/database.js';

/**
 * ConfigSync on a manual clock, over a versions store whose notifications the test delivers or loses at
 * will (a shared server's NOTIFY that never arrives), and the device registry's reload diff over a real
 * SQLite file shared by two registries (two hubs).
 */
class ScriptedChanges implements ConfigChanges {
  v: Partial<Record<ConfigArea, number>> = {};
  failing: Error | undefined;
  reads = 0;
  private watchers = new Set<(a: ConfigArea | undefined) => void>();
  /** Another hub's write: the version moves; the notification is delivered only if `notify`. */
  write(area: ConfigArea, notify: boolean): void {
    this.v[area] = (this.v[area] ?? 0) + 1;
    if (notify) for (const w of this.watchers) w(area);
  }
  /** The store's LISTEN connection came back: watchers hear "re-check" (undefined). */
  reconnect(): void {
    for (const w of this.watchers) w(undefined);
  }
  async bump(area: ConfigArea): Promise<void> {
    this.write(area, true);
  }
  async versions(): Promise<Partial<Record<ConfigArea, number>>> {
    this.reads++;
    if (this.failing) throw this.failing;
    return { ...this.v };
  }
  watch(cb: (a: ConfigArea | undefined) => void): () => void {
    this.watchers.add(cb);
    return () => this.watchers.delete(cb);
  }
}

interface Logged {
  level: string;
  msg: string;
  obj: Record<string, unknown>;
}
function recordingLogger(into: Logged[]): Logger {
  const at =
    (level: string) =>
    (obj: unknown, msg?: string): void => {
      into.push(
        typeof obj === 'string'
          ? { level, msg: obj, obj: {} }
          : { level, msg: msg ?? '', obj: obj as Record<string, unknown> },
      );
    };
  const l: Logger = {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: () => l,
  };
  return l;
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('ConfigSync', () => {
  const setup = async (o: { pollMs?: number; debounceMs?: number } = {}) => {
    const clock = new ManualClock();
    const changes = new ScriptedChanges();
    const logs: Logged[] = [];
    const sync = new ConfigSync({ changes, clock, logger: recordingLogger(logs), ...o });
    await sync.prime();
    const reloads: ConfigArea[] = [];
    for (const a of ['devices', 'templates', 'rules'] as const)
      sync.register(a, async () => {
        reloads.push(a);
      });
    sync.start();
    return { clock, changes, logs, sync, reloads };
  };

  it('a notification reloads its area after the debounce; a burst of writes costs one reload', async () => {
    const { clock, changes, sync, reloads } = await setup({ pollMs: 1000, debounceMs: 20 });
    for (let i = 0; i < 5; i++) changes.write('templates', true);
    await clock.advanceAsync(19);
    expect(reloads).toEqual([]);
    await clock.advanceAsync(1);
    await sync.idle();
    expect(reloads).toEqual(['templates']);
    // Nothing moved since: the poll reloads nothing.
    await clock.advanceAsync(1000);
    await sync.idle();
    expect(reloads).toEqual(['templates']);
    sync.stop();
  });

  it('a lost notification still applies by the poll, within pollMs', async () => {
    const { clock, changes, sync, reloads } = await setup({ pollMs: 1000 });
    changes.write('rules', false);
    await clock.advanceAsync(999);
    expect(reloads).toEqual([]);
    await clock.advanceAsync(1);
    await sync.idle();
    expect(reloads).toEqual(['rules']);
    sync.stop();
  });

  it('a reconnect (notifications may be lost) re-checks every area', async () => {
    const { clock, changes, sync, reloads } = await setup({ debounceMs: 5 });
    changes.write('devices', false);
    changes.write('rules', false);
    changes.write('devices', false);
    changes.reconnect();
    await clock.advanceAsync(5);
    await sync.idle();
    expect(reloads.sort()).toEqual(['devices', 'rules']);
    sync.stop();
  });

  it('a failing reload is logged as an error and retried at every poll until it succeeds', async () => {
    const { clock, changes, logs, sync } = await setup({ pollMs: 1000 });
    let fail = 2;
    let runs = 0;
    sync.register('locations', async () => {
      runs++;
      if (fail-- > 0) throw new Error('database busy');
    });
    changes.write('locations', true);
    await clock.advanceAsync(20);
    await sync.idle();
    expect(runs).toBe(1);
    const errors = logs.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.obj).toMatchObject({ area: 'locations', attempt: 1 });
    expect(errors[0]!.msg).toMatch(/serves its previous locations/);
    await clock.advanceAsync(1000);
    await sync.idle();
    expect(runs).toBe(2);
    await clock.advanceAsync(1000);
    await sync.idle();
    expect(runs).toBe(3);
    expect(logs.some((l) => l.level === 'info' && /succeeded again/.test(l.msg))).toBe(true);
    // Seen now: no more reloads.
    await clock.advanceAsync(3000);
    await sync.idle();
    expect(runs).toBe(3);
    sync.stop();
  });

  it('versions unreadable (store down): one error, quiet meanwhile, and the change applies once it is back', async () => {
    const { clock, changes, logs, sync, reloads } = await setup({ pollMs: 1000 });
    changes.failing = new Error('connection refused');
    changes.write('devices', false);
    for (let i = 0; i < 5; i++) {
      await clock.advanceAsync(1000);
      await sync.idle();
    }
    expect(logs.filter((l) => l.level === 'error')).toHaveLength(1);
    expect(reloads).toEqual([]);
    changes.failing = undefined;
    await clock.advanceAsync(1000);
    await sync.idle();
    expect(reloads).toEqual(['devices']);
    expect(logs.some((l) => /readable again/.test(l.msg))).toBe(true);
    sync.stop();
  });

  it('checks are serialised: a notification during a slow reload runs one more check after it, never two at once', async () => {
    const clock = new ManualClock();
    const changes = new ScriptedChanges();
    const sync = new ConfigSync({ changes, clock, debounceMs: 0 });
    await sync.prime();
    let active = 0;
    let maxActive = 0;
    let release: (() => void) | undefined;
    let runs = 0;
    sync.register('rules', async () => {
      runs++;
      active++;
      maxActive = Math.max(maxActive, active);
      if (runs === 1) await new Promise<void>((r) => (release = r));
      active--;
    });
    sync.start();
    changes.write('rules', true);
    await clock.advanceAsync(0);
    expect(runs).toBe(1);
    changes.write('rules', true);
    changes.write('rules', true);
    await clock.advanceAsync(0);
    await turn();
    expect(runs).toBe(1);
    release?.();
    await sync.idle();
    expect(runs).toBe(2);
    expect(maxActive).toBe(1);
    sync.stop();
  });

  it('an area registered after a change (a module starting later) still reloads it', async () => {
    const clock = new ManualClock();
    const changes = new ScriptedChanges();
    const sync = new ConfigSync({ changes, clock });
    await sync.prime();
    sync.start();
    changes.write('schedules', true);
    await clock.advanceAsync(1000);
    await sync.idle();
    let runs = 0;
    sync.register('schedules', async () => {
      runs++;
    });
    await clock.advanceAsync(1000);
    await sync.idle();
    expect(runs).toBe(1);
    sync.stop();
  });

  it('stop ends the polling and the watching', async () => {
    const { clock, changes, sync, reloads } = await setup();
    sync.stop();
    const reads = changes.reads;
    changes.write('devices', true);
    await clock.advanceAsync(10_000);
    expect(changes.reads).toBe(reads);
    expect(reloads).toEqual([]);
  });

  it('refuses bad timings with CONFIG_SYNC_BAD_OPTION', () => {
    const changes = new ScriptedChanges();
    for (const o of [
      { pollMs: 0 },
      { pollMs: 10 },
      { pollMs: 1.5 },
      { debounceMs: -1 },
      { pollMs: Number.NaN },
    ])
      expect(() => new ConfigSync({ changes, ...o })).toThrow(
        expect.objectContaining({ code: 'CONFIG_SYNC_BAD_OPTION' }),
      );
  });
});

describe('DeviceRegistry reload (two hubs on one store)', () => {
  let dir: string;
  const dbs: Db[] = [];
  afterEach(() => {
    for (const d of dbs.splice(0)) d.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const kinds = new Map([['cisco', { kind: 'cisco', configSchema: { type: 'object' } }]]);
  const hub = () => {
    const db = openDatabase({ dataDir: dir });
    dbs.push(db);
    const core = sqliteCoreStores(db);
    const registry = new DeviceRegistry(core.devices, core.groups, kinds);
    const seen: string[] = [];
    registry.onChange((c) => seen.push(`${c.type} ${c.device.id} ${c.device.name}`));
    return { registry, seen, changes: new SqliteConfigChanges(db) };
  };

  it('tells its listeners what another hub added, changed and removed, and nothing for its own writes', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-config-sync-'));
    const a = hub();
    const b = hub();
    await a.registry.load();
    await b.registry.load();
    await a.registry.add({
      id: 'p1',
      kind: 'cisco',
      address: '127.0.0.1',
      name: 'Lobby',
      location: { room: '1' },
    });
    await a.registry.add({ id: 'p2', kind: 'cisco', address: '127.0.0.2', name: 'Desk' });
    await b.registry.load();
    expect(b.seen).toEqual(['added p1 Lobby', 'added p2 Desk']);
    expect(b.registry.get('p1')?.location).toEqual({ room: '1' });
    await a.registry.update('p1', { name: 'Lobby 2' });
    await a.registry.remove('p2');
    await a.registry.putGroup({ id: 'security', name: 'Security' });
    await b.registry.load();
    expect(b.seen.slice(2)).toEqual(['updated p1 Lobby 2', 'removed p2 Desk']);
    expect(b.registry.getGroup('security').name).toBe('Security');
    // The writing hub reloading its own writes: nothing changed, nothing told.
    a.seen.length = 0;
    await a.registry.load();
    expect(a.seen).toEqual([]);
    // The versions moved for both registries' store.
    expect((await a.changes.versions()).devices).toBeGreaterThanOrEqual(5);
  });

  it('a reload that overlaps a local write reads again, so it never drops the device being written', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-config-sync-'));
    const a = hub();
    await a.registry.load();
    // The reload reads first (without p9), the write lands while it waits: applying that read would drop p9.
    const reloading = a.registry.load();
    const adding = a.registry.add({ id: 'p9', kind: 'cisco', address: '127.0.0.9' });
    await Promise.all([adding, reloading]);
    expect(a.registry.get('p9')).toBeDefined();
    expect(a.seen.filter((s) => s.startsWith('removed'))).toEqual([]);
  });

  it('the maps are swapped whole: a reader during a reload sees the old or the new device, never none', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-config-sync-'));
    const a = hub();
    const b = hub();
    await a.registry.load();
    await b.registry.load();
    await a.registry.add({ id: 'p1', kind: 'cisco', address: '127.0.0.1' });
    await b.registry.load();
    await a.registry.update('p1', { address: '127.0.0.5' });
    const seenDuring: Array<Device | undefined> = [];
    const reloading = b.registry.load();
    for (let i = 0; i < 5; i++) {
      seenDuring.push(b.registry.get('p1'));
      await turn();
    }
    await reloading;
    expect(seenDuring.every((d) => d !== undefined)).toBe(true);
    expect(b.registry.get('p1')?.address).toBe('127.0.0.5');
  });
});
