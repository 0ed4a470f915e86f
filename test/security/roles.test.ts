import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { PERMISSIONS, type Permission, ROLE_PERMISSIONS, ROLES, type Role } from '../../src/core/roles.js';
import { UserService } from '../../src/core/users.js';
import { ACCESS, policyOf, type RoutePolicy } from '../../src/server/access.js';
import { apiCall, startTestHub, type TestHub } from '../helpers/hub.js';
import { rawRequest } from '../helpers/raw-http.js';
import { testphoneDriver } from '../helpers/testphone-driver.js';

/**
 * Issue 18: roles and scoped keys on every /api route. Walks the registered routes: each must have an
 * entry in the one access table (server/access.ts), and each role (and a few scoped keys) gets 403 where
 * the table says so and anything but 401/403 where it is allowed.
 */
let hub: TestHub;
const clock = new ManualClock(Date.parse('2026-12-02T09:00:00Z'));
const keys: Record<string, string> = {};
const PASSWORD = 'correct horse battery';

type Json = Record<string, unknown>;

type Answer = Json & { error?: { code: string; message: string; field?: string } };
const call = (token: string, method: string, path: string, body?: unknown) =>
  apiCall<Answer>(hub.url, token, method, path, body);

function concrete(url: string): string {
  return url.replace(/:[A-Za-z0-9_]+/g, 'x1').replace(/\*/g, 'x1');
}

function apiRoutes() {
  return hub.app.routeTable.filter(
    (r) =>
      (r.url === '/api' || r.url.startsWith('/api/')) &&
      !r.url.startsWith('/api/docs') &&
      r.method !== 'HEAD' &&
      r.method !== 'OPTIONS',
  );
}

/** What the table says a holder of `perms` (with `role`) gets: allowed or not. */
function expectedAllowed(p: RoutePolicy, role: Role | null, perms: ReadonlySet<Permission>): boolean {
  if (p.allow === 'public' || p.allow === 'signed-in') return true;
  if (p.allow === 'admin') return role === 'admin';
  return p.allow.some((x) => perms.has(x));
}

beforeAll(async () => {
  hub = await startTestHub({
    clock,
    drivers: [testphoneDriver()],
    config: { 'auth.senderGroups': ['lobby'], 'broadcast.backoffMs': 10 },
  });
  for (const role of ROLES) keys[role] = (await hub.hub.apiKeys.create(`k-${role}`, { role })).key;
  keys.events = (await hub.hub.apiKeys.create('k-events', { scopes: ['events:read'] })).key;
  keys.keysmgr = (await hub.hub.apiKeys.create('k-keys', { scopes: ['keys:manage'] })).key;
  for (const g of ['lobby', 'plant']) {
    const r = await hub.api('PUT', `/api/groups/${g}`, { name: g });
    expect(r.status).toBe(200);
  }
  for (const [id, group] of [
    ['p1', 'lobby'],
    ['p2', 'plant'],
  ] as const) {
    const r = await hub.api('POST', '/api/devices', {
      id,
      kind: 'testphone',
      name: id,
      address: '127.0.0.1',
      groups: [group],
    });
    expect(r.status).toBe(201);
  }
  const t = await hub.api('PUT', '/api/templates/evacuate', {
    title: 'Evacuate {{building}}',
    text: 'Leave {{building}} by the nearest exit',
  });
  expect(t.status).toBe(200);
}, 60_000);
afterAll(async () => {
  await hub?.close();
});

describe('the access table covers every /api route', () => {
  it('has an entry for each registered /api route, and no entry for a route that does not exist', () => {
    const routes = apiRoutes();
    expect(routes.length).toBeGreaterThan(60);
    const missing = routes.filter((r) => !policyOf(r.method, r.url)).map((r) => `${r.method} ${r.url}`);
    expect(missing).toEqual([]);
    const registered = new Set(routes.map((r) => `${r.method} ${r.url}`));
    const stale = Object.keys(ACCESS).filter((k) => !registered.has(k));
    expect(stale).toEqual([]);
  });

  it('is public only for sign-in, and every change or send is audited', () => {
    const open = Object.entries(ACCESS).filter(([, p]) => p.allow === 'public');
    expect(open.map(([k]) => k).sort()).toEqual([
      'GET /api/session/methods',
      'GET /api/session/oidc/callback',
      'GET /api/session/oidc/start',
      'POST /api/session',
      'POST /api/session/oidc/exchange',
    ]);
    const unaudited = Object.entries(ACCESS)
      .filter(([k, p]) => /^(PUT|PATCH|DELETE)/.test(k) && !p.audit)
      .map(([k]) => k);
    expect(unaudited).toEqual([]);
  });
});

