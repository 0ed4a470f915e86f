import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/core/audit.js';
import { UserService } from '../../src/core/users.js';
import { apiCall, startTestHub, type TestHub } from '../helpers/hub.js';

/**
 * Issue 18: sign-in with the directory. A real OpenID provider (`oidc-provider`, the certified
 * implementation) runs in this process on 127.0.0.1; the test plays the browser (redirects, cookies,
 * the provider's login and consent forms) through the authorisation code flow with PKCE.
 */
let hub: TestHub;
let idp: Server;
let issuer = '';
const groups: Record<string, string[]> = {
  alice: ['security-desk'],
  bob: ['it-admins', 'security-desk'],
  carol: ['canteen'],
  admin: ['it-admins'],
};

class Browser {
  private cookies = new Map<string, string>();
  private keep(res: Response) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
  }
  async go(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const res = await fetch(url, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    this.keep(res);
    return res;
  }
}

/**
 * Signs `login` in through the whole flow; answers the hub's last redirect (to the console) and the
 * callback URL the provider sent the browser to.
 */
async function signInWithDirectory(login: string, returnTo = '/broadcasts') {
  const b = new Browser();
  let res = await b.go(`${hub.url}/api/session/oidc/start?return=${encodeURIComponent(returnTo)}`);
  expect(res.status).toBe(302);
  const authUrl = new URL(res.headers.get('location')!);
  expect(authUrl.origin).toBe(issuer);
  expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authUrl.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(authUrl.searchParams.get('nonce')).toBeTruthy();
  let url = authUrl.href;
  let callback = '';
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(hub.url)) {
      callback = url;
      res = await b.go(url);
      break;
    }
    res = await b.go(url);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location')!, url).href;
      continue;
    }
    const html = await res.text();
    expect(res.status, html.slice(0, 300)).toBe(200);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    expect(action).toBeTruthy();
    const form: Record<string, string> = html.includes('name="login"')
      ? { prompt: 'login', login, password: 'any' }
      : { prompt: 'consent' };
    res = await b.go(new URL(action!, url).href, { method: 'POST', form });
    expect(res.status).toBeGreaterThanOrEqual(300);
    url = new URL(res.headers.get('location')!, url).href;
  }
  expect(callback).not.toBe('');
  expect(res.status).toBe(302);
  return { location: res.headers.get('location')!, callback, browser: b };
}

async function exchange(code: string) {
  const res = await fetch(`${hub.url}/api/session/oidc/exchange`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & { error?: { code: string } },
  };
}

function fragment(location: string, name: string): string | undefined {
  const h = location.split('#')[1] ?? '';
  return new URLSearchParams(h).get(name) ?? undefined;
}

