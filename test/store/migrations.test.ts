import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
