import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SwitchboardError } from '../../core/errors.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { assertSupportedRuntime, SqliteBindingError, sqliteBindingProblem } from './runtime.js';

export type Db = Database.Database;

export const DB_FILE = 'switchboard.db';

/** The database is newer than this code: refuse to start rather than corrupt it. */
export class StoreVersionError extends SwitchboardError {
  constructor(module: string, dbVersion: number, codeVersion: number) {
    super(
      'STORE_TOO_NEW',
      `the database has ${module} schema version ${dbVersion} but this version of Switchboard knows up to ${codeVersion}; upgrade Switchboard or use another --data-dir`,
      { status: 500, details: { module, dbVersion, codeVersion } },
    );
  }
}

export interface OpenOptions {
  /** Data directory; ':memory:' for an in-memory database (tests). */
  dataDir: string;
  readonly?: boolean;
  migrations?: Record<string, Migration[]>;
}

/** Opens (creating if needed) the one database file of the data directory, in WAL mode, migrated. */
export function openDatabase(opts: OpenOptions): Db {
  // Refuse a Node.js release known to abort the binding before any native object exists.
  assertSupportedRuntime();
  let db: Db;
  if (opts.dataDir !== ':memory:') mkdirSync(opts.dataDir, { recursive: true });
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
  try {
    migrate(db, opts.migrations ?? MIGRATIONS);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

export function migrate(db: Db, all: Record<string, Migration[]>): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    module TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL,
    PRIMARY KEY (module, version))`);
  const current = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations WHERE module = ?');
  const record = db.prepare(
    'INSERT INTO schema_migrations (module, version, name, applied_at) VALUES (?, ?, ?, ?)',
  );
  const known = new Set(Object.keys(all));
  for (const row of db
    .prepare('SELECT module, MAX(version) AS v FROM schema_migrations GROUP BY module')
    .all() as Array<{ module: string; v: number }>) {
    if (!known.has(row.module)) throw new StoreVersionError(row.module, row.v, 0);
  }
  for (const [module, list] of Object.entries(all)) {
    const sorted = [...list].sort((a, b) => a.version - b.version);
    const codeMax = sorted.length ? sorted[sorted.length - 1]!.version : 0;
    const have = (current.get(module) as { v: number }).v;
    if (have > codeMax) throw new StoreVersionError(module, have, codeMax);
    for (const m of sorted) {
      if (m.version <= have) continue;
      db.transaction(() => {
        db.exec(m.sql);
        record.run(module, m.version, m.name, new Date().toISOString());
      })();
    }
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
