import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, type HubEvent, subscribe } from './api.js';
import { can } from './session.js';
import { Badge, useApi } from './ui.js';

/**
 * Click-to-dial in the console (docs/click-to-dial.md): a dial pad card on a phone's page, "Call back" on
 * an incident, screen pops for the signed-in user's desk phone, and the Spaces Calling profile view.
 *
 * The operator's desk phone: chosen here (kept in this browser), else `dial.deskPhones` on the hub.
 */

const DESK_KEY = 'switchboard.deskPhone';

export function localDeskPhone(): string | null {
  try {
    return localStorage.getItem(DESK_KEY);
  } catch {
    return null;
  }
}
const deskListeners = new Set<(id: string | null) => void>();

function setLocalDeskPhone(id: string | null): void {
  try {
    if (id) localStorage.setItem(DESK_KEY, id);
    else localStorage.removeItem(DESK_KEY);
  } catch {
    // private mode: the choice lasts for this page only
  }
  for (const l of deskListeners) l(id);
}

/**
 * The desk phone: this browser's choice, else the hub's `dial.deskPhones` for the signed-in user. Every
 * component using it (dial card, Call back, screen pops) follows a change at once.
 */
export function useDeskPhone(): [string | null, (id: string | null) => void] {
  const [local, setLocal] = useState(localDeskPhone());
  const server = useApi<{ deviceId: string | null }>(can('devices:read') ? '/api/dial/desk-phone' : null);
  useEffect(() => {
    deskListeners.add(setLocal);
    return () => {
      deskListeners.delete(setLocal);
    };
  }, []);
  return [local ?? server.data?.deviceId ?? null, setLocalDeskPhone];
}

interface DialOutcome {
  number: string;
  mode: 'dialled' | 'prompted';
  key?: string;
  result: { ok: boolean; outcome?: string; message?: string };
}

function errorText(e: unknown): string {
  return e instanceof ApiError ? `${e.message} (${e.code})` : (e as Error).message;
}

function Outcome(props: { out: DialOutcome | null; err: string | null }) {
  return (
    <div aria-live="polite" data-testid="dial-outcome">
      {props.err && (
        <p class="form-error" role="alert">
          {props.err}
        </p>
      )}
      {props.out && (
        <p>
          <Badge tone={props.out.result.ok ? 'ok' : 'bad'}>{props.out.result.ok ? 'OK' : 'Refused'}</Badge>{' '}
          {props.out.key
            ? `Pressed ${props.out.key}`
            : props.out.mode === 'prompted'
              ? `The phone shows a Call key for ${props.out.number}: press it on the phone`
              : `Dialling ${props.out.number}`}
          {!props.out.result.ok && ` (${props.out.result.message ?? props.out.result.outcome ?? 'failed'})`}
        </p>
      )}
    </div>
  );
}

const CALL_KEYS = ['Hold', 'Transfer', 'Conference', 'Release', 'Speaker', 'Mute'] as const;

