import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub } from '../../src/cli/serve.js';
import { defaultConfig } from '../../src/config/load.js';
import { ManualClock } from '../../src/core/clock.js';
import { hashPassword, UserService, verifyPassword } from '../../src/core/users.js';
import { createLogger } from '../../src/server/logger.js';
import { sqliteCoreStores } from '../../src/store/sqlite/core-stores.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { runSwitchboard } from '../helpers/process.js';

const cli = runSwitchboard;

const PASSWORD = 'correct horse battery';
let hub: TestHub;
let clock: ManualClock;
let start: number;
let dataDir: string;

async function signIn(
  username: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
}> {
  const res = await fetch(`${hub.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ username, password }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function withToken(token: string, path = '/api/devices', method = 'GET') {
  const res = await fetch(`${hub.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as { error?: { code: string } } };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sb-session-'));
  // Near real time: the CLI (another process) judges expiry by the real clock.
  start = Math.floor(Date.now() / 1000) * 1000;
  clock = new ManualClock(start);
  hub = await startTestHub({
    dataDir,
    clock,
    replaceModules: true,
    modules: [],
    config: { 'auth.sessionTtlMinutes': 30 },
  });
}, 30_000);
afterAll(async () => {
  await hub.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('password hashing', async () => {
  it('uses scrypt with explicit parameters and a per-user salt, and verifies in constant time', async () => {
    const a = hashPassword(PASSWORD);
    const b = hashPassword(PASSWORD);
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[0-9a-f]{32}\$[0-9a-f]{128}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword(PASSWORD, a)).toBe(true);
    expect(await verifyPassword(`${PASSWORD}x`, a)).toBe(false);
    expect(await verifyPassword(PASSWORD, 'scrypt$99999999$8$1$00$00')).toBe(false);
    expect(await verifyPassword(PASSWORD, 'garbage')).toBe(false);
  });

  it('refuses short passwords and odd names', async () => {
    const stores = sqliteCoreStores(openDatabase({ dataDir: ':memory:' }));
    const users = new UserService(stores.users);
    await expect(users.create('admin', 'short')).rejects.toThrow(/at least 12/);
    await expect(users.create('bad name', PASSWORD)).rejects.toThrow(/name:/);
    await users.create('admin', PASSWORD);
    await expect(users.create('admin', PASSWORD)).rejects.toThrow(/already exists/);
    expect(JSON.stringify(await users.list())).not.toMatch(/scrypt/);
    await stores.close();
  });
});

describe('local users: CLI (a real process) and POST /api/session', () => {
  it('creates users from stdin and from --password-file while the hub runs; refuses short passwords', async () => {
    const short = await cli(['users', 'create', '--name', 'admin', '-d', dataDir], 'tooshort\n');
    expect(short.code).not.toBe(0);
    expect(short.stderr).toMatch(/at least 12 characters/);
    const c = await cli(['users', 'create', '--name', 'admin', '-d', dataDir], `${PASSWORD}\n`);
    expect(c.stderr).toBe('');
    expect(c.stdout).toMatch(/created user admin/);
    const file = join(dataDir, 'ops.pw');
    writeFileSync(file, `${PASSWORD} ops\n`);
    const o = await cli(['users', 'create', '--name', 'ops', '--password-file', file, '-d', dataDir]);
    expect(o.code).toBe(0);
    const list = await cli(['users', 'list', '--json', '-d', dataDir]);
    const users = JSON.parse(list.stdout) as Array<{ name: string; disabledAt: string | null }>;
    expect(users.map((u) => u.name)).toEqual(['admin', 'ops']);
    expect(list.stdout).not.toMatch(/scrypt|horse/);
  }, 180_000);

  it('signs in, uses the session token on /api like a key, and signs out (revoked)', async () => {
    const s = await signIn('admin', PASSWORD);
    expect(s.status).toBe(201);
    expect(s.body.token).toMatch(/^sbk_[a-z0-9]{8}_/);
    expect(s.body.user).toBe('admin');
    const expiresAt = new Date(start + 30 * 60_000).toISOString();
    expect(s.body.expiresAt).toBe(expiresAt);
    const token = s.body.token as string;
    expect((await withToken(token)).status).toBe(200);
    // It is an ordinary (expiring) API key: listed with the others.
    const keys = (
      await hub.api<{ keys: Array<{ name: string; expiresAt: string | null }> }>('GET', '/api/keys')
    ).body.keys;
    expect(keys.find((k) => k.name === 'session:admin')?.expiresAt).toBe(expiresAt);
    // Sign out revokes it.
    expect((await withToken(token, '/api/session', 'DELETE')).status).toBe(204);
    const after = await withToken(token);
    expect(after.status).toBe(401);
    expect(after.body.error?.code).toBe('SESSION_REVOKED');
    // A plain API key is not a session: sign-out with it is refused and the key keeps working.
    expect((await withToken(hub.key, '/api/session', 'DELETE')).status).toBe(400);
    expect((await withToken(hub.key)).status).toBe(200);
  });

  it('answers 401 with one generic message for a wrong password or an unknown user', async () => {
    const wrong = await signIn('admin', 'not the password', { 'x-forwarded-for': '10.0.0.1' });
    const unknown = await signIn('nobody', PASSWORD);
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.error).toEqual({ code: 'SIGNIN_FAILED', message: 'invalid username or password' });
    expect(unknown.body.error).toEqual(wrong.body.error);
    expect((await withToken('sbk_nothing_here')).status).toBe(401);
  });

  it('expires sessions after auth.sessionTtlMinutes', async () => {
    const s = await signIn('ops', `${PASSWORD} ops`);
    const token = s.body.token as string;
    clock.advance(29 * 60_000);
    expect((await withToken(token)).status).toBe(200);
    clock.advance(60_000);
    const r = await withToken(token);
    expect(r.status).toBe(401);
    expect(r.body.error?.code).toBe('SESSION_EXPIRED');
  });

  it('disabling a user refuses sign-in and revokes open sessions; passwd revokes too', async () => {
    const s = await signIn('ops', `${PASSWORD} ops`);
    const token = s.body.token as string;
    expect((await withToken(token)).status).toBe(200);
    const d = await cli(['users', 'disable', 'ops', '-d', dataDir]);
    expect(d.stdout).toMatch(/disabled ops \(\d+ open sessions? revoked\)/);
    expect((await withToken(token)).status).toBe(401);
    const refused = await signIn('ops', `${PASSWORD} ops`);
    expect(refused.status).toBe(401);
    expect(refused.body.error?.message).toBe('invalid username or password');
    expect((await cli(['users', 'disable', 'ops', '--enable', '-d', dataDir])).code).toBe(0);
    const again = await signIn('ops', `${PASSWORD} ops`);
    expect(again.status).toBe(201);
    const p = await cli(['users', 'passwd', 'ops', '-d', dataDir], 'a brand new password\n');
    expect(p.stdout).toMatch(/password of ops changed \(1 open session revoked\)/);
    expect((await withToken(again.body.token as string)).status).toBe(401);
    expect((await signIn('ops', `${PASSWORD} ops`)).status).toBe(401);
    expect((await signIn('ops', 'a brand new password')).status).toBe(201);
    const missing = await cli(['users', 'passwd', 'ghost', '-d', dataDir], 'a brand new password\n');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/no user named "ghost"/);
  }, 180_000);

  it('rate-limits failed sign-ins per (address, username), then lets them through after the window', async () => {
    clock.advance(16 * 60_000);
    for (let i = 0; i < 5; i++) expect((await signIn('admin', `wrong password ${i}`)).status).toBe(401);
    // Even the right password is refused from here while (address, username) is locked (no oracle).
    const locked = await signIn('admin', PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.body.error?.code).toBe('SIGNIN_RATE_LIMITED');
    // Another username from this address is still served (the per-address cap is auth.signIn.maxFailuresPerAddress).
    expect((await signIn('ops', 'a brand new password')).status).toBe(201);
    clock.advance(15 * 60_000 + 1);
    expect((await signIn('admin', PASSWORD)).status).toBe(201);
  });
});

