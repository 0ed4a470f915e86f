import { useState } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import { can, useWho } from '../session.js';
import { Async, Badge, EmptyState, formatTime, PageHeader, str, useApi, useEvents } from '../ui.js';
import { Confirm } from './broadcast.js';

export interface Schedule {
  id: string;
  name: string;
  broadcast: Record<string, unknown>;
  at: string | null;
  cron: string | null;
  timeZone: string;
  paused: boolean;
  nextRunAt: string | null;
  lastRunAt: string | null;
  lastBroadcastId: string | null;
  lastError: string | null;
  runs: number;
  missed: number;
  createdBy: string;
}

type Priority = 'normal' | 'urgent' | 'emergency';
type Kind = 'once' | 'recurring';

/** Cron rules a school or a shift desk uses most; any 5-field rule can be typed. */
const PRESETS: Array<[string, string]> = [
  ['0 8 * * mon-fri', 'Weekdays at 08:00'],
  ['0 6,14,22 * * *', 'Shift changes: 06:00, 14:00, 22:00'],
  ['0 12 * * *', 'Every day at 12:00'],
  ['0 10 1 * *', 'First of the month at 10:00'],
];

const browserZone = (): string => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
};

function zones(): string[] {
  const i = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  try {
    return i.supportedValuesOf?.('timeZone') ?? [];
  } catch {
    return [];
  }
}

