// Server-side paging for the console's big lists (phones, broadcasts, incidents, audit): the hub pages with
// opaque cursors (`limit`, `cursor` → `next`; docs/broadcasts.md "Paging, sorting and search"), the console
// keeps the cursors of the pages it has shown so that "Previous" goes back without the hub's help.

import { useCallback, useEffect, useState } from 'preact/hooks';
import { type ApiError, api } from './api.js';

export type Query = Record<string, string | number | boolean | undefined>;

export interface Paged<T> {
  rows: T[];
  /** All rows matching the filters (when the hub says; audit pages do not). */
  total: number | undefined;
  /** 0-based number of the page shown (its rows are `rows`). */
  index: number;
  /** 0-based number of the page asked for: `index` once it has loaded. */
  requested: number;
  /** The rows shown are the page asked for, with the filters asked for (nothing is on its way). */
  settled: boolean;
  hasNext: boolean;
  next(): void;
  prev(): void;
  /** First page again (the filters changed, or the user asked). */
  first(): void;
  loading: boolean;
  error: ApiError | Error | undefined;
  /** Loads the current page again (live updates). */
  reload(): void;
  /** Whether anything was loaded yet. */
  loaded: boolean;
}

/**
 * One page of `path` (the hub's rows under `listKey`), `limit` rows at a time; back to the first page when
 * `query` changes. `cursorParam` is the name the hub reads the cursor from (`cursor`, or `before` for
 * the event history). The last page's rows stay on screen while the next one loads (no jumps).
 */
export function usePaged<T>(
  path: string | null,
  listKey: string,
  query: Query,
  o: { limit: number; cursorParam?: string; background?: boolean },
): Paged<T> {
  const key = JSON.stringify([path, query]);
  // The cursors of the pages shown, for the filters they were made for: new filters start at page one at
  // once (in the same render, so no request ever pairs a cursor with filters it was not made for).
  const [pos, setPos] = useState<{ key: string; cursors: Array<string | undefined> }>({
    key,
    cursors: [undefined],
  });
  const cursors = pos.key === key ? pos.cursors : [undefined];
  const setCursors = (f: (cs: Array<string | undefined>) => Array<string | undefined>) =>
    setPos((p) => ({ key, cursors: f(p.key === key ? p.cursors : [undefined]) }));
  // The rows on screen, with the page they are (`index`, `at`: its cursors and filters): while the next
  // page loads, the range and the buttons go on describing the rows shown, not the page asked for.
  const [state, setState] = useState<{
    rows: T[];
    total: number | undefined;
    next: string | null;
    loaded: boolean;
    index: number;
    at: string;
  }>({ rows: [], total: undefined, next: null, loaded: false, index: 0, at: '' });
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError | Error | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const cursor = cursors[cursors.length - 1];
  const at = JSON.stringify([key, cursors]);
  useEffect(() => {
    if (path === null) return;
    const c = new AbortController();
    setLoading(true);
    api<Record<string, unknown>>(path, {
      query: { ...query, limit: o.limit, [o.cursorParam ?? 'cursor']: cursor },
      signal: c.signal,
      ...(o.background && tick > 0 ? { background: true } : {}),
    })
      .then((d) => {
        const next = d.next;
        const rows = (d[listKey] as T[] | undefined) ?? [];
        // A short page is the last one (the event history answers a `next` seq even there).
        const more = rows.length >= o.limit && (typeof next === 'string' || typeof next === 'number');
        setState({
          rows,
          total: typeof d.total === 'number' ? d.total : undefined,
          next: more ? String(next) : null,
          loaded: true,
          index: cursors.length - 1,
          at,
        });
        setError(undefined);
      })
      .catch((e: Error) => {
        if (e.name !== 'AbortError') setError(e);
      })
      .finally(() => {
        if (!c.signal.aborted) setLoading(false);
      });
    return () => c.abort();
  }, [key, cursor, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  // Next moves on from the page shown only once it is the page asked for: a second click while that page
  // loads (or after the filters changed) would pair the shown page's `next` cursor with another page.
  const settled = state.at === at;
  return {
    rows: state.rows,
    total: state.total,
    loaded: state.loaded,
    index: state.index,
    hasNext: state.next !== null,
    next: () => {
      const n = state.next;
      if (n !== null && settled) setCursors((cs) => [...cs, n]);
    },
    requested: cursors.length - 1,
    settled,
    prev: () => setCursors((cs) => (cs.length > 1 ? cs.slice(0, -1) : cs)),
    first: () => setCursors(() => [undefined]),
    loading,
    error,
    reload,
  };
}

/** "Rows 51–100 of 10,000" with Previous and Next; `what` names the rows ("phones"). */
export function Pager(props: { paged: Paged<unknown>; limit: number; what: string; id: string }) {
  const p = props.paged;
  const from = p.index * props.limit + (p.rows.length ? 1 : 0);
  const to = p.index * props.limit + p.rows.length;
  const n = (v: number) => v.toLocaleString('en');
  return (
    <nav class="pager" id={props.id} aria-label={`Pages of ${props.what}`}>
      <span id={`${props.id}-range`} role="status" aria-live="polite">
        {p.rows.length === 0
          ? `No ${props.what}`
          : `${props.what[0]!.toUpperCase()}${props.what.slice(1)} ${n(from)}–${n(to)}${
              p.total !== undefined ? ` of ${n(p.total)}` : ''
            }`}
        {p.loading ? ' (loading…)' : ''}
      </span>
      <span class="pager-buttons">
        <button type="button" class="btn" disabled={p.requested === 0} onClick={p.first}>
          First
        </button>
        <button type="button" class="btn" disabled={p.requested === 0} onClick={p.prev}>
          Previous
        </button>
        <button type="button" class="btn" disabled={!p.hasNext || !p.settled} onClick={p.next}>
          Next
        </button>
      </span>
    </nav>
  );
}

/** `value`, once it has not changed for `ms` (search fields: one request per pause, not per key). */
export function useDebounced<T>(value: T, ms = 300): T {
  const [v, setV] = useState(value);
  // Compared by content: a filters object made afresh on every render is the same value.
  const key = JSON.stringify(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [key, ms]);
  return v;
}
