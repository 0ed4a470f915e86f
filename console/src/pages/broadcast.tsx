import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import {
  DELIVERED,
  deliveriesOf,
  FAILED_DELIVERY as FAILED,
  naturalCompare,
  needsConfirmation,
  progressOf,
  reasonText,
} from '../lib.js';
import { Pager, useDebounced, usePaged } from '../paging.js';
import { can, useOffers, useWho } from '../session.js';
import {
  Async,
  Badge,
  DataTable,
  EmptyState,
  ErrorState,
  formatTime,
  JsonView,
  PageHeader,
  str,
  useApi,
  useEvents,
} from '../ui.js';
import { PhonePicker } from './phone-picker.js';
import { type Device, locationText } from './phones.js';

/** Recent broadcasts shown per page. */
const RECENT = 10;

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
  createdBy?: string;
  deliveries?: unknown[];
  counts?: Record<string, number>;
  report?: unknown;
}

export function BroadcastPage(props: { id?: string | undefined }) {
  return props.id ? <BroadcastDetail key={props.id} id={props.id} /> : <Compose />;
}

interface Template {
  id: string;
  name: string;
  title: string;
  text: string;
  priority: Priority;
  tones: string;
  ack: boolean;
  expiresInSeconds: number | null;
  description?: string;
  /** The {{variables}} of its title and text (the hub parses them). */
  variables?: Array<{ path: string; fallback?: string }>;
}

/** Form values of dotted variables (`alert.caller`) as the nested object the template renders against. */
function nestedVars(flat: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(flat)) {
    if (value === '') continue;
    const keys = path.split('.');
    let cur = out;
    for (const k of keys.slice(0, -1)) {
      const next = typeof cur[k] === 'object' && cur[k] !== null ? cur[k] : {};
      cur[k] = next;
      cur = next as Record<string, unknown>;
    }
    cur[keys[keys.length - 1]!] = value;
  }
  return out;
}

