import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requireServerVersion } from '../../src/store/postgres/database.js';
import { sqliteCoreStores } from '../../src/store/sqlite/core-stores.js';
import { migrationsApplied, openDatabase, StoreVersionError } from '../../src/store/sqlite/database.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations/index.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-mig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SQLite store migrations', () => {
  it('opens in WAL mode and applies every module’s migrations once', () => {
    const db = openDatabase({ dataDir: dir });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(migrationsApplied(db)).toBe(true);
    const n = (db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n;
    db.close();
    const again = openDatabase({ dataDir: dir });
    expect((again.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(n);
    again.close();
  });

  it('applies new numbered migrations on start-up', () => {
    const extra = {
      ...MIGRATIONS,
      testmod: [{ version: 1, name: 'one', sql: 'CREATE TABLE t1 (x INTEGER)' }],
    };
    openDatabase({ dataDir: dir, migrations: extra }).close();
    const more = {
      ...MIGRATIONS,
      testmod: [...extra.testmod, { version: 2, name: 'two', sql: 'ALTER TABLE t1 ADD COLUMN y TEXT' }],
    };
    const db = openDatabase({ dataDir: dir, migrations: more });
    expect(db.prepare("SELECT name FROM pragma_table_info('t1')").all()).toEqual([
      { name: 'x' },
      { name: 'y' },
    ]);
    db.close();
  });

  it('refuses to start on a database newer than the code', () => {
    // The database now has testmod version 2; code that only knows version 1 must refuse.
    const older = {
      ...MIGRATIONS,
      testmod: [{ version: 1, name: 'one', sql: 'CREATE TABLE t1 (x INTEGER)' }],
    };
    expect(() => openDatabase({ dataDir: dir, migrations: older })).toThrow(StoreVersionError);
    expect(() => openDatabase({ dataDir: dir, migrations: older })).toThrow(
      /testmod schema version 2 but this version of Switchboard knows up to 1/,
    );
    // …and code that does not know the module at all.
    expect(() => openDatabase({ dataDir: dir, migrations: MIGRATIONS })).toThrow(/testmod schema version 2/);
  });

  it('rolls back a failing migration and reports it', () => {
    const d2 = mkdtempSync(join(tmpdir(), 'sb-mig2-'));
    const broken = {
      ...MIGRATIONS,
      bad: [{ version: 1, name: 'broken', sql: 'CREATE TABLE ok1 (x); CREATE TABLE ok1 (x);' }],
    };
    expect(() => openDatabase({ dataDir: d2, migrations: broken })).toThrow(/already exists/);
    const db = openDatabase({ dataDir: d2 });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'ok1'").all()).toEqual([]);
    db.close();
    rmSync(d2, { recursive: true, force: true });
  });
});

describe('roles migration (issue 18)', async () => {
  it('makes existing users and keys admins, keeps sessions role-less, and refuses a newer security schema', async () => {
    const d = mkdtempSync(join(tmpdir(), 'sb-mig-roles-'));
    // A store as the previous release left it: security at version 1, no audit module.
    const { audit: _a, ...rest } = MIGRATIONS;
    const before = { ...rest, security: MIGRATIONS.security!.filter((m) => m.version === 1) };
    const old = openDatabase({ dataDir: d, migrations: before });
    old
      .prepare("INSERT INTO users (name, password_hash, created_at) VALUES ('ann', 'x', '2026-01-01')")
      .run();
    const key = old.prepare(
      "INSERT INTO api_keys (id, name, prefix, hash, salt, created_at, revoked_at, expires_at, created_by) VALUES (?, ?, 'p', 'h', 's', '2026-01-01', ?, ?, ?)",
    );
    key.run('k1', 'ops', null, null, null);
    key.run('k2', 'session:ann', '2026-01-02', '2026-01-03', 'ann');
    old.close();
    const db = openDatabase({ dataDir: d });
    const stores = sqliteCoreStores(db);
    expect((await stores.users.get('ann'))?.role).toBe('admin');
    expect(await stores.apiKeys.get('k1')).toMatchObject({ role: 'admin', scopes: null });
    expect(await stores.apiKeys.get('k2')).toMatchObject({
      role: null,
      revokedReason: 'revoked',
      absoluteExpiresAt: '2026-01-03',
    });
    expect(await stores.audit.list({ limit: 10 })).toEqual([]);
    await stores.close();
    const newer = {
      ...MIGRATIONS,
      security: [...MIGRATIONS.security!, { version: 3, name: 'future', sql: 'SELECT 1' }],
    };
    openDatabase({ dataDir: d, migrations: newer }).close();
    expect(() => openDatabase({ dataDir: d })).toThrow(
      /security schema version 3 but this version of Switchboard knows up to 2/,
    );
    rmSync(d, { recursive: true, force: true });
  });
});

describe('PostgreSQL server version', () => {
  it('refuses a server older than PostgreSQL 12 with STORE_SERVER_TOO_OLD, naming both versions', () => {
    expect(() => requireServerVersion('110022', '11.22 (Debian 11.22-1)')).toThrow(
      expect.objectContaining({
        code: 'STORE_SERVER_TOO_OLD',
        message: expect.stringContaining(
          'PostgreSQL 11.22 (Debian 11.22-1); Switchboard needs PostgreSQL 12',
        ),
      }),
    );
    expect(() => requireServerVersion(undefined, undefined)).toThrow(
      expect.objectContaining({ code: 'STORE_SERVER_TOO_OLD' }),
    );
    expect(() => requireServerVersion('120000', '12.0')).not.toThrow();
    expect(() => requireServerVersion('150018', '15.18')).not.toThrow();
  });
});
