import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { UserService } from '../../src/core/users.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

/**
 * Issue 18: desk sessions renew while in use (sliding expiry) up to an absolute cap, configurable per
 * role; background polls do not renew; a revoked or expired session answers 401 with a reason code.
 */
const MIN = 60_000;
const PASSWORD = 'correct horse battery';
const T0 = Date.parse('2026-12-02T06:00:00Z');
const clock = new ManualClock(T0);
let hub: TestHub;

type ErrorBody = { error?: { code: string; message: string; details?: { reason?: string } } };

async function signIn(username: string) {
  const res = await fetch(`${hub.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { token: string; expiresAt: string; absoluteExpiresAt: string; role: string };
}

async function use(token: string, opts: { background?: boolean; path?: string; method?: string } = {}) {
  const res = await fetch(`${hub.url}${opts.path ?? '/api/session'}`, {
    method: opts.method ?? 'GET',
    headers: {
      authorization: `Bearer ${token}`,
      ...(opts.background ? { 'x-switchboard-background': '1' } : {}),
    },
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as ErrorBody & Record<string, unknown> };
}

beforeAll(async () => {
  hub = await startTestHub({
    clock,
    replaceModules: true,
    modules: [],
    config: {
      'auth.sessionIdleMinutes': 10,
      'auth.sessionTtlMinutes': 60,
      'auth.sessionsByRole': { operator: { idleMinutes: 30, maxMinutes: 720 } },
    },
  });
  const users = new UserService(hub.hub.stores.users);
  await users.create('admin1', PASSWORD, 'admin');
  await users.create('desk1', PASSWORD, 'operator');
}, 60_000);
afterAll(async () => {
  await hub?.close();
});

describe('desk sessions', () => {
  it('slides while used, never past the absolute cap, then answers SESSION_EXPIRED', async () => {
    const s = await signIn('admin1');
    expect(s.expiresAt).toBe(new Date(T0 + 10 * MIN).toISOString());
    expect(s.absoluteExpiresAt).toBe(new Date(T0 + 60 * MIN).toISOString());
    // Used every 9 minutes for 54 minutes: still signed in although idle time is 10 minutes.
    for (let i = 1; i <= 6; i++) {
      clock.advance(9 * MIN);
      const r = await use(s.token);
      expect(r.status, `use ${i}`).toBe(200);
    }
    const me = await use(s.token);
    expect(me.body).toMatchObject({
      kind: 'session',
      user: 'admin1',
      role: 'admin',
      idleMinutes: 10,
      absoluteExpiresAt: new Date(T0 + 60 * MIN).toISOString(),
      expiresAt: new Date(T0 + 60 * MIN).toISOString(),
    });
    clock.advance(6 * MIN);
    const gone = await use(s.token);
    expect(gone.status).toBe(401);
    expect(gone.body.error?.code).toBe('SESSION_EXPIRED');
    expect(gone.body.error?.details?.reason).toBe('max-age');
  });

  it('expires after the idle time when not used; background polls do not keep it alive', async () => {
    const s = await signIn('admin1');
    for (let i = 0; i < 3; i++) {
      clock.advance(3 * MIN);
      expect((await use(s.token, { background: true })).status).toBe(200);
    }
    // 11 minutes of polling only: the idle time (10) ran out at minute 10.
    clock.advance(2 * MIN);
    const r = await use(s.token, { background: true });
    expect(r.status).toBe(401);
    expect(r.body.error?.code).toBe('SESSION_EXPIRED');
    expect(r.body.error?.details?.reason).toBe('idle');
  });

  it('uses the per-role settings (an operator desk: 30 min idle, 12 h cap)', async () => {
    const s = await signIn('desk1');
    expect(s.role).toBe('operator');
    expect(s.expiresAt).toBe(new Date(clock.now() + 30 * MIN).toISOString());
    expect(s.absoluteExpiresAt).toBe(new Date(clock.now() + 720 * MIN).toISOString());
    // A 12-hour shift, used every 25 minutes.
    let used = 0;
    for (let t = 25; t < 720; t += 25) {
      clock.advance(25 * MIN);
      expect((await use(s.token)).status, `at ${t} min`).toBe(200);
      used++;
    }
    expect(used).toBe(28);
    clock.advance(25 * MIN);
    expect((await use(s.token)).body.error?.code).toBe('SESSION_EXPIRED');
  });

  it('a signed-out, disabled or re-passworded session answers SESSION_REVOKED with the reason', async () => {
    const a = await signIn('desk1');
    expect((await use(a.token, { method: 'DELETE' })).status).toBe(204);
    const out = await use(a.token);
    expect(out.status).toBe(401);
    expect(out.body.error).toMatchObject({ code: 'SESSION_REVOKED', details: { reason: 'signed-out' } });

    const b = await signIn('desk1');
    expect((await hub.api('PATCH', '/api/users/desk1', { password: 'another long password' })).status).toBe(
      200,
    );
    expect((await use(b.token)).body.error).toMatchObject({
      code: 'SESSION_REVOKED',
      details: { reason: 'password-changed' },
    });
    expect((await hub.api('PATCH', '/api/users/desk1', { password: PASSWORD })).status).toBe(200);

    const c = await signIn('desk1');
    expect((await hub.api('PATCH', '/api/users/desk1', { disabled: true })).status).toBe(200);
    expect((await use(c.token)).body.error).toMatchObject({
      code: 'SESSION_REVOKED',
      details: { reason: 'user-disabled' },
    });
    expect((await hub.api('PATCH', '/api/users/desk1', { disabled: false })).status).toBe(200);

    const d = await signIn('desk1');
    const id = (await use(d.token)).body.id as string;
    expect((await hub.api('DELETE', `/api/keys/${id}`)).status).toBe(200);
    expect((await use(d.token)).body.error).toMatchObject({
      code: 'SESSION_REVOKED',
      details: { reason: 'revoked' },
    });
  });

  it('refuses out-of-range session settings at start-up', async () => {
    await expect(
      startTestHub({
        replaceModules: true,
        modules: [],
        config: { 'auth.sessionsByRole': { operator: { idleMinutes: 0 } } },
      }),
    ).rejects.toThrow(/sessionsByRole\.operator\.idleMinutes/);
    await expect(
      startTestHub({ replaceModules: true, modules: [], config: { 'auth.sessionsByRole': { boss: {} } } }),
    ).rejects.toThrow(/sessionsByRole/);
  });
});
