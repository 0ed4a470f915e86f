// The security desk's alarm on every page: open 911 incidents as a stack of alert dialogs (with siren,
// flashing title and desktop notification), the emergency readiness banner, and a whole-page notice when
// the hub cannot be reached. One watcher feeds them all: the live event stream for speed, polling as the
// fallback (and to catch anything the stream missed).
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  desktopNotify,
  enableSound,
  flashTitle,
  onSoundState,
  type SoundState,
  startSiren,
  stopSiren,
  stopTitleFlash,
} from './alarm.js';
import { ApiError, api, onStreamState, type StreamState, signedInAs, subscribe } from './api.js';
import {
  callerOf,
  deliverySummary,
  type Incident,
  incidentKind,
  incidentStatus,
  incidentTime,
  isAcknowledged,
  locationQuality,
  locationText,
  type Readiness,
  readinessOf,
} from './incident.js';
import { formatDuration, str } from './lib.js';
import { can } from './session.js';

/** Poll of the open incidents while the event stream is live (it only catches what the stream missed). */
export const POLL_MS = 5000;
/** Poll while the stream is down: the fallback path to a new incident. */
export const POLL_FALLBACK_MS = 1000;
/** Poll of `GET /api/emergency` (readiness). */
export const READINESS_POLL_MS = 10_000;
/** One request of the watcher gives up after this long (a hub that accepts but never answers is down). */
export const REQUEST_TIMEOUT_MS = 5000;
/** The hub counts as unreachable once the stream has been failing this long, or two polls in a row failed. */
export const HUB_DOWN_AFTER_MS = 3000;
/** Open incidents fetched in detail (deliveries); the rest show from the list. */
const MAX_DETAILED = 10;

export interface WatchState {
  /** Open (unacknowledged) incidents, newest first; null until the first answer. */
  open: Incident[] | null;
  readiness: Readiness | null;
  hubDown: { since: number; detail: string } | null;
}

let state: WatchState = { open: null, readiness: null, hubDown: null };
const watchers = new Set<(s: WatchState) => void>();

function set(p: Partial<WatchState>): void {
  state = { ...state, ...p };
  for (const w of watchers) w(state);
}

export function useWatch(): WatchState {
  const [s, setS] = useState(state);
  useEffect(() => {
    watchers.add(setS);
    setS(state);
    return () => {
      watchers.delete(setS);
    };
  }, []);
  return s;
}

let refreshIncidentsNow: () => void = () => {};

