import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { planMigrations, StoreVersionError } from '../migration.js';
import { backupBeforeMigration } from './backup.js';
import { DB_FILE, DEFAULT_KEEP_BACKUPS } from './files.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { assertSupportedRuntime, SqliteBindingError, sqliteBindingProblem } from './runtime.js';

export type Db = Database.Database;
export { DB_FILE, StoreVersionError };

export interface OpenOptions {
  /** Data directory; ':memory:' for an in-memory database (tests). */
  dataDir: string;
  readonly?: boolean;
  migrations?: Record<string, Migration[]>;
  /**
   * Pre-migration backups kept in `<dataDir>/backups/` (`backups.keepBeforeMigration`): before migrations
   * change a database that already has a schema, a verified copy is taken there (none for a new database).
   */
  keepBackups?: number;
  /** Told the path of the pre-migration backup (the hub logs it). */
  onBackup?: (file: string, pending: string[]) => void;
}

/**
 * The data directory holds device secrets and the event log: created 0700; the database and its WAL/SHM
 * files are 0600 (SQLite gives the WAL and SHM the permissions of the database file, so creating that
 * file first with 0600 is enough; existing files are tightened).
 */
function prepareDataDir(dir: string, readonly: boolean): void {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (readonly) return;
  const file = join(dir, DB_FILE);
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(f, 0o600);
    } catch {
      // not there yet
    }
  }
}

/** Opens (creating if needed) the one database file of the data directory, in WAL mode, migrated. */
export function openDatabase(opts: OpenOptions): Db {
  // Refuse a Node.js release known to abort the binding before any native object exists.
  assertSupportedRuntime();
  let db: Db;
  if (opts.dataDir !== ':memory:') prepareDataDir(opts.dataDir, opts.readonly ?? false);
  try {
    db =
      opts.dataDir === ':memory:'
        ? new Database(':memory:')
        : new Database(join(opts.dataDir, DB_FILE), { readonly: opts.readonly ?? false });
  } catch (e) {
    const problem = sqliteBindingProblem(e);
    throw problem === undefined ? e : new SqliteBindingError(problem, e);
  }
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is durable across process crashes (kill -9); FULL adds power-loss safety.
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const dataDir = opts.dataDir;
  const backup =
    dataDir === ':memory:' || opts.readonly
      ? undefined
      : (pending: string[]) => {
          const file = backupBeforeMigration(db, dataDir, opts.keepBackups ?? DEFAULT_KEEP_BACKUPS);
          opts.onBackup?.(file, pending);
        };
  try {
    migrate(db, opts.migrations ?? MIGRATIONS, backup);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/**
 * Applies the pending migrations, each in its own transaction. `beforeChange` runs first when a database
 * that already has a schema is about to change (with the pending `module.version` names).
 */
export function migrate(
  db: Db,
  all: Record<string, Migration[]>,
  beforeChange?: (pending: string[]) => void,
): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    module TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL,
    PRIMARY KEY (module, version))`);
  const record = db.prepare(
    'INSERT INTO schema_migrations (module, version, name, applied_at) VALUES (?, ?, ?, ?)',
  );
  const applied = new Map(
    (
      db.prepare('SELECT module, MAX(version) AS v FROM schema_migrations GROUP BY module').all() as Array<{
        module: string;
        v: number;
      }>
    ).map((r) => [r.module, r.v]),
  );
  const plan = planMigrations(applied, all);
  if (plan.length > 0 && applied.size > 0)
    beforeChange?.(plan.map(({ module, migration: m }) => `${module}.${m.version}`));
  for (const { module, migration: m } of plan) {
    db.transaction(() => {
      db.exec(m.sql);
      record.run(module, m.version, m.name, new Date().toISOString());
    })();
  }
}

/** True when every known migration is applied (for /readyz). */
export function migrationsApplied(db: Db, all: Record<string, Migration[]> = MIGRATIONS): boolean {
  try {
    const current = db.prepare(
      'SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations WHERE module = ?',
    );
    return Object.entries(all).every(
      ([m, list]) => (current.get(m) as { v: number }).v >= Math.max(0, ...list.map((x) => x.version)),
    );
  } catch {
    return false;
  }
}
