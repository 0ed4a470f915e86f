import { render } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { askNotifications, enableSound, setBaseTitle } from './alarm.js';
import {
  ApiError,
  api,
  endedText,
  getKey,
  onKeyChange,
  onStreamState,
  type StreamState,
  setKey,
  signedInAs,
  signInWithPassword,
  signOut,
  signOutBecause,
  signOutReason,
  startLive,
} from './api.js';
import { ScreenPops } from './dial.js';
import {
  AlarmStack,
  HubDownOverlay,
  ReadinessBanner,
  SoundToggle,
  startWatch,
  useOpenCount,
} from './emergency.js';
import { AuditPage } from './pages/audit.js';
import { BroadcastPage } from './pages/broadcast.js';
import { CallsPage } from './pages/calls.js';
import { IncidentsPage } from './pages/incidents.js';
import { PhonePage } from './pages/phone.js';
import { PhonesPage } from './pages/phones.js';
import { PubSubPage } from './pages/pubsub.js';
import { SchedulesPage } from './pages/schedules.js';
import { SettingsPage } from './pages/settings.js';
import { SystemPage } from './pages/system.js';
import { can, forgetWho, loadWho, refreshWho, useWho } from './session.js';
import { applyTheme, storedTheme, type ThemeChoice } from './theme.js';
import { formatDuration, useNow } from './ui.js';
import './styles.css';

applyTheme(storedTheme(), false);

/** The pages, each with the permissions that let a role see it (any of them; GET /api/session). */
const NAV = [
  { path: 'calls', label: 'Live calls', may: ['calls:read'] },
  { path: 'phones', label: 'Phones', may: ['devices:read'] },
  {
    path: 'broadcast',
    label: 'Broadcast',
    may: [
      'broadcasts:read',
      'broadcasts:send',
      'broadcasts:send-template',
      'broadcasts:send-template-groups',
    ],
  },
  { path: 'schedules', label: 'Schedules', may: ['broadcasts:read'] },
  { path: 'incidents', label: 'Incidents', may: ['incidents:read'] },
  { path: 'pubsub', label: 'PubSub', may: ['pubsub:read'] },
  { path: 'settings', label: 'Settings files', may: ['settings:read'] },
  { path: 'audit', label: 'Audit trail', may: ['audit:read'] },
  { path: 'system', label: 'System', may: ['system:read'] },
] as const;

