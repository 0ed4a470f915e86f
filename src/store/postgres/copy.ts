import Database from 'better-sqlite3';
import { SwitchboardError, ValidationError } from '../../core/errors.js';
import { planMigrations } from '../migration.js';
import { MIGRATIONS } from '../sqlite/migrations/index.js';
import type { PostgresDatabase, Query } from './database.js';

/**
 * Moves a site from its SQLite file to PostgreSQL (`switchboard store migrate`). Table-driven: it copies
 * every table the two schemas share, by the shared table and column names (the rule every PostgreSQL
 * migration follows), so a module that adds PostgreSQL tables needs no change here.
 *
 * - The SQLite file is opened read-only and must be at this code's schema version (start the hub once on
 *   an older file; a newer one is STORE_TOO_NEW).
 * - The PostgreSQL migrations are applied first; then everything is copied in ONE transaction: a failure
 *   leaves the target as it was.
 * - A target that holds rows is refused (MIGRATE_TARGET_NOT_EMPTY) unless `force` (its shared tables are
 *   then emptied first, in the same transaction).
 * - A SQLite table with rows but no PostgreSQL table is refused (MIGRATE_TABLE_MISSING: its data would be
 *   left behind) unless `skipMissing`; a SQLite column the PostgreSQL table lacks is always refused.
 * - Tables are copied parents first (foreign keys), in batches, with user triggers disabled for the copy
 *   (counters kept by triggers are copied as they are; the audit trail's append-only trigger stays in the
 *   schema), then identities/sequences are moved past the copied keys (and past SQLite's AUTOINCREMENT
 *   high-water mark, so a seq is never handed out twice).
 * - Verified by counting every copied table on both sides before the commit: a mismatch rolls back.
 */
export interface CopyOptions {
  /** The SQLite database file (`<dataDir>/switchboard.db`). */
  from: string;
  to: PostgresDatabase;
  force?: boolean;
  skipMissing?: boolean;
  /** Rows per INSERT statement (default 500, at most what 65,535 parameters allow). */
  batchRows?: number;
}

export interface TableCount {
  table: string;
  source: number;
  target: number;
}

export interface CopyReport {
  /** Copied tables, parents first, with the rows on each side after the copy. */
  tables: TableCount[];
  /** SQLite tables with no PostgreSQL table (not copied), with their rows. */
  missing: Array<{ table: string; rows: number }>;
  /** True when every copied table has the same count on both sides (and the copy was committed). */
  ok: boolean;
}

export const COPY_DEFAULTS = { batchRows: 500 } as const;
const MAX_PARAMS = 65_535;
/** Each backend keeps its own record of applied migrations. */
const NOT_COPIED = new Set(['schema_migrations']);

const qi = (s: string) => `"${s.replace(/"/g, '""')}"`;

class CopyError extends SwitchboardError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, { status: 409, ...(details ? { details } : {}) });
  }
}

/** Counts did not match: thrown inside the transaction to roll it back, carrying the report. */
class VerifyFailed extends Error {
  constructor(readonly report: CopyReport) {
    super('counts differ');
  }
}

