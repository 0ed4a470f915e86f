import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { SwitchboardError } from '../../core/errors.js';
import { planMigrations } from '../migration.js';
import { BACKUPS_DIR, DB_FILE } from './files.js';

export { DEFAULT_KEEP_BACKUPS } from './files.js';

import { lockDataDir } from './lock.js';
import type { Migration } from './migrations/types.js';
import { assertSupportedRuntime } from './runtime.js';

/**
 * Backups of the data directory's database, three ways, one format (a self-contained SQLite file, mode
 * 0600, verified with `PRAGMA integrity_check` before it is kept):
 * - `switchboard backup --out FILE`: online, through SQLite's backup API, while a hub runs and writes;
 * - `switchboard restore FILE`: refused while a hub holds the data directory (its lock); the database it
 *   replaces is kept in `<dataDir>/backups/` first;
 * - before a migration changes the schema of an existing database: `<dataDir>/backups/pre-migration-*.db`,
 *   the newest `backups.keepBeforeMigration` kept.
 */

/**
 * Files of the data directory a backup carries next to the database (`FILE.<name>`) when they exist: a
 * key that encrypts secrets in the database is useless to lose and the database useless without it.
 */
export const COMPANION_FILES: readonly string[] = ['secrets.key'];

export class BackupError extends SwitchboardError {}

export interface DatabaseReport {
  /** Rows per table (SQLite's own tables left out). */
  counts: Record<string, number>;
  /** Schema version per module (`schema_migrations`). */
  versions: Record<string, number>;
}

export interface BackupReport extends DatabaseReport {
  file: string;
  bytes: number;
  /** Companion files written next to it (`FILE.secrets.key`). */
  companions: string[];
}

export interface RestoreReport extends DatabaseReport {
  dataDir: string;
  /** Where the database that was replaced was kept, if there was one. */
  previous?: string;
  companions: string[];
}

/** Rows per table and schema version per module: what a backup is checked with and what the CLI prints. */
export function describeDatabase(db: Database.Database): DatabaseReport {
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
  const counts: Record<string, number> = {};
  for (const t of tables)
    counts[t] = db
      .prepare(`SELECT COUNT(*) FROM "${t.replaceAll('"', '""')}"`)
      .pluck()
      .get() as number;
  const versions: Record<string, number> = {};
  if (tables.includes('schema_migrations'))
    for (const r of db
      .prepare('SELECT module, MAX(version) AS v FROM schema_migrations GROUP BY module ORDER BY module')
      .all() as Array<{ module: string; v: number }>)
      versions[r.module] = r.v;
  return { counts, versions };
}

/** Opens a database file read-only and checks it is a whole, uncorrupted Switchboard database. */
export function verifyDatabaseFile(file: string): DatabaseReport {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new BackupError(
      'BACKUP_UNREADABLE',
      `${file} cannot be opened as a database: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  try {
    let problems: string[];
    try {
      problems = db.prepare('PRAGMA integrity_check').pluck().all() as string[];
    } catch (e) {
      throw new BackupError('BACKUP_CORRUPT', `${file} is not a valid database: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (problems.length !== 1 || problems[0] !== 'ok')
      throw new BackupError(
        'BACKUP_CORRUPT',
        `${file} failed the integrity check: ${problems.slice(0, 5).join('; ')}`,
      );
    const report = describeDatabase(db);
    if (!('schema_migrations' in report.counts))
      throw new BackupError(
        'BACKUP_NOT_SWITCHBOARD',
        `${file} is not a Switchboard database (no schema_migrations)`,
      );
    return report;
  } finally {
    db.close();
  }
}

/** Removes a half-written file; a failure to (its directory is gone or unwritable) leaves the first error standing. */
function discard(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    // nothing to clean up, or nothing that can be
  }
}

