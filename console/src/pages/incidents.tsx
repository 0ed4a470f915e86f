import { useState } from 'preact/hooks';
import { api, apiUrl, getKey, signedInAs } from '../api.js';
import { CallBack } from '../dial.js';
import { acknowledge, useWatch } from '../emergency.js';
import {
  callerOf,
  deliverySummary,
  type Incident,
  incidentKind,
  incidentStatus,
  incidentTime,
  locationText,
  type Readiness,
} from '../incident.js';
import { Pager, useDebounced, usePaged } from '../paging.js';
import { can } from '../session.js';
import {
  Async,
  Badge,
  download,
  EmptyState,
  ErrorState,
  formatTime,
  JsonView,
  Loading,
  PageHeader,
  str,
  useApi,
  useEvents,
} from '../ui.js';
import { DrillButton } from './drill.js';

const INCIDENT_PAGE = 25;

function detailText(d: unknown): string {
  if (d === undefined || d === null) return '';
  if (typeof d !== 'object') return String(d);
  return Object.entries(d as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' · ');
}

/** The exercise badge (drill or 933 test) shown wherever an incident is. */
function ExerciseBadge(props: { incident: Incident }) {
  const k = incidentKind(props.incident).exercise;
  return k ? <Badge tone="warn">{k === 'drill' ? 'DRILL' : 'TEST'}</Badge> : null;
}

type DrillFilter = 'include' | 'exclude' | 'only';
const FILTERS: Array<{ value: DrillFilter; label: string }> = [
  { value: 'include', label: 'All incidents' },
  { value: 'exclude', label: 'Real emergencies only' },
  { value: 'only', label: 'Drills and tests only' },
];

