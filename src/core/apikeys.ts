import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthError, NotFoundError, ValidationError } from './errors.js';
import type { Permission, Role } from './roles.js';
import type { ApiKeyRecord, ApiKeyStore } from './store.js';

/**
 * API keys: `sbk_<id>_<secret>`. The secret has 256 bits of entropy, so a salted SHA-256 is a sound
 * at-rest hash (nothing to brute-force) and cheap enough to check on every request; comparison is
 * constant-time. The clear key is returned once, at creation.
 */
export interface CreatedKey {
  id: string;
  name: string;
  key: string;
  prefix: string;
  createdAt: string;
  /** Set for session tokens (sign-in with a local user). */
  expiresAt?: string;
  /** The local user the key acts for (sessions, and keys created with a session); absent otherwise. */
  createdBy?: string;
  /** Role keys: the role (`admin` unless asked otherwise). */
  role?: Role;
  /** Scoped keys: their permissions. */
  scopes?: Permission[];
}

/** A session's expiry: it slides by `idleMs` on each use, never past `maxMs` after sign-in. */
export interface SessionExpiry {
  idleMs: number;
  maxMs: number;
}

/** A verified key: who presented it. */
export interface VerifiedKey {
  id: string;
  name: string;
  /** The local user it acts for, if any (revoked with that user). */
  createdBy: string | null;
  /** Role keys: their role (config keys are `admin`); sessions: null (their user's role applies). */
  role: Role | null;
  /** Scoped keys: their permissions. */
  scopes: Permission[] | null;
  /** Sessions: when it expires unless used again, and its absolute cap. */
  expiresAt?: string;
  absoluteExpiresAt?: string;
}

/** Sessions are keys named `session:<user>`. */
export function isSessionName(name: string): boolean {
  return name.startsWith('session:');
}

/** Sliding expiry is written back at most this often per session (not on every request). */
const EXTEND_GRANULARITY_MS = 60_000;

export type PublicKeyInfo = Omit<ApiKeyRecord, 'hash' | 'salt'>;

const KEY_RE = /^sbk_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$/;

function digest(salt: string, secret: string): Buffer {
  return createHash('sha256').update(salt).update(':').update(secret).digest();
}

export class ApiKeyService {
  /** Keys from configuration (`auth.apiKeys`), hashed in memory at start-up. */
  private staticKeys: Array<{ salt: string; hash: Buffer }>;

  constructor(
    private readonly store: ApiKeyStore,
    staticKeys: string[] = [],
    private readonly now: () => Date = () => new Date(),
  ) {
    this.staticKeys = staticKeys.map((k) => {
      const salt = randomBytes(16).toString('hex');
      return { salt, hash: digest(salt, k) };
    });
  }

  /** Revocation listeners (long-lived streams end when their credential is revoked in this process). */
  private readonly revokeListeners = new Set<() => void>();

  /** Calls `cb` after any key is revoked here; returns the unsubscribe function. */
  onRevoke(cb: () => void): () => void {
    this.revokeListeners.add(cb);
    return () => this.revokeListeners.delete(cb);
  }

  private revoked(): void {
    for (const cb of this.revokeListeners) cb();
  }

  /**
   * Keys or users were changed by another hub or process (core/config-sync.ts): the revocation listeners
   * check their credential again, so a stream opened with a key revoked elsewhere ends too.
   */
  changedElsewhere(): void {
    this.revoked();
  }

