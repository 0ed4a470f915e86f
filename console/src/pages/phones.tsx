import { useEffect, useState } from 'preact/hooks';
import { api, type HubEvent } from '../api.js';
import { type Outcome, reachability } from '../lib.js';
import { Pager, useDebounced, usePaged } from '../paging.js';
import {
  Badge,
  EmptyState,
  ErrorState,
  formatTime,
  Loading,
  PageHeader,
  str,
  useApi,
  useEvents,
} from '../ui.js';

export interface Device {
  id: string;
  kind: string;
  name: string;
  address: string;
  labels: string[];
  groups: string[];
  location: { site?: string; building?: string; floor?: string; room?: string; description?: string };
  settings: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export type { Outcome };

/** Kinds that are not phones (PBX links): the Phones page leaves them out. */
const NOT_PHONES = new Set(['ipoffice']);

export function locationText(l: Device['location']): string {
  return [l.site, l.building, l.floor && `floor ${l.floor}`, l.room && `room ${l.room}`]
    .filter(Boolean)
    .join(', ');
}

/** The last action outcome per device, from stored `device.action` events and then live ones. */
export function useLastOutcomes(): Record<string, Outcome> {
  const [out, setOut] = useState<Record<string, Outcome>>({});
  const put = (e: HubEvent) => {
    const id = str(e.data.deviceId ?? e.source);
    setOut((old) => ({
      ...old,
      [id]: {
        ok: e.data.ok === true,
        outcome: str(e.data.outcome, e.data.ok ? 'ok' : 'failed'),
        actionId: str(e.data.actionId),
        time: e.time,
      },
    }));
  };
  useEffect(() => {
    const c = new AbortController();
    (async () => {
      const last = (await api<{ last: number }>('/api/events', { query: { limit: 1 }, signal: c.signal }))
        .last;
      const r = await api<{ events: HubEvent[] }>('/api/events', {
        query: { type: 'device.action', after: Math.max(0, last - 20000), limit: 1000 },
        signal: c.signal,
      });
      const acc: Record<string, Outcome> = {};
      for (const e of r.events)
        acc[str(e.data.deviceId ?? e.source)] = {
          ok: e.data.ok === true,
          outcome: str(e.data.outcome, e.data.ok ? 'ok' : 'failed'),
          actionId: str(e.data.actionId),
          time: e.time,
        };
      setOut((old) => ({ ...acc, ...old }));
    })().catch(() => {});
    return () => c.abort();
  }, []);
  useEvents(['device.action'], put);
  return out;
}

/** Variables of many devices (first 200), fetched 6 at a time; refreshed for a device after each action. */
function useVariablesOf(ids: string[]): Record<string, Record<string, unknown>> {
  const [vars, setVars] = useState<Record<string, Record<string, unknown>>>({});
  const key = ids.slice(0, 200).join(',');
  useEffect(() => {
    const c = new AbortController();
    const queue = key ? key.split(',') : [];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined && !c.signal.aborted; id = queue.shift()) {
        try {
          const v = await api<{ variables: Record<string, unknown> }>(
            `/api/devices/${encodeURIComponent(id)}/variables`,
            { signal: c.signal },
          );
          const got = id;
          setVars((old) => ({ ...old, [got]: v.variables }));
        } catch {
          // a phone without variables: reachability comes from its push outcomes only
        }
      }
    };
    void Promise.all([...Array(6)].map(worker));
    return () => c.abort();
  }, [key]);
  return vars;
}

const PAGE = 50;
const SORTS = [
  { value: 'name', label: 'Name' },
  { value: 'kind', label: 'Kind' },
  { value: 'address', label: 'Address' },
  { value: 'location', label: 'Location' },
  { value: 'updatedAt', label: 'Last changed' },
];

/**
 * The phone inventory, paged, sorted and searched by the hub (`GET /api/devices?limit&cursor&sort&q`), so
 * a fleet of 10,000 phones loads 50 rows at a time.
 */
