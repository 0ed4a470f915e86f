import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { backupDataDir, restoreDataDir, verifyDatabaseFile } from '../../src/store/sqlite/backup.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { lockDataDir } from '../../src/store/sqlite/lock.js';
import { MIGRATIONS, type Migration } from '../../src/store/sqlite/migrations/index.js';

const root = mkdtempSync(join(tmpdir(), 'sb-backup-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `d${++n}`);

/** The real migrations plus `extra` versions of a test module: a database made with fewer is "older". */
function codeWith(versions: number): Record<string, Migration[]> {
  const testmod: Migration[] = [];
  for (let v = 1; v <= versions; v++)
    testmod.push({
      version: v,
      name: `v${v}`,
      sql: v === 1 ? 'CREATE TABLE notes (x TEXT)' : `ALTER TABLE notes ADD COLUMN c${v} TEXT`,
    });
  return { ...MIGRATIONS, testmod };
}

function insertNotes(dataDir: string, migrations: Record<string, Migration[]>, count: number): void {
  const db = openDatabase({ dataDir, migrations });
  const ins = db.prepare('INSERT INTO notes (x) VALUES (?)');
  for (let i = 0; i < count; i++) ins.run(`note ${i}`);
  db.close();
}

const preMigration = (dataDir: string) =>
  existsSync(join(dataDir, 'backups'))
    ? readdirSync(join(dataDir, 'backups')).filter((f) => f.startsWith('pre-migration-'))
    : [];

describe('automatic backup before a migration changes the schema', () => {
  it('copies the old database (old version, all rows) before migrating, not for a new database', () => {
    const dir = freshDir();
    insertNotes(dir, codeWith(1), 7);
    expect(preMigration(dir)).toEqual([]); // a new database: nothing to save
    const seen: string[][] = [];
    const db = openDatabase({ dataDir: dir, migrations: codeWith(2), onBackup: (_f, p) => seen.push(p) });
    expect(seen).toEqual([['testmod.2']]);
    db.close();
    const [file] = preMigration(dir);
    expect(file).toBeDefined();
    const path = join(dir, 'backups', file!);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const old = verifyDatabaseFile(path);
    expect(old.versions.testmod).toBe(1); // taken before the migration
    expect(old.counts.notes).toBe(7);
    // Opening again with the same code changes nothing and takes no second copy.
    openDatabase({ dataDir: dir, migrations: codeWith(2) }).close();
    expect(preMigration(dir)).toHaveLength(1);
  });

  it('keeps only the newest backups.keepBeforeMigration copies', () => {
    const dir = freshDir();
    insertNotes(dir, codeWith(1), 1);
    for (let v = 2; v <= 6; v++)
      openDatabase({ dataDir: dir, migrations: codeWith(v), keepBackups: 3 }).close();
    const kept = preMigration(dir).sort();
    expect(kept).toHaveLength(3);
    // The newest three: taken before versions 4, 5 and 6 (their databases were at 3, 4 and 5).
    expect(kept.map((f) => verifyDatabaseFile(join(dir, 'backups', f)).versions.testmod)).toEqual([3, 4, 5]);
  });

  it('does not migrate when the backup cannot be written', () => {
    const dir = freshDir();
    insertNotes(dir, codeWith(1), 2);
    // A file where the backups directory should be: mkdir fails, as on a read-only or full disk.
    writeFileSync(join(dir, 'backups'), 'in the way');
    expect(() => openDatabase({ dataDir: dir, migrations: codeWith(2) })).toThrow(
      /could not back up the database before migrating it/,
    );
    rmSync(join(dir, 'backups'));
    const db = new Database(join(dir, 'switchboard.db'), { readonly: true });
    expect(
      db.prepare("SELECT MAX(version) FROM schema_migrations WHERE module = 'testmod'").pluck().get(),
    ).toBe(1);
    db.close();
  });

  it('takes no backup and changes nothing on a database newer than the code (STORE_TOO_NEW)', () => {
    const dir = freshDir();
    insertNotes(dir, codeWith(2), 1);
    expect(() => openDatabase({ dataDir: dir, migrations: codeWith(1) })).toThrow(
      /STORE_TOO_NEW|schema version 2/,
    );
    expect(preMigration(dir)).toEqual([]);
  });
});

describe('backup and restore (in process)', () => {
  it('backs up a database with uncheckpointed WAL content while another connection holds it open', async () => {
    const dir = freshDir();
    const live = openDatabase({ dataDir: dir, migrations: codeWith(1) });
    live.pragma('wal_autocheckpoint = 0');
    const ins = live.prepare('INSERT INTO notes (x) VALUES (?)');
    for (let i = 0; i < 50; i++) ins.run(`n${i}`);
    expect(statSync(join(dir, 'switchboard.db-wal')).size).toBeGreaterThan(0);
    const out = join(root, `b${n}.db`);
    const r = await backupDataDir(dir, out);
    expect(r.counts.notes).toBe(50);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    // Self-contained: no WAL needed next to it.
    expect(existsSync(`${out}-wal`)).toBe(false);
    expect(verifyDatabaseFile(out).counts.notes).toBe(50);
    await expect(backupDataDir(dir, out)).rejects.toThrow(/exists; choose another --out or pass --force/);
    live.close();
  });

  it('refuses to restore while the data directory is locked, a damaged file, or a newer backup', async () => {
    const dir = freshDir();
    insertNotes(dir, codeWith(1), 3);
    const good = join(root, `good${n}.db`);
    await backupDataDir(dir, good);

    const unlock = lockDataDir(dir);
    try {
      await expect(restoreDataDir(dir, good, codeWith(1))).rejects.toMatchObject({ code: 'DATA_DIR_LOCKED' });
    } finally {
      unlock();
    }

    const garbage = join(root, `garbage${n}.db`);
    writeFileSync(garbage, Buffer.alloc(8192, 0x41));
    await expect(restoreDataDir(dir, garbage, codeWith(1))).rejects.toMatchObject({
      code: expect.stringMatching(/^BACKUP_(CORRUPT|UNREADABLE)$/),
    });

    const newer = freshDir();
    insertNotes(newer, codeWith(3), 1);
    const newerFile = join(root, `newer${n}.db`);
    await backupDataDir(newer, newerFile);
    await expect(restoreDataDir(dir, newerFile, codeWith(1))).rejects.toMatchObject({
      code: 'STORE_TOO_NEW',
    });
    // Nothing changed.
    expect(verifyDatabaseFile(join(dir, 'switchboard.db')).counts.notes).toBe(3);
  });

  it('restores over an existing database, keeps the replaced one, drops its stale WAL, carries the key file', async () => {
    const src = freshDir();
    insertNotes(src, codeWith(1), 4);
    writeFileSync(join(src, 'secrets.key'), 'k'.repeat(32), { mode: 0o600 });
    const file = join(root, `full${n}.db`);
    const b = await backupDataDir(src, file);
    expect(b.companions).toEqual([`${file}.secrets.key`]);

    const dst = freshDir();
    const live = openDatabase({ dataDir: dst, migrations: codeWith(1) });
    live.pragma('wal_autocheckpoint = 0');
    const ins = live.prepare('INSERT INTO notes (x) VALUES (?)');
    for (let i = 0; i < 9; i++) ins.run(`other ${i}`);
    live.close();

    const r = await restoreDataDir(dst, file, codeWith(1));
    expect(r.counts.notes).toBe(4);
    expect(r.previous).toBeDefined();
    expect(verifyDatabaseFile(r.previous!).counts.notes).toBe(9);
    expect(r.companions).toEqual([join(dst, 'secrets.key')]);
    const db = openDatabase({ dataDir: dst, migrations: codeWith(1) });
    expect(db.prepare('SELECT COUNT(*) FROM notes').pluck().get()).toBe(4);
    db.close();
    // The lock was released: a hub may start.
    lockDataDir(dst)();
  });
});
