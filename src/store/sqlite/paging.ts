import { decodeCursor, encodeCursor, type Page, type PageRequest } from '../../core/paging.js';
import type { Db } from './database.js';

/**
 * Keyset pages of a JSON-body table by time (`created_at`, then `id`), newest first by default, with a
 * case-insensitive search over some fields of the body (SQLite LIKE; `%` and `_` in the search are
 * literal). The count runs on the same filters. See core/paging.ts for the cursor.
 */
export function pageByTime<T>(
  db: Db,
  o: {
    table: string;
    /** Extra filters (SQL with ? placeholders) and their arguments. */
    where?: Array<[string, unknown[]]>;
    /** JSON paths of the body searched by `q` (`$.title`). */
    search: string[];
    req: PageRequest;
  },
): Page<T> {
  const where: string[] = [];
  const args: unknown[] = [];
  for (const [sql, a] of o.where ?? []) {
    where.push(sql);
    args.push(...a);
  }
  const q = o.req.q?.trim();
  if (q) {
    const hay = o.search.map((p) => `coalesce(json_extract(body, '${p}'), '')`).join(" || ' ' || ");
    where.push(`(${hay}) LIKE ? ESCAPE '\\'`);
    args.push(`%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const total = (db.prepare(`SELECT count(*) AS n FROM ${o.table} ${filter}`).get(...args) as { n: number })
    .n;
  const desc = o.req.order === 'desc';
  const pageWhere = [...where];
  const pageArgs = [...args];
  if (o.req.cursor) {
    const c = decodeCursor(o.req.cursor, 'createdAt', o.req.order);
    const op = desc ? '<' : '>';
    pageWhere.push(`(created_at ${op} ? OR (created_at = ? AND id ${op} ?))`);
    pageArgs.push(String(c.v), String(c.v), c.id);
  }
  const dir = desc ? 'DESC' : 'ASC';
  const rows = db
    .prepare(
      `SELECT id, created_at, body FROM ${o.table} ${pageWhere.length ? `WHERE ${pageWhere.join(' AND ')}` : ''} ORDER BY created_at ${dir}, id ${dir} LIMIT ?`,
    )
    .all(...pageArgs, o.req.limit + 1) as Array<{ id: string; created_at: string; body: string }>;
  const more = rows.length > o.req.limit;
  const page = rows.slice(0, o.req.limit);
  const last = page[page.length - 1];
  return {
    items: page.map((r) => JSON.parse(r.body) as T),
    next:
      more && last ? encodeCursor({ s: 'createdAt', o: o.req.order, v: last.created_at, id: last.id }) : null,
    total,
  };
}
