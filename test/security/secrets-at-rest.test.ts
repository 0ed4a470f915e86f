import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { SECRET_KEY_BYTES, SecretBox } from '../../src/core/secret-box.js';
import { loadSecretKey } from '../../src/store/secret-key.js';
import { sqliteCoreStores } from '../../src/store/sqlite/core-stores.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations/index.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { createKeyWithCli, serveProcess, spawnSwitchboard } from '../helpers/process.js';

/**
 * Issue 13 item 9: device passwords sat in clear text in the SQLite file and its WAL. Now they are sealed
 * (AES-256-GCM) with the key of `secrets.keyFile` (created 0600 on first start), never in an API answer, and
 * a hub whose key does not match its data refuses to start with one clear line.
 */
const dirs: string[] = [];
const hubs: TestHub[] = [];
const procs: Array<{ proc: { kill(sig?: NodeJS.Signals): boolean }; exited: Promise<unknown> }> = [];
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.close();
  for (const p of procs.splice(0)) {
    p.proc.kill('SIGKILL');
    await p.exited;
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'sb-secrets-'));
  dirs.push(d);
  return d;
}
const CISCO = (password: string) => ({
  id: 'desk-1',
  kind: 'cisco',
  name: 'Desk 1',
  address: '127.0.0.1:9',
  groups: ['security'],
  settings: { model: '8845', username: 'push', password, deviceName: 'SEP00CAFE00B0FF' },
});
/** Every file of the data directory, as bytes (database, WAL, SHM…). */
function dirBytes(dir: string): Buffer {
  return Buffer.concat(
    readdirSync(dir)
      .filter((f) => statSync(join(dir, f)).isFile())
      .map((f) => readFileSync(join(dir, f))),
  );
}

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));
  it('seals with a fresh IV each time and opens what it sealed', () => {
    const a = box.seal('hunter2');
    const b = box.seal('hunter2');
    expect(a).not.toBe(b);
    expect(a).not.toContain('hunter2');
    expect(box.open(a)).toBe('hunter2');
    expect(box.open('plain')).toBe('plain');
  });
  it('refuses another key, an altered value and a truncated one (SECRET_UNREADABLE)', () => {
    const sealed = box.seal('hunter2');
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow(
      expect.objectContaining({ code: 'SECRET_UNREADABLE' }),
    );
    const raw = Buffer.from(sealed.slice('enc:v1:'.length), 'base64url');
    raw[raw.length - 1]! ^= 1;
    expect(() => box.open(`enc:v1:${raw.toString('base64url')}`)).toThrow(/does not open/);
    expect(() => box.open('enc:v1:AAAA')).toThrow(/truncated/);
    expect(() => new SecretBox(randomBytes(16))).toThrow(
      expect.objectContaining({ code: 'SECRET_KEY_INVALID' }),
    );
  });
  it('creates the key file in a data directory that does not exist yet (a hub on PostgreSQL creates no SQLite file)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-key-'));
    try {
      const file = join(dir, 'new', 'data', 'secrets.key');
      const made = loadSecretKey(file, true);
      expect(made.created).toBe(true);
      expect(made.key.length).toBe(SECRET_KEY_BYTES);
      expect(loadSecretKey(file, false).key.equals(made.key)).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('secrets.keyFile names the key file: it is not read into the configuration like other …File keys', () => {
    const dir = tmp();
    const f = join(dir, 'cfg.yaml');
    writeFileSync(f, 'secrets:\n  keyFile: /nonexistent/secrets.key\n');
    expect(loadConfig({ path: f, env: {} }).config.secrets.keyFile).toBe('/nonexistent/secrets.key');
  });
});

describe('device passwords at rest (real process)', () => {
  it('the database and its WAL never hold the password; the API shows ********; the key file is 0600', async () => {
    const dir = join(tmp(), 'data');
    const password = `Pw-${randomBytes(12).toString('hex')}`;
    const first = await serveProcess(dir);
    procs.push(first.hub);
    const key = await createKeyWithCli(dir, 'secrets-test');
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const r = await fetch(`${first.url}/api/devices`, {
      method: 'POST',
      headers,
      body: JSON.stringify(CISCO(password)),
    });
    expect(r.status).toBe(201);
    const shown = (await (await fetch(`${first.url}/api/devices/desk-1`, { headers })).json()) as {
      settings: Record<string, unknown>;
    };
    expect(shown.settings.password).toBe('********');
    expect((statSync(join(dir, 'secrets.key')).mode & 0o777).toString(8)).toBe('600');
    expect(dirBytes(dir).includes(Buffer.from(password))).toBe(false);
    first.hub.proc.kill('SIGTERM');
    await first.hub.exited;
    expect(dirBytes(dir).includes(Buffer.from(password))).toBe(false);

    // The key file gone: refused with one line naming it, never a new key over sealed data.
    const keyText = readFileSync(join(dir, 'secrets.key'));
    unlinkSync(join(dir, 'secrets.key'));
    const missing = spawnSwitchboard(['serve', '--data-dir', dir, '--port', '0', '--host', '127.0.0.1']);
    procs.push(missing);
    expect(await missing.exited).toBe(1);
    expect(missing.stderr.join('\n')).toMatch(/key file .*secrets\.key is missing/);
    expect(existsSync(join(dir, 'secrets.key'))).toBe(false);

    // Another key: refused, naming the devices.
    writeFileSync(join(dir, 'secrets.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const wrong = spawnSwitchboard(['serve', '--data-dir', dir, '--port', '0', '--host', '127.0.0.1']);
    procs.push(wrong);
    expect(await wrong.exited).toBe(1);
    expect(wrong.stderr.join('\n')).toMatch(/desk-1.*do not open with the key/);

    // The right key back: the hub starts and the driver sees the real password.
    writeFileSync(join(dir, 'secrets.key'), keyText, { mode: 0o600 });
    const hub = await startTestHub({ dataDir: dir });
    hubs.push(hub);
    expect(hub.hub.devices.get('desk-1')?.settings.password).toBe(password);
  }, 180_000);

  it('passwords stored in clear text by an older version are sealed at the next start', async () => {
    const dir = tmp();
    const password = `Old-${randomBytes(8).toString('hex')}`;
    const db = openDatabase({ dataDir: dir, migrations: MIGRATIONS });
    const raw = sqliteCoreStores(db);
    const now = new Date().toISOString();
    await raw.devices.insert({
      ...CISCO(password),
      labels: [],
      location: {},
      createdAt: now,
      updatedAt: now,
    });
    await raw.close();
    const hub = await startTestHub({ dataDir: dir });
    hubs.push(hub);
    expect(hub.hub.devices.get('desk-1')?.settings.password).toBe(password);
    await hub.close();
    hubs.length = 0;
    const again = sqliteCoreStores(openDatabase({ dataDir: dir, migrations: MIGRATIONS }));
    const sealed = String((await again.devices.get('desk-1'))?.settings.password);
    await again.close();
    expect(sealed.startsWith('enc:v1:')).toBe(true);
    expect(sealed).not.toContain(password);
  }, 60_000);
});
