import { render } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { askNotifications, enableSound, setBaseTitle } from './alarm.js';
import {
  ApiError,
  api,
  getKey,
  onKeyChange,
  onStreamState,
  type StreamState,
  setKey,
  signedInAs,
  signInWithPassword,
  signOut,
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
import { BroadcastPage } from './pages/broadcast.js';
import { CallsPage } from './pages/calls.js';
import { IncidentsPage } from './pages/incidents.js';
import { PhonePage } from './pages/phone.js';
import { PhonesPage } from './pages/phones.js';
import { PubSubPage } from './pages/pubsub.js';
import { SettingsPage } from './pages/settings.js';
import { SystemPage } from './pages/system.js';
import { can, forgetWho, loadWho, useWho } from './session.js';
import { applyTheme, storedTheme, type ThemeChoice } from './theme.js';
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
  { path: 'incidents', label: 'Incidents', may: ['incidents:read'] },
  { path: 'pubsub', label: 'PubSub', may: ['pubsub:read'] },
  { path: 'settings', label: 'Settings files', may: ['settings:read'] },
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
          <strong>Your session ended: you are signed out.</strong> This console is NOT receiving 911 alerts
          until you sign in again.
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
  const [section, id] = route;
  useEffect(() => {
    void loadWho();
    return () => forgetWho();
  }, []);
  const who = useWho();
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
        <LiveIndicator />
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
