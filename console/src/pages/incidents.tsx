import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, apiUrl, getKey } from '../api.js';
import {
  Async,
  Badge,
  download,
  EmptyState,
  formatTime,
  JsonView,
  PageHeader,
  str,
  useApi,
  useEvents,
} from '../ui.js';
import { DrillButton } from './drill.js';

export interface Incident {
  id: string;
  status?: string;
  state?: string;
  test?: boolean;
  drill?: boolean;
  startedAt?: string;
  createdAt?: string;
  callerExtension?: string;
  callerName?: string;
  callbackNumber?: string;
  caller?: { extension?: string; name?: string; callbackNumber?: string; dialled?: string };
  location?: unknown;
  acknowledgedAt?: string | null;
  acknowledgedBy?: string | null;
  acknowledgements?: Array<Record<string, unknown>>;
  timeline?: Array<Record<string, unknown>>;
  deliveries?: Array<Record<string, unknown>>;
  [k: string]: unknown;
}

export function incidentTime(i: Incident): string | undefined {
  return str(i.startedAt ?? i.createdAt ?? i.time, '') || undefined;
}

/** The caller fields, from the incident's `caller` object (or flat fields). */
export function callerOf(i: Incident): {
  extension: string;
  name: string;
  callback: string;
  dialled: string;
} {
  return {
    extension: str(i.caller?.extension ?? i.callerExtension),
    name: str(i.caller?.name ?? i.callerName),
    callback: str(i.caller?.callbackNumber ?? i.callbackNumber),
    dialled: str(i.caller?.dialled),
  };
}

function detailText(d: unknown): string {
  if (d === undefined || d === null) return '';
  if (typeof d !== 'object') return String(d);
  return Object.entries(d as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' · ');
}

export function isAcknowledged(i: Incident): boolean {
  return (
    Boolean(i.acknowledgedAt) ||
    (i.acknowledgements?.length ?? 0) > 0 ||
    /ack/i.test(str(i.status ?? i.state))
  );
}

function locText(l: unknown): string {
  if (!l) return '—';
  if (typeof l === 'string') return l;
  const o = l as Record<string, unknown>;
  return [
    o.site,
    o.building,
    o.floor && `floor ${str(o.floor)}`,
    o.room && `room ${str(o.room)}`,
    o.description,
  ]
    .filter(Boolean)
    .join(', ');
}