/** Opens the data directory's database for reading without migrating it (a backup must not change it). */
function openSource(dataDir: string): Database.Database {
  const file = join(dataDir, DB_FILE);
  if (!existsSync(file))
    throw new BackupError('BACKUP_NO_DATABASE', `there is no database in ${resolve(dataDir)} (${DB_FILE})`);
  // Read-write (never created: fileMustExist): a read-only connection cannot open a WAL database whose
  // -shm file is gone. The backup API only reads from it.
  const db = new Database(file, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

/**
 * Copies `db` to `out` with SQLite's backup API: all pages in one step, inside one read transaction, so a
 * hub writing meanwhile (another connection) neither blocks it nor makes it restart, and the copy includes
 * what is still in the WAL. Written to a temporary file, switched to rollback-journal mode (one
 * self-contained file), verified, made 0600, then renamed into place.
 */
async function copyVerified(db: Database.Database, out: string): Promise<DatabaseReport> {
  const tmp = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  rmSync(tmp, { force: true });
  try {
    await db.backup(tmp, { progress: () => 0x7fffffff });
    const copy = new Database(tmp, { fileMustExist: true });
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    chmodSync(tmp, 0o600);
    const report = verifyDatabaseFile(tmp);
    renameSync(tmp, out);
    return report;
  } catch (e) {
    discard(tmp);
    throw e;
  }
}

/** Copies each companion file that exists from `from(name)` to `to(name)` (0600); returns where. */
function copyCompanions(from: (name: string) => string, to: (name: string) => string): string[] {
  const copied: string[] = [];
  for (const name of COMPANION_FILES) {
    if (!existsSync(from(name))) continue;
    copyFileSync(from(name), to(name));
    chmodSync(to(name), 0o600);
    copied.push(to(name));
  }
  return copied;
}

/** `switchboard backup`: an online, consistent copy of the data directory's database (and companion files). */
export async function backupDataDir(
  dataDir: string,
  out: string,
  opts: { force?: boolean } = {},
): Promise<BackupReport> {
  assertSupportedRuntime();
  const file = resolve(out);
  if (existsSync(file) && !opts.force)
    throw new BackupError('BACKUP_EXISTS', `${file} exists; choose another --out or pass --force`);
  if (!existsSync(dirname(file)))
    throw new BackupError('BACKUP_NO_DIRECTORY', `the directory of ${file} does not exist`);
  if (file === resolve(dataDir, DB_FILE))
    throw new BackupError('BACKUP_SAME_FILE', '--out must not be the database itself');
  const db = openSource(dataDir);
  let report: DatabaseReport;
  try {
    report = await copyVerified(db, file);
  } finally {
    db.close();
  }
  const companions = copyCompanions(
    (name) => join(dataDir, name),
    (name) => `${file}.${name}`,
  );
  return { ...report, file, bytes: statSync(file).size, companions };
}

function stamp(now: Date): string {
  return now.toISOString().replaceAll(':', '-').replace('.', '-');
}

/**
 * `switchboard restore`: replaces the data directory's database with a backup. Checks the backup first
 * (integrity, a Switchboard database, not newer than this code: STORE_TOO_NEW), takes the data
 * directory's lock (refused while a hub runs on it: DATA_DIR_LOCKED), keeps the database it replaces in
 * `<dataDir>/backups/before-restore-*.db`, and verifies the result. An older backup is migrated by the
 * next start of the hub (after its automatic pre-migration backup).
 */
export async function restoreDataDir(
  dataDir: string,
  backup: string,
  migrations: Record<string, Migration[]>,
  now: Date = new Date(),
): Promise<RestoreReport> {
  assertSupportedRuntime();
  const source = resolve(backup);
  if (!existsSync(source)) throw new BackupError('BACKUP_NOT_FOUND', `${source} does not exist`);
  const checked = verifyDatabaseFile(source);
  planMigrations(
    new Map(Object.entries(checked.versions)),
    migrations,
    'a backup made by this version or an older one',
  );
  const unlock = lockDataDir(dataDir);
  try {
    const target = join(dataDir, DB_FILE);
    let previous: string | undefined;
    if (existsSync(target)) {
      const dir = join(dataDir, BACKUPS_DIR);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      previous = join(dir, `before-restore-${stamp(now)}.db`);
      // Closing the last connection checkpoints the WAL into the old file and removes it, so no WAL of
      // the old database is left to be replayed onto the restored one.
      const db = openSource(dataDir);
      try {
        await copyVerified(db, previous);
      } finally {
        db.close();
      }
    }
    const tmp = join(dataDir, `.${DB_FILE}.restoring`);
    copyFileSync(source, tmp);
    chmodSync(tmp, 0o600);
    for (const f of [`${target}-wal`, `${target}-shm`, `${target}-journal`]) rmSync(f, { force: true });
    renameSync(tmp, target);
    const report = verifyDatabaseFile(target);
    const companions = copyCompanions(
      (name) => `${source}.${name}`,
      (name) => join(dataDir, name),
    );
    return { ...report, dataDir: resolve(dataDir), ...(previous ? { previous } : {}), companions };
  } finally {
    unlock();
  }
}

/**
 * Before migrations change an existing database: a copy in `<dataDir>/backups/pre-migration-<time>.db`
 * (`VACUUM INTO`: consistent and synchronous, as opening the store is), verified, and only the newest
 * `keep` such copies kept. Throws BACKUP_FAILED (the migration does not run) when the copy fails, e.g.
 * on a full disk.
 */
export function backupBeforeMigration(
  db: Database.Database,
  dataDir: string,
  keep: number,
  now: Date = new Date(),
): string {
  const dir = join(dataDir, BACKUPS_DIR);
  const file = join(dir, `pre-migration-${stamp(now)}.db`);
  const tmp = `${file}.partial`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    rmSync(tmp, { force: true });
    db.prepare('VACUUM INTO ?').run(tmp);
    chmodSync(tmp, 0o600);
    verifyDatabaseFile(tmp);
    renameSync(tmp, file);
  } catch (e) {
    discard(tmp);
    throw new BackupError(
      'BACKUP_FAILED',
      `could not back up the database before migrating it (${(e as Error).message}); nothing was changed. Free space in ${resolve(dir)} or fix its permissions and start again`,
      { cause: e },
    );
  }
  const old = readdirSync(dir)
    .filter((f) => /^pre-migration-.*\.db$/.test(f))
    .sort()
    .reverse()
    .slice(Math.max(1, keep));
  for (const f of old) rmSync(join(dir, f), { force: true });
  return file;
}