describe('passwords stay out of logs and terminals', () => {
  it('logs sign-ins at trace level without the password (right, wrong and malformed attempts)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-session-log-'));
    const out = new PassThrough();
    let log = '';
    out.on('data', (c: Buffer) => {
      log += c.toString();
    });
    const config = defaultConfig({
      dataDir: dir,
      'http.host': '127.0.0.1',
      'http.port': 0,
      'log.level': 'trace',
    });
    const running = await startHub(config, {
      logger: createLogger({ level: 'trace', destination: out }),
      replaceModules: true,
      modules: [],
    });
    try {
      await new UserService(running.hub.stores.users).create('logme', 'secret password one');
      const post = (body: unknown) =>
        fetch(`${running.url}/api/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect((await post({ username: 'logme', password: 'secret password one' })).status).toBe(201);
      expect((await post({ username: 'logme', password: 'secret password two' })).status).toBe(401);
      expect((await post({ username: 'logme', password: 'secret password three', extra: 1 })).status).toBe(
        400,
      );
      expect((await post({ username: 'logme', password: 'x'.repeat(2000) })).status).toBe(400);
      await new Promise((r) => setTimeout(r, 50));
      expect(log).toMatch(/signed in/);
      expect(log).toMatch(/"user":"logme"/);
      expect(log).not.toMatch(/secret password|xxxxxxxxxx/);
      expect(log).not.toMatch(/sbk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}/);
    } finally {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