  /**
   * Creates a key; `opts.expiresAt` makes it a session token that stops working at that time (with
   * `opts.session`, a sliding expiry: it moves on each use, never past the absolute cap);
   * `opts.createdBy` records the local user it acts for, so disabling that user revokes it. A key has a
   * role (default `admin`) or, with `opts.scopes`, only those permissions; sessions have neither (their
   * user's current role applies).
   */
  async create(
    name: string,
    opts: {
      expiresAt?: Date;
      createdBy?: string | null;
      role?: Role;
      scopes?: Permission[];
      session?: SessionExpiry;
    } = {},
  ): Promise<CreatedKey> {
    const clean = name.trim();
    if (!clean || clean.length > 100)
      throw new ValidationError('APIKEY_NAME_INVALID', 'name: must be 1 to 100 characters', {
        field: 'name',
      });
    const id = randomBytes(6)
      .toString('base64url')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, 'x')
      .slice(0, 8);
    const secret = randomBytes(32).toString('base64url');
    const salt = randomBytes(16).toString('hex');
    const now = this.now();
    const createdAt = now.toISOString();
    const prefix = `sbk_${id}`;
    const session = isSessionName(clean);
    if (!session && opts.role && opts.scopes)
      throw new ValidationError('APIKEY_ROLE_AND_SCOPES', 'a key has a role or scopes, not both', {
        field: 'scopes',
      });
    const role = session || opts.scopes ? null : (opts.role ?? 'admin');
    const scopes = session ? null : (opts.scopes ?? null);
    let expiresAt = opts.expiresAt ?? null;
    let absoluteExpiresAt: Date | null = opts.expiresAt ?? null;
    if (opts.session) {
      absoluteExpiresAt = new Date(now.getTime() + opts.session.maxMs);
      expiresAt = new Date(Math.min(now.getTime() + opts.session.idleMs, absoluteExpiresAt.getTime()));
    }
    await this.store.insert({
      id,
      name: clean,
      prefix,
      hash: digest(salt, secret).toString('hex'),
      salt,
      createdAt,
      lastUsedAt: null,
      revokedAt: null,
      expiresAt: expiresAt ? expiresAt.toISOString() : null,
      createdBy: opts.createdBy ?? null,
      role,
      scopes,
      idleSeconds: opts.session ? Math.round(opts.session.idleMs / 1000) : null,
      absoluteExpiresAt: absoluteExpiresAt ? absoluteExpiresAt.toISOString() : null,
    });
    return {
      id,
      name: clean,
      key: `sbk_${id}_${secret}`,
      prefix,
      createdAt,
      ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
      ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
      ...(role ? { role } : {}),
      ...(scopes ? { scopes } : {}),
    };
  }

  /** Revokes every live key acting for `user` (its sessions and the keys they created); answers how many. */
  async revokeCreatedBy(user: string, reason = 'user-disabled'): Promise<number> {
    const n = await this.store.revokeCreatedBy(user, this.now().toISOString(), reason);
    if (n > 0) this.revoked();
    return n;
  }

  /** Ends every open session of `user` (after a password change, say); answers how many. */
  async revokeSessionsOf(user: string, reason: string): Promise<number> {
    const at = this.now().getTime();
    let n = 0;
    for (const k of await this.store.list()) {
      const live = !k.expiresAt || Date.parse(k.expiresAt) > at;
      if (
        k.name === `session:${user}` &&
        !k.revokedAt &&
        live &&
        (await this.store.revoke(k.id, new Date(at).toISOString(), reason))
      )
        n++;
    }
    if (n > 0) this.revoked();
    return n;
  }

  /** True while key `id` may still be used (not revoked, not expired); config keys always are. */
  async isLive(id: string): Promise<boolean> {
    if (id === 'config') return true;
    const rec = await this.store.get(id);
    if (!rec || rec.revokedAt) return false;
    return !rec.expiresAt || Date.parse(rec.expiresAt) > this.now().getTime();
  }

  async list(): Promise<PublicKeyInfo[]> {
    return (await this.store.list()).map(({ hash: _h, salt: _s, ...rest }) => rest);
  }

  /** Revokes a key or session; `reason` is shown to whoever presents it afterwards (`SESSION_REVOKED`). */
  async revoke(idOrPrefix: string, reason = 'revoked'): Promise<PublicKeyInfo> {
    const id = idOrPrefix.replace(/^sbk_/, '').split('_')[0] ?? '';
    const k = await this.store.get(id);
    if (!k)
      throw new NotFoundError('APIKEY_NOT_FOUND', `no API key with id ${JSON.stringify(idOrPrefix)}`, {
        field: 'id',
      });
    await this.store.revoke(id, this.now().toISOString(), reason);
    this.revoked();
    const { hash: _h, salt: _s, ...rest } = (await this.store.get(id)) ?? k;
    return rest;
  }

  /**
   * Checks a presented key. Returns who it is, or throws AuthError (`APIKEY_MISSING`, `APIKEY_INVALID`,
   * `APIKEY_REVOKED`, `APIKEY_EXPIRED`; for session tokens `SESSION_REVOKED` with the reason and
   * `SESSION_EXPIRED`). Never says which part was wrong beyond that. A session's use slides its expiry
   * unless `opts.renew` is false (background polls of an unattended console must not keep it alive).
   */
  async verify(presented: string | undefined, opts: { renew?: boolean } = {}): Promise<VerifiedKey> {
    if (!presented)
      throw new AuthError('APIKEY_MISSING', 'missing API key: send Authorization: Bearer <key>');
    for (const s of this.staticKeys) {
      const h = digest(s.salt, presented);
      if (timingSafeEqual(h, s.hash))
        return { id: 'config', name: 'config', createdBy: null, role: 'admin', scopes: null };
    }
    const m = KEY_RE.exec(presented);
    const rec = m ? await this.store.get(m[1]!) : undefined;
    // Hash even when the id is unknown so timing does not reveal which ids exist.
    const expected = rec ? Buffer.from(rec.hash, 'hex') : digest('x', 'y');
    const got = digest(rec?.salt ?? 'z', m?.[2] ?? presented);
    const ok = timingSafeEqual(got, expected) && rec !== undefined;
    if (!ok || !rec) throw new AuthError('APIKEY_INVALID', 'invalid API key');
    const session = isSessionName(rec.name);
    if (rec.revokedAt) {
      const reason = rec.revokedReason ?? 'revoked';
      if (session)
        throw new AuthError('SESSION_REVOKED', `session ${rec.prefix} was ended (${reason}); sign in again`, {
          details: { reason, revokedAt: rec.revokedAt },
        });
      throw new AuthError('APIKEY_REVOKED', `API key ${rec.prefix} was revoked at ${rec.revokedAt}`);
    }
    const nowMs = this.now().getTime();
    const at = new Date(nowMs).toISOString();
    if (rec.expiresAt && Date.parse(rec.expiresAt) <= nowMs) {
      const capped = rec.absoluteExpiresAt !== null && rec.absoluteExpiresAt === rec.expiresAt;
      throw new AuthError(
        session ? 'SESSION_EXPIRED' : 'APIKEY_EXPIRED',
        `session ${rec.prefix} expired at ${rec.expiresAt}; sign in again`,
        session ? { details: { reason: capped ? 'max-age' : 'idle', expiredAt: rec.expiresAt } } : {},
      );
    }
    let expiresAt = rec.expiresAt ?? undefined;
    if (opts.renew !== false && rec.idleSeconds && rec.expiresAt && rec.absoluteExpiresAt) {
      const next = Math.min(nowMs + rec.idleSeconds * 1000, Date.parse(rec.absoluteExpiresAt));
      if (next - Date.parse(rec.expiresAt) >= Math.min(EXTEND_GRANULARITY_MS, rec.idleSeconds * 500)) {
        expiresAt = new Date(next).toISOString();
        await this.store.extend(rec.id, expiresAt, at);
      }
    }
    if (expiresAt === rec.expiresAt && (!rec.lastUsedAt || rec.lastUsedAt.slice(0, 16) !== at.slice(0, 16)))
      await this.store.touch(rec.id, at);
    return {
      id: rec.id,
      name: rec.name,
      createdBy: rec.createdBy ?? null,
      role: rec.role ?? null,
      scopes: rec.scopes ?? null,
      ...(expiresAt ? { expiresAt } : {}),
      ...(rec.absoluteExpiresAt ? { absoluteExpiresAt: rec.absoluteExpiresAt } : {}),
    };
  }
}
