import { StoreConflictError } from '../errors.js';
import type { PostgresDatabase } from './database.js';

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
