import { StoreConflictError } from '../errors.js';
import type { PostgresDatabase, Query } from './database.js';

/** Small statement helpers shared by the PostgreSQL stores. */

/** `$1, $2, …, $n`. */
export function placeholders(n: number): string {
  return Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');
}

const UNIQUE_VIOLATION = '23505';

/** Runs an insert; a unique violation (another hub inserted the same key first) becomes STORE_CONFLICT. */
export async function pgConflict<T>(entity: string, id: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if ((e as { code?: unknown } | null)?.code === UNIQUE_VIOLATION)
      throw new StoreConflictError(entity, id, e);
    throw e;
  }
}

/** Rows a DELETE removed, in one statement (the pool's `query` answers rows only). */
export async function deleted(
  db: PostgresDatabase,
  where: string,
  table: string,
  params: unknown[],
): Promise<number> {
  const [r] = await db.query<{ n: number }>(
    `WITH d AS (DELETE FROM ${table} WHERE ${where} RETURNING 1) SELECT count(*) AS n FROM d`,
    params,
  );
  return r?.n ?? 0;
}

/** Positional parameters of one PostgreSQL statement: `p(value)` adds a value and answers its `$n`. */
export class Params {
  readonly values: unknown[] = [];
  p(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

type BodyRow = { body: string };

/** Parses the JSON body of the first row, if any. */
export function bodyOf<T>(rows: BodyRow[]): T | undefined {
  const r = rows[0];
  return r ? (JSON.parse(r.body) as T) : undefined;
}

export function bodies<T>(rows: BodyRow[]): T[] {
  return rows.map((r) => JSON.parse(r.body) as T);
}

/**
 * A field of a TEXT column holding JSON, as text (`null` when absent or JSON null), from a SQLite-style path
 * (`$.caller.name`). `json` (not `jsonb`): the stored text is parsed as is. PostgreSQL text cannot hold NUL,
 * and extracting a `\u0000` escape fails the whole statement ("unsupported Unicode escape sequence"), so
 * for filtering and search it reads as U+FFFD (the stored body is untouched).
 */
export function jsonText(path: string, column = 'body'): string {
  const keys = path.replace(/^\$\./, '').split('.');
  if (!keys.every((k) => /^[A-Za-z0-9_]+$/.test(k))) throw new Error(`bad JSON path ${path}`);
  return `(replace(${column}, '\\u0000', '\\ufffd')::json #>> '{${keys.join(',')}}')`;
}

/**
 * A case-insensitive substring match like SQLite's LIKE: ASCII letters only are folded (lower() under the
 * "C" collation folds ASCII only), `%`, `_` and `\` in the needle are literal.
 */
export function likeSearch(haystack: string, needle: string, params: Params): string {
  // NUL cannot be sent to PostgreSQL; it reads as U+FFFD, as in jsonText.
  const pattern = `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`).replaceAll('\0', '\uFFFD')}%`;
  return `lower((${haystack}) COLLATE "C") LIKE lower(${params.p(pattern)} COLLATE "C") ESCAPE '\\'`;
}

/** The count of rows a statement deleted or updated (`WITH d AS (… RETURNING 1) SELECT count(*)`). */
export async function countOf(q: Query, sql: string, params: unknown[]): Promise<number> {
  const [r] = await q<{ n: number }>(`WITH d AS (${sql} RETURNING 1) SELECT count(*) AS n FROM d`, params);
  return r?.n ?? 0;
}

/**
 * Joined into the FROM of a statement whose commit need not wait for the WAL flush
 * (`synchronous_commit = off` for that transaction only): the change is visible to every hub at once, and
 * only a crash of PostgreSQL itself (not of a hub) can lose it. For changes whose loss costs a repeat,
 * never data: a lease move, a fetch counter.
 */
export const NO_FLUSH_WAIT = "(SELECT set_config('synchronous_commit', 'off', true)) AS no_flush_wait";
