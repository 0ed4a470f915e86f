// The console's only way to talk to the hub: ordinary /api calls with the signed-in API key.

const KEY_STORAGE = 'switchboard.apiKey';
/** Set when the stored key is a session token from a username/password sign-in (revoked on sign-out). */
const SESSION_STORAGE = 'switchboard.session';
/** The local user a session token belongs to (shown as "signed in as"; the hub knows it from the token). */
const USER_STORAGE = 'switchboard.user';

/** Why the console is on the sign-in page: the hub refused the key or session (expired, revoked). */
export type SignedOutReason = 'ended' | null;
let signedOutReason: SignedOutReason = null;
export function signOutReason(): SignedOutReason {
  return signedOutReason;
}

/** What the hub said when it ended the session (`SESSION_EXPIRED` / `SESSION_REVOKED` and `details.reason`). */
export interface EndedBecause {
  code: string;
  reason: string | null;
}
let endedBecause: EndedBecause | null = null;
export function signOutBecause(): EndedBecause | null {
  return signedOutReason === 'ended' ? endedBecause : null;
}

/** The words for why a session ended (docs/console.md, "Why signed out"). */
export function endedText(b: EndedBecause | null): string | null {
  if (!b) return null;
  const words: Record<string, string> = {
    idle: 'it was not used for a while (idle timeout)',
    'max-age': 'it reached its maximum length; every session must sign in again after it',
    'signed-out': 'it was signed out (in another tab or window)',
    revoked: 'an administrator ended it',
    'user-disabled': 'an administrator disabled your user',
    'password-changed': 'your password was changed',
  };
  if (b.reason && words[b.reason]) return `Your session ended because ${words[b.reason]}.`;
  if (b.code === 'APIKEY_REVOKED') return 'This API key was revoked.';
  if (b.code === 'APIKEY_EXPIRED') return 'This API key has expired.';
  return null;
}

/** The signed-in local user, or null when signed in with an API key (or not at all). */
export function signedInAs(): string | null {
  try {
    return sessionStorage.getItem(USER_STORAGE);
  } catch {
    return null;
  }
}

export function getKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function setKey(
  key: string | null,
  o: { session?: boolean; user?: string; reason?: SignedOutReason } = {},
): void {
  signedOutReason = key ? null : (o.reason ?? null);
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
    if (key && o.session) sessionStorage.setItem(SESSION_STORAGE, '1');
    else sessionStorage.removeItem(SESSION_STORAGE);
    if (key && o.user) sessionStorage.setItem(USER_STORAGE, o.user);
    else sessionStorage.removeItem(USER_STORAGE);
  } catch {
    // storage disabled: the key lives only as long as the page
  }
  for (const l of keyListeners) l(key);
}

function isSession(): boolean {
  try {
    return sessionStorage.getItem(SESSION_STORAGE) === '1';
  } catch {
    return false;
  }
}

/**
 * Signs in with a local user: `POST /api/session` answers a session token, which the console then uses
 * exactly like an API key (`Authorization: Bearer …`).
 */
export async function signInWithPassword(username: string, password: string): Promise<void> {
  const s = await api<{ token: string }>('/api/session', { method: 'POST', body: { username, password } });
  setKey(s.token, { session: true, user: username });
}

/** Signs out: a session token is revoked on the hub (`DELETE /api/session`); an API key is only forgotten. */
export async function signOut(): Promise<void> {
  if (isSession() && getKey()) {
    try {
      await api('/api/session', { method: 'DELETE' });
    } catch {
      // already expired or revoked: nothing left to revoke
    }
  }
  setKey(null);
}

const keyListeners = new Set<(key: string | null) => void>();
export function onKeyChange(l: (key: string | null) => void): () => void {
  keyListeners.add(l);
  return () => keyListeners.delete(l);
}

/** An error answer of the API (`{ error: { code, message, field? } }`) or a network failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  /** The route does not exist on this hub (its module is not installed yet). */
  get missing(): boolean {
    return this.status === 404 && this.code === 'ROUTE_NOT_FOUND';
  }
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  query?: Record<string, string | number | boolean | undefined>;
  /** Use this key instead of the stored one (sign-in check). */
  key?: string;
  /**
   * A request the console makes by itself (polls, the expiry check): `X-Switchboard-Background: 1`, so it
   * does not renew the session of an unattended desk.
   */
  background?: boolean;
}

export function apiUrl(path: string, query?: RequestOptions['query']): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return `${path}${s ? (path.includes('?') ? '&' : '?') + s : ''}`;
}