/** Dial pad and call keys of a desk phone (Cisco: Dial: and Key: URIs; Avaya: a Call prompt). */
export function DialCard(props: { device: { id: string; kind: string } }) {
  const { id, kind } = props.device;
  const [number, setNumber] = useState('');
  const [busy, setBusy] = useState(false);
  const [out, setOut] = useState<DialOutcome | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const [desk, setDesk] = useDeskPhone();
  if (kind !== 'cisco' && kind !== 'avaya') return null;
  const run = async (path: string, body: Record<string, unknown>) => {
    setBusy(true);
    setErr(null);
    setOut(null);
    try {
      setOut(
        await api<DialOutcome>(`/api/devices/${encodeURIComponent(id)}/${path}`, { method: 'POST', body }),
      );
    } catch (e) {
      setErr(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card span-2" aria-labelledby="dial-title">
      <h2 id="dial-title">Dial</h2>
      {!can('devices:dial') ? (
        <p class="muted">Your role may not dial from phones.</p>
      ) : (
        <>
          <form
            class="filters"
            onSubmit={(e) => {
              e.preventDefault();
              void run('dial', { number, ...(kind === 'avaya' ? { prompt: true } : {}) });
            }}
          >
            <div class="field grow">
              <label for="dial-number">Number</label>
              <input
                id="dial-number"
                type="tel"
                inputMode="tel"
                maxLength={64}
                autoComplete="off"
                value={number}
                placeholder="+1 (555) 010-4001 or 4001"
                onInput={(e) => setNumber(e.currentTarget.value)}
              />
            </div>
            <button type="submit" class="btn btn-primary" disabled={busy || number.trim() === ''}>
              {kind === 'avaya' ? 'Show Call key' : 'Dial'}
            </button>
          </form>
          {kind === 'avaya' && (
            <p class="muted small">
              Avaya phones cannot be made to dial (the Push API only shows content): the phone shows the
              number with a Call key to press.
            </p>
          )}
          {kind === 'cisco' && (
            <fieldset class="btn-row">
              <legend class="sr-only">Call keys</legend>
              {CALL_KEYS.map((k) => (
                <button
                  key={k}
                  type="button"
                  class="btn"
                  disabled={busy}
                  onClick={() => void run('keys', { key: k })}
                >
                  {k}
                </button>
              ))}
            </fieldset>
          )}
          <Outcome out={out} err={err} />
          <p class="muted small">
            {desk === id ? (
              <>
                This is your desk phone (Call back on incidents dials from it).{' '}
                <button type="button" class="btn btn-link" onClick={() => setDesk(null)}>
                  Forget
                </button>
              </>
            ) : (
              <button type="button" class="btn" onClick={() => setDesk(id)}>
                Use as my desk phone
              </button>
            )}
          </p>
        </>
      )}
    </section>
  );
}

/** "Call back" on an incident: dials the callback number from the operator's desk phone (or another). */
export function CallBack(props: { incidentId: string; number: string; onDone: () => void }) {
  const [desk, setDesk] = useDeskPhone();
  const phones = useApi<{ devices: Array<{ id: string; name: string; kind: string }> }>(
    can('devices:dial') ? '/api/devices' : null,
  );
  const [busy, setBusy] = useState(false);
  const [out, setOut] = useState<DialOutcome | null>(null);
  const [err, setErr] = useState<string | null>(null);
  if (!can('devices:dial') || !props.number) return null;
  const list = (phones.data?.devices ?? []).filter((d) => d.kind === 'cisco' || d.kind === 'avaya');
  const call = async () => {
    if (!desk) return;
    setBusy(true);
    setErr(null);
    setOut(null);
    try {
      setOut(
        await api<DialOutcome>(`/api/incidents/${encodeURIComponent(props.incidentId)}/callback`, {
          method: 'POST',
          body: { deviceId: desk },
        }),
      );
      props.onDone();
    } catch (e) {
      setErr(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="callback">
      <div class="filters">
        <div class="field">
          <label for="callback-phone">From my phone</label>
          <select
            id="callback-phone"
            value={desk ?? ''}
            onChange={(e) => setDesk(e.currentTarget.value || null)}
          >
            <option value="">Choose your desk phone…</option>
            {list.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name || d.id} ({d.kind})
              </option>
            ))}
          </select>
        </div>
        <button type="button" class="btn btn-primary" disabled={busy || !desk} onClick={() => void call()}>
          {busy ? 'Calling…' : `Call back ${props.number}`}
        </button>
      </div>
      <Outcome out={out} err={err} />
    </div>
  );
}

interface Pop {
  id: string;
  title: string;
  text: string;
}

/** Screen pops (`screen.pop` events) for the signed-in user's desk phone, as dismissable notices. */
export function ScreenPops() {
  const [desk] = useDeskPhone();
  const [pops, setPops] = useState<Pop[]>([]);
  useEffect(
    () =>
      subscribe((e: HubEvent) => {
        if (e.type !== 'screen.pop' || !desk) return;
        const phones = Array.isArray(e.data.phones) ? (e.data.phones as Array<{ deviceId?: unknown }>) : [];
        if (!phones.some((p) => p.deviceId === desk)) return;
        const pop = {
          id: String(e.id),
          title: String(e.data.title ?? 'Call'),
          text: String(e.data.text ?? ''),
        };
        setPops((l) => [...l.slice(-2), pop]);
      }),
    [desk],
  );
  if (pops.length === 0) return null;
  return (
    <div class="screen-pops" role="status" aria-live="polite">
      {pops.map((p) => (
        <div key={p.id} class="card screen-pop" data-testid="screen-pop">
          <strong>{p.title}</strong>
          <p class="pre-line">{p.text}</p>
          <button type="button" class="btn" onClick={() => setPops((l) => l.filter((x) => x.id !== p.id))}>
            Dismiss
          </button>
        </div>
      ))}
    </div>
  );
}

interface Problem {
  code: string;
  severity: 'error' | 'warning';
  path: string;
  line?: number;
  message: string;
}
interface Validation {
  ok: boolean;
  problems: Problem[];
  profiles: number;
}

function Problems(props: { v: Validation }) {
  if (props.v.problems.length === 0)
    return (
      <p>
        <Badge tone="ok">Valid</Badge> {props.v.profiles} profile(s)
      </p>
    );
  return (
    <ul class="list" data-testid="spaces-problems">
      {props.v.problems.map((p, n) => (
        <li key={n}>
          <Badge tone={p.severity === 'error' ? 'bad' : 'warn'}>{p.severity}</Badge>{' '}
          {p.line ? <span class="mono small">line {p.line} </span> : null}
          {p.path && !p.message.startsWith(`${p.path.split('.').pop()}:`) && (
            <span class="mono small">{p.path}: </span>
          )}
          {p.path && p.message.startsWith(`${p.path.split('.').pop()}:`) && (
            <span class="mono small">{p.path.slice(0, p.path.lastIndexOf('.') + 1)}</span>
          )}
          {p.message} <span class="muted small">{p.code}</span>
        </li>
      ))}
    </ul>
  );
}

/** Seed 002: the Spaces Calling profile JSON of the IP Office systems, and a validator for pasted JSON. */
export function SpacesProfileCard() {
  const gen = useApi<{ json: string; devices: string[]; validation: Validation }>(
    '/api/settings/spaces-profile',
  );
  const [text, setText] = useState('');
  const [checked, setChecked] = useState<Validation | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const validate = async (e: Event) => {
    e.preventDefault();
    setErr(null);
    try {
      setChecked(
        await api<Validation>('/api/settings/spaces-profile/validate', { method: 'POST', body: { text } }),
      );
    } catch (e2) {
      setErr(errorText(e2));
    }
  };
  return (
    <section class="section" aria-labelledby="s-spaces">
      <h2 id="s-spaces">Spaces Calling profile</h2>
      <p class="muted">
        The JSON to paste into Avaya Cloud Services (Apps, Avaya Spaces Calling Extension, JSON): one
        IP_Office_Server_Profile entry per IP Office system.
      </p>
      <div class="grid-2">
        <div class="card">
          <h3>
            Generated from{' '}
            {gen.data ? `${gen.data.devices.length} IP Office system(s)` : 'the IP Office devices'}
          </h3>
          {gen.error && <p class="form-error">{errorText(gen.error)}</p>}
          {gen.data && (
            <>
              <pre class="json" data-testid="spaces-json">
                {gen.data.json}
              </pre>
              <button
                type="button"
                class="btn"
                onClick={() => void navigator.clipboard?.writeText(gen.data?.json ?? '')}
              >
                Copy
              </button>
              <Problems v={gen.data.validation} />
            </>
          )}
        </div>
        <form class="card" onSubmit={validate}>
          <h3>
            <label for="spaces-text">Check a profile</label>
          </h3>
          <textarea
            id="spaces-text"
            rows={12}
            class="mono"
            maxLength={65536}
            value={text}
            placeholder='{ "IP_Office_Server_Profile": [{ "Name": "…", "Address": "…", "AccountsToken": true }] }'
            onInput={(e) => setText(e.currentTarget.value)}
          />
          <button type="submit" class="btn btn-primary" disabled={text.trim() === ''}>
            Validate
          </button>
          {err && (
            <p class="form-error" role="alert">
              {err}
            </p>
          )}
          {checked && <Problems v={checked} />}
        </form>
      </div>
    </section>
  );
}