/** An ISO time as a `datetime-local` value in the browser's time zone. */
function isoToLocal(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** "Thu 08:00 in Europe/Berlin" when a rule's zone is not the browser's (a desk in another zone). */
function zoneNote(iso: string | null, zone: string): string | null {
  if (!iso || zone === browserZone()) return null;
  try {
    const t = new Date(iso).toLocaleString(undefined, {
      timeZone: zone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
    });
    return `${t} in ${zone}`;
  } catch {
    return null;
  }
}

function targetsText(b: Record<string, unknown>): string {
  const t = (b.targets ?? {}) as { all?: boolean; groups?: string[]; labels?: string[]; devices?: string[] };
  if (t.all) return 'All phones';
  const parts = [
    t.groups?.length ? `groups ${t.groups.join(', ')}` : '',
    t.labels?.length ? `labels ${t.labels.join(', ')}` : '',
    t.devices?.length ? `${t.devices.length} phone${t.devices.length === 1 ? '' : 's'}` : '',
  ].filter(Boolean);
  return parts.join('; ') || '—';
}

function whenText(s: Schedule): string {
  if (s.at) return `Once, ${formatTime(s.at)}`;
  const preset = PRESETS.find(([c]) => c === s.cron)?.[1];
  return `${preset ?? 'Recurring'} (${s.cron}, ${s.timeZone})`;
}

interface FormState {
  id: string | null;
  name: string;
  title: string;
  text: string;
  priority: Priority;
  all: boolean;
  groups: string[];
  kind: Kind;
  at: string;
  cron: string;
  timeZone: string;
  /** The stored broadcast of an edited schedule (kept as it is when it comes from a template). */
  original: Record<string, unknown> | null;
}

const EMPTY: FormState = {
  id: null,
  name: '',
  title: '',
  text: '',
  priority: 'normal',
  all: false,
  groups: [],
  kind: 'once',
  at: '',
  cron: PRESETS[0]![0],
  timeZone: browserZone(),
  original: null,
};

function formOf(s: Schedule): FormState {
  const b = s.broadcast;
  const t = (b.targets ?? {}) as { all?: boolean; groups?: string[] };
  return {
    id: s.id,
    name: s.name,
    title: str(b.title),
    text: str(b.text),
    priority: (['normal', 'urgent', 'emergency'].includes(str(b.priority))
      ? b.priority
      : 'normal') as Priority,
    all: t.all === true,
    groups: t.groups ?? [],
    kind: s.at ? 'once' : 'recurring',
    at: isoToLocal(s.at),
    cron: s.cron ?? PRESETS[0]![0],
    timeZone: s.timeZone,
    original: b,
  };
}

/**
 * Scheduled and recurring broadcasts (`/api/schedules`): the list with the next run, pause/resume, edit,
 * delete, and a form for a one-off (a date and time) or a recurring rule (cron, in a time zone).
 */
export function SchedulesPage() {
  const list = useApi<{ schedules: Schedule[] }>('/api/schedules');
  const groups = useApi<{ groups: Array<{ id: string; name?: string; members?: number }> }>('/api/groups');
  useEvents(['schedule.', 'broadcast.started'], () => list.reload());
  useWho();
  const mayChange = can('broadcasts:send');
  const [form, setForm] = useState<FormState | null>(null);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<Schedule | null>(null);

  const act = async (id: string, what: () => Promise<unknown>) => {
    setBusy(id);
    setError(null);
    try {
      await what();
      list.reload();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(null);
    }
  };

  return (
    <>
      <PageHeader
        title="Scheduled broadcasts"
        description="One-off broadcasts at a time, and recurring ones (school bells, shift changes) by a rule in a time zone."
      >
        {mayChange && !form && (
          <button
            type="button"
            class="btn btn-primary"
            onClick={() => {
              setError(null);
              setForm({ ...EMPTY, timeZone: browserZone() });
            }}
          >
            New schedule
          </button>
        )}
      </PageHeader>
      {!mayChange && <p class="muted">Your role may see scheduled broadcasts but not change them.</p>}
      {form && (
        <ScheduleForm
          form={form}
          groups={(groups.data?.groups ?? []).map((g) => g.id)}
          onCancel={() => setForm(null)}
          onSaved={() => {
            setForm(null);
            list.reload();
          }}
        />
      )}
      {error && (
        <p class="form-error" role="alert">
          {error.message}
          {error instanceof ApiError ? ` (${error.code})` : ''}
        </p>
      )}
      <Async value={list} what="schedules">
        {(d) =>
          d.schedules.length === 0 ? (
            <EmptyState title="No scheduled broadcasts">
              {mayChange ? 'Use "New schedule" to send a broadcast later or on a rule.' : ''}
            </EmptyState>
          ) : (
            <div class="table-wrap">
              <table class="table">
                <caption class="sr-only">Scheduled broadcasts, next run first</caption>
                <thead>
                  <tr>
                    <th scope="col">Schedule</th>
                    <th scope="col">When</th>
                    <th scope="col">Next run</th>
                    <th scope="col">Last run</th>
                    <th scope="col">State</th>
                    {mayChange && <th scope="col">Actions</th>}
                  </tr>
                </thead>
                <tbody>
                  {d.schedules.map((s) => (
                    <tr key={s.id}>
                      <td>
                        <strong>{s.name || s.id}</strong>
                        <div class="small">
                          {str(s.broadcast.title) ||
                            (s.broadcast.template ? `Template ${str(s.broadcast.template)}` : '')}
                          {s.broadcast.priority && s.broadcast.priority !== 'normal'
                            ? ` · ${str(s.broadcast.priority).toUpperCase()}`
                            : ''}
                        </div>
                        <div class="muted small">To {targetsText(s.broadcast)}</div>
                      </td>
                      <td class="small">{whenText(s)}</td>
                      <td class="time">
                        {s.paused ? 'Paused' : s.nextRunAt ? formatTime(s.nextRunAt) : 'None'}
                        {!s.paused && zoneNote(s.nextRunAt, s.timeZone) && (
                          <div class="muted small">{zoneNote(s.nextRunAt, s.timeZone)}</div>
                        )}
                      </td>
                      <td class="small">
                        {s.lastRunAt ? formatTime(s.lastRunAt) : 'Never'}
                        {s.lastBroadcastId && (
                          <div>
                            <a href={`#/broadcast/${encodeURIComponent(s.lastBroadcastId)}`}>
                              Delivery report
                            </a>
                          </div>
                        )}
                        {s.lastError && <div class="form-error">{s.lastError}</div>}
                        {s.missed > 0 && <div class="muted">{s.missed} missed</div>}
                      </td>
                      <td>
                        {s.paused ? (
                          <Badge tone="warn">Paused</Badge>
                        ) : s.nextRunAt ? (
                          <Badge tone="ok">Active</Badge>
                        ) : (
                          <Badge>Done</Badge>
                        )}
                      </td>
                      {mayChange && (
                        <td>
                          <div class="row-actions">
                            <button
                              type="button"
                              class="btn"
                              disabled={busy === s.id}
                              aria-label={`${s.paused ? 'Resume' : 'Pause'} ${s.name || s.id}`}
                              onClick={() =>
                                void act(s.id, () =>
                                  api(
                                    `/api/schedules/${encodeURIComponent(s.id)}/${s.paused ? 'resume' : 'pause'}`,
                                    {
                                      method: 'POST',
                                    },
                                  ),
                                )
                              }
                            >
                              {s.paused ? 'Resume' : 'Pause'}
                            </button>
                            <button
                              type="button"
                              class="btn"
                              aria-label={`Edit ${s.name || s.id}`}
                              onClick={() => {
                                setError(null);
                                setForm(formOf(s));
                              }}
                            >
                              Edit
                            </button>
                            <button
                              type="button"
                              class="btn btn-danger"
                              aria-label={`Delete ${s.name || s.id}`}
                              onClick={() => setDeleting(s)}
                            >
                              Delete
                            </button>
                          </div>
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Async>
      {deleting && (
        <Confirm
          tone="emergency"
          title={`Delete the schedule “${deleting.name || deleting.id}”?`}
          confirmLabel="Yes, delete it"
          onCancel={() => setDeleting(null)}
          onConfirm={() => {
            const s = deleting;
            setDeleting(null);
            void act(s.id, () => api(`/api/schedules/${encodeURIComponent(s.id)}`, { method: 'DELETE' }));
          }}
        >
          <p>It will not send again. Broadcasts it has already sent are kept.</p>
        </Confirm>
      )}
    </>
  );
}

function ScheduleForm(props: {
  form: FormState;
  groups: string[];
  onCancel: () => void;
  onSaved: () => void;
}) {
  const [f, setF] = useState<FormState>(props.form);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof FormState>(k: K, v: FormState[K]) => setF((old) => ({ ...old, [k]: v }));
  const fromTemplate = typeof f.original?.template === 'string';
  const zoneList = zones();
  const editing = f.id !== null;

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    let at: string | null = null;
    if (f.kind === 'once') {
      const t = new Date(f.at).getTime();
      if (!f.at || Number.isNaN(t)) {
        setError(new ApiError(400, 'SCHEDULE_INVALID', 'Choose the date and time to send at.', 'at'));
        return;
      }
      at = new Date(t).toISOString();
    }
    const broadcast = fromTemplate
      ? f.original!
      : {
          ...(f.original ?? {}),
          title: f.title,
          text: f.text,
          priority: f.priority,
          targets: f.all ? { all: true } : { groups: f.groups },
        };
    const body = {
      name: f.name,
      broadcast,
      at,
      cron: f.kind === 'recurring' ? f.cron.trim() : null,
      timeZone: f.timeZone.trim() || 'UTC',
    };
    setBusy(true);
    try {
      if (editing) await api(`/api/schedules/${encodeURIComponent(f.id!)}`, { method: 'PATCH', body });
      else await api('/api/schedules', { method: 'POST', body });
      props.onSaved();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const bad = (field: string) => error instanceof ApiError && (error.field ?? '').startsWith(field);

  return (
    <form class="card schedule-form" aria-labelledby="sf-title" onSubmit={submit}>
      <h2 id="sf-title">{editing ? `Edit “${f.name || f.id}”` : 'New scheduled broadcast'}</h2>
      <div class="grid-2">
        <div>
          <div class="field">
            <label for="sf-name">Name</label>
            <input
              id="sf-name"
              required
              maxLength={200}
              value={f.name}
              placeholder="e.g. Morning bell"
              onInput={(e) => set('name', e.currentTarget.value)}
            />
          </div>
          {fromTemplate ? (
            <p class="muted">
              Sends the template <code>{str(f.original?.template)}</code> (change the message with the API or
              CLI).
            </p>
          ) : (
            <>
              <div class="field">
                <label for="sf-msg-title">Title</label>
                <input
                  id="sf-msg-title"
                  maxLength={200}
                  value={f.title}
                  onInput={(e) => set('title', e.currentTarget.value)}
                />
              </div>
              <div class="field">
                <label for="sf-text">Text</label>
                <textarea
                  id="sf-text"
                  required
                  rows={3}
                  value={f.text}
                  aria-invalid={bad('broadcast')}
                  onInput={(e) => set('text', e.currentTarget.value)}
                />
              </div>
              <div class="field">
                <label for="sf-priority">Priority</label>
                <select
                  id="sf-priority"
                  value={f.priority}
                  onChange={(e) => set('priority', e.currentTarget.value as Priority)}
                >
                  <option value="normal">Normal</option>
                  <option value="urgent">Urgent</option>
                  <option value="emergency">Emergency</option>
                </select>
              </div>
              <fieldset class="field">
                <legend>Send to</legend>
                <label class="check">
                  <input
                    type="checkbox"
                    checked={f.all}
                    onChange={(e) => set('all', e.currentTarget.checked)}
                  />{' '}
                  All phones
                </label>
                <div class="checks">
                  {props.groups.map((g) => (
                    <label key={g} class="check">
                      <input
                        type="checkbox"
                        disabled={f.all}
                        checked={f.groups.includes(g)}
                        onChange={() =>
                          set(
                            'groups',
                            f.groups.includes(g) ? f.groups.filter((x) => x !== g) : [...f.groups, g],
                          )
                        }
                      />
                      Group {g}
                    </label>
                  ))}
                </div>
              </fieldset>
            </>
          )}
        </div>
        <div>
          <fieldset class="field">
            <legend>When</legend>
            <div class="radios">
              <label class="check">
                <input
                  type="radio"
                  name="sf-kind"
                  checked={f.kind === 'once'}
                  onChange={() => set('kind', 'once')}
                />
                Once, at a date and time
              </label>
              <label class="check">
                <input
                  type="radio"
                  name="sf-kind"
                  checked={f.kind === 'recurring'}
                  onChange={() => set('kind', 'recurring')}
                />
                Recurring, by a rule
              </label>
            </div>
          </fieldset>
          {f.kind === 'once' ? (
            <div class="field">
              <label for="sf-at">Send at (this browser's time)</label>
              <input
                id="sf-at"
                type="datetime-local"
                value={f.at}
                aria-invalid={bad('at')}
                onInput={(e) => set('at', e.currentTarget.value)}
              />
            </div>
          ) : (
            <>
              <div class="field">
                <label for="sf-preset">Common rules</label>
                <select
                  id="sf-preset"
                  value={PRESETS.some(([c]) => c === f.cron) ? f.cron : ''}
                  onChange={(e) => e.currentTarget.value && set('cron', e.currentTarget.value)}
                >
                  <option value="">Other (type it below)</option>
                  {PRESETS.map(([c, l]) => (
                    <option key={c} value={c}>
                      {l}
                    </option>
                  ))}
                </select>
              </div>
              <div class="field">
                <label for="sf-cron">Rule (minute hour day month weekday)</label>
                <input
                  id="sf-cron"
                  class="mono"
                  value={f.cron}
                  aria-invalid={bad('cron')}
                  aria-describedby="sf-cron-hint"
                  onInput={(e) => set('cron', e.currentTarget.value)}
                />
                <span id="sf-cron-hint" class="hint small">
                  e.g. <code>0 8 * * mon-fri</code>: 08:00 on weekdays. Missed runs after downtime:
                  docs/broadcasts.md.
                </span>
              </div>
              <div class="field">
                <label for="sf-zone">Time zone</label>
                <input
                  id="sf-zone"
                  list="sf-zones"
                  value={f.timeZone}
                  aria-invalid={bad('timeZone')}
                  onInput={(e) => set('timeZone', e.currentTarget.value)}
                />
                <datalist id="sf-zones">
                  {zoneList.map((z) => (
                    <option key={z} value={z} />
                  ))}
                </datalist>
              </div>
            </>
          )}
        </div>
      </div>
      {error && (
        <p class="form-error" role="alert">
          {error.message}
          {error instanceof ApiError ? ` (${error.code})` : ''}
        </p>
      )}
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? 'Saving…' : editing ? 'Save changes' : 'Create schedule'}
        </button>
        <button type="button" class="btn" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