async function send(path: string, o: RequestOptions): Promise<Response> {
  const key = o.key ?? getKey();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  if (o.background) headers['x-switchboard-background'] = '1';
  try {
    return await fetch(apiUrl(path, o.query), {
      method: o.method ?? 'GET',
      headers,
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', `The hub did not answer (${(e as Error).message}).`);
  }
}

/** Answers to a sign-in (a typed key checked, or POST /api/session): a 401 there is not a session ending. */
const signIns = new WeakSet<Response>();
function isSignIn(res: Response): boolean {
  return signIns.has(res);
}

async function fail(res: Response): Promise<never> {
  let code = `HTTP_${res.status}`;
  let message = `${res.status} ${res.statusText}`;
  let field: string | undefined;
  let reason: string | null = null;
  try {
    const body = (await res.json()) as {
      error?: { code?: string; message?: string; field?: string; details?: { reason?: unknown } };
    };
    if (body?.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
      field = body.error.field;
      if (typeof body.error.details?.reason === 'string') reason = body.error.details.reason;
    }
  } catch {
    // not JSON
  }
  // The hub's answer for a route that does not exist (the module behind it is not installed).
  if (res.status === 404 && code === 'NOT_FOUND' && /^no route for /.test(message)) code = 'ROUTE_NOT_FOUND';
  // The sign-in check (GET /api/session with a typed key) and the sign-in itself do not sign out; the expiry
  // check of a signed-in console does (GET /api/session with the stored key).
  const signingIn = isSignIn(res);
  // Only the first refusal says why (later ones, sent without a key as the console stops, would not).
  if (res.status === 401 && !res.url.endsWith('/api/system') && !signingIn && getKey()) {
    endedBecause = { code, reason };
    setKey(null, { reason: 'ended' });
  }
  throw new ApiError(res.status, code, message, field);
}

/** Calls the API; resolves with the parsed JSON (undefined for 204). */
export async function api<T>(path: string, o: RequestOptions = {}): Promise<T> {
  const res = await send(path, o);
  if (o.key !== undefined || (o.method === 'POST' && path.startsWith('/api/session'))) signIns.add(res);
  if (!res.ok) return fail(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A hub event as stored and streamed by /api/events. */
export interface HubEvent {
  seq: number;
  id: string;
  time: string;
  source: string;
  type: string;
  data: Record<string, unknown>;
}

export type StreamState = 'connecting' | 'live' | 'retrying';

/**
 * The hub writes a comment line every 15 s on the stream: nothing for this long means the connection is
 * dead (a hub or network gone without closing it), so the console reconnects and says so.
 */
export const STREAM_SILENCE_MS = 40_000;

/** Reads the next chunk, or fails when the stream stays silent for STREAM_SILENCE_MS. */
async function readOrSilence<T>(
  reader: ReadableStreamDefaultReader<T>,
): Promise<ReadableStreamReadResult<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      reader.read(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          void reader.cancel().catch(() => {});
          reject(new Error(`nothing from the hub for ${STREAM_SILENCE_MS / 1000} s`));
        }, STREAM_SILENCE_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Follows /api/events/stream with fetch() and a streaming body reader (EventSource cannot send the
 * Authorization header). Resumes with Last-Event-ID after a drop; backs off up to 10 s.
 */
export function followEvents(o: {
  after?: number;
  types?: string[];
  onEvent: (e: HubEvent) => void;
  onState?: (s: StreamState, detail?: string) => void;
  signal: AbortSignal;
}): void {
  let last = o.after;
  let delay = 500;
  const loop = async () => {
    while (!o.signal.aborted) {
      o.onState?.('connecting');
      try {
        const key = getKey();
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        if (key) headers.authorization = `Bearer ${key}`;
        if (last !== undefined) headers['last-event-id'] = String(last);
        const res = await fetch(apiUrl('/api/events/stream', { type: o.types?.join(',') }), {
          headers,
          signal: o.signal,
        });
        if (res.status === 401) {
          await fail(res).catch(() => {});
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        o.onState?.('live');
        delay = 500;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await readOrSilence(reader);
          if (done) break;
          buf += value;
          let i = buf.indexOf('\n\n');
          while (i >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            i = buf.indexOf('\n\n');
            let data = '';
            for (const line of block.split('\n')) if (line.startsWith('data: ')) data += line.slice(6);
            if (!data) continue;
            try {
              const e = JSON.parse(data) as HubEvent;
              last = e.seq;
              o.onEvent(e);
            } catch {
              // a malformed block: skip it
            }
          }
          if (buf.length > 8 * 1024 * 1024) throw new Error('event too large');
        }
        throw new Error('stream closed');
      } catch (e) {
        if (o.signal.aborted) return;
        o.onState?.('retrying', (e as Error).message);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    }
  };
  void loop();
}

/** One shared event stream for the whole console; pages subscribe to it. */
type Listener = (e: HubEvent) => void;
const listeners = new Set<Listener>();
const stateListeners = new Set<(s: StreamState) => void>();
let controller: AbortController | null = null;
let currentState: StreamState = 'connecting';

export function startLive(): () => void {
  controller?.abort();
  const c = new AbortController();
  controller = c;
  void (async () => {
    // Start from the newest event so the console only streams what happens from now on.
    let after = 0;
    try {
      after = (await api<{ last: number }>('/api/events', { query: { limit: 1 }, signal: c.signal })).last;
    } catch {
      after = 0;
    }
    followEvents({
      after,
      signal: c.signal,
      onEvent: (e) => {
        for (const l of listeners) l(e);
      },
      onState: (s) => {
        currentState = s;
        for (const l of stateListeners) l(s);
      },
    });
  })();
  return () => c.abort();
}

export function subscribe(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function onStreamState(l: (s: StreamState) => void): () => void {
  stateListeners.add(l);
  l(currentState);
  return () => stateListeners.delete(l);
}
