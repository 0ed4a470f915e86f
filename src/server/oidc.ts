import { randomBytes } from 'node:crypto';
import type * as Client from 'openid-client';
import type { Config } from '../config/schema.js';
import { AuthError, NotFoundError, ValidationError } from '../core/errors.js';
import { ROLES, type Role } from '../core/roles.js';

/**
 * Sign-in with the organisation's directory: OpenID Connect, authorisation code flow with PKCE (S256),
 * state and nonce, using the maintained `openid-client` library for every protocol check (issuer,
 * audience, signature, nonce, state, PKCE). The directory's groups (`auth.oidc.groupsClaim`) are mapped
 * to a role by `auth.oidc.roleMap`; a user in no mapped group is refused (unless `defaultRole`).
 *
 * Flow: `GET /api/session/oidc/start` → redirect to the provider → `GET /api/session/oidc/callback`
 * (code, state) → the hub makes a session and redirects to the console with a one-time code in the URL
 * fragment (`#oidc=<code>`) → the console trades it for the session token with
 * `POST /api/session/oidc/exchange`. The token itself never appears in a URL.
 *
 * Sign-ins in progress and the one-time codes live in this process (a hub is one process per data
 * directory), bounded by `auth.oidc.maxPendingLogins` and their lifetimes.
 */
export type OidcConfig = Config['auth']['oidc'];

export interface DirectoryUser {
  name: string;
  role: Role;
  groups: string[];
  subject: string;
}

interface Pending {
  verifier: string;
  nonce: string;
  returnTo: string;
  expiresAt: number;
}

/** How long the one-time code of a finished sign-in may be traded for the session token. */
const EXCHANGE_TTL_MS = 60_000;

/** A path on this hub to return to after sign-in: `/…`, never `//host` or a scheme (no open redirect). */
export function safeReturnPath(p: string | undefined): string {
  if (!p?.startsWith('/') || p.startsWith('//') || p.startsWith('/\\') || /[\r\n]/.test(p)) return '/';
  return p.slice(0, 512);
}

/** The strongest role among the mapped groups (ROLES order: admin, operator, sender, viewer). */
export function roleForGroups(
  groups: readonly string[],
  cfg: Pick<OidcConfig, 'roleMap' | 'defaultRole'>,
): Role | undefined {
  const mapped = groups.map((g) => cfg.roleMap[g]).filter((r): r is Role => r !== undefined);
  for (const r of ROLES) if (mapped.includes(r)) return r;
  return cfg.defaultRole;
}

function claimList(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  if (typeof v === 'string') return [v];
  return [];
}

let clientLib: Promise<typeof Client> | undefined;
/** openid-client, loaded on the first sign-in: a hub without directory sign-in does not pay for it at start-up. */
function openidClient(): Promise<typeof Client> {
  clientLib ??= import('openid-client');
  return clientLib;
}

export class OidcSignIn {
  private config: Promise<Client.Configuration> | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly codes = new Map<string, { value: unknown; expiresAt: number }>();

  constructor(
    private readonly cfg: OidcConfig,
    private readonly redirectUrl: () => string,
    private readonly now: () => number,
  ) {
    if (!cfg.enabled) return;
    const bad = !cfg.issuer
      ? 'auth.oidc.issuer: set the issuer URL of the OpenID provider'
      : !URL.canParse(cfg.issuer)
        ? 'auth.oidc.issuer: not a URL'
        : !cfg.allowHttp && new URL(cfg.issuer).protocol !== 'https:'
          ? 'auth.oidc.issuer: must be https:// (auth.oidc.allowHttp allows http for tests)'
          : !cfg.clientId
            ? 'auth.oidc.clientId: set the client id registered at the provider'
            : !cfg.scopes.split(/\s+/).includes('openid')
              ? 'auth.oidc.scopes: must include openid'
              : undefined;
    if (bad) throw new ValidationError('CONFIG_INVALID', bad, { field: bad.slice(0, bad.indexOf(':')) });
  }

  get enabled(): boolean {
    return this.cfg.enabled;
  }

  private must(): void {
    if (!this.cfg.enabled)
      throw new NotFoundError(
        'OIDC_DISABLED',
        'sign-in with the directory is not configured (auth.oidc.enabled)',
      );
  }

