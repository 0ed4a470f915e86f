import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { surfaceOf } from '../../src/server/listeners.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { rawRequest } from '../helpers/raw-http.js';

/**
 * Issue 13 ("Also"): the phone-facing routes on a listener of their own (`http.phoneListener`), so the API
 * and console can be bound to a management network only. Every registered route is walked on the listener
 * that must not serve it: 404, as for a path that does not exist, before any authentication.
 */
let hub: TestHub;
let phoneUrl: string;
beforeAll(async () => {
  hub = await startTestHub({
    config: {
      'http.phoneListener.enabled': true,
      'http.phoneListener.host': '127.0.0.1',
      'http.phoneListener.port': 0,
    },
  });
  phoneUrl = hub.phoneUrl!;
}, 60_000);
afterAll(async () => {
  await hub?.close();
});

/** A concrete path for a route pattern (parameters filled with values their constraints accept). */
function pathOf(pattern: string): string {
  return pattern
    .replace(/^\/:sid\([^)]*\)\$?\)?/, '/AC0123456789abcdef0123456789abcdef')
    .replace(/\/:file\(.*\)$/, '/x.txt')
    .replace(/:[A-Za-z]+(\([^)]*\))?/g, 'x')
    .replace(/\*$/, 'a/b');
}

describe('http.phoneListener splits the routes', () => {
  it('classifies the routes', () => {
    expect(surfaceOf('/api/devices')).toBe('management');
    expect(surfaceOf('/metrics')).toBe('management');
    expect(surfaceOf('/')).toBe('management');
    expect(surfaceOf('/cisco/services')).toBe('phone');
    expect(surfaceOf('/avaya/subscribe')).toBe('phone');
    expect(surfaceOf('/alerts/ack/:id/:token')).toBe('phone');
    expect(surfaceOf('/46xxsettings.txt')).toBe('phone');
    expect(surfaceOf('/:file(^[A-Za-z0-9_]+\\.txt$)')).toBe('phone');
    expect(surfaceOf('/auth')).toBe('pubsub');
    expect(surfaceOf('/:sid(^AC[0-9a-fA-F]{32}$)/*')).toBe('pubsub');
    expect(surfaceOf('/healthz')).toBe('health');
  });

  it('phones are given the phone listener URL', () => {
    expect(phoneUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(phoneUrl).not.toBe(hub.url);
    expect(hub.hub.hub.publicUrl).toBe(phoneUrl);
  });

  it('the main listener serves the API, console, metrics, PubSub and health; not the phone routes', async () => {
    expect((await hub.api('GET', '/api/devices')).status).toBe(200);
    expect((await fetch(`${hub.url}/metrics`)).status).toBe(200);
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${hub.url}/auth`)).status).toBe(401);
    for (const p of ['/cisco/services', '/46xxsettings.txt', '/avaya/content/x', '/alerts/ack/d/t']) {
      const r = await fetch(`${hub.url}${p}`);
      // 404 in the route's own error format (Avaya content answers a WML "not available" card).
      expect(r.status, p).toBe(404);
      expect(await r.text(), p).not.toMatch(/^SET |CiscoIPPhoneMenu/m);
    }
  });

  it('the phone listener serves the phone routes and health; never the API, console, metrics or PubSub', async () => {
    expect((await fetch(`${phoneUrl}/cisco/services`)).status).toBe(200);
    expect((await fetch(`${phoneUrl}/46xxsettings.txt`)).status).toBe(200);
    expect((await fetch(`${phoneUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${phoneUrl}/readyz`)).status).toBe(200);
    const key = { authorization: `Bearer ${hub.key}` };
    for (const p of [
      '/api/devices',
      '/%61pi/devices',
      '/API/devices',
      '//api/devices',
      '/api/./keys',
      '/metrics',
      '/',
      '/auth',
    ]) {
      const r = await rawRequest(phoneUrl, 'GET', p, { headers: key });
      expect(r.status, p).toBe(404);
    }
  });

  it('route walk: every registered route answers 404 on the listener that must not serve it', async () => {
    const routes = hub.app.routeTable.filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS');
    expect(routes.length).toBeGreaterThan(40);
    const wrong: string[] = [];
    for (const r of routes) {
      const surface = surfaceOf(r.url);
      if (surface === 'health') continue;
      const base = surface === 'phone' ? hub.url : phoneUrl;
      const path = pathOf(r.url);
      const res = await rawRequest(base, r.method, path, {
        headers: { authorization: `Bearer ${hub.key}`, 'content-type': 'application/json' },
        ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { body: '{}' }),
      });
      if (res.status !== 404)
        wrong.push(
          `${r.method} ${path} (${r.url}) on the ${surface === 'phone' ? 'main' : 'phone'} listener: ${res.status}`,
        );
    }
    expect(wrong).toEqual([]);
  }, 120_000);
});