/** Starts the watcher (once per signed-in shell); returns its stop function. */
export function startWatch(): () => void {
  let stopped = false;
  let pollFailures = 0;
  let streamFailedAt: number | null = null;
  let streamState: StreamState = 'connecting';
  let inFlight = false;
  let again = false;
  let lastDetail = '';
  const timers: Array<ReturnType<typeof setInterval>> = [];

  const judge = () => {
    const now = Date.now();
    const streamDown = streamFailedAt !== null && now - streamFailedAt >= HUB_DOWN_AFTER_MS;
    const down = streamDown || pollFailures >= 2;
    if (down && !state.hubDown)
      set({ hubDown: { since: streamFailedAt ?? now, detail: lastDetail || 'no answer' } });
    else if (!down && state.hubDown) {
      set({ hubDown: null });
      void refreshIncidents();
      void refreshReadiness();
    }
  };

  const failed = (e: unknown) => {
    if ((e as Error).name === 'AbortError' && stopped) return;
    if (e instanceof ApiError && e.status !== 0 && e.status < 500) return;
    pollFailures++;
    lastDetail =
      e instanceof ApiError && e.status >= 500
        ? `the hub answered ${e.status}`
        : /timed? ?out/i.test((e as Error).message)
          ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`
          : 'no connection';
    judge();
  };

  const refreshIncidents = async () => {
    if (stopped) return;
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      const l = await api<{ incidents: Incident[] }>('/api/incidents', {
        query: { open: true, limit: 50 },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      // An older hub ignores `open`: keep the unacknowledged ones here too.
      const open = (l.incidents ?? []).filter((i) => !isAcknowledged(i));
      // Show at once what the list says (keeping the deliveries already known), then the details.
      const known = new Map((state.open ?? []).map((i) => [i.id, i]));
      if (!stopped) set({ open: open.map((i) => ({ ...known.get(i.id), ...i })) });
      const detailed = await Promise.all(
        open.slice(0, MAX_DETAILED).map(async (i) => {
          try {
            const d = await api<{ incident: Incident; deliveries?: Array<Record<string, unknown>> }>(
              `/api/incidents/${encodeURIComponent(i.id)}`,
              { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
            );
            return { ...d.incident, deliveries: d.deliveries ?? [] };
          } catch {
            return i;
          }
        }),
      );
      pollFailures = 0;
      judge();
      if (!stopped)
        set({ open: [...detailed, ...open.slice(MAX_DETAILED)].filter((i) => !isAcknowledged(i)) });
    } catch (e) {
      failed(e);
    } finally {
      inFlight = false;
      if (again && !stopped) {
        again = false;
        void refreshIncidents();
      }
    }
  };
  refreshIncidentsNow = () => void refreshIncidents();

  const refreshReadiness = async () => {
    try {
      const r = await api<unknown>('/api/emergency', { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      if (!stopped) set({ readiness: readinessOf(r) });
    } catch (e) {
      if (e instanceof ApiError && e.missing) set({ readiness: null });
      else failed(e);
    }
  };

  const unsubEvents = subscribe((e) => {
    if (e.type.startsWith('incident.')) void refreshIncidents();
    else if (
      (e.type.startsWith('broadcast.') || e.type.startsWith('delivery.')) &&
      (state.open?.length ?? 0) > 0
    )
      void refreshIncidents();
    if (/^(emergency|pbx|link|incident)\.|^device\.link_/.test(e.type)) void refreshReadiness();
  });
  const unsubStream = onStreamState((s) => {
    const wasLive = streamState === 'live';
    streamState = s;
    if (s === 'live') {
      streamFailedAt = null;
      // Whatever happened while the stream was away.
      if (!wasLive) void refreshIncidents();
    } else if (s === 'retrying') streamFailedAt ??= Date.now();
    judge();
  });
  let since = 0;
  timers.push(
    setInterval(() => {
      since += POLL_FALLBACK_MS;
      judge();
      if (streamState !== 'live' || since >= POLL_MS) {
        since = 0;
        void refreshIncidents();
      }
    }, POLL_FALLBACK_MS),
  );
  timers.push(setInterval(() => void refreshReadiness(), READINESS_POLL_MS));
  void refreshIncidents();
  void refreshReadiness();
  return () => {
    stopped = true;
    for (const t of timers) clearInterval(t);
    unsubEvents();
    unsubStream();
    refreshIncidentsNow = () => {};
    state = { open: null, readiness: null, hubDown: null };
  };
}

/** Acknowledges as the signed-in user (the hub takes the identity from the session or key). */
export async function acknowledge(id: string, note: string): Promise<Incident> {
  const r = await api<{ incident: Incident }>(`/api/incidents/${encodeURIComponent(id)}/ack`, {
    method: 'POST',
    body: note.trim() ? { note: note.trim() } : {},
  });
  refreshIncidentsNow();
  return r.incident;
}

// ------------------------------------------------------------------ components

function useNowTick(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

function clock(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function AlarmDialog(props: { incident: Incident; now: number; focus: boolean }) {
  const i = props.incident;
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    if (props.focus) ref.current?.focus({ preventScroll: false });
  }, [props.focus]);
  const c = callerOf(i);
  const kind = incidentKind(i);
  const status = incidentStatus(i);
  const where = locationText(i.location);
  const quality = locationQuality(i.location);
  const started = incidentTime(i);
  const age = started ? formatDuration((props.now - Date.parse(started)) / 1000) : '—';
  const deliv = deliverySummary(i.deliveries);
  const me = signedInAs();
  const idp = `alarm-${i.id.replace(/[^A-Za-z0-9_-]/g, '')}`;
  const ack = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      await acknowledge(i.id, note);
    } catch (e2) {
      setErr((e2 as Error).message);
      setBusy(false);
    }
  };
  return (
    <section
      ref={ref}
      role="alertdialog"
      aria-modal="false"
      aria-labelledby={`${idp}-title`}
      aria-describedby={`${idp}-desc`}
      class={`alarm ${kind.exercise ? `alarm-${kind.exercise}` : 'alarm-real'}`}
      tabIndex={-1}
      data-incident={i.id}
    >
      <div class="alarm-head">
        <h2 id={`${idp}-title`}>
          <span aria-hidden="true">⚠ </span>
          {kind.title}
        </h2>
        <span class="alarm-state" data-state={str(i.state)}>
          {status.label}
        </span>
      </div>
      <div id={`${idp}-desc`} class="alarm-body">
        <p class="alarm-caller">
          {c.name || 'Unknown caller'}
          {c.extension && <span> · extension {c.extension}</span>}
        </p>
        <dl class="alarm-facts">
          <dt>Callback</dt>
          <dd class="mono">{c.callback || '— (not known)'}</dd>
          <dt>Location</dt>
          <dd class={quality === 'room' ? '' : 'alarm-unknown'}>
            {quality === 'none'
              ? 'NOT KNOWN: ask the caller'
              : quality === 'site'
                ? `${where} (PBX site only: ask the caller for the room)`
                : where}
          </dd>
          <dt>Time</dt>
          <dd>
            {clock(started)} <span class="alarm-age">({age} ago)</span>
          </dd>
          <dt>Security phones</dt>
          <dd class={`alarm-deliv alarm-deliv-${deliv.tone}`}>{deliv.text}</dd>
        </dl>
      </div>
      {!can('incidents:ack') ? (
        <p class="alarm-ack small">
          Your role may not acknowledge: tell the security desk.{' '}
          <a href={`#/incidents/${encodeURIComponent(i.id)}`} class="alarm-link">
            Details
          </a>
        </p>
      ) : (
        <form class="alarm-ack" onSubmit={ack}>
          <label for={`${idp}-note`} class="small">
            Note (optional)
          </label>
          <input
            id={`${idp}-note`}
            type="text"
            maxLength={500}
            value={note}
            placeholder="e.g. officer sent to the room"
            onInput={(e) => setNote(e.currentTarget.value)}
          />
          <button type="submit" class="btn alarm-ack-btn" disabled={busy}>
            {busy ? 'Acknowledging…' : 'Acknowledge'}
          </button>
          <a href={`#/incidents/${encodeURIComponent(i.id)}`} class="alarm-link">
            Details
          </a>
          <span class="small alarm-who">{me ? `as ${me}` : 'as this API key'}</span>
          {err && (
            <p class="alarm-error" role="alert">
              Not acknowledged: {err}
            </p>
          )}
        </form>
      )}
    </section>
  );
}

