import { decodeCursor, encodeCursor, type Page, type PageRequest } from '../../core/paging.js';
import type { Query } from './database.js';
import { jsonText, likeSearch, Params } from './sql.js';

/**
 * Keyset pages of a JSON-body table by time (`created_at`, then `id`), newest first by default, with the
 * case-insensitive search of the SQLite pages (store/sqlite/paging.ts pageByTime: the same cursor, order,
 * count and search), so a cursor means the same on either backend.
 */
export async function pageByTime<T>(
  q: Query,
  o: {
    table: string;
    /** Extra filters: SQL using `params.p(value)` for its values. */
    where?: (params: Params) => string[];
    /** JSON paths of the body searched by `q` (`$.title`). */
    search: string[];
    req: PageRequest;
  },
): Promise<Page<T>> {
  const params = new Params();
  const where = o.where?.(params) ?? [];
  const needle = o.req.q?.trim();
  if (needle) {
    const hay = o.search.map((p) => `coalesce(${jsonText(p)}, '')`).join(" || ' ' || ");
    where.push(likeSearch(hay, needle, params));
  }
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const countArgs = [...params.values];
  const desc = o.req.order === 'desc';
  if (o.req.cursor) {
    const c = decodeCursor(o.req.cursor, 'createdAt', o.req.order);
    const op = desc ? '<' : '>';
    const v = params.p(String(c.v));
    where.push(`(created_at ${op} ${v} OR (created_at = ${v} AND id ${op} ${params.p(c.id)}))`);
  }
  const dir = desc ? 'DESC' : 'ASC';
  const limit = params.p(o.req.limit + 1);
  const [counted, rows] = await Promise.all([
    q<{ n: number }>(`SELECT count(*) AS n FROM ${o.table} ${filter}`, countArgs),
    q<{ id: string; created_at: string; body: string }>(
      `SELECT id, created_at, body FROM ${o.table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at ${dir}, id ${dir} LIMIT ${limit}`,
      params.values,
    ),
  ]);
  const more = rows.length > o.req.limit;
  const page = rows.slice(0, o.req.limit);
  const last = page[page.length - 1];
  return {
    items: page.map((r) => JSON.parse(r.body) as T),
    next:
      more && last ? encodeCursor({ s: 'createdAt', o: o.req.order, v: last.created_at, id: last.id }) : null,
    total: counted[0]?.n ?? 0,
  };
}