  /** Reads the provider's metadata once (again after a failure). */
  private discover(): Promise<Client.Configuration> {
    if (!this.config) {
      const c = this.cfg;
      this.config = openidClient()
        .then((client) =>
          client.discovery(
            new URL(c.issuer),
            c.clientId,
            undefined,
            c.clientSecret ? client.ClientSecretBasic(c.clientSecret) : client.None(),
            {
              timeout: Math.ceil(c.timeoutMs / 1000),
              ...(c.allowHttp ? { execute: [client.allowInsecureRequests] } : {}),
            },
          ),
        )
        .catch((e: unknown) => {
          this.config = undefined;
          throw new AuthError(
            'OIDC_PROVIDER_UNREACHABLE',
            `the OpenID provider could not be read: ${String((e as Error).message ?? e).slice(0, 200)}`,
            {
              status: 502,
              cause: e,
            },
          );
        });
    }
    return this.config;
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, p] of this.pending) if (p.expiresAt <= t) this.pending.delete(k);
    for (const [k, c] of this.codes) if (c.expiresAt <= t) this.codes.delete(k);
    while (this.pending.size >= this.cfg.maxPendingLogins) {
      const oldest = this.pending.keys().next().value;
      if (oldest === undefined) break;
      this.pending.delete(oldest);
    }
  }

  /** Starts a sign-in: the provider URL to send the browser to. */
  async start(returnTo: string | undefined): Promise<URL> {
    this.must();
    const config = await this.discover();
    const client = await openidClient();
    this.sweep();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    this.pending.set(state, {
      verifier,
      nonce,
      returnTo: safeReturnPath(returnTo),
      expiresAt: this.now() + this.cfg.loginTimeoutSeconds * 1000,
    });
    return client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUrl(),
      scope: this.cfg.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
  }

  /**
   * Finishes a sign-in from the callback URL (code and state): the checked identity and its role, and
   * where to send the browser. Throws AuthError `OIDC_*` (401) for anything wrong or refused.
   */
  async finish(callback: URL): Promise<{ user: DirectoryUser; returnTo: string }> {
    this.must();
    const state = callback.searchParams.get('state') ?? '';
    const p = this.pending.get(state);
    if (!p || p.expiresAt <= this.now()) {
      this.pending.delete(state);
      throw new AuthError('OIDC_STATE_UNKNOWN', 'this sign-in is unknown or took too long; start again');
    }
    this.pending.delete(state);
    const err = callback.searchParams.get('error');
    if (err) throw new AuthError('OIDC_DENIED', `the directory refused the sign-in (${err.slice(0, 64)})`);
    const config = await this.discover();
    const client = await openidClient();
    let claims: Record<string, unknown>;
    let tokens: Awaited<ReturnType<typeof Client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(
        config,
        new URL(`${this.redirectUrl()}${callback.search}`),
        { pkceCodeVerifier: p.verifier, expectedState: state, expectedNonce: p.nonce, idTokenExpected: true },
      );
      claims = { ...(tokens.claims() ?? {}) };
    } catch (e) {
      throw new AuthError(
        'OIDC_TOKEN_REJECTED',
        `the sign-in could not be verified: ${String((e as Error).message ?? e).slice(0, 200)}`,
        {
          cause: e,
        },
      );
    }
    const sub = String(claims.sub ?? '');
    if (!(this.cfg.groupsClaim in claims) || !(this.cfg.usernameClaim in claims)) {
      try {
        const info = await client.fetchUserInfo(config, tokens.access_token, sub);
        claims = { ...info, ...claims };
      } catch (e) {
        throw new AuthError('OIDC_USERINFO_FAILED', `the directory's user information could not be read`, {
          cause: e,
        });
      }
    }
    const rawName = [claims[this.cfg.usernameClaim], claims.email, sub].find(
      (v) => typeof v === 'string' && v !== '',
    );
    const groups = claimList(claims[this.cfg.groupsClaim]);
    const role = roleForGroups(groups, this.cfg);
    if (!role)
      throw new AuthError(
        'OIDC_NO_ROLE',
        'your directory groups give no role in Switchboard (ask an administrator: auth.oidc.roleMap)',
        { status: 403, details: { groups: groups.slice(0, 50) } },
      );
    return { user: { name: String(rawName), role, groups, subject: sub }, returnTo: p.returnTo };
  }

  /** A one-time code (single use, 60 s) standing for `value` (the session), for the URL fragment. */
  issueCode(value: unknown): string {
    this.sweep();
    const code = randomBytes(32).toString('base64url');
    this.codes.set(code, { value, expiresAt: this.now() + EXCHANGE_TTL_MS });
    return code;
  }

  /** Trades a one-time code for what it stands for; any code works once, within 60 s. */
  redeem(code: string): unknown {
    const c = this.codes.get(code);
    this.codes.delete(code);
    if (!c || c.expiresAt <= this.now())
      throw new AuthError(
        'OIDC_CODE_INVALID',
        'this sign-in code is unknown, used or expired; sign in again',
      );
    return c.value;
  }
}
