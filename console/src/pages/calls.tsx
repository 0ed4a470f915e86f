import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, api, type HubEvent, onStreamState, type StreamState } from '../api.js';
import {
  applyCallEvent,
  type Call,
  type CallDelta,
  callFrom,
  linkTone,
  mergeCallSnapshot,
  sortCalls,
} from '../lib.js';
import { Pager, useDebounced, usePaged } from '../paging.js';
import {
  Badge,
  download,
  EmptyState,
  ErrorState,
  formatDuration,
  formatTime,
  Loading,
  PageHeader,
  toCsv,
  useEvents,
  useNow,
  usePbxLinks,
} from '../ui.js';
import { DrillButton } from './drill.js';

interface Device {
  id: string;
  kind: string;
  name: string;
  address: string;
}

const STATE_TONE: Record<string, 'ok' | 'warn' | 'info' | 'muted'> = {
  connected: 'ok',
  ringing: 'warn',
  queued: 'warn',
  held: 'info',
  dialling: 'info',
};

/** Ended calls per page, and at most this many in a CSV export. */
const HISTORY_PAGE = 50;
const HISTORY_MAX = 2000;
/** How often the live calls are read again from the hub (a call whose end was missed goes within this). */
const CALLS_RESYNC_MS = 30_000;
/** Call events kept while a snapshot is on its way; beyond this the snapshot is read again. */
const MAX_DELTAS = 5000;