export function IncidentsPage(props: { id?: string | undefined }) {
  const list = useApi<{ incidents: Incident[] }>('/api/incidents', { query: { limit: 100 } });
  useEvents(['incident.', 'call.emergency'], () => list.reload());
  const exportCsv = async () => {
    try {
      const res = await fetch(apiUrl('/api/incidents', { format: 'csv' }), {
        headers: { authorization: `Bearer ${getKey() ?? ''}`, accept: 'text/csv' },
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      download('incidents.csv', await res.text());
    } catch (e) {
      alert(`CSV export failed: ${(e as Error).message}`);
    }
  };
  return (
    <>
      <PageHeader
        title="Incidents"
        description="The 911 incident log: who called, from where, who was notified and who acknowledged."
      >
        <DrillButton />
        <button type="button" class="btn" onClick={exportCsv} disabled={!list.data}>
          Export CSV
        </button>
      </PageHeader>
      <div class="grid-list">
        <section aria-labelledby="inc-list-title" class="card">
          <h2 id="inc-list-title">Log</h2>
          <Async value={list} what="Incidents">
            {(d) =>
              (d.incidents ?? []).length === 0 ? (
                <EmptyState title="No incidents">
                  Emergency calls (911 and test numbers) appear here as they happen.
                </EmptyState>
              ) : (
                <ul class="list incident-list">
                  {d.incidents.map((i) => (
                    <li key={i.id} class={props.id === i.id ? 'selected' : ''}>
                      <a
                        href={`#/incidents/${encodeURIComponent(i.id)}`}
                        aria-current={props.id === i.id ? 'true' : undefined}
                      >
                        {callerOf(i).name || callerOf(i).extension || 'Unknown caller'}
                      </a>{' '}
                      {(i.test || i.drill) && <Badge tone="info">{i.drill ? 'drill' : 'test'}</Badge>}{' '}
                      <Badge tone={isAcknowledged(i) ? 'ok' : 'bad'}>
                        {isAcknowledged(i) ? 'acknowledged' : 'open'}
                      </Badge>
                      <div class="muted small">{formatTime(incidentTime(i))}</div>
                    </li>
                  ))}
                </ul>
              )
            }
          </Async>
        </section>
        <section aria-labelledby="inc-detail-title" class="card">
          {props.id ? (
            <IncidentDetail id={props.id} onChange={list.reload} />
          ) : (
            <>
              <h2 id="inc-detail-title">Incident</h2>
              <p class="muted">Pick an incident to see its timeline.</p>
            </>
          )}
        </section>
      </div>
    </>
  );
}

function IncidentDetail(props: { id: string; onChange: () => void }) {
  const inc = useApi<Incident & { incident?: Incident }>(
    `/api/incidents/${encodeURIComponent(props.id)}`,
    {},
    [props.id],
  );
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  useEvents(['incident.', 'broadcast.', 'delivery.', 'call.ended'], () => inc.reload());
  // Does this hub take operator acknowledgements over the API? Probed without side effects: a POST for an
  // incident id that cannot exist answers "no such incident" when the route exists, "no route" when not.
  const [ackRoute, setAckRoute] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    const c = new AbortController();
    (async () => {
      for (const suffix of ['ack', 'acknowledge']) {
        try {
          await api(`/api/incidents/probe-0000/${suffix}`, { method: 'POST', body: {}, signal: c.signal });
          return setAckRoute(suffix);
        } catch (e) {
          if ((e as Error).name === 'AbortError') return;
          if (!(e instanceof ApiError && e.missing)) return setAckRoute(suffix);
        }
      }
      setAckRoute(null);
    })();
    return () => c.abort();
  }, []);
  const ack = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      const body = { by: name.trim() || 'console' };
      await api(`/api/incidents/${encodeURIComponent(props.id)}/${ackRoute}`, { method: 'POST', body });
      inc.reload();
      props.onChange();
    } catch (e2) {
      setErr((e2 as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Async value={inc} what="this incident">
      {(raw) => {
        // The API answers { incident, deliveries } (older shapes: the incident itself).
        const i: Incident = raw.incident ? { ...raw.incident, deliveries: raw.deliveries ?? [] } : raw;
        const acked = isAcknowledged(i);
        const timeline = [...(i.timeline ?? [])].sort((a, b) =>
          str(a.time ?? a.at).localeCompare(str(b.time ?? b.at)),
        );
        return (
          <>
            <h2 id="inc-detail-title">
              {callerOf(i).name || callerOf(i).extension || 'Emergency call'}{' '}
              <Badge tone={acked ? 'ok' : 'bad'}>{acked ? 'acknowledged' : 'open'}</Badge>
            </h2>
            <dl class="dl">
              <dt>Extension</dt>
              <dd>{callerOf(i).extension || '—'}</dd>
              <dt>Dialled</dt>
              <dd class="mono">{callerOf(i).dialled || '—'}</dd>
              <dt>Callback number</dt>
              <dd class="mono">{callerOf(i).callback || '—'}</dd>
              <dt>Location</dt>
              <dd>{locText(i.location)}</dd>
              <dt>Started</dt>
              <dd>{formatTime(incidentTime(i))}</dd>
              <dt>Acknowledged</dt>
              <dd>
                {acked
                  ? `${str(i.acknowledgedBy ?? i.acknowledgements?.[0]?.by ?? i.acknowledgements?.[0]?.deviceId, 'yes')} · ${formatTime(
                      str(
                        i.acknowledgedAt ?? i.acknowledgements?.[0]?.at ?? i.acknowledgements?.[0]?.time,
                        '',
                      ) || undefined,
                    )}`
                  : 'not yet'}
              </dd>
            </dl>
            {!acked && !ackRoute && ackRoute !== undefined && (
              <p class="note">
                Not acknowledged yet: a notified phone acknowledges with its Ack key (or press it below).
              </p>
            )}
            {!acked && ackRoute && (
              <form class="ack-form" onSubmit={ack}>
                <div class="field">
                  <label for="ack-name">Acknowledge as</label>
                  <input
                    id="ack-name"
                    type="text"
                    maxLength={100}
                    value={name}
                    placeholder="Your name"
                    onInput={(e) => setName(e.currentTarget.value)}
                  />
                </div>
                <button type="submit" class="btn btn-danger" disabled={busy}>
                  {busy ? 'Acknowledging…' : 'Acknowledge'}
                </button>
                {err && (
                  <p class="form-error" role="alert">
                    {err}
                  </p>
                )}
              </form>
            )}
            <h3>Timeline</h3>
            {timeline.length === 0 ? (
              <p class="muted">No timeline entries.</p>
            ) : (
              <ol class="timeline">
                {timeline.map((t, n) => (
                  <li key={n}>
                    <span class="muted small">{formatTime(str(t.time ?? t.at, '') || undefined)}</span>{' '}
                    <strong>{str(t.type ?? t.kind ?? t.event)}</strong>{' '}
                    {detailText(t.text ?? t.message ?? t.detail)}
                  </li>
                ))}
              </ol>
            )}
            {(i.acknowledgements?.length ?? 0) > 0 && (
              <>
                <h3>Acknowledgements</h3>
                <JsonView value={i.acknowledgements} label="Acknowledgements" />
              </>
            )}
            {(i.deliveries?.length ?? 0) > 0 && (
              <>
                <h3>Notified phones</h3>
                <PhoneAcks deliveries={i.deliveries!} acked={acked} onAck={() => inc.reload()} />
              </>
            )}
          </>
        );
      }}
    </Async>
  );
}

/**
 * The phones an incident notified, with their delivery state. A Cisco phone's alert carries an `Ack`
 * softkey (softkey 1) whose URL is that phone's acknowledgement link: "Press Ack" runs the phone's
 * `key_soft` action, so the phone itself follows the link, exactly as a guard pressing the key would.
 */
function PhoneAcks(props: { deliveries: Array<Record<string, unknown>>; acked: boolean; onAck: () => void }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [msg, setMsg] = useState<string | null>(null);
  const press = async (deviceId: string) => {
    setBusy(deviceId);
    setMsg(null);
    try {
      const r = await api<{ ok: boolean; message?: string; outcome?: string }>(
        `/api/devices/${encodeURIComponent(deviceId)}/actions/key_soft`,
        { method: 'POST', body: { n: 1 } },
      );
      setMsg(r.ok ? `${deviceId}: Ack pressed.` : `${deviceId}: ${r.message ?? r.outcome ?? 'refused'}`);
      props.onAck();
    } catch (e) {
      setMsg(`${deviceId}: ${(e as Error).message}`);
    } finally {
      setBusy(null);
    }
  };
  return (
    <>
      <ul class="list phone-acks">
        {props.deliveries.map((d) => {
          const id = str(d.deviceId);
          const st = str(d.state ?? d.status);
          return (
            <li key={id}>
              <a href={`#/phones/${encodeURIComponent(id)}`}>{id}</a>{' '}
              <span class="muted">({str(d.kind, '?')})</span>{' '}
              <Badge tone={/fail/.test(st) ? 'bad' : /ack/.test(st) ? 'ok' : 'info'}>{st}</Badge>
              {d.acknowledgedBy ? <span class="muted small"> by {str(d.acknowledgedBy)}</span> : null}
              {!props.acked && d.kind === 'cisco' && d.ackRequested !== false && !/fail/.test(st) && (
                <button
                  type="button"
                  class="btn btn-quiet"
                  disabled={busy !== null}
                  onClick={() => press(id)}
                  aria-label={`Press Ack on phone ${id}`}
                >
                  {busy === id ? 'Pressing…' : 'Press Ack'}
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {msg && (
        <p role="status" class="small">
          {msg}
        </p>
      )}
    </>
  );
}
