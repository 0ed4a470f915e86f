import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import type { ApiKeyService, CreatedKey, SessionExpiry } from './apikeys.js';
import { AuthError, ConflictError, LimitError, NotFoundError, ValidationError } from './errors.js';
import { AttemptLimiter, reserveAll, SlowDown } from './limiter.js';
import type { Role } from './roles.js';
import type { UserRecord, UserStore } from './store.js';

/**
 * Local users: sign in with a username and password (console or `POST /api/session`) to get a short-lived
 * session token, which is an ordinary API key (`sbk_…`, named `session:<user>`) with an expiry. So every
 * call the console makes is one a user could make with the same key, and the same auth hook checks it.
 *
 * Passwords: scrypt (N=2^15, r=8, p=1, 64-byte output, 16-byte random salt per user), parameters stored
 * in the hash string so they can be raised later; comparison is constant-time. Passwords are never logged.
 */
export const SCRYPT = { N: 32_768, r: 8, p: 1, keyLen: 64, maxmem: 64 * 1024 * 1024 } as const;
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 1024;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export type PublicUser = Omit<UserRecord, 'passwordHash'>;

export function validateUserName(name: string): string {
  const clean = name.trim();
  if (!NAME_RE.test(clean))
    throw new ValidationError(
      'USER_NAME_INVALID',
      'name: 1 to 64 characters: letters, digits, and . _ @ - (starting with a letter or digit)',
      { field: 'name' },
    );
  return clean;
}

export function validatePassword(pw: string): void {
  if (pw.length < PASSWORD_MIN)
    throw new ValidationError('USER_PASSWORD_TOO_SHORT', `password: at least ${PASSWORD_MIN} characters`, {
      field: 'password',
    });
  if (pw.length > PASSWORD_MAX)
    throw new ValidationError('USER_PASSWORD_TOO_LONG', `password: at most ${PASSWORD_MAX} characters`, {
      field: 'password',
    });
}

/** Hashes a password: `scrypt$N$r$p$<salt hex>$<hash hex>`. */
export function hashPassword(pw: string, salt: Buffer = randomBytes(16)): string {
  const { N, r, p, keyLen, maxmem } = SCRYPT;
  const h = scryptSync(pw.normalize('NFC'), salt, keyLen, { N, r, p, maxmem });
  return `scrypt$${N}$${r}$${p}$${salt.toString('hex')}$${h.toString('hex')}`;
}