/**
 * The stack of open incidents, on every page: persistent until acknowledged, newest first. Sounds the
 * siren, flashes the title and raises a desktop notification for each new (or newly escalated) incident.
 */
export function AlarmStack() {
  const { open } = useWatch();
  const now = useNowTick();
  const list = open ?? [];
  const seen = useRef(new Map<string, number>());
  const [focusId, setFocusId] = useState<string | null>(null);
  const [sound, setSound] = useState<SoundState>('off');
  useEffect(() => onSoundState(setSound), []);
  const n = list.length;
  useEffect(() => {
    if (n > 0) {
      startSiren();
      const first = callerOf(list[0]!);
      flashTitle(`⚠ ${n > 1 ? `${n} OPEN 911 CALLS` : `911: ${first.name || first.extension || 'call'}`}`);
    } else {
      stopSiren();
      stopTitleFlash();
    }
    for (const i of list) {
      const esc = typeof i.escalations === 'number' ? i.escalations : 0;
      const before = seen.current.get(i.id);
      if (before === undefined || esc > before) {
        const c = callerOf(i);
        const kind = incidentKind(i);
        desktopNotify(
          i.id,
          `${kind.title}${esc ? ` (escalated ×${esc})` : ''}`,
          [
            `${c.name || 'Unknown caller'}${c.extension ? ` (ext ${c.extension})` : ''}`,
            locationText(i.location) || 'location not known',
            c.callback ? `Callback ${c.callback}` : '',
          ]
            .filter(Boolean)
            .join('\n'),
          () => {
            location.hash = `#/incidents/${encodeURIComponent(i.id)}`;
          },
        );
        if (before === undefined) {
          const active = document.activeElement;
          if (!active?.closest('.alarm-stack')) setFocusId(i.id);
        }
      }
      seen.current.set(i.id, esc);
    }
  }, [open]);
  useEffect(
    () => () => {
      stopSiren();
      stopTitleFlash();
    },
    [],
  );
  if (n === 0) return null;
  return (
    <div class="alarm-stack" data-siren={sound === 'on' ? 'sounding' : 'silent'}>
      {sound === 'off' && (
        <p class="alarm-mute">
          The alarm sound is OFF in this browser.{' '}
          <button type="button" class="btn sound-off" onClick={() => enableSound()}>
            Turn on alarm sound
          </button>
        </p>
      )}
      {n > 1 && (
        <p class="alarm-count" aria-hidden="true">
          {n} open emergency calls: acknowledge each one
        </p>
      )}
      {list.map((i) => (
        <AlarmDialog key={i.id} incident={i} now={now} focus={focusId === i.id} />
      ))}
    </div>
  );
}

