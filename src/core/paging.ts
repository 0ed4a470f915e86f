import { Type } from 'typebox';
import { ValidationError } from './errors.js';

/**
 * Cursor pagination for the big lists of the API (devices, broadcasts, incidents): keyset paging, so a page
 * is stable while rows are added or removed elsewhere in the list. The cursor is opaque to clients
 * (base64url JSON of the sort, the order and the last row's sort value and id); `next` is null on the last
 * page. Text sorts are natural ("phone-9" before "phone-10") and case-insensitive. Pure: no I/O.
 */
export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
  sort: string;
  order: 'asc' | 'desc';
  /** Case-insensitive substring search. */
  q?: string | undefined;
}

export interface Page<T> {
  items: T[];
  /** Cursor of the next page (null: this is the last page). */
  next: string | null;
  /** Rows matching the filters and search (all pages). */
  total: number;
}

export type SortValue = string | number | null;

interface Cursor {
  s: string;
  o: 'asc' | 'desc';
  v: SortValue;
  id: string;
}

/** Query-string fields shared by paged routes (each route adds its own `sort` values). */
export const PageQueryFields = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Page size (1-1000).' })),
  cursor: Type.Optional(
    Type.String({ maxLength: 1000, description: 'The `next` of the previous page (opaque).' }),
  ),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Case-insensitive search.' })),
};

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

/** Reads a cursor made for the same sort and order (PAGE_CURSOR_INVALID otherwise). */
export function decodeCursor(s: string, sort: string, order: 'asc' | 'desc'): { v: SortValue; id: string } {
  const bad = (why: string) =>
    new ValidationError('PAGE_CURSOR_INVALID', `cursor: ${why} (start again without a cursor)`, {
      field: 'cursor',
    });
  let c: Partial<Cursor>;
  try {
    c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Partial<Cursor>;
  } catch {
    throw bad('not a cursor of this API');
  }
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.id !== 'string' ||
    !(c.v === null || typeof c.v === 'string' || typeof c.v === 'number')
  )
    throw bad('not a cursor of this API');
  if (c.s !== sort || c.o !== order) throw bad(`made for sort=${c.s}&order=${c.o}`);
  return { v: c.v, id: c.id };
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Natural, case-insensitive order; numbers numerically; nulls last; ties broken by id. */
export function compareSort(a: SortValue, b: SortValue): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return collator.compare(String(a), String(b));
}

/**
 * One page of an in-memory list: filtered by `q` (on `text`), sorted by `key`, from just after the cursor.
 * Sorting costs O(n log n) per request: fine for lists the size of a phone fleet (tens of thousands).
 */
export function pageOf<T>(
  items: readonly T[],
  req: PageRequest,
  o: { key: (t: T, sort: string) => SortValue; id: (t: T) => string; text: (t: T) => string },
): Page<T> {
  const needle = req.q?.trim().toLowerCase();
  const rows = (needle ? items.filter((t) => o.text(t).toLowerCase().includes(needle)) : [...items]).map(
    (t) => ({ t, v: o.key(t, req.sort), id: o.id(t) }),
  );
  const dir = req.order === 'desc' ? -1 : 1;
  const cmp = (a: { v: SortValue; id: string }, b: { v: SortValue; id: string }) =>
    dir * (compareSort(a.v, b.v) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  rows.sort(cmp);
  let start = 0;
  if (req.cursor) {
    const c = decodeCursor(req.cursor, req.sort, req.order);
    // First row after the cursor (binary search: rows are sorted by the same comparison).
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmp(rows[mid]!, c) <= 0) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  const page = rows.slice(start, start + req.limit);
  const last = page[page.length - 1];
  const more = start + req.limit < rows.length;
  return {
    items: page.map((r) => r.t),
    next: more && last ? encodeCursor({ s: req.sort, o: req.order, v: last.v, id: last.id }) : null,
    total: rows.length,
  };
}