interface Parsed {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function parseHash(s: string): Parsed | undefined {
  const m = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([0-9a-f]{2,128})\$([0-9a-f]{32,256})$/.exec(s);
  if (!m) return undefined;
  const N = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  // Bounded so a tampered row cannot make verification take unbounded memory or time.
  if (N < 2 || N > 1_048_576 || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  return { N, r, p, salt: Buffer.from(m[4]!, 'hex'), hash: Buffer.from(m[5]!, 'hex') };
}

function scryptAsync(pw: string, p: Parsed): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      pw.normalize('NFC'),
      p.salt,
      p.hash.length,
      { N: p.N, r: p.r, p: p.p, maxmem: 256 * p.N * p.r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

/** Checks a password against a stored hash in constant time (false for a malformed hash). */
export async function verifyPassword(pw: string, stored: string): Promise<boolean> {
  const p = parseHash(stored);
  if (!p || pw.length > PASSWORD_MAX) return false;
  const got = await scryptAsync(pw, p);
  return got.length === p.hash.length && timingSafeEqual(got, p.hash);
}

/** A hash of a random password, verified against when the user does not exist (same work, same timing). */
let dummyHash: string | undefined;

export interface SessionOptions {
  /** How long a session of a user with this role lives (sliding idle expiry, absolute cap). */
  expiryFor: (role: Role) => SessionExpiry;
  /** Sign-in limits (config `auth.signIn`); defaults: 5 per (address, user) and 20 per address per 15 min. */
  windowMinutes?: number;
  maxFailuresPerAddressAndUser?: number;
  maxFailuresPerAddress?: number;
  slowDownAfterFailures?: number;
  slowDownMs?: number;
}

export class UserService {
  constructor(
    private readonly store: UserStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private public(u: UserRecord): PublicUser {
    const { passwordHash: _p, ...rest } = u;
    return rest;
  }

  /** Creates a user with a role (`admin` unless named: the first user of a site is its administrator). */
  async create(name: string, password: string, role: Role = 'admin'): Promise<PublicUser> {
    const clean = validateUserName(name);
    validatePassword(password);
    if (await this.store.get(clean))
      throw new ConflictError('USER_EXISTS', `a user named ${JSON.stringify(clean)} already exists`, {
        field: 'name',
      });
    const rec: UserRecord = {
      name: clean,
      passwordHash: hashPassword(password),
      createdAt: this.now().toISOString(),
      lastLoginAt: null,
      disabledAt: null,
      role,
      source: 'local',
    };
    await this.store.insert(rec);
    return this.public(rec);
  }

  async list(): Promise<PublicUser[]> {
    return (await this.store.list()).map((u) => this.public(u));
  }

  private async must(name: string): Promise<UserRecord> {
    const u = await this.store.get(name.trim());
    if (!u)
      throw new NotFoundError('USER_NOT_FOUND', `no user named ${JSON.stringify(name)}`, { field: 'name' });
    return u;
  }

  /** The user, or NotFoundError (`USER_NOT_FOUND`). */
  async get(name: string): Promise<PublicUser> {
    return this.public(await this.must(name));
  }

  async setPassword(name: string, password: string): Promise<PublicUser> {
    const u = await this.must(name);
    if (u.source === 'oidc')
      throw new ConflictError(
        'USER_FROM_DIRECTORY',
        `${u.name} signs in with the directory and has no password here`,
        { field: 'password' },
      );
    validatePassword(password);
    await this.store.setPassword(u.name, hashPassword(password));
    return this.public(await this.must(u.name));
  }

  /**
   * A directory (OIDC) user signing in: created on first sign-in with no password (it can only sign in
   * through the directory), its role updated from its groups every time. Refuses a name that belongs to
   * a local user (no take-over of a local account) and a user disabled here (`OIDC_USER_DISABLED`).
   */
  async signInFromDirectory(name: string, role: Role): Promise<PublicUser> {
    const clean = validateUserName(name.slice(0, 64).replace(/[^A-Za-z0-9._@-]/g, '_'));
    const u = await this.store.get(clean);
    const at = this.now().toISOString();
    if (!u) {
      await this.store.insert({
        name: clean,
        passwordHash: '!directory',
        createdAt: at,
        lastLoginAt: at,
        disabledAt: null,
        role,
        source: 'oidc',
      });
      return this.public(await this.must(clean));
    }
    if (u.source !== 'oidc')
      throw new AuthError(
        'OIDC_USER_CONFLICT',
        `${clean} is a local user; a directory user of the same name cannot sign in as them`,
      );
    if (u.disabledAt)
      throw new AuthError('OIDC_USER_DISABLED', `${clean} is disabled in Switchboard`, { status: 403 });
    if (u.role !== role) await this.store.setRole(clean, role);
    await this.store.touchLogin(clean, at);
    return this.public(await this.must(clean));
  }

  async setRole(name: string, role: Role): Promise<PublicUser> {
    const u = await this.must(name);
    await this.store.setRole(u.name, role);
    return this.public(await this.must(u.name));
  }

  async setDisabled(name: string, disabled: boolean): Promise<PublicUser> {
    const u = await this.must(name);
    await this.store.setDisabled(u.name, disabled ? (u.disabledAt ?? this.now().toISOString()) : null);
    return this.public(await this.must(u.name));
  }

  /** True when the username and password match an enabled user. Same work whether or not the user exists. */
  async authenticate(name: string, password: string): Promise<PublicUser | undefined> {
    const u = typeof name === 'string' ? await this.store.get(name.trim()) : undefined;
    dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
    const ok = await verifyPassword(password, u?.passwordHash ?? dummyHash);
    if (!ok || !u || u.disabledAt) return undefined;
    await this.store.touchLogin(u.name, this.now().toISOString());
    return this.public(u);
  }
}

/**
 * Sign-in: password check with rate limiting, then a session token (an expiring API key). Each attempt is
 * reserved on the (address, user) and address limiters *before* the password is checked (so parallel
 * guesses are counted), and given back when it succeeds. Failures from anyone feed a global slow-down.
 */
export class SessionService {
  private readonly byAddressUser: AttemptLimiter;
  private readonly byAddress: AttemptLimiter;
  private readonly slowDown: SlowDown;
  constructor(
    private readonly users: UserService,
    private readonly keys: ApiKeyService,
    private readonly opts: SessionOptions,
    private readonly now: () => number = () => Date.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    const windowMs = (opts.windowMinutes ?? 15) * 60_000;
    this.byAddressUser = new AttemptLimiter({ max: opts.maxFailuresPerAddressAndUser ?? 5, windowMs, now });
    this.byAddress = new AttemptLimiter({ max: opts.maxFailuresPerAddress ?? 20, windowMs, now });
    this.slowDown = new SlowDown({
      after: opts.slowDownAfterFailures ?? 50,
      delayMs: opts.slowDownMs ?? 1000,
      windowMs,
      now,
    });
  }

  async signIn(
    name: string,
    password: string,
    address: string,
  ): Promise<CreatedKey & { user: string; role: Role; expiresAt: string }> {
    const pairKey = `${address}\u0000${String(name).trim().toLowerCase().slice(0, 64)}`;
    const wait = reserveAll([
      [this.byAddressUser, pairKey],
      [this.byAddress, address],
    ]);
    if (wait > 0)
      throw new LimitError('SIGNIN_RATE_LIMITED', 'too many failed sign-in attempts; try again later', {
        details: { retryAfterSeconds: Math.ceil(wait / 1000) },
      });
    const delay = this.slowDown.delayMs();
    if (delay > 0) await this.sleep(delay);
    const u = await this.users.authenticate(name, password);
    if (!u) {
      this.slowDown.fail();
      throw new AuthError('SIGNIN_FAILED', 'invalid username or password');
    }
    this.byAddressUser.reset(pairKey);
    this.byAddress.release(address);
    const k = await this.keys.create(`session:${u.name}`, {
      createdBy: u.name,
      session: this.opts.expiryFor(u.role),
    });
    return { ...k, user: u.name, role: u.role, expiresAt: k.expiresAt ?? '' };
  }
}
