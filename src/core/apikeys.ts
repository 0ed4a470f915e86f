import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthError, NotFoundError, ValidationError } from './errors.js';
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
}

/** A verified key: who presented it. */
export interface VerifiedKey {
  id: string;
  name: string;
  /** The local user it acts for, if any (revoked with that user). */
  createdBy: string | null;
}

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
   * Creates a key; `opts.expiresAt` makes it a session token that stops working at that time;
   * `opts.createdBy` records the local user it acts for, so disabling that user revokes it.
   */
  create(name: string, opts: { expiresAt?: Date; createdBy?: string | null } = {}): CreatedKey {
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
    const createdAt = this.now().toISOString();
    const prefix = `sbk_${id}`;
    this.store.insert({
      id,
      name: clean,
      prefix,
      hash: digest(salt, secret).toString('hex'),
      salt,
      createdAt,
      lastUsedAt: null,
      revokedAt: null,
      expiresAt: opts.expiresAt ? opts.expiresAt.toISOString() : null,
      createdBy: opts.createdBy ?? null,
    });
    return {
      id,
      name: clean,
      key: `sbk_${id}_${secret}`,
      prefix,
      createdAt,
      ...(opts.expiresAt ? { expiresAt: opts.expiresAt.toISOString() } : {}),
      ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
    };
  }

  /** Revokes every live key acting for `user` (its sessions and the keys they created); answers how many. */
  revokeCreatedBy(user: string): number {
    const n = this.store.revokeCreatedBy(user, this.now().toISOString());
    if (n > 0) this.revoked();
    return n;
  }

  /** True while key `id` may still be used (not revoked, not expired); config keys always are. */
  isLive(id: string): boolean {
    if (id === 'config') return true;
    const rec = this.store.get(id);
    if (!rec || rec.revokedAt) return false;
    return !rec.expiresAt || Date.parse(rec.expiresAt) > this.now().getTime();
  }

  list(): PublicKeyInfo[] {
    return this.store.list().map(({ hash: _h, salt: _s, ...rest }) => rest);
  }

  revoke(idOrPrefix: string): PublicKeyInfo {
    const id = idOrPrefix.replace(/^sbk_/, '').split('_')[0] ?? '';
    const k = this.store.get(id);
    if (!k)
      throw new NotFoundError('APIKEY_NOT_FOUND', `no API key with id ${JSON.stringify(idOrPrefix)}`, {
        field: 'id',
      });
    this.store.revoke(id, this.now().toISOString());
    this.revoked();
    const { hash: _h, salt: _s, ...rest } = this.store.get(id)!;
    return rest;
  }

  /**
   * Checks a presented key. Returns who it is, or throws AuthError (`APIKEY_MISSING`, `APIKEY_INVALID`,
   * `APIKEY_REVOKED`, `APIKEY_EXPIRED`). Never says which part was wrong beyond that.
   */
  verify(presented: string | undefined): VerifiedKey {
    if (!presented)
      throw new AuthError('APIKEY_MISSING', 'missing API key: send Authorization: Bearer <key>');
    for (const s of this.staticKeys) {
      const h = digest(s.salt, presented);
      if (timingSafeEqual(h, s.hash)) return { id: 'config', name: 'config', createdBy: null };
    }
    const m = KEY_RE.exec(presented);
    const rec = m ? this.store.get(m[1]!) : undefined;
    // Hash even when the id is unknown so timing does not reveal which ids exist.
    const expected = rec ? Buffer.from(rec.hash, 'hex') : digest('x', 'y');
    const got = digest(rec?.salt ?? 'z', m?.[2] ?? presented);
    const ok = timingSafeEqual(got, expected) && rec !== undefined;
    if (!ok || !rec) throw new AuthError('APIKEY_INVALID', 'invalid API key');
    if (rec.revokedAt)
      throw new AuthError('APIKEY_REVOKED', `API key ${rec.prefix} was revoked at ${rec.revokedAt}`);
    const at = this.now().toISOString();
    if (rec.expiresAt && Date.parse(rec.expiresAt) <= Date.parse(at))
      throw new AuthError(
        'APIKEY_EXPIRED',
        `session ${rec.prefix} expired at ${rec.expiresAt}; sign in again`,
      );
    if (!rec.lastUsedAt || rec.lastUsedAt.slice(0, 16) !== at.slice(0, 16)) this.store.touch(rec.id, at);
    return { id: rec.id, name: rec.name, createdBy: rec.createdBy ?? null };
  }
}
