import { StoreVersionError } from './errors.js';

export { StoreVersionError };

/**
 * Numbered schema changes, the same scheme for every backend (SQLite, PostgreSQL): each module numbers
 * its own migrations from 1; a `schema_migrations (module, version, name, applied_at)` table records
 * what was applied. A version never changes once released.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * What to apply, given the versions a database has per module: the pending migrations of each module in
 * order. Throws `STORE_TOO_NEW` when the database has a module this code does not know, or a module at a
 * higher version than the code knows. Pure: each backend reads `applied` and runs the plan itself.
 */
export function planMigrations(
  applied: ReadonlyMap<string, number>,
  all: Record<string, Migration[]>,
  other?: string,
): Array<{ module: string; migration: Migration }> {
  for (const [module, v] of applied) if (!(module in all)) throw new StoreVersionError(module, v, 0, other);
  const plan: Array<{ module: string; migration: Migration }> = [];
  for (const [module, list] of Object.entries(all)) {
    const sorted = [...list].sort((a, b) => a.version - b.version);
    const codeMax = sorted.length ? sorted[sorted.length - 1]!.version : 0;
    const have = applied.get(module) ?? 0;
    if (have > codeMax) throw new StoreVersionError(module, have, codeMax, other);
    for (const m of sorted) if (m.version > have) plan.push({ module, migration: m });
  }
  return plan;
}
