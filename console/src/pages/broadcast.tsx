import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import { deliveriesOf, FAILED_DELIVERY as FAILED, FINAL_DELIVERY as FINAL, progressOf } from '../lib.js';
import {
  Async,
  Badge,
  EmptyState,
  ErrorState,
  formatTime,
  JsonView,
  PageHeader,
  str,
  useApi,
  useEvents,
} from '../ui.js';
import type { Device } from './phones.js';

type AudioChoice = 'none' | 'tone' | 'tts' | 'file' | 'live';

type Priority = 'normal' | 'urgent' | 'emergency';

export interface Broadcast {
  id: string;
  title?: string;
  text?: string;
  priority?: string;
  status?: string;
  state?: string;
  createdAt?: string;
  deliveries?: unknown[];
  counts?: Record<string, number>;
  report?: unknown;
}

export function BroadcastPage(props: { id?: string | undefined }) {
  return props.id ? <BroadcastDetail id={props.id} /> : <Compose />;
}

function Compose() {
  const devices = useApi<{ devices: Device[] }>('/api/devices');
  const groups = useApi<{
    groups: Array<{ id: string; name?: string; members?: number; memberCount?: number }>;
  }>('/api/groups');
  const recent = useApi<{ broadcasts: Broadcast[] }>('/api/broadcasts', { query: { limit: 10 } });
  const [title, setTitle] = useState('');
  const [text, setText] = useState('');
  const [priority, setPriority] = useState<Priority>('normal');
  const [tones, setTones] = useState('chime');
  const [ack, setAck] = useState(false);
  const [audio, setAudio] = useState<AudioChoice>('none');
  const [audioFile, setAudioFile] = useState('');
  const [livePort, setLivePort] = useState('5004');
  const [liveFrom, setLiveFrom] = useState('');
  const [expires, setExpires] = useState('300');
  const [all, setAll] = useState(false);
  const [selGroups, setSelGroups] = useState<string[]>([]);
  const [selLabels, setSelLabels] = useState<string[]>([]);
  const [selDevices, setSelDevices] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);

  const phones = (devices.data?.devices ?? []).filter((d) => d.kind !== 'ipoffice');
  const labels = [...new Set(phones.flatMap((p) => p.labels))].sort();
  const targeted = useMemo(
    () =>
      phones.filter(
        (p) =>
          all ||
          selDevices.includes(p.id) ||
          p.groups.some((g) => selGroups.includes(g)) ||
          p.labels.some((l) => selLabels.includes(l)),
      ),
    [phones, all, selDevices, selGroups, selLabels],
  );
  const families = [...new Set(targeted.map((p) => p.kind))];
  const noTargets = !all && !selGroups.length && !selLabels.length && !selDevices.length;

  const send = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = {
        title: title.trim() || 'Broadcast',
        text,
        priority,
        tones,
        ack,
        ...(audio === 'tone'
          ? { audio: { source: 'tone', tone: 'chime' } }
          : audio === 'tts'
            ? { audio: { source: 'tts', text: text.slice(0, 2000) } }
            : audio === 'file' && audioFile.trim()
              ? { audio: { source: 'file', file: audioFile.trim() } }
              : audio === 'live'
                ? {
                    audio: {
                      source: 'live',
                      live: { port: Number(livePort), ...(liveFrom.trim() ? { from: liveFrom.trim() } : {}) },
                    },
                  }
                : {}),
        ...(expires ? { expiresInSeconds: Number(expires) } : {}),
        // "All phones" means every phone, not the PBXs: limited to the phone kinds the hub has.
        targets: all
          ? { all: true, kinds: [...new Set(phones.map((p) => p.kind))] }
          : {
              ...(selGroups.length ? { groups: selGroups } : {}),
              ...(selLabels.length ? { labels: selLabels } : {}),
              ...(selDevices.length ? { devices: selDevices } : {}),
            },
      };
      const r = await api<Broadcast & { broadcast?: Broadcast }>('/api/broadcasts', { method: 'POST', body });
      location.hash = `#/broadcast/${encodeURIComponent(r.broadcast?.id ?? r.id)}`;
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  const toggle = (list: string[], set: (v: string[]) => void, v: string) =>
    set(list.includes(v) ? list.filter((x) => x !== v) : [...list, v]);

  return (
    <>
      <PageHeader
        title="Broadcast"
        description="One message to many phones: compose, pick targets, preview, send."
      />
      {recent.error && <ErrorState error={recent.error} what="Broadcasts" />}
      <form class="grid-2" onSubmit={send} aria-describedby={error ? 'bc-error' : undefined}>
        <section class="card" aria-labelledby="compose-title">
          <h2 id="compose-title">Message</h2>
          <div class="field">
            <label for="bc-title">
              Title <span class="muted">(optional)</span>
            </label>
            <input
              id="bc-title"
              type="text"
              maxLength={32}
              value={title}
              onInput={(e) => setTitle(e.currentTarget.value)}
            />
            <small class="hint">Up to 32 characters (the Cisco title bar).</small>
          </div>
          <div class="field">
            <label for="bc-text">
              Text{' '}
              <span class="req" aria-hidden="true">
                *
              </span>
            </label>
            <textarea
              id="bc-text"
              required
              rows={4}
              maxLength={4000}
              value={text}
              onInput={(e) => setText(e.currentTarget.value)}
            />
            <small class="hint">{text.length} / 4000 characters.</small>
          </div>
          <fieldset class="field">
            <legend>Priority</legend>
            <div class="radios">
              {(['normal', 'urgent', 'emergency'] as const).map((p) => (
                <label key={p} class="check">
                  <input
                    type="radio"
                    name="priority"
                    value={p}
                    checked={priority === p}
                    onChange={() => setPriority(p)}
                  />
                  {p}
                </label>
              ))}
            </div>
          </fieldset>
          <div class="field">
            <label for="bc-tones">Alert tones</label>
            <select id="bc-tones" value={tones} onChange={(e) => setTones(e.currentTarget.value)}>
              {['none', 'chime', 'beep', 'alert', 'attention', 'urgent'].map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="bc-audio">Audio to the phone speakers</label>
            <select
              id="bc-audio"
              value={audio}
              onChange={(e) => setAudio(e.currentTarget.value as AudioChoice)}
              aria-describedby="bc-audio-hint"
            >
              <option value="none">none</option>
              <option value="tone">tone (chime)</option>
              <option value="tts">speak the text (text to speech)</option>
              <option value="file">recorded file (media directory)</option>
              <option value="live">live: relay RTP the hub receives (paging microphone)</option>
            </select>
            <small id="bc-audio-hint" class="hint">
              Multicast once per group where the phones support it (RTP), else per phone.
            </small>
          </div>
          {audio === 'live' && (
            <div class="filters">
              <div class="field">
                <label for="bc-live-port">UDP port the hub receives on</label>
                <input
                  id="bc-live-port"
                  type="number"
                  min={1024}
                  max={65535}
                  value={livePort}
                  onInput={(e) => setLivePort(e.currentTarget.value)}
                />
              </div>
              <div class="field">
                <label for="bc-live-from">Only from address (recommended)</label>
                <input
                  id="bc-live-from"
                  type="text"
                  maxLength={45}
                  placeholder="10.0.0.7"
                  value={liveFrom}
                  onInput={(e) => setLiveFrom(e.currentTarget.value)}
                />
              </div>
            </div>
          )}
          {audio === 'file' && (
            <div class="field">
              <label for="bc-audio-file">WAV file name</label>
              <input
                id="bc-audio-file"
                type="text"
                maxLength={200}
                value={audioFile}
                onInput={(e) => setAudioFile(e.currentTarget.value)}
              />
            </div>
          )}
          <label class="check">
            <input type="checkbox" checked={ack} onChange={(e) => setAck(e.currentTarget.checked)} /> Ask for
            acknowledgement
          </label>
          <div class="field">
            <label for="bc-expires">Expires after (seconds)</label>
            <input
              id="bc-expires"
              type="number"
              min={10}
              max={86400}
              value={expires}
              onInput={(e) => setExpires(e.currentTarget.value)}
            />
          </div>
        </section>

        <section class="card" aria-labelledby="targets-title">
          <h2 id="targets-title">Targets</h2>
          <label class="check">
            <input type="checkbox" checked={all} onChange={(e) => setAll(e.currentTarget.checked)} /> All
            phones
          </label>
          <Async value={groups} what="groups">
            {(g) => (
              <fieldset class="field" disabled={all}>
                <legend>Groups</legend>
                {g.groups.length === 0 && <p class="muted">No groups yet.</p>}
                <div class="checks">
                  {g.groups.map((x) => (
                    <label key={x.id} class="check">
                      <input
                        type="checkbox"
                        checked={selGroups.includes(x.id)}
                        onChange={() => toggle(selGroups, setSelGroups, x.id)}
                      />
                      {x.name || x.id}
                      {typeof (x.members ?? x.memberCount) === 'number' && (
                        <span class="muted"> ({x.members ?? x.memberCount})</span>
                      )}
                    </label>
                  ))}
                </div>
              </fieldset>
            )}
          </Async>
          {labels.length > 0 && (
            <fieldset class="field" disabled={all}>
              <legend>Labels</legend>
              <div class="checks">
                {labels.map((l) => (
                  <label key={l} class="check">
                    <input
                      type="checkbox"
                      checked={selLabels.includes(l)}
                      onChange={() => toggle(selLabels, setSelLabels, l)}
                    />
                    {l}
                  </label>
                ))}
              </div>
            </fieldset>
          )}
          <Async value={devices} what="phones">
            {() => (
              <fieldset class="field" disabled={all}>
                <legend>Phones</legend>
                {phones.length === 0 && <p class="muted">No phones yet.</p>}
                <div class="checks checks-scroll">
                  {phones.map((p) => (
                    <label key={p.id} class="check">
                      <input
                        type="checkbox"
                        checked={selDevices.includes(p.id)}
                        onChange={() => toggle(selDevices, setSelDevices, p.id)}
                      />
                      {p.name || p.id} <span class="muted">({p.kind})</span>
                    </label>
                  ))}
                </div>
              </fieldset>
            )}
          </Async>
          <p role="status">
            <strong>{targeted.length}</strong> phone{targeted.length === 1 ? '' : 's'} targeted
            {families.length ? ` (${families.join(', ')})` : ''}.
          </p>
        </section>

        <section class="card span-2" aria-labelledby="preview-title">
          <h2 id="preview-title">Preview per phone family</h2>
          {families.length === 0 && (
            <p class="muted">Pick targets to see how each family of phones shows the message.</p>
          )}
          <div class="previews">
            {families.map((f) => (
              <Preview key={f} family={f} title={title} text={text} priority={priority} ack={ack} />
            ))}
          </div>
          {error && (
            <p id="bc-error" class="form-error" role="alert">
              {error instanceof ApiError && error.missing
                ? 'Broadcasts are not available on this hub (no /api/broadcasts).'
                : error.message}
            </p>
          )}
          <div class="form-actions">
            <button type="submit" class="btn btn-primary" disabled={busy || !text.trim() || noTargets}>
              {busy ? 'Sending…' : `Send to ${targeted.length} phone${targeted.length === 1 ? '' : 's'}`}
            </button>
          </div>
        </section>
      </form>

      <section class="section" aria-labelledby="recent-title">
        <h2 id="recent-title">Recent broadcasts</h2>
        {recent.data && (recent.data.broadcasts ?? []).length === 0 && (
          <EmptyState title="No broadcasts sent yet" />
        )}
        {recent.data && (recent.data.broadcasts ?? []).length > 0 && (
          <ul class="list">
            {recent.data.broadcasts.map((b) => (
              <li key={b.id}>
                <a href={`#/broadcast/${encodeURIComponent(b.id)}`}>
                  {b.title || b.text?.slice(0, 60) || b.id}
                </a>{' '}
                <Badge tone={b.priority === 'emergency' ? 'bad' : b.priority === 'urgent' ? 'warn' : 'muted'}>
                  {b.priority ?? 'normal'}
                </Badge>{' '}
                <span class="muted small">{formatTime(b.createdAt)}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

/** How a family of phones will show the message (the planner's rendering rules, approximated). */
function Preview(props: { family: string; title: string; text: string; priority: Priority; ack: boolean }) {
  const { family, title, text, priority, ack } = props;
  if (family === 'cisco')
    return (
      <figure class="preview preview-cisco">
        <figcaption>Cisco (CiscoIPPhoneText{priority !== 'normal' ? ' + Play: chime' : ''})</figcaption>
        <div class="phone-screen">
          <div class="ps-title">{(title || 'Broadcast').slice(0, 32)}</div>
          <div class="ps-body">{text || <span class="muted">(text)</span>}</div>
          <div class="ps-keys">
            {ack && <span>Ack</span>}
            <span>Exit</span>
          </div>
        </div>
      </figure>
    );
  if (family === 'avaya') {
    const short = `${title ? `${title}: ` : ''}${text}`;
    return (
      <figure class="preview preview-avaya">
        <figcaption>
          Avaya ({short.length <= 80 && !ack ? 'Top Line' : 'Display page'}
          {priority !== 'normal' ? ', alert' : ''})
        </figcaption>
        <div class="phone-screen">
          {short.length <= 80 && !ack ? (
            <div class="ps-topline">{short || <span class="muted">(text)</span>}</div>
          ) : (
            <>
              <div class="ps-title">{title || 'Broadcast'}</div>
              <div class="ps-body">{text || <span class="muted">(text)</span>}</div>
              <div class="ps-keys">{ack && <span>Acknowledge</span>}</div>
            </>
          )}
        </div>
      </figure>
    );
  }
  return (
    <figure class="preview">
      <figcaption>{family}</figcaption>
      <div class="phone-screen">
        <div class="ps-body">{text}</div>
      </div>
    </figure>
  );
}

function BroadcastDetail(props: { id: string }) {
  const path = `/api/broadcasts/${encodeURIComponent(props.id)}`;
  const b = useApi<Broadcast & { broadcast?: Broadcast }>(path, {}, [props.id]);
  const bcast: Broadcast | undefined = b.data?.broadcast
    ? { ...b.data.broadcast, deliveries: b.data.deliveries ?? b.data.broadcast.deliveries ?? [] }
    : b.data;
  const deliveries = deliveriesOf(bcast?.deliveries);
  const { done, failed, total, pct } = progressOf(deliveries);
  const complete = total > 0 && done === total;

  // Live progress: every broadcast/delivery event reloads; a 1 s poll covers a missed event.
  useEvents(['broadcast.', 'delivery.'], (e) => {
    const id = str(e.data.broadcastId ?? e.data.id);
    if (!id || id === props.id) b.reload();
  });
  useEffect(() => {
    if (complete) return;
    const t = setInterval(b.reload, 1000);
    return () => clearInterval(t);
  }, [complete, b.reload]);

  const byStatus: Record<string, number> = {};
  for (const d of deliveries) byStatus[d.status] = (byStatus[d.status] ?? 0) + 1;

  return (
    <>
      <PageHeader
        title="Broadcast"
        description={b.data ? b.data.title || b.data.text?.slice(0, 80) : props.id}
      >
        <a class="btn" href="#/broadcast">
          New broadcast
        </a>
      </PageHeader>
      <Async value={b} what="this broadcast">
        {() => {
          const bc = bcast!;
          return (
            <>
              <section class="card" aria-labelledby="progress-title">
                <h2 id="progress-title">Delivery progress</h2>
                <div class="progress-row">
                  <div
                    class="progress"
                    role="progressbar"
                    aria-label="Phones done"
                    aria-valuemin={0}
                    aria-valuemax={100}
                    aria-valuenow={pct}
                    aria-valuetext={`${done} of ${total} phones done (${pct}%)`}
                  >
                    <div
                      class={`progress-bar ${failed ? 'progress-bar-warn' : ''}`}
                      style={{ width: `${pct}%` }}
                    />
                  </div>
                  <span class="progress-text num" data-testid="progress-text">
                    {pct}% · {done}/{total}
                  </span>
                </div>
                <p class="muted small">
                  {Object.entries(byStatus)
                    .map(([s, n]) => `${n} ${s}`)
                    .join(' · ') || 'No deliveries planned yet.'}
                  {bc.state || bc.status ? ` · broadcast ${bc.state ?? bc.status}` : ''}
                </p>
                {complete && (
                  <p role="status" class={failed ? 'form-error' : 'ok-text'}>
                    {failed
                      ? `Done: ${failed} phone${failed === 1 ? '' : 's'} failed.`
                      : 'Done: every phone has it.'}
                  </p>
                )}
              </section>
              <section class="section" aria-labelledby="deliveries-title">
                <h2 id="deliveries-title">Per phone</h2>
                <div class="table-wrap">
                  <table class="table">
                    <thead>
                      <tr>
                        <th scope="col">Phone</th>
                        <th scope="col">Kind</th>
                        <th scope="col">Status</th>
                        <th scope="col">Reason</th>
                        <th scope="col">Updated</th>
                      </tr>
                    </thead>
                    <tbody>
                      {deliveries.length === 0 && (
                        <tr>
                          <td colSpan={5} class="empty-row">
                            No deliveries yet.
                          </td>
                        </tr>
                      )}
                      {deliveries.map((d) => (
                        <tr key={d.deviceId} data-status={d.status}>
                          <td>
                            <a href={`#/phones/${encodeURIComponent(d.deviceId)}`}>{d.deviceId}</a>
                          </td>
                          <td>{d.kind ?? '—'}</td>
                          <td>
                            <Badge tone={FAILED.has(d.status) ? 'bad' : FINAL.has(d.status) ? 'ok' : 'warn'}>
                              {d.status}
                            </Badge>
                          </td>
                          <td>{d.reason ?? ''}</td>
                          <td>{formatTime(d.updatedAt)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </section>
              {bc.report !== undefined && bc.report !== null && <Report report={bc.report} />}
            </>
          );
        }}
      </Async>
    </>
  );
}

interface ReportShape {
  total?: number;
  counts?: Record<string, number>;
  failuresByReason?: Record<string, number>;
  slowest?: Array<{ deviceId: string; latencyMs: number }>;
  timeToFirstMs?: number | null;
  timeToLastMs?: number | null;
  p50Ms?: number | null;
  p99Ms?: number | null;
}

const ms = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${v} ms`);

function Report(props: { report: unknown }) {
  const r = props.report as ReportShape;
  if (typeof r !== 'object' || r.total === undefined)
    return (
      <section class="section" aria-labelledby="report-title">
        <h2 id="report-title">Report</h2>
        <JsonView value={r} label="Broadcast report" />
      </section>
    );
  const failures = Object.entries(r.failuresByReason ?? {});
  return (
    <section class="card section" aria-labelledby="report-title">
      <h2 id="report-title">Report</h2>
      <div class="grid-2">
        <dl class="dl">
          <dt>Phones</dt>
          <dd>{r.total}</dd>
          {Object.entries(r.counts ?? {})
            .filter(([, n]) => n > 0)
            .map(([k, n]) => (
              <>
                <dt key={`k${k}`}>{k}</dt>
                <dd key={`v${k}`}>{n}</dd>
              </>
            ))}
          <dt>First phone</dt>
          <dd>{ms(r.timeToFirstMs)}</dd>
          <dt>Last phone</dt>
          <dd>{ms(r.timeToLastMs)}</dd>
          <dt>Per phone p50 / p99</dt>
          <dd>
            {ms(r.p50Ms)} / {ms(r.p99Ms)}
          </dd>
        </dl>
        <div>
          <h3>Failures by reason</h3>
          {failures.length === 0 ? (
            <p class="muted">None.</p>
          ) : (
            <ul class="list">
              {failures.map(([k, n]) => (
                <li key={k}>
                  <span class="mono">{k}</span>: {n}
                </li>
              ))}
            </ul>
          )}
          {(r.slowest?.length ?? 0) > 0 && (
            <>
              <h3>Slowest phones</h3>
              <ol class="list">
                {r.slowest!.map((x) => (
                  <li key={x.deviceId}>
                    {x.deviceId}: {x.latencyMs} ms
                  </li>
                ))}
              </ol>
            </>
          )}
        </div>
      </div>
    </section>
  );
}
