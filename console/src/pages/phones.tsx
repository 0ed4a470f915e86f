import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, type HubEvent } from '../api.js';
import { type Outcome, reachability } from '../lib.js';
import { Async, Badge, EmptyState, formatTime, PageHeader, str, useApi, useEvents } from '../ui.js';

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

export function PhonesPage() {
  const devices = useApi<{ devices: Device[] }>('/api/devices');
  const groups = useApi<{ groups: Array<{ id: string; name?: string; members?: number }> }>('/api/groups');
  const outcomes = useLastOutcomes();
  const [kind, setKind] = useState('');
  const [group, setGroup] = useState('');
  const [label, setLabel] = useState('');
  const [site, setSite] = useState('');
  const [q, setQ] = useState('');

  useEvents(['device.added', 'device.removed', 'device.updated'], () => devices.reload());

  const phones = useMemo(
    () => (devices.data?.devices ?? []).filter((d) => !NOT_PHONES.has(d.kind)),
    [devices.data],
  );
  const kinds = [...new Set(phones.map((p) => p.kind))].sort();
  const labels = [...new Set(phones.flatMap((p) => p.labels))].sort();
  const sites = [
    ...new Set(phones.map((p) => p.location.site ?? p.location.building ?? '').filter(Boolean)),
  ].sort();
  const variables = useVariablesOf(phones.map((p) => p.id));
  const shown = phones.filter(
    (p) =>
      (!kind || p.kind === kind) &&
      (!group || p.groups.includes(group)) &&
      (!label || p.labels.includes(label)) &&
      (!site || p.location.site === site || p.location.building === site) &&
      (!q ||
        `${p.id} ${p.name} ${p.address} ${locationText(p.location)}`.toLowerCase().includes(q.toLowerCase())),
  );

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
            placeholder="Name, address, room…"
          />
        </div>
        <Select id="f-kind" label="Kind" value={kind} set={setKind} options={kinds} />
        <Select
          id="f-group"
          label="Group"
          value={group}
          set={setGroup}
          options={(groups.data?.groups ?? []).map((g) => g.id)}
        />
        <Select id="f-label" label="Label" value={label} set={setLabel} options={labels} />
        <Select id="f-site" label="Site" value={site} set={setSite} options={sites} />
      </form>
      <Async value={devices} what="phones">
        {() =>
          phones.length === 0 ? (
            <EmptyState title="No phones yet">
              Phones appear here when they are added (<code>switchboard devices add</code>,{' '}
              <code>POST /api/devices</code>) or when Avaya phones subscribe to the hub.
            </EmptyState>
          ) : (
            <div class="table-wrap">
              <table class="table">
                <caption class="sr-only">
                  {shown.length} of {phones.length} phones
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Phone</th>
                    <th scope="col">Address</th>
                    <th scope="col">Location</th>
                    <th scope="col">Groups / labels</th>
                    <th scope="col">Reachability and last push</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.length === 0 && (
                    <tr>
                      <td colSpan={5} class="empty-row">
                        No phone matches these filters.
                      </td>
                    </tr>
                  )}
                  {shown.map((p) => {
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
          )
        }
      </Async>
    </>
  );
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