/** The red banner on every page while the hub says 911 notification is not ready. */
export function ReadinessBanner() {
  const { readiness } = useWatch();
  if (readiness?.ready !== false) return null;
  return (
    <div class="readiness-banner" role="alert">
      <strong>911 notification is NOT ready.</strong>{' '}
      {readiness.reasons.length === 0 ? (
        'The hub did not say why.'
      ) : (
        <ul>
          {readiness.reasons.map((r) => (
            <li key={`${r.code}|${r.deviceId ?? ''}`}>
              {r.message}
              {r.since ? <span class="small"> (since {clock(r.since)})</span> : null}
            </li>
          ))}
        </ul>
      )}{' '}
      <a href="#/incidents">Security phones</a>
    </div>
  );
}

/** Over the whole page when the hub cannot be reached: never a stale "no calls" while blind. */
export function HubDownOverlay() {
  const { hubDown } = useWatch();
  const now = useNowTick();
  if (!hubDown) return null;
  return (
    <div class="hub-down" role="alertdialog" aria-modal="true" aria-labelledby="hub-down-title">
      <div class="hub-down-card">
        <h1 id="hub-down-title">The hub cannot be reached</h1>
        <p>
          <strong>This console is NOT receiving 911 alerts</strong> and shows nothing current. Check that the
          Switchboard hub is running and that this computer can reach it.
        </p>
        <p class="small">
          Unreachable for {formatDuration((now - hubDown.since) / 1000)} ({hubDown.detail}). Retrying every
          second; this notice goes away by itself when the hub answers again.
        </p>
      </div>
    </div>
  );
}

/** "Sound on" / a prominent "Sound is OFF: turn on" button (browsers need a click before audio). */
export function SoundToggle() {
  const [s, setS] = useState<SoundState>('off');
  useEffect(() => onSoundState(setS), []);
  if (s === 'unsupported')
    return (
      <span class="sound sound-off" role="status">
        No alarm sound in this browser
      </span>
    );
  if (s === 'on')
    return (
      <span class="sound sound-on" role="status">
        <span class="dot" aria-hidden="true" />
        Alarm sound on
      </span>
    );
  return (
    <button type="button" class="btn sound sound-off" onClick={() => enableSound({ test: true })}>
      Alarm sound is OFF: turn on
    </button>
  );
}

/** The count of open incidents for the navigation. */
export function useOpenCount(): number {
  return useWatch().open?.length ?? 0;
}