beforeAll(async () => {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => r.writeHead(503).end();
  idp = createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  hub = await startTestHub({
    replaceModules: true,
    modules: [],
    config: {
      'auth.oidc': {
        enabled: true,
        issuer,
        clientId: 'switchboard',
        clientSecret: 'a-long-client-secret-for-the-test',
        allowHttp: true,
        roleMap: { 'security-desk': 'operator', 'it-admins': 'admin' },
      },
      'auth.sessionsByRole': { operator: { idleMinutes: 240, maxMinutes: 720 } },
    },
  });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'switchboard',
        client_secret: 'a-long-client-secret-for-the-test',
        redirect_uris: [`${hub.url}/api/session/oidc/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    findAccount: async (_ctx, id) => ({
      accountId: id,
      claims: async () => ({
        sub: `sub-${id}`,
        preferred_username: id,
        email: `${id}@example.org`,
        groups: groups[id] ?? [],
      }),
    }),
    claims: { openid: ['sub'], profile: ['preferred_username'], email: ['email'], groups: ['groups'] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['a-cookie-signing-key-for-the-test'] },
  });
  handler = provider.callback();
}, 60_000);
afterAll(async () => {
  await hub?.close();
  idp?.closeAllConnections();
  await new Promise((r) => idp?.close(r));
});

describe('sign-in with the directory (OpenID Connect, code + PKCE)', () => {
  it('maps the directory groups to a role and hands the console a session through a one-time code', async () => {
    const methods = await fetch(`${hub.url}/api/session/methods`);
    expect(await methods.json()).toEqual({ local: true, oidc: true });
    const { location } = await signInWithDirectory('alice');
    expect(location.startsWith('/broadcasts#oidc=')).toBe(true);
    const code = fragment(location, 'oidc')!;
    const s = await exchange(code);
    expect(s.status).toBe(201);
    expect(s.body).toMatchObject({ user: 'alice', role: 'operator' });
    const token = s.body.token as string;
    expect(location).not.toContain(token);
    // The operator settings apply (auth.sessionsByRole.operator).
    expect(Date.parse(s.body.absoluteExpiresAt as string) - Date.parse(s.body.createdAt as string)).toBe(
      720 * 60_000,
    );
    const me = await apiCall<Record<string, unknown>>(hub.url, token, 'GET', '/api/session');
    expect(me.body).toMatchObject({ kind: 'session', user: 'alice', role: 'operator' });
    expect((await apiCall(hub.url, token, 'GET', '/api/devices')).status).toBe(200);
    expect((await apiCall(hub.url, token, 'POST', '/api/keys', { name: 'x' })).status).toBe(403);
    // The code works once.
    const again = await exchange(code);
    expect(again.status).toBe(401);
    expect(again.body.error?.code).toBe('OIDC_CODE_INVALID');
  }, 60_000);

  it('gives the strongest mapped role, and follows the directory on the next sign-in', async () => {
    const bob = await signInWithDirectory('bob');
    const s = await exchange(fragment(bob.location, 'oidc')!);
    expect(s.body.role).toBe('admin');
    groups.bob = ['security-desk'];
    const later = await signInWithDirectory('bob');
    expect((await exchange(fragment(later.location, 'oidc')!)).body.role).toBe('operator');
    const users = await hub.api<{ users: Array<{ name: string; role: string; source: string }> }>(
      'GET',
      '/api/users',
    );
    expect(users.body.users.find((u) => u.name === 'bob')).toMatchObject({
      role: 'operator',
      source: 'oidc',
    });
  }, 60_000);

  it('refuses a user in no mapped group, and records the refusal in the audit trail', async () => {
    const { location } = await signInWithDirectory('carol');
    expect(location).toBe('/#oidc_error=OIDC_NO_ROLE');
    const audit = await hub.api<{ entries: AuditEntry[] }>('GET', '/api/audit?action=signin.*');
    expect(audit.body.entries[0]).toMatchObject({
      action: 'signin.failed',
      outcome: 'failed',
      detail: { method: 'oidc', code: 'OIDC_NO_ROLE' },
    });
    expect(audit.body.entries.some((e) => e.action === 'signin.succeeded' && e.actorName === 'alice')).toBe(
      true,
    );
  }, 60_000);

  it('refuses a replayed callback, an unknown state, a forged code and an open redirect', async () => {
    const { callback } = await signInWithDirectory('alice', '//evil.example/steal');
    const replay = await fetch(callback, { redirect: 'manual' });
    expect(replay.headers.get('location')).toBe('/#oidc_error=OIDC_STATE_UNKNOWN');
    const forged = new URL(callback);
    forged.searchParams.set('state', 'made-up');
    const f = await fetch(forged, { redirect: 'manual' });
    expect(f.headers.get('location')).toBe('/#oidc_error=OIDC_STATE_UNKNOWN');
    // A fresh sign-in whose code is swapped for another: the provider refuses it (PKCE, code binding).
    const b = new Browser();
    const start = await b.go(`${hub.url}/api/session/oidc/start?return=https://evil.example/`);
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const bad = await fetch(`${hub.url}/api/session/oidc/callback?code=not-a-code&state=${state}`, {
      redirect: 'manual',
    });
    expect(bad.headers.get('location')).toBe('/#oidc_error=OIDC_TOKEN_REJECTED');
    // Where it came back to: only paths of this hub.
    const ok = await signInWithDirectory('alice', 'https://evil.example/');
    expect(ok.location.startsWith('/#oidc=')).toBe(true);
    expect((await exchange('x'.repeat(43))).status).toBe(401);
    expect((await exchange('')).status).toBe(400);
  }, 60_000);

  it('never lets a directory user take over a local user of the same name; local sign-in stays', async () => {
    await new UserService(hub.hub.stores.users).create('admin', 'correct horse battery', 'admin');
    const { location } = await signInWithDirectory('admin');
    expect(location).toBe('/#oidc_error=OIDC_USER_CONFLICT');
    const local = await fetch(`${hub.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'correct horse battery' }),
    });
    expect(local.status).toBe(201);
    // A directory user has no password: local sign-in with any password fails.
    const pw = await fetch(`${hub.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: '!directory' }),
    });
    expect(pw.status).toBe(401);
  }, 60_000);

  it('a directory user gets no password here', async () => {
    const r = await hub.api<{ error: { code: string } }>('PATCH', '/api/users/alice', {
      password: 'a long new password',
    });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('USER_FROM_DIRECTORY');
  });

  it('a directory user disabled in Switchboard cannot sign in', async () => {
    expect((await hub.api('PATCH', '/api/users/alice', { disabled: true })).status).toBe(200);
    const { location } = await signInWithDirectory('alice');
    expect(location).toBe('/#oidc_error=OIDC_USER_DISABLED');
  }, 60_000);
});

describe('directory sign-in configuration', () => {
  it('refuses to start with OIDC enabled but no issuer, an http issuer or no openid scope', async () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ enabled: true, clientId: 'x' }, /auth\.oidc\.issuer: set the issuer URL/],
      [{ enabled: true, issuer: 'http://idp.example', clientId: 'x' }, /auth\.oidc\.issuer: must be https/],
      [{ enabled: true, issuer: 'https://idp.example' }, /auth\.oidc\.clientId/],
      [
        { enabled: true, issuer: 'https://idp.example', clientId: 'x', scopes: 'profile' },
        /must include openid/,
      ],
    ];
    for (const [oidc, msg] of bad)
      await expect(
        startTestHub({ replaceModules: true, modules: [], config: { 'auth.oidc': oidc } }),
      ).rejects.toThrow(msg);
  });

  it('answers 404 OIDC_DISABLED when it is not configured; the methods say so', async () => {
    const plain = await startTestHub({ replaceModules: true, modules: [] });
    try {
      expect(await (await fetch(`${plain.url}/api/session/methods`)).json()).toEqual({
        local: true,
        oidc: false,
      });
      const r = await fetch(`${plain.url}/api/session/oidc/start`, { redirect: 'manual' });
      expect(r.status).toBe(404);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('OIDC_DISABLED');
    } finally {
      await plain.close();
    }
  });
});
