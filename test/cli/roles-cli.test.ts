import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/core/audit.js';
import { sqliteCoreStores } from '../../src/store/sqlite/core-stores.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { apiCall, startTestHub, type TestHub } from '../helpers/hub.js';
import { runSwitchboard } from '../helpers/process.js';

/** Issue 18: `switchboard users create --role`, `users role`, `keys create --role/--scope` (real processes). */
const PASSWORD = 'correct horse battery';
let dir: string;
let hub: TestHub;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-roles-cli-'));
  hub = await startTestHub({ dataDir: dir, replaceModules: true, modules: [] });
}, 60_000);
afterAll(async () => {
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('roles on the command line (while the hub runs)', async () => {
  it('creates a user with a role, changes it, and refuses an unknown role', async () => {
    const c = await runSwitchboard(
      ['users', 'create', '--name', 'desk1', '--role', 'operator', '-d', dir],
      `${PASSWORD}\n`,
    );
    expect(c.stderr).toBe('');
    expect(c.stdout).toMatch(/created user desk1 \(role operator\)/);
    const bad = await runSwitchboard(
      ['users', 'create', '--name', 'x1', '--role', 'root', '-d', dir],
      `${PASSWORD}\n`,
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/role: must be one of admin, operator, sender, viewer/);
    const r = await runSwitchboard(['users', 'role', 'desk1', 'viewer', '-d', dir]);
    expect(r.stdout).toMatch(/desk1 is now viewer/);
    const list = await runSwitchboard(['users', 'list', '--json', '-d', dir]);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ name: 'desk1', role: 'viewer', source: 'local' }),
    ]);
  }, 120_000);

  it('creates role keys and scoped keys the hub enforces at once', async () => {
    const v = await runSwitchboard([
      'keys',
      'create',
      '--name',
      'wall',
      '--role',
      'viewer',
      '--json',
      '-d',
      dir,
    ]);
    const viewer = JSON.parse(v.stdout) as { key: string; role: string };
    expect(viewer.role).toBe('viewer');
    const s = await runSwitchboard([
      'keys',
      'create',
      '--name',
      'feed',
      '--scope',
      'events:read',
      '--scope',
      'broadcasts:read',
      '--json',
      '-d',
      dir,
    ]);
    const scoped = JSON.parse(s.stdout) as { key: string; scopes: string[] };
    expect(scoped.scopes).toEqual(['broadcasts:read', 'events:read']);
    expect((await apiCall(hub.url, viewer.key, 'GET', '/api/devices')).status).toBe(200);
    expect((await apiCall(hub.url, viewer.key, 'DELETE', '/api/devices/x')).status).toBe(403);
    expect((await apiCall(hub.url, scoped.key, 'GET', '/api/events')).status).toBe(200);
    expect((await apiCall(hub.url, scoped.key, 'GET', '/api/devices')).status).toBe(403);
    const both = await runSwitchboard([
      'keys',
      'create',
      '--name',
      'x',
      '--role',
      'viewer',
      '--scope',
      'events:read',
      '-d',
      dir,
    ]);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/a role or scopes, not both/);
    const unknown = await runSwitchboard(['keys', 'create', '--name', 'x', '--scope', 'root', '-d', dir]);
    expect(unknown.stderr).toMatch(/scope\.0: unknown scope "root"/);
  }, 120_000);

  it('records the commands in the audit trail as actor cli', async () => {
    const stores = sqliteCoreStores(openDatabase({ dataDir: dir }));
    try {
      const entries: AuditEntry[] = (await stores.audit.list({ limit: 100 })).filter(
        (e) => e.actorKind === 'cli',
      );
      expect(entries.map((e) => [e.actorKind, e.action, e.target])).toEqual([
        ['cli', 'key.created', expect.stringMatching(/^id=/)],
        ['cli', 'key.created', expect.stringMatching(/^id=/)],
        ['cli', 'user.changed', 'name=desk1'],
        ['cli', 'user.created', 'name=desk1'],
      ]);
      expect(entries[0]!.detail).toMatchObject({ name: 'feed', scopes: ['broadcasts:read', 'events:read'] });
    } finally {
      await stores.close();
    }
  });
});
