import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, type HubEvent, type RequestOptions, subscribe } from './api.js';
import { formatDuration, linkStateOfEvent, linkStateOfVariables } from './lib.js';

export { formatDuration, str, toCsv } from './lib.js';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** GETs a path (again when `deps` change or on reload); keeps the last data while reloading (no jumps). */
export function useApi<T>(path: string | null, opts: RequestOptions = {}, deps: unknown[] = []): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | Error | undefined>(undefined);
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    if (path === null) return;
    const c = new AbortController();
    setLoading(true);
    api<T>(path, { ...opts, signal: c.signal })
      .then((d) => {
        setData(d);
        setError(undefined);
      })
      .catch((e: Error) => {
        if (e.name !== 'AbortError') setError(e);
      })
      .finally(() => {
        if (!c.signal.aborted) setLoading(false);
      });
    return () => c.abort();
  }, [path, tick, ...deps]);
  return { data, error, loading, reload };
}

/** Calls `fn` for every live event whose type matches one of the prefixes (`call.` or exact types). */
export function useEvents(prefixes: string[], fn: (e: HubEvent) => void): void {
  const ref = useRef(fn);
  ref.current = fn;
  const key = prefixes.join(',');
  useEffect(
    () =>
      subscribe((e) => {
        if (prefixes.some((p) => (p.endsWith('.') ? e.type.startsWith(p) : e.type === p))) ref.current(e);
      }),
    [key],
  );
}

/** A PBX link's state as the console shows it, and when a `pbx.link` event said so ('' from the variables). */
export interface PbxLink {
  state: string;
  time: string;
}

/**
 * The link state of each PBX in `ids`: its variables on this hub first (`link_state`, `link_role`), then
 * every `pbx.link` event about the link that carries the calls (linkStateOfEvent).
 */
export function usePbxLinks(ids: readonly string[]): Record<string, PbxLink> {
  const [links, setLinks] = useState<Record<string, PbxLink>>({});
  useEvents(['pbx.link'], (e) => {
    const state = linkStateOfEvent(e.data);
    if (state !== undefined) setLinks((o) => ({ ...o, [e.source]: { state, time: e.time } }));
  });
  const key = ids.join('\n');
  useEffect(() => {
    const c = new AbortController();
    for (const id of ids)
      api<{ variables: Record<string, unknown> }>(`/api/devices/${encodeURIComponent(id)}/variables`, {
        signal: c.signal,
      })
        .then((v) => {
          const state = linkStateOfVariables(v.variables);
          if (state !== undefined) setLinks((o) => ({ ...o, [id]: o[id] ?? { state, time: '' } }));
        })
        .catch(() => {}); // variables are optional: the badge says "link state unknown"
    return () => c.abort();
  }, [key]);
  return links;
}

/** A clock that ticks every second (for durations and ages). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

export function PageHeader(props: { title: string; children?: ComponentChildren; description?: string }) {
  return (
    <header class="page-header">
      <div>
        <h1 id="page-title" tabIndex={-1}>
          {props.title}
        </h1>
        {props.description && <p class="muted">{props.description}</p>}
      </div>
      {props.children && <div class="page-actions">{props.children}</div>}
    </header>
  );
}

/** A clear message for an API error: a missing module, a failed call, or the hub being away. */
export function ErrorState(props: { error: Error; what?: string; onRetry?: () => void }) {
  const e = props.error;
  const missing = e instanceof ApiError && e.missing;
  return (
    <div class={`state ${missing ? 'state-unavailable' : 'state-error'}`} role={missing ? 'status' : 'alert'}>
      <strong>
        {missing
          ? `Not available on this hub: ${props.what ?? 'this feature'}`
          : `Could not load ${props.what ?? 'this page'}`}
      </strong>
      <p>
        {missing
          ? 'The hub answered that this API does not exist. The module that provides it is not installed or not enabled in this version.'
          : e.message}
        {e instanceof ApiError && !missing && e.code ? <code class="code"> {e.code}</code> : null}
      </p>
      {props.onRetry && !missing && (
        <button type="button" class="btn" onClick={props.onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function EmptyState(props: { title: string; children?: ComponentChildren }) {
  return (
    <div class="state state-empty" role="status">
      <strong>{props.title}</strong>
      {props.children && <p>{props.children}</p>}
    </div>
  );
}

/** A column of DataTable: its header, its cell, and the cell's class (`num` right-aligns both). */
export interface Column<T> {
  head: string;
  cell: (row: T) => ComponentChildren;
  class?: 'num' | 'mono' | 'small' | 'time';
}

/** A plain table of rows (or an empty state): the markup every list page shares. */
export function DataTable<T>(props: {
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  empty: string;
  emptyHint?: ComponentChildren;
}) {
  if (props.rows.length === 0) return <EmptyState title={props.empty}>{props.emptyHint}</EmptyState>;
  return (
    <div class="table-wrap">
      <table class="table">
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th key={c.head} scope="col" class={c.class === 'num' ? 'num' : undefined}>
                {c.head}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r) => (
            <tr key={props.rowKey(r)}>
              {props.columns.map((c) => (
                <td key={c.head} class={c.class}>
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Loading(props: { what?: string }) {
  return (
    <div class="state state-loading" role="status" aria-live="polite">
      Loading {props.what ?? ''}…
    </div>
  );
}

/** Renders loading / error / content for a Loaded value. */
export function Async<T>(props: {
  value: Loaded<T>;
  what: string;
  children: (data: T) => ComponentChildren;
}) {
  const { data, error, loading, reload } = props.value;
  if (data !== undefined)
    return (
      <>
        {error && <ErrorState error={error} what={props.what} onRetry={reload} />}
        {props.children(data)}
      </>
    );
  if (error) return <ErrorState error={error} what={props.what} onRetry={reload} />;
  if (loading) return <Loading what={props.what} />;
  return null;
}

export function Badge(props: {
  tone?: 'ok' | 'warn' | 'bad' | 'info' | 'muted';
  children: ComponentChildren;
}) {
  return <span class={`badge badge-${props.tone ?? 'muted'}`}>{props.children}</span>;
}

export function formatTime(iso: string | undefined | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function formatAge(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return formatDuration(ms / 1000);
}

export function download(name: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function JsonView(props: { value: unknown; label?: string }) {
  return (
    <pre class="json" title={props.label ?? 'JSON'}>
      {JSON.stringify(
        props.value,
        (_k, v: unknown) =>
          typeof v === 'string' && v.length > 2000 ? `${v.slice(0, 200)}… (${v.length} characters)` : v,
        2,
      )}
    </pre>
  );
}