export function CallsPage() {
  const [pbxs, setPbxs] = useState<Device[] | null>(null);
  const [calls, setCalls] = useState<Map<string, Call>>(new Map());
  const [error, setError] = useState<Error | null>(null);
  // The last reading of the live calls failed (cleared by the next one that succeeds).
  const [readError, setReadError] = useState<Error | null>(null);
  const [callsApi, setCallsApi] = useState<'ok' | 'missing' | 'unknown'>('unknown');
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim());
  // The history of ended calls, paged and searched by the hub (stored `call.ended` events, newest first).
  const history = usePaged<HubEvent>(
    '/api/events',
    'events',
    { type: 'call.ended', order: 'desc', q },
    { limit: HISTORY_PAGE, cursorParam: 'before' },
  );
  const rows = useMemo(() => history.rows.map((e) => callFrom(e.source, e.data)), [history.rows]);
  const now = useNow();

  // Snapshot: the PBXs and their live calls, read again every CALLS_RESYNC_MS and when the event stream
  // comes back, so that a call whose end the console missed does not stay on screen. The call events that
  // arrive while a snapshot is on its way are kept and applied over it (mergeCallSnapshot): a call that
  // ends in that window is not resurrected by the snapshot read before it ended.
  const during = useRef<CallDelta[] | null>(null);
  const snapshot = useRef<{ running: boolean; again: boolean; signal: AbortSignal | null }>({
    running: false,
    again: false,
    signal: null,
  });
  const loadSnapshot = useCallback(async (): Promise<void> => {
    const s = snapshot.current;
    const signal = s.signal;
    if (!signal || signal.aborted) return;
    if (s.running) {
      s.again = true;
      return;
    }
    s.running = true;
    during.current = [];
    let failed: Error | null = null;
    try {
      const { devices } = await api<{ devices: Device[] }>('/api/devices', {
        query: { kind: 'ipoffice' },
        signal,
      });
      setPbxs(devices);
      const live = new Map<string, Call>();
      const unread = new Set<string>();
      for (const d of devices) {
        try {
          const r = await api<{ calls?: Record<string, unknown>[] } | Record<string, unknown>[]>(
            `/api/ipoffice/${encodeURIComponent(d.id)}/calls`,
            { signal },
          );
          const list = Array.isArray(r) ? r : (r.calls ?? []);
          for (const x of list) {
            const call = callFrom(d.id, x);
            live.set(call.key, call);
          }
          setCallsApi('ok');
        } catch (e) {
          unread.add(d.id);
          // Several hubs: this hub has no link to that PBX (not an error); its calls come from the events.
          if (e instanceof ApiError && e.code === 'DEVLINK3_LINK_ELSEWHERE') setCallsApi('ok');
          else if (e instanceof ApiError && e.missing) setCallsApi('missing');
          else if ((e as Error).name !== 'AbortError') failed = e as Error;
        }
      }
      if (signal.aborted) return;
      setReadError(failed);
      const deltas = during.current ?? [];
      // Too many events to keep while it was read: the snapshot is read again (s.again), not merged.
      if (deltas.length >= MAX_DELTAS) return;
      setCalls((old) => mergeCallSnapshot(old, live, deltas, unread));
    } catch (e) {
      if ((e as Error).name !== 'AbortError') setReadError(e as Error);
    } finally {
      during.current = null;
      s.running = false;
      if (s.again && !signal.aborted) {
        s.again = false;
        void loadSnapshot();
      }
    }
  }, []);
  useEffect(() => {
    const c = new AbortController();
    snapshot.current.signal = c.signal;
    void loadSnapshot();
    const t = setInterval(() => void loadSnapshot(), CALLS_RESYNC_MS);
    return () => {
      clearInterval(t);
      c.abort();
    };
  }, []);

  const links = usePbxLinks((pbxs ?? []).map((p) => p.id));
  useEvents(['call.'], (e) => {
    const call = callFrom(e.source, e.data);
    if (!call.callKey) return;
    if (e.type === 'call.rejected') return;
    if (during.current) {
      if (during.current.length < MAX_DELTAS) during.current.push({ type: e.type, call });
      else snapshot.current.again = true; // too many to keep: read the calls again once this one is done
    }
    setCalls((old) => applyCallEvent(old, e.type, call));
    if (e.type === 'call.ended') history.reload();
  });

  const live = useMemo(() => sortCalls(calls.values()), [calls]);
  const shownError = error ?? readError;
  const [stream, setStream] = useState<StreamState>('connecting');
  useEffect(() => {
    let was: StreamState | null = null;
    return onStreamState((st) => {
      setStream(st);
      // Back after a drop: read the calls again (events may have been missed past the hub's history).
      if (st === 'live' && was === 'retrying') void loadSnapshot();
      was = st;
    });
  }, []);
  const emergencies = live.filter((c) => c.emergency);

  const [exporting, setExporting] = useState(false);
  /** Up to HISTORY_MAX ended calls matching the search, fetched a page of 1,000 at a time. */
  const exportCsv = async () => {
    setExporting(true);
    const all: Call[] = [];
    try {
      let before: number | undefined;
      while (all.length < HISTORY_MAX) {
        const r = await api<{ events: HubEvent[]; next: number }>('/api/events', {
          query: { type: 'call.ended', order: 'desc', q, limit: 1000, before },
        });
        all.push(...r.events.map((e) => callFrom(e.source, e.data)));
        if (r.events.length < 1000) break;
        before = r.next;
      }
    } catch (e) {
      setError(e as Error);
      return;
    } finally {
      setExporting(false);
    }
    download(
      `calls-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.csv`,
      toCsv(
        [
          'started',
          'ended',
          'pbx',
          'direction',
          'from',
          'from name',
          'to',
          'to name',
          'hunt group',
          'duration s',
          'talk s',
          'emergency',
        ],
        all
          .slice(0, HISTORY_MAX)
          .map((h) => [
            h.startedAt,
            h.endedAt ?? '',
            h.source,
            h.direction,
            h.from,
            h.fromName,
            h.to,
            h.toName,
            h.huntGroup,
            h.durationSeconds ?? '',
            h.talkSeconds ?? '',
            h.emergency ? 'yes' : '',
          ]),
      ),
    );
  };

  return (
    <>
      <PageHeader
        title="Live calls"
        description="Calls in progress on each IP Office, updated live from DevLink3."
      />

      {shownError && (
        <ErrorState
          error={shownError}
          what="calls"
          {...(error ? {} : { onRetry: () => void loadSnapshot() })}
        />
      )}

      <section aria-labelledby="pbx-title" class="section">
        <h2 id="pbx-title">PBX links</h2>
        {pbxs === null && !shownError && <Loading what="PBXs" />}
        {pbxs?.length === 0 && (
          <EmptyState title="No IP Office configured">
            Add one with <code>switchboard devices add --kind ipoffice …</code> to see its calls here.
          </EmptyState>
        )}
        {pbxs && pbxs.length > 0 && (
          <ul class="chips">
            {pbxs.map((p) => {
              const l = links[p.id];
              return (
                <li key={p.id} class="chip">
                  <span>{p.name || p.id}</span>{' '}
                  <Badge tone={linkTone(l?.state)}>{l ? `link ${l.state}` : 'link state unknown'}</Badge>
                </li>
              );
            })}
          </ul>
        )}
      </section>

      <section aria-labelledby="live-title" class="section">
        <h2 id="live-title">
          In progress <span class="count">({live.length})</span>
        </h2>
        <div aria-live="assertive" class="sr-only">
          {emergencies.length > 0
            ? `Emergency call in progress from ${emergencies[0]!.fromName || emergencies[0]!.from}`
            : ''}
        </div>
        {callsApi === 'missing' && (
          <p class="note">
            The live-calls API (/api/ipoffice/…/calls) is not on this hub; calls appear as events arrive.
          </p>
        )}
        <div class="table-wrap live-wrap">
          <table class="table calls-table">
            <caption class="sr-only">Calls in progress, emergency calls first</caption>
            <thead>
              <tr>
                <th scope="col">State</th>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">Direction</th>
                <th scope="col">Hunt group</th>
                <th scope="col" class="num">
                  Duration
                </th>
                <th scope="col">PBX</th>
              </tr>
            </thead>
            <tbody>
              {live.length === 0 && (
                <tr>
                  <td colSpan={7} class="empty-row">
                    {stream === 'live'
                      ? 'No calls in progress.'
                      : 'Not connected to the hub: calls in progress are not known.'}
                  </td>
                </tr>
              )}
              {live.map((c) => (
                <tr key={c.key} class={c.emergency ? 'row-emergency' : ''} data-call={c.callKey}>
                  <td>
                    {c.emergency && <Badge tone="bad">{c.test ? 'EMERGENCY TEST' : 'EMERGENCY'}</Badge>}{' '}
                    <Badge tone={STATE_TONE[c.state] ?? 'muted'}>{c.state}</Badge>
                  </td>
                  <td>
                    <Party num={c.from} name={c.fromName} />
                  </td>
                  <td>
                    <Party num={c.to} name={c.toName} />
                  </td>
                  <td>{c.direction || '—'}</td>
                  <td>{c.huntGroup || '—'}</td>
                  <td class="num duration">{formatDuration((now - Date.parse(c.startedAt)) / 1000)}</td>
                  <td>{c.source}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="history-title" class="section">
        <div class="section-head">
          <h2 id="history-title">
            History{history.total !== undefined ? <span class="count"> ({history.total})</span> : null}
          </h2>
          <div class="toolbar">
            <label for="call-search" class="sr-only">
              Search call history
            </label>
            <input
              id="call-search"
              type="search"
              class="search-wide"
              placeholder="Search number, name, hunt group…"
              value={search}
              onInput={(e) => setSearch(e.currentTarget.value)}
            />
            <button
              type="button"
              class="btn"
              onClick={() => void exportCsv()}
              disabled={rows.length === 0 || exporting}
            >
              {exporting ? 'Exporting…' : 'Export CSV'}
            </button>
          </div>
        </div>
        {rows.length > 0 && <Pager paged={history} limit={HISTORY_PAGE} what="calls" id="history-pager" />}
        <div class="table-wrap">
          <table class="table">
            <caption class="sr-only">Ended calls, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">Direction</th>
                <th scope="col">Hunt group</th>
                <th scope="col" class="num">
                  Duration
                </th>
                <th scope="col" class="num">
                  Talk
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.length === 0 && (
                <tr>
                  <td colSpan={7} class="empty-row">
                    {!history.loaded
                      ? 'Loading…'
                      : q
                        ? 'No call matches this search.'
                        : 'No ended calls yet.'}
                  </td>
                </tr>
              )}
              {rows.map((h) => (
                <tr key={h.key} class={h.emergency ? 'row-emergency' : ''}>
                  <td>{formatTime(h.startedAt)}</td>
                  <td>
                    <Party num={h.from} name={h.fromName} />
                  </td>
                  <td>
                    <Party num={h.to} name={h.toName} />
                  </td>
                  <td>{h.direction || '—'}</td>
                  <td>{h.huntGroup || '—'}</td>
                  <td class="num">
                    {h.durationSeconds !== undefined ? formatDuration(h.durationSeconds) : '—'}
                  </td>
                  <td class="num">{h.talkSeconds !== undefined ? formatDuration(h.talkSeconds) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {history.error && (
          <ErrorState error={history.error} what="the call history" onRetry={history.reload} />
        )}
      </section>
      <section class="section drill-section" aria-label="Emergency drill">
        <DrillButton />
      </section>
    </>
  );
}

function Party(props: { num: string; name: string }) {
  return (
    <span class="party">
      <span class="num-text">{props.num || '—'}</span>
      {props.name && <span class="muted"> {props.name}</span>}
    </span>
  );
}
