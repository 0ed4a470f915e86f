import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { rawRequest } from '../helpers/raw-http.js';

/**
 * Attack 1 of issue 13: `/%61pi/keys` reached the key-creation handler without a key because the auth
 * hook looked at the URL text while the router decodes. This walks every registered route and sends it,
 * without a key, under several spellings of its path: none may reach a protected handler.
 */
let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub();
}, 60_000);
afterAll(async () => {
  await hub?.close();
});

/** A concrete path for a route pattern: `:id` → `x1`, `*` → `x1`. */
function concrete(url: string): string {
  return url.replace(/:[A-Za-z0-9_]+/g, 'x1').replace(/\*/g, 'x1');
}

/** Spellings of a path an attacker might try; each must be refused or not match at all. */
function spellings(path: string): string[] {
  const rest = path.slice('/api'.length);
  return [
    path,
    `/%61pi${rest}`,
    `/%61%70%69${rest}`,
    `/a%70i${rest}`,
    `//api${rest}`,
    `/api/.${rest}`,
    `/api/x/..${rest}`,
    `/API${rest.toUpperCase()}`,
    `/Api${rest}`,
    `${path}/`,
    `${path}?x=1`,
    `${path};x=1`,
    `${path}%2F`,
    `/api%2F${rest.slice(1)}`,
  ];
}

describe('API-key auth is decided on the matched route', () => {
  it('marks every /api route except sign-in and the docs as protected', () => {
    const api = hub.app.routeTable.filter((r) => r.url === '/api' || r.url.startsWith('/api/'));
    expect(api.length).toBeGreaterThan(40);
    const open = api
      .filter((r) => r.auth === 'public' && r.method !== 'HEAD')
      .map((r) => `${r.method} ${r.url}`)
      .filter((r) => !/ \/api\/docs/.test(r));
    expect(open.sort()).toEqual([
      'GET /api/session/methods',
      'GET /api/session/oidc/callback',
      'GET /api/session/oidc/start',
      'POST /api/session',
      'POST /api/session/oidc/exchange',
    ]);
  });

  it('answers 401 (or no route at all) for every protected route under every spelling, never the handler', async () => {
    const protectedRoutes = hub.app.routeTable.filter((r) => r.auth === 'key');
    const reached: string[] = [];
    let refused = 0;
    for (const r of protectedRoutes) {
      const body = ['POST', 'PUT', 'PATCH'].includes(r.method) ? '{"name":"x"}' : undefined;
      for (const p of spellings(concrete(r.url))) {
        const res = await rawRequest(hub.url, r.method, p, {
          headers: body ? { 'content-type': 'application/json' } : {},
          ...(body ? { body } : {}),
        });
        if (res.status === 401) {
          refused++;
          if (r.method !== 'HEAD') expect(JSON.parse(res.text).error.code).toBe('APIKEY_MISSING');
        } else if (res.status === 404 || res.status === 400) {
          // 404: no route matched (the spelling is not a path of the API at all); 400: malformed URL.
          if (res.text.includes('"key"') || res.text.includes('event-stream'))
            reached.push(`${r.method} ${p}`);
        } else reached.push(`${r.method} ${p} → ${res.status} ${res.text.slice(0, 80)}`);
      }
    }
    expect(reached).toEqual([]);
    // The canonical spelling of every protected route is refused with 401.
    expect(refused).toBeGreaterThanOrEqual(protectedRoutes.length);
  }, 120_000);

  it('streams no events to /%61pi/events/stream without a key', async () => {
    const res = await rawRequest(hub.url, 'GET', '/%61pi/events/stream');
    expect(res.status).toBe(401);
    expect(res.text).not.toMatch(/connected/);
  });

  it('still answers a protected route with a key, whatever the spelling the router accepts', async () => {
    const res = await rawRequest(hub.url, 'GET', '/%61pi/devices', {
      headers: { authorization: `Bearer ${hub.key}` },
    });
    expect(res.status).toBe(200);
    const lower = await rawRequest(hub.url, 'GET', '/api/devices', {
      headers: { authorization: `bearer ${hub.key}` },
    });
    expect(lower.status).toBe(200);
  });
});