describe('the OpenAPI document', () => {
  it('says who may call each route', async () => {
    const doc = (await (await fetch(`${hub.url}/api/docs/json`)).json()) as {
      paths: Record<string, Record<string, { description?: string }>>;
    };
    expect(doc.paths['/api/devices']?.post?.description).toContain(
      'Allowed: admin (permission `devices:write`',
    );
    expect(doc.paths['/api/incidents/{id}/ack']?.post?.description).toContain(
      'Allowed: admin, operator (permission `incidents:ack`',
    );
    expect(doc.paths['/api/broadcasts']?.post?.description).toContain('Allowed: admin, operator, sender');
  });
});

describe('the roles table in docs/security.md', () => {
  it('matches the code, permission by permission', () => {
    const doc = readFileSync(new URL('../../docs/security.md', import.meta.url), 'utf8');
    for (const p of PERMISSIONS) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${p}\` |`));
      expect(row, p).toBeDefined();
      const cells = row!
        .split('|')
        .slice(2, 2 + ROLES.length)
        .map((c) => c.trim() === '✓');
      expect(cells, p).toEqual(ROLES.map((r) => ROLE_PERMISSIONS[r].includes(p)));
    }
  });
});

describe('each role and scoped key gets 403 exactly where the table says', () => {
  const holders: Array<{ name: string; role: Role | null; perms: ReadonlySet<Permission> }> = [
    ...ROLES.map((r) => ({ name: r, role: r, perms: new Set(ROLE_PERMISSIONS[r]) })),
    { name: 'events', role: null, perms: new Set<Permission>(['events:read']) },
    { name: 'keysmgr', role: null, perms: new Set<Permission>(['keys:manage']) },
  ];
  for (const h of holders) {
    it(`${h.name}: 403 where refused, never 401/403 where allowed`, async () => {
      const wrong: string[] = [];
      let denied = 0;
      let allowed = 0;
      // The key's own sign-out would end nothing (not a session); keys are never revoked here.
      for (const r of apiRoutes()) {
        if (r.method === 'DELETE' && r.url === '/api/keys/:id') continue;
        const p = policyOf(r.method, r.url)!;
        const want = expectedAllowed(p, h.role, h.perms);
        const body = ['POST', 'PUT', 'PATCH'].includes(r.method) ? '{"zz":1}' : undefined;
        const res = await rawRequest(hub.url, r.method, concrete(r.url), {
          headers: {
            authorization: `Bearer ${keys[h.name]}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          ...(body ? { body } : {}),
        });
        if (want) {
          allowed++;
          if (res.status === 401 || res.status === 403 || res.status >= 500)
            wrong.push(`${r.method} ${r.url}: expected allowed, got ${res.status} ${res.text.slice(0, 100)}`);
        } else {
          denied++;
          const code =
            res.status === 403 ? (JSON.parse(res.text) as { error: { code: string } }).error.code : '';
          if (res.status !== 403 || code !== 'FORBIDDEN')
            wrong.push(`${r.method} ${r.url}: expected 403, got ${res.status} ${res.text.slice(0, 100)}`);
        }
      }
      expect(wrong).toEqual([]);
      if (h.name === 'admin') expect(denied).toBe(0);
      else expect(denied).toBeGreaterThan(5);
      expect(allowed).toBeGreaterThan(0);
    }, 120_000);
  }

  it('a viewer reads phones but may not add, change or control one', async () => {
    expect((await call(keys.viewer!, 'GET', '/api/devices')).status).toBe(200);
    const add = await call(keys.viewer!, 'POST', '/api/devices', {
      id: 'p9',
      kind: 'testphone',
      name: 'p9',
      address: '127.0.0.1',
    });
    expect(add.status).toBe(403);
    expect(add.body.error?.message).toMatch(/role viewer may not POST \/api\/devices/);
    expect((await call(keys.viewer!, 'DELETE', '/api/devices/p1')).status).toBe(403);
    expect((await hub.api('GET', '/api/devices/p1')).status).toBe(200);
  });
});

describe('broadcasts by role', () => {
  const fromTemplate = (targets: Json) => ({ template: 'evacuate', vars: { building: 'B' }, targets });

  it('an operator sends from a template to any target, but no free text', async () => {
    const ok = await call(keys.operator!, 'POST', '/api/broadcasts', fromTemplate({ all: true }));
    expect(ok.status).toBe(201);
    const free = await call(keys.operator!, 'POST', '/api/broadcasts', {
      title: 'x',
      text: 'anything',
      targets: { all: true },
    });
    expect(free.status).toBe(403);
    expect(free.body.error?.code).toBe('FORBIDDEN_FREE_TEXT');
    // A template with its text overridden is free text too.
    const over = await call(keys.operator!, 'POST', '/api/broadcasts', {
      ...fromTemplate({ all: true }),
      text: 'other',
    });
    expect(over.body.error?.code).toBe('FORBIDDEN_FREE_TEXT');
  });

  it('a sender sends from a template only to the allowed groups', async () => {
    const ok = await call(keys.sender!, 'POST', '/api/broadcasts', fromTemplate({ groups: ['lobby'] }));
    expect(ok.status).toBe(201);
    for (const targets of [
      { all: true },
      { devices: ['p1'] },
      { labels: ['x'] },
      { groups: ['lobby', 'plant'] },
    ]) {
      const r = await call(keys.sender!, 'POST', '/api/broadcasts', fromTemplate(targets));
      expect(r.status, JSON.stringify(targets)).toBe(403);
      expect(r.body.error?.code).toBe('FORBIDDEN_TARGET');
    }
    const free = await call(keys.sender!, 'POST', '/api/broadcasts', {
      title: 'x',
      text: 'y',
      targets: { groups: ['lobby'] },
    });
    expect(free.body.error?.code).toBe('FORBIDDEN_FREE_TEXT');
    // Bad input is still 400 (validation runs before the role check of the body).
    const bad = await call(keys.sender!, 'POST', '/api/broadcasts', { template: 5 });
    expect(bad.status).toBe(400);
    // What the sender may not see.
    expect((await call(keys.sender!, 'GET', '/api/devices')).status).toBe(403);
    expect((await call(keys.sender!, 'GET', '/api/events')).status).toBe(403);
    expect((await call(keys.sender!, 'POST', '/api/broadcasts/x1/cancel')).status).toBe(403);
  });
});

describe('keys and users: no escalation', () => {
  it('a key with only keys:manage may make keys of its own scope, never an admin or wider key', async () => {
    const admin = await call(keys.keysmgr!, 'POST', '/api/keys', { name: 'evil' });
    expect(admin.status).toBe(403);
    expect(admin.body.error?.code).toBe('FORBIDDEN_ESCALATION');
    const wider = await call(keys.keysmgr!, 'POST', '/api/keys', { name: 'evil', scopes: ['users:manage'] });
    expect(wider.body.error?.code).toBe('FORBIDDEN_ESCALATION');
    const same = await call(keys.keysmgr!, 'POST', '/api/keys', { name: 'ok', scopes: ['keys:manage'] });
    expect(same.status).toBe(201);
    expect(same.body.scopes).toEqual(['keys:manage']);
    expect(same.body.role).toBeUndefined();
  });

  it('refuses a key with both a role and scopes, an unknown scope, and the session: name', async () => {
    const both = await hub.api<Json>('POST', '/api/keys', {
      name: 'x',
      role: 'viewer',
      scopes: ['events:read'],
    });
    expect(both.status).toBe(400);
    const unknown = await hub.api<Json>('POST', '/api/keys', { name: 'x', scopes: ['root'] });
    expect(unknown.status).toBe(400);
    const sess = await hub.api<Json>('POST', '/api/keys', { name: 'session:admin' });
    expect(sess.status).toBe(400);
  });

  it('a scoped events:read key reads events and nothing else; GET /api/session lists what it holds', async () => {
    expect((await call(keys.events!, 'GET', '/api/events')).status).toBe(200);
    expect((await call(keys.events!, 'GET', '/api/devices')).status).toBe(403);
    const me = await call(keys.events!, 'GET', '/api/session');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      kind: 'key',
      name: 'k-events',
      role: null,
      scopes: ['events:read'],
      permissions: ['events:read'],
      expiresAt: null,
    });
  });

  it('a role change applies to an open session at once; the last admin cannot be demoted over the API', async () => {
    const users = new UserService(hub.hub.stores.users);
    await users.create('boss', PASSWORD, 'admin');
    await users.create('desk1', PASSWORD, 'operator');
    const sign = await fetch(`${hub.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'desk1', password: PASSWORD }),
    });
    expect(sign.status).toBe(201);
    const s = (await sign.json()) as { token: string; role: string };
    expect(s.role).toBe('operator');
    const me = await call(s.token, 'GET', '/api/session');
    expect(me.body).toMatchObject({ kind: 'session', user: 'desk1', role: 'operator' });
    expect(me.body.permissions).toEqual([...ROLE_PERMISSIONS.operator].sort());
    expect((await call(s.token, 'POST', '/api/incidents/x1/ack', {})).status).not.toBe(403);
    const demote = await hub.api<Json>('PATCH', '/api/users/desk1', { role: 'viewer' });
    expect(demote.status).toBe(200);
    expect(demote.body.role).toBe('viewer');
    const after = await call(s.token, 'POST', '/api/incidents/x1/ack', {});
    expect(after.status).toBe(403);
    // The operator (now viewer) may not promote itself.
    expect((await call(s.token, 'PATCH', '/api/users/desk1', { role: 'admin' })).status).toBe(403);
    // The only admin user stays admin (config keys and the CLI remain the break-glass path).
    const last = await hub.api<Json & { error?: { code: string } }>('PATCH', '/api/users/boss', {
      role: 'viewer',
    });
    expect(last.status).toBe(409);
    expect(last.body.error?.code).toBe('USER_LAST_ADMIN');
    expect(PERMISSIONS.length).toBe(new Set(PERMISSIONS).size);
  });
});
