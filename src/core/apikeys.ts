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

  /** Creates a key; `opts.expiresAt` makes it a session token that stops working at that time. */
  create(name: string, opts: { expiresAt?: Date } = {}): CreatedKey {
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
    });
    return {
      id,
      name: clean,
      key: `sbk_${id}_${secret}`,
      prefix,
      createdAt,
      ...(opts.expiresAt ? { expiresAt: opts.expiresAt.toISOString() } : {}),
    };
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
    const { hash: _h, salt: _s, ...rest } = this.store.get(id)!;
    return rest;
  }

  /**
   * Checks a presented key. Returns who it is, or throws AuthError (`APIKEY_MISSING`, `APIKEY_INVALID`,
   * `APIKEY_REVOKED`, `APIKEY_EXPIRED`). Never says which part was wrong beyond that.
   */
  verify(presented: string | undefined): { id: string; name: string } {
    if (!presented)
      throw new AuthError('APIKEY_MISSING', 'missing API key: send Authorization: Bearer <key>');
    for (const s of this.staticKeys) {
      const h = digest(s.salt, presented);
      if (timingSafeEqual(h, s.hash)) return { id: 'config', name: 'config' };
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
    return { id: rec.id, name: rec.name };
  }
}