function parseHash(): string[] {
  const h = location.hash.replace(/^#\/?/, '');
  return h ? h.split('/').map(decodeURIComponent) : ['calls'];
}

function useRoute(): string[] {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

type SignInMode = 'key' | 'password';

function SignIn(props: { onSignedIn: (key: string) => void }) {
  const [mode, setMode] = useState<SignInMode>('key');
  const [key, setValue] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ready = mode === 'key' ? !!key.trim() : !!username.trim() && !!password;
  const ended = signOutReason() === 'ended';
  // Read once, as the page opens: why this console was signed out.
  const [because] = useState(() => endedText(signOutBecause()));
  const [oidc, setOidc] = useState(false);
  useEffect(() => {
    const c = new AbortController();
    api<{ oidc?: boolean }>('/api/session/methods', { signal: c.signal })
      .then((m) => setOidc(m.oidc === true))
      .catch(() => setOidc(false));
    return () => c.abort();
  }, []);
  // Back from the directory: `#oidc=<one-time code>` (or `#oidc_error=<CODE>`), exchanged for a session.
  useEffect(() => {
    const h = new URLSearchParams(location.hash.replace(/^#/, ''));
    const code = h.get('oidc');
    const failed = h.get('oidc_error');
    if (!code && !failed) return;
    history.replaceState(null, '', `${location.pathname}${location.search}#/calls`);
    if (failed) {
      setError(OIDC_ERRORS[failed] ?? `Sign-in with the directory failed (${failed}).`);
      return;
    }
    setBusy(true);
    exchangeOidcCode(code!)
      .catch((err: Error) =>
        setError(
          err instanceof ApiError
            ? `Sign-in with the directory failed: ${err.message} (${err.code})`
            : err.message,
        ),
      )
      .finally(() => setBusy(false));
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    // Signing in is the user gesture browsers need before they play sound or ask for notifications.
    enableSound();
    void askNotifications();
    setBusy(true);
    setError(null);
    try {
      if (mode === 'key') {
        // GET /api/session answers for any valid credential (every role and scoped key).
        await api('/api/session', { key: key.trim() });
        props.onSignedIn(key.trim());
      } else {
        await signInWithPassword(username.trim(), password);
        setPassword('');
      }
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? mode === 'key'
            ? 'This API key was not accepted. Check it and try again.'
            : 'The username or password was not accepted. Check them and try again.'
          : err instanceof ApiError && err.status === 429
            ? 'Too many failed sign-in attempts. Wait a few minutes and try again.'
            : (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };
  const choose = (m: SignInMode) => {
    setMode(m);
    setError(null);
  };
  return (
    <main class="signin" id="main">
      {ended && (
        <div class="signed-out" role="alert">
          <strong>Your session ended: you are signed out.</strong>
          {because ? ` ${because}` : ''} This console is NOT receiving 911 alerts until you sign in again.
        </div>
      )}
      <form class="card signin-card" onSubmit={submit} aria-describedby={error ? 'signin-error' : undefined}>
        <h1>Switchboard</h1>
        <fieldset class="field">
          <legend>Sign in with</legend>
          <div class="seg">
            <button type="button" class="btn" aria-pressed={mode === 'key'} onClick={() => choose('key')}>
              API key
            </button>
            <button
              type="button"
              class="btn"
              aria-pressed={mode === 'password'}
              onClick={() => choose('password')}
            >
              Username and password
            </button>
          </div>
        </fieldset>
        {mode === 'key' ? (
          <>
            <p class="muted">`switchboard demo` prints an API key; `switchboard keys create` makes one.</p>
            <div class="field">
              <label for="api-key">API key</label>
              <input
                id="api-key"
                name="api-key"
                type="password"
                autoComplete="current-password"
                required
                value={key}
                onInput={(e) => setValue(e.currentTarget.value)}
              />
            </div>
          </>
        ) : (
          <>
            <p class="muted">
              A local user (`switchboard users create --name admin`). The session lasts a few hours.
            </p>
            <div class="field">
              <label for="signin-username">Username</label>
              <input
                id="signin-username"
                name="username"
                type="text"
                autoComplete="username"
                autoCapitalize="none"
                spellcheck={false}
                required
                value={username}
                onInput={(e) => setUsername(e.currentTarget.value)}
              />
            </div>
            <div class="field">
              <label for="signin-password">Password</label>
              <input
                id="signin-password"
                name="password"
                type="password"
                autoComplete="current-password"
                required
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
              />
            </div>
          </>
        )}
        {oidc && (
          <p>
            <button
              type="button"
              class="btn"
              onClick={() => {
                enableSound();
                location.assign(`/api/session/oidc/start?return=${encodeURIComponent(location.pathname)}`);
              }}
            >
              Sign in with the directory
            </button>
          </p>
        )}
        {error && (
          <p id="signin-error" class="form-error" role="alert">
            {error}
          </p>
        )}
        <p class="signin-alarm">
          <strong>911 alarm:</strong> this console sounds a siren and shows an alert on every page when
          someone dials 911. Signing in turns the sound on and asks to show desktop notifications: allow them,
          and keep this tab open.
        </p>
        <button type="submit" class="btn btn-primary" disabled={busy || !ready}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="muted small">
          The key or session token is kept in this browser tab only (session storage).
        </p>
      </form>
    </main>
  );
}

/** The hub's `#oidc_error=` codes in words (docs/console.md, Directory sign-in). */
const OIDC_ERRORS: Record<string, string> = {
  OIDC_NO_ROLE:
    'The directory signed you in, but none of your groups gives a role on this hub. Ask an administrator.',
  OIDC_USER_CONFLICT: 'A local user of the same name exists: sign in with username and password instead.',
  OIDC_USER_DISABLED: 'Your user is disabled on this hub. Ask an administrator.',
  OIDC_STATE_UNKNOWN: 'The sign-in took too long or was started elsewhere. Try again.',
  OIDC_TOKEN_REJECTED: "The directory's answer was not accepted. Try again, or ask an administrator.",
  OIDC_PROVIDER_UNREACHABLE: 'The directory could not be reached. Try again, or sign in with a local user.',
  OIDC_DENIED: 'The directory refused the sign-in.',
};

async function exchangeOidcCode(code: string): Promise<void> {
  const s = await api<{ token: string; user?: string }>('/api/session/oidc/exchange', {
    method: 'POST',
    body: { code },
  });
  setKey(s.token, { session: true, ...(s.user ? { user: s.user } : {}) });
}

/** Warn this long before a session's sliding end (idle) and before its absolute cap. */
const WARN_IDLE_MS = 5 * 60_000;
const WARN_CAP_MS = 15 * 60_000;
/** How often the console asks the hub (in the background: it does not renew) when the session ends. */
const EXPIRY_CHECK_MS = 30_000;

function clockTime(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/**
 * Warns before a session ends: before the sliding end when the desk has not been used ("Stay signed in"
 * renews it), and before the absolute cap (no renewal possible: sign in again). API keys never warn.
 */
function SessionBanner(props: { onSignOut: () => void }) {
  const who = useWho();
  const now = useNow(1000);
  const session = who?.kind === 'session';
  useEffect(() => {
    if (!session) return;
    const t = setInterval(() => void refreshWho({ background: true }), EXPIRY_CHECK_MS);
    return () => clearInterval(t);
  }, [session]);
  if (!who || !session) return null;
  const cap = who.absoluteExpiresAt ? Date.parse(who.absoluteExpiresAt) : Number.NaN;
  const end = who.expiresAt ? Date.parse(who.expiresAt) : Number.NaN;
  const left = (t: number) => formatDuration(Math.max(0, (t - now) / 1000));
  const capNear = Number.isFinite(cap) && cap - now <= WARN_CAP_MS;
  // The sliding end matters only while it comes before the cap.
  const idleNear =
    Number.isFinite(end) && end - now <= WARN_IDLE_MS && !(Number.isFinite(cap) && end >= cap - 1000);
  if (!capNear && !idleNear) return null;
  return (
    <div class="session-banner" role="alert">
      {idleNear && (
        <p>
          <strong>
            You will be signed out at {clockTime(who.expiresAt!)} (in {left(end)})
          </strong>{' '}
          because this console has not been used.
        </p>
      )}
      {capNear && (
        <p>
          <strong>
            Your session ends at {clockTime(who.absoluteExpiresAt!)} (in {left(cap)}).
          </strong>{' '}
          It has reached the longest a session may last and cannot be renewed: sign in again before then, or
          this console stops receiving 911 alerts.
        </p>
      )}
      {idleNear && (
        <button type="button" class="btn" onClick={() => void refreshWho({ background: false })}>
          Stay signed in
        </button>
      )}
      {capNear && (
        <button type="button" class="btn" onClick={props.onSignOut}>
          Sign in again now
        </button>
      )}
    </div>
  );
}

const STATE_TEXT: Record<StreamState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  retrying: 'Reconnecting…',
};

function LiveIndicator() {
  const [state, setState] = useState<StreamState>('connecting');
  useEffect(() => onStreamState(setState), []);
  return (
    <span class={`live live-${state}`} role="status" aria-live="polite" title="Live event stream">
      <span class="dot" aria-hidden="true" />
      {STATE_TEXT[state]}
    </span>
  );
}

function ThemeSwitch() {
  const [choice, setChoice] = useState<ThemeChoice>(storedTheme);
  return (
    <span class="theme-switch">
      <label for="theme-choice">Theme</label>
      <select
        id="theme-choice"
        value={choice}
        onChange={(e) => {
          const v = e.currentTarget.value as ThemeChoice;
          setChoice(v);
          applyTheme(v);
        }}
      >
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </span>
  );
}

function Shell(props: { onSignOut: () => void }) {
  const route = useRoute();
  const [asked, id] = route;
  useEffect(() => {
    void loadWho();
    return () => forgetWho();
  }, []);
  const who = useWho();
  // The first page this role may see when the asked one is not for it (a `sender` opens on Broadcast).
  const allowed = (path: string) => {
    const n = NAV.find((x) => x.path === path);
    return !n || can(...n.may);
  };
  const section = who && !allowed(asked ?? 'calls') ? (NAV.find((n) => can(...n.may))?.path ?? asked) : asked;
  // The live stream and the 911 watch start at once (before the role is known: the alarm comes first) and
  // stop only when GET /api/session says this role may not read events or incidents (a `sender`), rather
  // than failing on every retry and calling the hub unreachable.
  const live = who === undefined || can('events:read');
  const watch = who === undefined || can('incidents:read');
  useEffect(() => (live ? startLive() : undefined), [live]);
  useEffect(() => (watch ? startWatch() : undefined), [watch]);
  const openCount = useOpenCount();
  const me = signedInAs();
  // Move focus to the page title when the page changes (keyboard and screen-reader users); not when the
  // console opens, so that the first Tab stop is "Skip to content". A layout effect: the focus moves as the
  // new title appears, never later, so it cannot take the focus from where the user has already moved it.
  const opened = useRef(false);
  useLayoutEffect(() => {
    const h = document.getElementById('page-title');
    if (opened.current && h && document.activeElement?.tagName !== 'INPUT') h.focus({ preventScroll: true });
    opened.current = true;
    const label = NAV.find((n) => n.path === section)?.label ?? 'Switchboard';
    setBaseTitle(`${label} · Switchboard`);
  }, [section, id]);

  let page = null;
  switch (section) {
    case 'phones':
      page = id ? <PhonePage id={id} /> : <PhonesPage />;
      break;
    case 'broadcast':
      page = <BroadcastPage id={id} />;
      break;
    case 'incidents':
      page = <IncidentsPage id={id} />;
      break;
    case 'pubsub':
      page = <PubSubPage />;
      break;
    case 'schedules':
      page = <SchedulesPage />;
      break;
    case 'audit':
      page = <AuditPage />;
      break;
    case 'settings':
      page = <SettingsPage />;
      break;
    case 'system':
      page = <SystemPage />;
      break;
    default:
      page = <CallsPage />;
  }
  return (
    <div class="app">
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="topbar">
        <span class="brand">Switchboard</span>
        <SoundToggle />
        {live && <LiveIndicator />}
        <span class="who small">
          {me ? `Signed in as ${me}` : 'Signed in with an API key'}
          {who ? ` (${who.role})` : ''}
        </span>
        <ThemeSwitch />
        <button type="button" class="btn btn-quiet" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <div class="alarm-area">
        <SessionBanner onSignOut={props.onSignOut} />
        <ReadinessBanner />
        <AlarmStack />
        <ScreenPops />
      </div>
      <nav class="sidenav" aria-label="Main">
        <ul>
          {NAV.filter((n) => can(...n.may)).map((n) => (
            <li key={n.path}>
              <a
                href={`#/${n.path}`}
                aria-current={section === n.path || (!section && n.path === 'calls') ? 'page' : undefined}
              >
                {n.label}
                {n.path === 'incidents' && openCount > 0 && (
                  <span class="nav-count">
                    {' '}
                    <span aria-hidden="true">{openCount}</span>
                    <span class="sr-only">({openCount} open)</span>
                  </span>
                )}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" class="content" tabIndex={-1}>
        {page}
      </main>
      <HubDownOverlay />
    </div>
  );
}

function App() {
  const [key, setKeyState] = useState<string | null>(getKey);
  useEffect(() => onKeyChange(setKeyState), []);
  if (!key) return <SignIn onSignedIn={(k) => setKey(k)} />;
  return <Shell onSignOut={() => void signOut()} />;
}

render(<App />, document.getElementById('app')!);