function Compose() {
  const devices = useApi<{ devices: Device[] }>('/api/devices');
  const groups = useApi<{
    groups: Array<{ id: string; name?: string; members?: number; memberCount?: number }>;
  }>('/api/groups');
  const [recentQ, setRecentQ] = useState('');
  const recentSearch = useDebounced(recentQ.trim());
  const recent = usePaged<Broadcast>('/api/broadcasts', 'broadcasts', { q: recentSearch }, { limit: RECENT });
  useEvents(['broadcast.started', 'broadcast.finished'], () => recent.reload());
  const templates = useApi<{ templates: Template[] }>('/api/templates');
  const [templateId, setTemplateId] = useState('');
  const [vars, setVars] = useState<Record<string, string>>({});
  const [rendered, setRendered] = useState<{ title: string; text: string } | null>(null);
  const [renderError, setRenderError] = useState<string | null>(null);
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
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<Error | null>(null);

  // What the role may send (GET /api/session; a hub without roles allows everything): any message, or
  // only from a template, or only from a template to groups.
  useWho();
  const mayWrite = can('broadcasts:send');
  const maySend = can('broadcasts:send', 'broadcasts:send-template', 'broadcasts:send-template-groups');
  const groupsOnly = !can('broadcasts:send', 'broadcasts:send-template');
  const template = (templates.data?.templates ?? []).find((t) => t.id === templateId);
  const templateVars = template?.variables ?? [];
  const phones = (devices.data?.devices ?? []).filter((d) => d.kind !== 'ipoffice');
  const labels = useMemo(
    () => [...new Set(phones.flatMap((p) => p.labels))].sort(naturalCompare),
    [devices.data],
  );
  const byId = useMemo(() => new Map(phones.map((p) => [p.id, p])), [devices.data]);
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
  // What the phones will show: the typed message, or the template rendered by the hub with the variables.
  const shownTitle = template ? (rendered?.title ?? '') : title;
  const shownText = template ? (rendered?.text ?? '') : text;
  // A role that may not list phones (a sender) counts by the groups' sizes (a phone in two groups counts
  // twice: at most this many).
  const listed = can('devices:read');
  const reach = listed
    ? targeted.length
    : (groups.data?.groups ?? [])
        .filter((g) => selGroups.includes(g.id))
        .reduce((n, g) => n + (g.members ?? g.memberCount ?? 0), 0);
  const count = `${reach} phone${reach === 1 ? '' : 's'}`;

  const pickTemplate = (id: string) => {
    setTemplateId(id);
    setVars({});
    setRendered(null);
    setRenderError(null);
    const t = (templates.data?.templates ?? []).find((x) => x.id === id);
    if (!t) return;
    setPriority(t.priority);
    setTones(t.tones);
    setAck(t.ack);
    setExpires(t.expiresInSeconds ? String(t.expiresInSeconds) : '');
  };

  const firstTemplate = templates.data?.templates?.[0]?.id;
  useEffect(() => {
    if (!mayWrite && !templateId && firstTemplate) pickTemplate(firstTemplate);
  }, [mayWrite, templateId, firstTemplate]);

  // The hub renders the template (the same code that renders it when sending): preview as you type.
  useEffect(() => {
    if (!templateId) return;
    const c = new AbortController();
    const t = setTimeout(() => {
      api<{ title: string; text: string }>(`/api/templates/${encodeURIComponent(templateId)}/render`, {
        method: 'POST',
        body: { vars: nestedVars(vars) },
        signal: c.signal,
      })
        .then((r) => {
          setRendered(r);
          setRenderError(null);
        })
        .catch((e: Error) => e.name !== 'AbortError' && setRenderError(e.message));
    }, 200);
    return () => {
      clearTimeout(t);
      c.abort();
    };
  }, [templateId, vars]);

  const send = async () => {
    setBusy(true);
    setError(null);
    try {
      const message = template
        ? {
            template: template.id,
            vars: nestedVars(vars),
            // Only what the sender changed from the template (the hub applies the template's own values).
            ...(priority !== template.priority ? { priority } : {}),
            ...(tones !== template.tones ? { tones } : {}),
            ...(ack !== template.ack ? { ack } : {}),
          }
        : { title: title.trim() || 'Broadcast', text, priority, tones, ack };
      const body = {
        ...message,
        ...(audio === 'tone'
          ? { audio: { source: 'tone', tone: 'chime' } }
          : audio === 'tts'
            ? { audio: { source: 'tts', text: shownText.slice(0, 2000) } }
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
        ...(expires && !(template && Number(expires) === template.expiresInSeconds)
          ? { expiresInSeconds: Number(expires) }
          : {}),
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
  const submit = (e: Event) => {
    e.preventDefault();
    if (needsConfirmation({ priority, all })) setConfirming(true);
    else void send();
  };

  const toggle = (list: string[], set: (v: string[]) => void, v: string) =>
    set(list.includes(v) ? list.filter((x) => x !== v) : [...list, v]);
  const templateList = templates.data?.templates ?? [];

  return (
    <>
      <PageHeader
        title="Broadcast"
        description="One message to many phones: compose, pick targets, preview, send."
      />
      {recent.error && <ErrorState error={recent.error} what="Broadcasts" />}
      {!maySend && (
        <p class="note" role="status">
          Your role may see broadcasts but not send them.
        </p>
      )}
      {maySend && (
        <form class="grid-2" onSubmit={submit} aria-describedby={error ? 'bc-error' : undefined}>
          <section class="card" aria-labelledby="compose-title">
            <h2 id="compose-title">Message</h2>
            {templateList.length > 0 && (
              <div class="field">
                <label for="bc-template">Template</label>
                <select
                  id="bc-template"
                  value={templateId}
                  onChange={(e) => pickTemplate(e.currentTarget.value)}
                  aria-describedby="bc-template-hint"
                >
                  {mayWrite && <option value="">None: write the message</option>}
                  {[...templateList]
                    .sort((a, b) => naturalCompare(a.name || a.id, b.name || b.id))
                    .map((t) => (
                      <option key={t.id} value={t.id}>
                        {t.name || t.id} ({t.priority})
                      </option>
                    ))}
                </select>
                <small id="bc-template-hint" class="hint">
                  {template?.description || 'A template fills in the message, priority, tones and expiry.'}
                </small>
              </div>
            )}
            {template ? (
              <fieldset class="field template-vars">
                <legend>Fill in the template</legend>
                {templateVars.length === 0 && <p class="muted">This template has no blanks to fill in.</p>}
                {templateVars.map((v) => (
                  <div class="field" key={v.path}>
                    <label for={`bc-var-${v.path}`}>{v.path}</label>
                    <input
                      id={`bc-var-${v.path}`}
                      type="text"
                      maxLength={500}
                      value={vars[v.path] ?? ''}
                      placeholder={v.fallback ? `(if empty: ${v.fallback})` : ''}
                      onInput={(e) => {
                        const value = e.currentTarget.value;
                        setVars((old) => ({ ...old, [v.path]: value }));
                      }}
                    />
                  </div>
                ))}
                {renderError && (
                  <p class="form-error" role="alert">
                    {renderError}
                  </p>
                )}
              </fieldset>
            ) : (
              <>
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
              </>
            )}
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
              <input type="checkbox" checked={ack} onChange={(e) => setAck(e.currentTarget.checked)} /> Ask
              for acknowledgement
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
            {!groupsOnly && (
              <label class="check">
                <input type="checkbox" checked={all} onChange={(e) => setAll(e.currentTarget.checked)} /> All
                phones
              </label>
            )}
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
            {labels.length > 0 && !groupsOnly && (
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
            {!groupsOnly && (
              <PhonePicker
                selected={selDevices}
                onChange={setSelDevices}
                disabled={all}
                groups={(groups.data?.groups ?? []).map((g) => g.id)}
                labels={labels}
                known={byId}
              />
            )}
            <p role="status">
              {listed ? '' : 'At most '}
              <strong>{reach}</strong> phone{reach === 1 ? '' : 's'} targeted
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
                <Preview
                  key={f}
                  family={f}
                  title={shownTitle}
                  text={shownText}
                  priority={priority}
                  ack={ack}
                />
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
              <button
                type="submit"
                class={`btn btn-primary${priority === 'emergency' ? ' btn-danger' : ''}`}
                disabled={busy || !shownText.trim() || noTargets}
              >
                {busy ? 'Sending…' : `Send to ${count}`}
              </button>
              {needsConfirmation({ priority, all }) && (
                <span class="muted small">You will be asked to confirm.</span>
              )}
            </div>
          </section>
        </form>
      )}
      {confirming && (
        <ConfirmSend
          priority={priority}
          all={all}
          count={reach}
          families={families}
          title={shownTitle}
          text={shownText}
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            setConfirming(false);
            void send();
          }}
        />
      )}

      <section class="section" aria-labelledby="recent-title">
        <h2 id="recent-title">Recent broadcasts</h2>
        <div class="filters">
          <div class="field">
            <label for="recent-q">Search broadcasts</label>
            <input
              id="recent-q"
              type="search"
              value={recentQ}
              placeholder="Title, text, sender…"
              onInput={(e) => setRecentQ(e.currentTarget.value)}
            />
          </div>
        </div>
        {recent.loaded && recent.rows.length === 0 && recent.index === 0 && (
          <EmptyState title={recentSearch ? 'No broadcast matches' : 'No broadcasts sent yet'} />
        )}
        {recent.rows.length > 0 && (
          <Pager paged={recent} limit={RECENT} what="broadcasts" id="recent-pager" />
        )}
        {recent.rows.length > 0 && (
          <DataTable
            rows={recent.rows}
            rowKey={(b) => b.id}
            empty="No broadcasts sent yet"
            columns={[
              {
                head: 'Title',
                cell: (b) => (
                  <a href={`#/broadcast/${encodeURIComponent(b.id)}`}>
                    {b.title || b.text?.slice(0, 60) || b.id}
                  </a>
                ),
              },
              { head: 'Priority', cell: (b) => <PriorityBadge priority={b.priority} /> },
              { head: 'Sender', cell: (b) => b.createdBy ?? '—' },
              { head: 'Sent', cell: (b) => formatTime(b.createdAt) },
              { head: 'Phones', class: 'num', cell: (b) => <CountsText counts={b.counts} /> },
            ]}
          />
        )}
      </section>
    </>
  );
}

function PriorityBadge(props: { priority: string | undefined }) {
  const p = props.priority ?? 'normal';
  return <Badge tone={p === 'emergency' ? 'bad' : p === 'urgent' ? 'warn' : 'muted'}>{p}</Badge>;
}

/** "248 delivered · 2 failed of 250" from the API's per-state counts. */
function CountsText(props: { counts: Record<string, number> | undefined }) {
  const c = props.counts;
  if (!c) return <>—</>;
  const total = Object.values(c).reduce((a, b) => a + b, 0);
  const delivered = [...DELIVERED].reduce((a, k) => a + (c[k] ?? 0), 0);
  const failed = c.failed ?? 0;
  const pending = total - delivered - failed;
  return (
    <span class="counts">
      {delivered} delivered{failed ? ` · ${failed} failed` : ''}
      {pending ? ` · ${pending} pending` : ''} <span class="muted">of {total}</span>
    </span>
  );
}

/**
 * Asks before an emergency or urgent send, or a send to every phone: a modal dialog saying how many phones
 * it reaches and what they will show. Cancel has the focus (Enter or Escape does not send by accident).
 */
function ConfirmSend(props: {
  priority: Priority;
  all: boolean;
  count: number;
  families: string[];
  title: string;
  text: string;
  onCancel: () => void;
  onConfirm: () => void;
}) {
  const phones = `${props.count} phone${props.count === 1 ? '' : 's'}`;
  const what = props.priority === 'normal' ? 'a broadcast' : `an ${props.priority.toUpperCase()} broadcast`;
  return (
    <Confirm
      tone={props.priority}
      title={`Send ${what} to ${phones}?`}
      confirmLabel={`Yes, send to ${phones}`}
      onCancel={props.onCancel}
      onConfirm={props.onConfirm}
    >
      <p>
        {props.all ? (
          <>
            <strong>Every phone</strong> ({phones}
            {props.families.length ? `: ${props.families.join(', ')}` : ''}) will show it
          </>
        ) : (
          <>
            <strong>{phones}</strong>
            {props.families.length ? ` (${props.families.join(', ')})` : ''} will show it
          </>
        )}
        {props.priority !== 'normal' ? ', with an alert tone.' : '.'}
      </p>
      <blockquote class="confirm-message">
        {props.title && <strong>{props.title}</strong>}
        <span>{props.text}</span>
      </blockquote>
    </Confirm>
  );
}

/**
 * A modal question (native <dialog>): Cancel has the focus, so Enter or Escape never does the risky thing
 * by accident.
 */
export function Confirm(props: {
  tone: Priority;
  title: string;
  confirmLabel: string;
  children: ComponentChildren;
  onCancel: () => void;
  onConfirm: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    cancelRef.current?.focus();
  }, []);
  return (
    <dialog
      ref={ref}
      class={`confirm confirm-${props.tone}`}
      aria-labelledby="confirm-title"
      aria-describedby="confirm-desc"
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <h2 id="confirm-title" class="confirm-title">
        {props.title}
      </h2>
      <div id="confirm-desc">{props.children}</div>
      <div class="form-actions">
        <button ref={cancelRef} type="button" class="btn" onClick={props.onCancel}>
          Cancel
        </button>
        <button
          type="button"
          class={`btn btn-primary${props.tone === 'emergency' ? ' btn-danger' : ''}`}
          onClick={props.onConfirm}
        >
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/**
 * Stop, withdraw or resend: Cancel (while delivering: phones not yet served are not sent to), Recall (also
 * clears the message from the phones that show it) and Retry failed (sends again to the phones that failed).
 * Shown as the role allows; a hub without the route says so.
 */
function BroadcastControls(props: {
  id: string;
  delivering: boolean;
  recalled: boolean;
  shown: number;
  failed: number;
  onDone: () => void;
}) {
  const [asking, setAsking] = useState<'cancel' | 'recall' | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  useWho();
  const hasRecall = useOffers('POST /api/broadcasts/{id}/recall');
  const hasRetry = useOffers('POST /api/broadcasts/{id}/retry');
  const mayStop = can('broadcasts:cancel');
  const mayRetry =
    hasRetry && can('broadcasts:send', 'broadcasts:send-template', 'broadcasts:send-template-groups');
  const run = async (what: 'cancel' | 'recall' | 'retry') => {
    setAsking(null);
    setBusy(true);
    setMessage(null);
    try {
      const r = await api<{ cleared?: number; failed?: number; phones?: number }>(
        `/api/broadcasts/${encodeURIComponent(props.id)}/${what}`,
        { method: 'POST', body: {} },
      );
      setMessage({
        ok: true,
        text:
          what === 'cancel'
            ? 'Cancelled: phones not yet served will not get it.'
            : what === 'recall'
              ? `Recalled: cleared from ${r.cleared ?? 0} phone${r.cleared === 1 ? '' : 's'}${r.failed ? `; ${r.failed} could not be cleared (recall again to retry them)` : ''}.`
              : `Sending again to ${r.phones ?? 0} phone${r.phones === 1 ? '' : 's'}.`,
      });
    } catch (e) {
      const err = e as Error;
      setMessage({
        ok: false,
        text:
          err instanceof ApiError && err.missing
            ? `This hub cannot ${what} broadcasts (no such API).`
            : `${err.message}${err instanceof ApiError ? ` (${err.code})` : ''}`,
      });
    } finally {
      setBusy(false);
      props.onDone();
    }
  };
  return (
    <>
      {mayStop && props.delivering && (
        <button type="button" class="btn" disabled={busy} onClick={() => setAsking('cancel')}>
          Cancel broadcast
        </button>
      )}
      {mayStop && hasRecall && !props.recalled && props.shown > 0 && (
        <button type="button" class="btn" disabled={busy} onClick={() => setAsking('recall')}>
          Recall from phones
        </button>
      )}
      {mayRetry && !props.delivering && !props.recalled && props.failed > 0 && (
        <button type="button" class="btn" disabled={busy} onClick={() => void run('retry')}>
          Retry failed ({props.failed})
        </button>
      )}
      {message && (
        <p role={message.ok ? 'status' : 'alert'} class={message.ok ? 'ok-text' : 'form-error'}>
          {message.text}
        </p>
      )}
      {asking === 'cancel' && (
        <Confirm
          tone="urgent"
          title="Cancel this broadcast?"
          confirmLabel="Yes, cancel it"
          onCancel={() => setAsking(null)}
          onConfirm={() => void run('cancel')}
        >
          <p>
            Phones not yet served will not get it. Phones that show it keep it (use Recall to clear them).
          </p>
        </Confirm>
      )}
      {asking === 'recall' && (
        <Confirm
          tone="urgent"
          title={`Recall this broadcast from ${props.shown} phone${props.shown === 1 ? '' : 's'}?`}
          confirmLabel="Yes, recall it"
          onCancel={() => setAsking(null)}
          onConfirm={() => void run('recall')}
        >
          <p>
            Delivery stops, and the message is cleared from the phones that show it (Cisco: the pushed screen
            closes; Avaya: replaced by "This message was withdrawn.").
          </p>
        </Confirm>
      )}
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
  const b = useApi<Broadcast & { broadcast?: Broadcast; running?: boolean }>(path, {}, [props.id]);
  const devices = useApi<{ devices: Device[] }>('/api/devices');
  const bcast: Broadcast | undefined = b.data?.broadcast
    ? { ...b.data.broadcast, deliveries: b.data.deliveries ?? b.data.broadcast.deliveries ?? [] }
    : b.data;
  const deliveries = deliveriesOf(bcast?.deliveries);
  const p = progressOf(deliveries);
  const complete = p.total > 0 && p.done === p.total;

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

  // Phones by name (natural order: x2 before x10), then location; unknown ids last by id.
  const byId = new Map((devices.data?.devices ?? []).map((d) => [d.id, d]));
  const rows = deliveries
    .map((d) => {
      const dev = byId.get(d.deviceId);
      return { d, name: dev?.name || d.deviceId, location: dev ? locationText(dev.location) : '' };
    })
    .sort((x, y) => naturalCompare(x.name, y.name) || naturalCompare(x.location, y.location));

  const who = bcast?.createdBy ? `Sent by ${bcast.createdBy}` : 'Sent';
  return (
    <>
      <PageHeader
        title={bcast?.title ? `Broadcast: ${bcast.title}` : 'Broadcast'}
        description={
          bcast
            ? `${who} · ${formatTime(bcast.createdAt)} · ${bcast.priority ?? 'normal'} priority`
            : props.id
        }
      >
        {bcast && (
          <BroadcastControls
            id={props.id}
            delivering={
              b.data?.running === true || bcast.state === 'planning' || bcast.state === 'delivering'
            }
            recalled={bcast.state === 'recalled'}
            shown={p.delivered + p.sent}
            failed={p.failed}
            onDone={b.reload}
          />
        )}
        <a class="btn" href="#/broadcast">
          New broadcast
        </a>
      </PageHeader>
      <Async value={b} what="this broadcast">
        {() => {
          const bc = bcast!;
          const summary = [
            `${p.delivered} delivered`,
            `${p.failed} failed`,
            ...(p.sent ? [`${p.sent} sent, waiting for the phone`] : []),
            ...(p.queued ? [`${p.queued} queued`] : []),
            ...(p.recalled ? [`${p.recalled} recalled`] : []),
          ].join(' · ');
          return (
            <>
              <section class="card" aria-labelledby="progress-title">
                <h2 id="progress-title">Delivery progress</h2>
                {bc.text && <p class="bc-text">{bc.text}</p>}
                <div class="progress-row">
                  <div
                    class="progress"
                    role="progressbar"
                    aria-label="Phones that have the message"
                    aria-valuemin={0}
                    aria-valuemax={100}
                    aria-valuenow={p.pct}
                    aria-valuetext={`${p.delivered} of ${p.total} phones have the message (${p.pct}%); ${summary}`}
                  >
                    <div class="progress-bar" style={{ width: `${p.bar.delivered}%` }} />
                    <div class="progress-bar progress-bar-bad" style={{ width: `${p.bar.failed}%` }} />
                    <div class="progress-bar progress-bar-sent" style={{ width: `${p.bar.sent}%` }} />
                  </div>
                  <span class="progress-text num" data-testid="progress-text">
                    {p.pct}% delivered · {p.delivered}/{p.total}
                  </span>
                </div>
                <p class="muted small" data-testid="progress-summary">
                  {p.total ? summary : 'No deliveries planned yet.'}
                  {bc.state || bc.status ? ` · broadcast ${bc.state ?? bc.status}` : ''}
                </p>
                {complete && (
                  <p role="status" class={p.failed ? 'form-error' : 'ok-text'}>
                    {p.failed === 0
                      ? 'Done: every phone has it.'
                      : p.delivered === 0
                        ? `Done: no phone has it. All ${p.failed} failed.`
                        : `Done: ${p.failed} phone${p.failed === 1 ? '' : 's'} failed; ${p.delivered} ${p.delivered === 1 ? 'has' : 'have'} it.`}
                  </p>
                )}
              </section>
              <section class="section" aria-labelledby="deliveries-title">
                <h2 id="deliveries-title">Per phone ({p.total})</h2>
                <div class="table-wrap">
                  <table class="table deliveries-table">
                    <thead>
                      <tr>
                        <th scope="col">Phone</th>
                        <th scope="col">Location</th>
                        <th scope="col">Status</th>
                        <th scope="col">Reason</th>
                        <th scope="col">Updated</th>
                      </tr>
                    </thead>
                    <tbody>
                      {rows.length === 0 && (
                        <tr>
                          <td colSpan={5} class="empty-row">
                            No deliveries yet.
                          </td>
                        </tr>
                      )}
                      {rows.map(({ d, name, location }) => (
                        <tr key={d.deviceId} data-status={d.status} data-device={d.deviceId}>
                          <td>
                            <a href={`#/phones/${encodeURIComponent(d.deviceId)}`}>{name}</a>
                            {d.kind && <span class="muted small"> {d.kind}</span>}
                          </td>
                          <td>{location || '—'}</td>
                          <td>
                            <Badge
                              tone={FAILED.has(d.status) ? 'bad' : DELIVERED.has(d.status) ? 'ok' : 'warn'}
                            >
                              {d.status}
                            </Badge>
                          </td>
                          <td>{d.reason ? <ReasonText code={d.reason} message={d.message} /> : ''}</td>
                          <td>{formatTime(d.updatedAt)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </section>
              {bc.report !== undefined && bc.report !== null && (
                <Report report={bc.report} nameOf={(id) => byId.get(id)?.name || id} />
              )}
            </>
          );
        }}
      </Async>
    </>
  );
}

/** A failure reason in words, with its code beside (and the hub's message on hover and for screen readers). */
function ReasonText(props: { code: string; message?: string | undefined }) {
  return (
    <span class="reason" title={props.message}>
      {reasonText(props.code)} <code class="code">{props.code}</code>
      {props.message && <span class="sr-only"> ({props.message})</span>}
    </span>
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

function Report(props: { report: unknown; nameOf: (deviceId: string) => string }) {
  const r = props.report as ReportShape;
  if (typeof r !== 'object' || r.total === undefined)
    return (
      <section class="section" aria-labelledby="report-title">
        <h2 id="report-title">Report</h2>
        <details>
          <summary>Details (JSON)</summary>
          <JsonView value={r} label="Broadcast report" />
        </details>
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
                  {n} × <ReasonText code={k} />
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
                    {props.nameOf(x.deviceId)}: {x.latencyMs} ms
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