export function IncidentsPage(props: { id?: string | undefined }) {
  const [drills, setDrills] = useState<DrillFilter>('include');
  const [q, setQ] = useState('');
  const search = useDebounced(q.trim());
  // `order` asks the hub for cursor pages (newest first), 25 incidents at a time.
  const list = usePaged<Incident>(
    '/api/incidents',
    'incidents',
    { drills, q: search, order: 'desc' },
    {
      limit: INCIDENT_PAGE,
    },
  );
  useEvents(['incident.', 'call.emergency'], () => list.reload());
  const exportCsv = async () => {
    try {
      const res = await fetch(apiUrl('/api/incidents', { format: 'csv', drills, limit: 10000 }), {
        headers: { authorization: `Bearer ${getKey() ?? ''}`, accept: 'text/csv' },
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      download(drills === 'exclude' ? 'incidents-real.csv' : 'incidents.csv', await res.text());
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
        <div class="field-inline">
          <label for="inc-filter">Show</label>
          <select
            id="inc-filter"
            value={drills}
            onChange={(e) => setDrills(e.currentTarget.value as DrillFilter)}
          >
            {FILTERS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        </div>
        <button type="button" class="btn" onClick={exportCsv} disabled={!list.loaded}>
          Export CSV
        </button>
        <DrillButton />
      </PageHeader>
      <SecurityPhones />
      <div class="grid-list">
        <section aria-labelledby="inc-list-title" class="card">
          <h2 id="inc-list-title">Log</h2>
          <div class="field">
            <label for="inc-q">Search incidents</label>
            <input
              id="inc-q"
              type="search"
              value={q}
              placeholder="Caller, extension, room, who acknowledged…"
              onInput={(e) => setQ(e.currentTarget.value)}
            />
          </div>
          {list.error && <ErrorState error={list.error} what="Incidents" onRetry={list.reload} />}
          {!list.loaded && !list.error && <Loading what="Incidents" />}
          {list.loaded &&
            (list.rows.length === 0 && list.index === 0 ? (
              <EmptyState title={search ? 'No incident matches' : 'No incidents'}>
                {search
                  ? 'Change the search or the filter.'
                  : drills === 'only'
                    ? 'No drills or test calls.'
                    : 'Emergency calls (911 and test numbers) appear here as they happen.'}
              </EmptyState>
            ) : (
              <>
                <Pager paged={list} limit={INCIDENT_PAGE} what="incidents" id="inc-pager" />
                <ul class="list incident-list">
                  {list.rows.map((i) => {
                    const st = incidentStatus(i);
                    return (
                      <li
                        key={i.id}
                        class={`${props.id === i.id ? 'selected' : ''} ${st.acknowledged ? '' : 'inc-open'}`}
                        data-state={str(i.state)}
                      >
                        <a
                          href={`#/incidents/${encodeURIComponent(i.id)}`}
                          aria-current={props.id === i.id ? 'true' : undefined}
                        >
                          {callerOf(i).name || callerOf(i).extension || 'Unknown caller'}
                        </a>{' '}
                        <ExerciseBadge incident={i} /> <Badge tone={st.tone}>{st.label}</Badge>
                        <div class="muted small">{formatTime(incidentTime(i))}</div>
                      </li>
                    );
                  })}
                </ul>
              </>
            ))}
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
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  useEvents(['incident.', 'broadcast.', 'delivery.', 'call.ended'], () => inc.reload());
  const me = signedInAs();
  const ack = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      await acknowledge(props.id, note);
      setNote('');
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
        const st = incidentStatus(i);
        const acked = st.acknowledged;
        const kind = incidentKind(i);
        const deliv = deliverySummary(i.deliveries);
        const timeline = [...(i.timeline ?? [])].sort((a, b) =>
          str(a.time ?? a.at).localeCompare(str(b.time ?? b.at)),
        );
        return (
          <>
            <h2 id="inc-detail-title">
              {callerOf(i).name || callerOf(i).extension || 'Emergency call'} <ExerciseBadge incident={i} />{' '}
              <Badge tone={st.tone}>{st.label}</Badge>
            </h2>
            {kind.exercise && (
              <p class="note exercise-note">
                {kind.title}. Left out of the compliance record when the log shows real emergencies only.
              </p>
            )}
            <dl class="dl">
              <dt>Extension</dt>
              <dd>{callerOf(i).extension || '—'}</dd>
              <dt>Dialled</dt>
              <dd class="mono">{callerOf(i).dialled || '—'}</dd>
              <dt>Callback number</dt>
              <dd class="mono">{callerOf(i).callback || '—'}</dd>
              <dt>Location</dt>
              <dd>{locationText(i.location) || 'not known'}</dd>
              <dt>Started</dt>
              <dd>{formatTime(incidentTime(i))}</dd>
              <dt>Security phones</dt>
              <dd>{deliv.text}</dd>
              <dt>Escalations</dt>
              <dd>{typeof i.escalations === 'number' ? i.escalations : '—'}</dd>
              <dt>Acknowledged</dt>
              <dd class={acked ? '' : 'text-bad'} data-testid="ack-state">
                {acked
                  ? `by ${str(i.acknowledgedBy ?? i.acknowledgements?.[0]?.by ?? i.acknowledgements?.[0]?.deviceId, 'unknown')} · ${formatTime(
                      str(
                        i.acknowledgedAt ?? i.acknowledgements?.[0]?.at ?? i.acknowledgements?.[0]?.time,
                        '',
                      ) || undefined,
                    )}`
                  : `NO: ${st.label}`}
              </dd>
              {i.acknowledgedNote ? (
                <>
                  <dt>Note</dt>
                  <dd>{i.acknowledgedNote}</dd>
                </>
              ) : null}
            </dl>
            {!acked && !can('incidents:ack') && (
              <p class="muted">Your role may not acknowledge incidents: tell the security desk.</p>
            )}
            {!acked && can('incidents:ack') && (
              <form class="ack-form" onSubmit={ack}>
                <div class="field">
                  <label for="ack-note">Note (optional)</label>
                  <input
                    id="ack-note"
                    type="text"
                    maxLength={500}
                    value={note}
                    placeholder="What the desk did"
                    onInput={(e) => setNote(e.currentTarget.value)}
                  />
                </div>
                <button type="submit" class="btn btn-danger" disabled={busy}>
                  {busy ? 'Acknowledging…' : `Acknowledge as ${me ?? 'this API key'}`}
                </button>
                {err && (
                  <p class="form-error" role="alert">
                    {err}
                  </p>
                )}
              </form>
            )}
            <CallBack incidentId={i.id} number={callerOf(i).callback} onDone={() => inc.reload()} />
            <h3>Timeline</h3>
            {timeline.length === 0 ? (
              <p class="muted">No timeline entries.</p>
            ) : (
              <ol class="timeline">
                {timeline.map((t, n) => (
                  <li key={n}>
                    <span class="muted small">{formatTime(str(t.time ?? t.at, '') || undefined)}</span>{' '}
                    {kind.exercise && <ExerciseBadge incident={i} />}
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

function reachLabel(r: boolean | null): { tone: 'ok' | 'bad' | 'muted'; text: string } {
  return r === true
    ? { tone: 'ok', text: 'reachable' }
    : r === false
      ? { tone: 'bad', text: 'UNREACHABLE' }
      : { tone: 'muted', text: 'not checked yet' };
}

/** Readiness of 911 notification and each security phone's reachability (GET /api/emergency). */
function SecurityPhones() {
  const { readiness } = useWatch();
  if (!readiness) return null;
  const r: Readiness = readiness;
  return (
    <section aria-labelledby="sec-phones-title" class="card section">
      <h2 id="sec-phones-title">
        911 notification {r.ready === true && <Badge tone="ok">ready</Badge>}
        {r.ready === false && <Badge tone="bad">NOT ready</Badge>}
      </h2>
      {r.phones === null ? (
        <p class="muted">This hub does not report the security phones' reachability.</p>
      ) : r.phones.length === 0 ? (
        <p class="text-bad">No security phone is configured: nobody would be alerted.</p>
      ) : (
        <ul class="list sec-phones">
          {r.phones.map((p) => {
            const l = reachLabel(p.reachable);
            return (
              <li key={p.deviceId} data-reachable={String(p.reachable)}>
                <a href={`#/phones/${encodeURIComponent(p.deviceId)}`}>{p.name || p.deviceId}</a>{' '}
                <span class="muted small">({p.group})</span> <Badge tone={l.tone}>{l.text}</Badge>
                {p.error && <span class="small text-bad"> {p.error}</span>}
                {p.checkedAt && <span class="muted small"> checked {formatTime(p.checkedAt)}</span>}
              </li>
            );
          })}
        </ul>
      )}
      {r.links.length > 0 && (
        <p class="small sec-links">
          PBX links:{' '}
          {r.links.map((l) => (
            <span key={l.deviceId}>
              {l.name || l.deviceId} <Badge tone={l.up ? 'ok' : 'bad'}>{l.up ? 'up' : 'DOWN'}</Badge>{' '}
            </span>
          ))}
        </p>
      )}
      {r.coverage.map((c) => (
        <p key={c.label} class="small text-warn">
          Extensions with {c.label} ({c.extensions.length}): {c.extensions.slice(0, 20).join(', ')}
          {c.extensions.length > 20 ? '…' : ''}
        </p>
      ))}
    </section>
  );
}