function openSource(file: string): Database.Database {
  try {
    return new Database(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new ValidationError(
      'MIGRATE_SOURCE_UNREADABLE',
      `--from: cannot open ${file}: ${(e as Error).message}`,
      {
        field: 'from',
        cause: e,
      },
    );
  }
}

function checkSourceVersion(src: Database.Database): void {
  let rows: Array<{ module: string; v: number }>;
  try {
    rows = src
      .prepare('SELECT module, MAX(version) AS v FROM schema_migrations GROUP BY module')
      .all() as typeof rows;
  } catch {
    throw new ValidationError(
      'MIGRATE_SOURCE_INVALID',
      '--from: not a Switchboard database (no schema_migrations)',
      {
        field: 'from',
      },
    );
  }
  const pending = planMigrations(
    new Map(rows.map((r) => [r.module, r.v])),
    MIGRATIONS,
    'a newer Switchboard',
  );
  if (pending.length > 0) {
    throw new ValidationError(
      'MIGRATE_SOURCE_OUTDATED',
      `--from: the database is older than this version of Switchboard (pending: ${pending
        .map((p) => `${p.module}.${p.migration.version}`)
        .join(', ')}); start the hub on it once, then migrate`,
      { field: 'from' },
    );
  }
}

interface TargetColumn {
  name: string;
  type: string;
  /** The sequence behind an identity or serial column. */
  sequence: string | null;
}

async function targetTables(q: Query): Promise<Map<string, TargetColumn[]>> {
  const rows = await q<{ table_name: string; column_name: string; data_type: string; seq: string | null }>(
    `SELECT c.table_name, c.column_name, c.data_type,
            pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) AS seq
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
      ORDER BY c.table_name, c.ordinal_position`,
  );
  const out = new Map<string, TargetColumn[]>();
  for (const r of rows) {
    if (NOT_COPIED.has(r.table_name)) continue;
    const cols = out.get(r.table_name) ?? [];
    cols.push({ name: r.column_name, type: r.data_type, sequence: r.seq });
    out.set(r.table_name, cols);
  }
  return out;
}

/** `tables` ordered parents first by the target's foreign keys (a cycle keeps the rest in name order). */
async function parentsFirst(q: Query, tables: string[]): Promise<string[]> {
  const fks = await q<{ child: string; parent: string }>(
    `SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE k.contype = 'f' AND n.nspname = current_schema()`,
  );
  const set = new Set(tables);
  const parents = new Map(tables.map((t) => [t, new Set<string>()]));
  for (const f of fks)
    if (set.has(f.child) && set.has(f.parent) && f.child !== f.parent) parents.get(f.child)!.add(f.parent);
  const done: string[] = [];
  const left = [...tables].sort();
  while (left.length) {
    const i = left.findIndex((t) => [...parents.get(t)!].every((p) => done.includes(p)));
    done.push(...left.splice(i < 0 ? 0 : i, 1));
  }
  return done;
}

/** A SQLite value as the PostgreSQL column takes it (integers read as BigInt: no precision lost). */
function convert(v: unknown, type: string): unknown {
  if (v === null || v === undefined) return null;
  if (type === 'boolean') return typeof v === 'bigint' ? v !== 0n : typeof v === 'number' ? v !== 0 : v;
  if (typeof v === 'bigint') return v.toString();
  return v;
}

const count = async (q: Query, table: string) =>
  Number((await q<{ n: number }>(`SELECT count(*) AS n FROM ${qi(table)}`))[0]!.n);

export async function copySqliteToPostgres(o: CopyOptions): Promise<CopyReport> {
  const batchRows = o.batchRows ?? COPY_DEFAULTS.batchRows;
  if (!Number.isInteger(batchRows) || batchRows < 1) {
    throw new ValidationError('STORE_BAD_OPTION', `batchRows must be a positive integer, got ${batchRows}`, {
      field: 'batchRows',
    });
  }
  const src = openSource(o.from);
  try {
    checkSourceVersion(src);
    await o.to.open();
    const sourceTables = (
      src
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .all() as Array<{
        name: string;
      }>
    )
      .map((r) => r.name)
      .filter((t) => !NOT_COPIED.has(t));
    const sourceCount = (t: string) =>
      (src.prepare(`SELECT count(*) AS n FROM ${qi(t)}`).get() as { n: number }).n;
    const highWater = new Map<string, number>();
    try {
      for (const r of src.prepare('SELECT name, seq FROM sqlite_sequence').all() as Array<{
        name: string;
        seq: number;
      }>)
        highWater.set(r.name, r.seq);
    } catch {
      // no AUTOINCREMENT table in this file
    }
    try {
      return await o.to.tx(async (q) => {
        const target = await targetTables(q);
        const missing = sourceTables
          .filter((t) => !target.has(t))
          .map((t) => ({ table: t, rows: sourceCount(t) }));
        const lost = missing.filter((m) => m.rows > 0);
        if (lost.length && !o.skipMissing) {
          throw new CopyError(
            'MIGRATE_TABLE_MISSING',
            `the PostgreSQL schema has no table for ${lost.map((m) => `${m.table} (${m.rows} rows)`).join(', ')}; their data would be left behind (--skip-missing to copy the rest anyway)`,
            { tables: lost.map((m) => m.table) },
          );
        }
        const shared = await parentsFirst(
          q,
          sourceTables.filter((t) => target.has(t)),
        );
        const columns = new Map<string, TargetColumn[]>();
        for (const t of shared) {
          const srcCols = (src.prepare(`PRAGMA table_info(${qi(t)})`).all() as Array<{ name: string }>).map(
            (c) => c.name,
          );
          const tgt = target.get(t)!;
          const absent = srcCols.filter((c) => !tgt.some((x) => x.name === c));
          if (absent.length) {
            throw new CopyError(
              'MIGRATE_SCHEMA_MISMATCH',
              `${t}: PostgreSQL has no column ${absent.join(', ')}`,
              {
                table: t,
                columns: absent,
              },
            );
          }
          columns.set(
            t,
            tgt.filter((c) => srcCols.includes(c.name)),
          );
        }
        const full: TableCount[] = [];
        for (const t of shared) {
          const n = await count(q, t);
          if (n > 0) full.push({ table: t, source: 0, target: n });
        }
        if (full.length && !o.force) {
          throw new CopyError(
            'MIGRATE_TARGET_NOT_EMPTY',
            `the PostgreSQL database holds rows already (${full.map((f) => `${f.table} ${f.target}`).join(', ')}); --force replaces them`,
            { tables: full.map((f) => f.table) },
          );
        }
        if (shared.length) await q(`TRUNCATE ${shared.map(qi).join(', ')}`);
        for (const t of shared) await q(`ALTER TABLE ${qi(t)} DISABLE TRIGGER USER`);
        for (const t of shared) await copyTable(q, src, t, columns.get(t)!, batchRows);
        for (const t of shared) await q(`ALTER TABLE ${qi(t)} ENABLE TRIGGER USER`);
        for (const t of shared) {
          for (const c of columns.get(t)!.filter((x) => x.sequence)) {
            // The next value is past both the copied keys and SQLite's high-water mark (deleted rows).
            await q(
              `SELECT setval($1, GREATEST((SELECT MAX(${qi(c.name)}) FROM ${qi(t)}), $2::bigint, 1), (SELECT MAX(${qi(c.name)}) FROM ${qi(t)}) IS NOT NULL OR $2::bigint > 0)`,
              [c.sequence, highWater.get(t) ?? 0],
            );
          }
        }
        const tables: TableCount[] = [];
        for (const t of shared) tables.push({ table: t, source: sourceCount(t), target: await count(q, t) });
        const report: CopyReport = { tables, missing, ok: tables.every((x) => x.source === x.target) };
        if (!report.ok) throw new VerifyFailed(report);
        return report;
      });
    } catch (e) {
      if (e instanceof VerifyFailed) return { ...e.report, ok: false };
      throw e;
    }
  } finally {
    src.close();
  }
}

async function copyTable(
  q: Query,
  src: Database.Database,
  table: string,
  cols: TargetColumn[],
  batchRows: number,
): Promise<void> {
  const per = Math.max(1, Math.min(batchRows, Math.floor(MAX_PARAMS / cols.length)));
  const names = cols.map((c) => qi(c.name)).join(', ');
  const read = src
    .prepare(`SELECT ${names} FROM ${qi(table)}`)
    .raw(true)
    .safeIntegers(true);
  let batch: unknown[][] = [];
  const flush = async () => {
    if (!batch.length) return;
    const params: unknown[] = [];
    const rows = batch.map(
      (r) =>
        `(${r
          .map((v, i) => {
            params.push(convert(v, cols[i]!.type));
            return `$${params.length}`;
          })
          .join(', ')})`,
    );
    // OVERRIDING SYSTEM VALUE: the copied keys go into GENERATED ALWAYS identities too.
    await q(`INSERT INTO ${qi(table)} (${names}) OVERRIDING SYSTEM VALUE VALUES ${rows.join(', ')}`, params);
    batch = [];
  };
  for (const row of read.iterate() as IterableIterator<unknown[]>) {
    batch.push(row);
    if (batch.length >= per) await flush();
  }
  await flush();
}