export function PhonesPage() {
  const groups = useApi<{ groups: Array<{ id: string; name?: string; members?: number }> }>('/api/groups');
  const kinds = useApi<{ kinds: Array<{ kind: string; label: string }> }>('/api/kinds');
  const outcomes = useLastOutcomes();
  const [kind, setKind] = useState('');
  const [group, setGroup] = useState('');
  const [label, setLabel] = useState('');
  const [site, setSite] = useState('');
  const [q, setQ] = useState('');
  const [sort, setSort] = useState('name');
  const [order, setOrder] = useState<'asc' | 'desc'>('asc');
  const search = useDebounced(q.trim());
  const labelQ = useDebounced(label.trim());
  const siteQ = useDebounced(site.trim());
  const paged = usePaged<Device>(
    '/api/devices',
    'devices',
    { kind, group, label: labelQ, site: siteQ, q: search, sort, order },
    { limit: PAGE },
  );
  useEvents(['device.added', 'device.removed', 'device.updated'], () => paged.reload());

  // PBX links (IP Office) are devices too, but not phones: left out of the page (they are few).
  const phones = paged.rows.filter((d) => !NOT_PHONES.has(d.kind));
  const variables = useVariablesOf(phones.map((p) => p.id));
  const filtered = !!(kind || group || labelQ || siteQ || search);

  return (
    <>
      <PageHeader
        title="Phones"
        description="Cisco and Avaya phones known to the hub, with their last push outcome."
      />
      <form class="filters" aria-label="Filter phones" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="f-q">Search</label>
          <input
            id="f-q"
            type="search"
            value={q}
            onInput={(e) => setQ(e.currentTarget.value)}
            placeholder="Name, address, room, extension…"
          />
        </div>
        <Select
          id="f-kind"
          label="Kind"
          value={kind}
          set={setKind}
          options={(kinds.data?.kinds ?? []).map((k) => k.kind).filter((k) => !NOT_PHONES.has(k))}
        />
        <Select
          id="f-group"
          label="Group"
          value={group}
          set={setGroup}
          options={(groups.data?.groups ?? []).map((g) => g.id)}
        />
        <div class="field">
          <label for="f-label">Label</label>
          <input id="f-label" type="text" value={label} onInput={(e) => setLabel(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="f-site">Site</label>
          <input id="f-site" type="text" value={site} onInput={(e) => setSite(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="f-sort">Sort by</label>
          <select id="f-sort" value={sort} onChange={(e) => setSort(e.currentTarget.value)}>
            {SORTS.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-order">Order</label>
          <select
            id="f-order"
            value={order}
            onChange={(e) => setOrder(e.currentTarget.value === 'desc' ? 'desc' : 'asc')}
          >
            <option value="asc">A to Z, oldest first</option>
            <option value="desc">Z to A, newest first</option>
          </select>
        </div>
      </form>
      {paged.error && !paged.loaded ? (
        <ErrorState error={paged.error} what="phones" onRetry={paged.reload} />
      ) : !paged.loaded ? (
        <Loading what="phones" />
      ) : paged.rows.length === 0 && !filtered && paged.index === 0 ? (
        <EmptyState title="No phones yet">
          Phones appear here when they are added (<code>switchboard devices add</code>,{' '}
          <code>POST /api/devices</code>) or when Avaya phones subscribe to the hub.
        </EmptyState>
      ) : (
        <>
          {paged.error && <ErrorState error={paged.error} what="phones" onRetry={paged.reload} />}
          <Pager paged={paged} limit={PAGE} what="phones" id="phones-pager" />
          <div class="table-wrap">
            <table class="table">
              <caption class="sr-only">
                Phones, sorted by {SORTS.find((s) => s.value === sort)?.label}
              </caption>
              <thead>
                <tr>
                  <th scope="col" aria-sort={sortState(sort, order, 'name')}>
                    Phone
                  </th>
                  <th scope="col" aria-sort={sortState(sort, order, 'address')}>
                    Address
                  </th>
                  <th scope="col" aria-sort={sortState(sort, order, 'location')}>
                    Location
                  </th>
                  <th scope="col">Groups / labels</th>
                  <th scope="col">Reachability and last push</th>
                </tr>
              </thead>
              <tbody>
                {phones.length === 0 && (
                  <tr>
                    <td colSpan={5} class="empty-row">
                      No phone matches these filters.
                    </td>
                  </tr>
                )}
                {phones.map((p) => {
                  const r = reachability(outcomes[p.id], variables[p.id]);
                  return (
                    <tr key={p.id}>
                      <td>
                        <a href={`#/phones/${encodeURIComponent(p.id)}`}>{p.name || p.id}</a>
                        <div class="muted small">
                          {p.kind}
                          {p.settings.model ? ` ${str(p.settings.model)}` : ''} · {p.id}
                        </div>
                      </td>
                      <td class="mono nowrap">{p.address}</td>
                      <td>{locationText(p.location) || '—'}</td>
                      <td>
                        {[
                          ...p.groups.map((g) => (
                            <Badge key={`g${g}`} tone="info">
                              {g}
                            </Badge>
                          )),
                          ...p.labels.map((l) => <Badge key={`l${l}`}>{l}</Badge>),
                        ]}
                      </td>
                      <td>
                        <Badge tone={r.tone}>{r.label}</Badge>
                        {r.push ? (
                          <>
                            <div class="mono small">{r.push.outcome}</div>
                            <div class="muted small">
                              {[r.push.action, formatTime(r.push.time || undefined)]
                                .filter(Boolean)
                                .join(' · ')}
                            </div>
                          </>
                        ) : (
                          <div class="muted small">no push yet</div>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  );
}

function sortState(sort: string, order: 'asc' | 'desc', col: string): 'ascending' | 'descending' | undefined {
  if (sort !== col) return undefined;
  return order === 'asc' ? 'ascending' : 'descending';
}

function Select(props: {
  id: string;
  label: string;
  value: string;
  set: (v: string) => void;
  options: string[];
}) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(e) => props.set(e.currentTarget.value)}>
        <option value="">All</option>
        {props.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </div>
  );
}
