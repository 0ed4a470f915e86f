/**
 * `--pg-stats N` for the benches on PostgreSQL: the cluster is started with `pg_stat_statements` (contrib,
 * in Debian's postgresql package), the counters are reset before the measured work, and the N statements
 * that took the most server time are printed after it. Execution time only: parse, plan, commit's WAL
 * flush and the backend's protocol work are not in it (the cluster's CPU from /proc is).
 */
import type { PostgresCluster } from '../test/helpers/postgres.js';

/** Server settings that load the extension and time utility statements (COMMIT, NOTIFY) too. */
export const pgStatsSettings: Record<string, string> = {
  shared_preload_libraries: 'pg_stat_statements',
  'pg_stat_statements.track': 'all',
  'pg_stat_statements.track_utility': 'on',
};

async function admin<T>(
  cluster: PostgresCluster,
  f: (q: (sql: string) => Promise<Array<Record<string, unknown>>>) => Promise<T>,
): Promise<T> {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: cluster.url });
  c.on('error', () => {});
  await c.connect();
  try {
    return await f(async (sql) => (await c.query(sql)).rows as Array<Record<string, unknown>>);
  } finally {
    await c.end().catch(() => {});
  }
}

export async function pgStatsReset(cluster: PostgresCluster): Promise<void> {
  await admin(cluster, async (q) => {
    await q('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await q('SELECT pg_stat_statements_reset()');
  });
}

/** Prints the top statements by total execution time since the last reset (every database). */
export async function pgStatsPrint(cluster: PostgresCluster, top: number, label: string): Promise<void> {
  const rows = await admin(cluster, (q) =>
    q(
      `SELECT calls, total_exec_time AS total_ms, rows, wal_bytes, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query
         FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT ${Math.max(1, Math.floor(top))}`,
    ),
  );
  const all = await admin(cluster, (q) =>
    q(
      `SELECT sum(calls)::bigint AS calls, sum(total_exec_time) AS total_ms FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'`,
    ),
  );
  console.log(
    `pg_stat_statements (${label}): ${all[0]?.calls} statements, ${Number(all[0]?.total_ms ?? 0).toFixed(0)} ms of execution; top ${rows.length}:`,
  );
  for (const r of rows)
    console.log(
      `  ${String(r.calls).padStart(7)} calls ${Number(r.total_ms).toFixed(1).padStart(9)} ms ${String(r.rows).padStart(7)} rows ${String(r.wal_bytes).padStart(9)} WAL B  ${r.query}`,
    );
}
