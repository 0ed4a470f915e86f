import { createHash, randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto';
import { type Clock, systemClock } from '../core/clock.js';
import {
  PubSubAuthError,
  PubSubForbiddenError,
  PubSubLimitError,
  PubSubNotFoundError,
  PubSubValidationError,
} from './errors.js';
import { formatDuration, isAccountSid, newAccountSid } from './protocol.js';
import type { AccountRecord, PubSubStore, SessionRecord } from './store.js';

/**
 * Accounts (AccountSid + AuthToken, the token stored only as a scrypt hash) and session tokens.
 */
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 } as const;

function scryptHex(secret: string, saltHex: string): Promise<string> {
  return new Promise((resolve, reject) => {
    scrypt(
      secret,
      Buffer.from(saltHex, 'hex'),
      SCRYPT.keylen,
      { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p },
      (err, key) => (err ? reject(err) : resolve(key.toString('hex'))),
    );
  });
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** Constant-time comparison of two hex (or any) strings. */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

export interface AccountInfo {
  accountSid: string;
  name: string;
  createdAt: string;
  rotatedAt: string | null;
}

export interface NewAccount extends AccountInfo {
  authToken: string;
}

const toInfo = (a: AccountRecord): AccountInfo => ({
  accountSid: a.sid,
  name: a.name,
  createdAt: new Date(a.createdAt).toISOString(),
  rotatedAt: a.rotatedAt === null ? null : new Date(a.rotatedAt).toISOString(),
});

export function newAuthToken(): string {
  return randomBytes(16).toString('hex');
}

export class Accounts {
  /** Accepted (sid, stored hash) → sha256(token), so a valid token costs one scrypt per process. */
  private readonly verified = new Map<string, string>();

  constructor(
    private readonly store: PubSubStore,
    private readonly clock: Clock = systemClock,
  ) {}

  async create(name = ''): Promise<NewAccount> {
    if (name.length > 200)
      throw new PubSubValidationError(
        'PUBSUB_BAD_ACCOUNT_NAME',
        'account name is longer than 200 characters',
        { field: 'name' },
      );
    const sid = newAccountSid();
    const authToken = newAuthToken();
    const salt = randomBytes(16).toString('hex');
    const now = this.clock.now();
    const rec: AccountRecord = {
      sid,
      name,
      tokenHash: await scryptHex(authToken, salt),
      tokenSalt: salt,
      createdAt: now,
      rotatedAt: null,
    };
    await this.store.createAccount(rec);
    return { ...toInfo(rec), authToken };
  }

  async list(): Promise<AccountInfo[]> {
    return (await this.store.listAccounts()).map(toInfo);
  }

  async get(sid: string): Promise<AccountInfo | undefined> {
    const a = await this.store.getAccount(sid);
    return a ? toInfo(a) : undefined;
  }

  async exists(sid: string): Promise<boolean> {
    return isAccountSid(sid) && (await this.store.getAccount(sid)) !== undefined;
  }

  /** New AuthToken; the old one and every session made with it stop working. */
  async rotate(sid: string): Promise<NewAccount> {
    const a = await this.store.getAccount(sid);
    if (!a) throw unknownAccount(sid);
    const authToken = newAuthToken();
    const salt = randomBytes(16).toString('hex');
    const now = this.clock.now();
    const hash = await scryptHex(authToken, salt);
    await this.store.updateAccountToken(sid, hash, salt, now);
    return { ...toInfo({ ...a, rotatedAt: now }), authToken };
  }

  async remove(sid: string): Promise<void> {
    if (!(await this.store.deleteAccount(sid))) throw unknownAccount(sid);
  }

  /** True when the AuthToken matches (constant time). Unknown accounts cost a scrypt too. */
  async verify(sid: string, token: string): Promise<boolean> {
    const a = isAccountSid(sid) ? await this.store.getAccount(sid) : undefined;
    const cacheKey = a ? `${a.sid}:${a.tokenHash}` : '';
    const tokenSha = sha256Hex(token);
    if (a) {
      const cached = this.verified.get(cacheKey);
      if (cached !== undefined && safeEqual(cached, tokenSha)) return true;
    }
    const salt = a?.tokenSalt ?? '00000000000000000000000000000000';
    const hash = await scryptHex(token.slice(0, 1024), salt);
    if (!a) return false;
    const ok = safeEqual(hash, a.tokenHash);
    if (ok) {
      if (this.verified.size > 10_000) this.verified.clear();
      this.verified.set(cacheKey, tokenSha);
    }
    return ok;
  }
}

function unknownAccount(sid: string): PubSubNotFoundError {
  return new PubSubNotFoundError('PUBSUB_UNKNOWN_ACCOUNT', `no PubSub account ${sid.slice(0, 40)}`, {
    field: 'accountSid',
  });
}

export interface SessionInfo {
  accountSid: string;
  /** Lease owner id: the hash of the token (never the token itself). */
  id: string;
  expiresAt: number;
}

export class Sessions {
  constructor(
    private readonly store: PubSubStore,
    private readonly opts: { clock?: Clock; defaultTtlMs: number; maxTtlMs: number; maxPerAccount: number },
  ) {}

  private get clock(): Clock {
    return this.opts.clock ?? systemClock;
  }

  /** Issues a session token (a random UUID, as in the seed) valid for `ttlMs`. */
  async create(
    accountSid: string,
    ttlMs = this.opts.defaultTtlMs,
  ): Promise<{ token: string; expiresAt: number }> {
    if (ttlMs > this.opts.maxTtlMs) {
      throw new PubSubValidationError(
        'PUBSUB_TTL_TOO_LONG',
        `ttl: ${formatDuration(ttlMs)} is longer than the maximum ${formatDuration(this.opts.maxTtlMs)}`,
        {
          field: 'ttl',
        },
      );
    }
    if (ttlMs < 1000)
      throw new PubSubValidationError('PUBSUB_TTL_TOO_SHORT', 'ttl: must be at least 1s', { field: 'ttl' });
    const token = randomUUID();
    const now = this.clock.now();
    const rec: SessionRecord = {
      tokenHash: sha256Hex(token),
      accountSid,
      createdAt: now,
      expiresAt: now + ttlMs,
    };
    await this.store.createSession(rec, this.opts.maxPerAccount, now);
    return { token, expiresAt: rec.expiresAt };
  }

  /** Resolves a token; throws 401 `PUBSUB_SESSION_INVALID` / `PUBSUB_SESSION_EXPIRED`. */
  async resolve(token: string): Promise<SessionInfo> {
    if (token.length === 0 || token.length > 200) throw invalidSession();
    const rec = await this.store.getSession(sha256Hex(token));
    if (!rec) throw invalidSession();
    if (rec.expiresAt <= this.clock.now()) {
      throw new PubSubAuthError(
        'PUBSUB_SESSION_EXPIRED',
        'the session token has expired; get a new one from /auth',
      );
    }
    return { accountSid: rec.accountSid, id: rec.tokenHash, expiresAt: rec.expiresAt };
  }

  /** Resolves a token and checks that it belongs to `accountSid` (403 otherwise). */
  async authorize(token: string, accountSid: string): Promise<SessionInfo> {
    const s = await this.resolve(token);
    if (s.accountSid !== accountSid) {
      throw new PubSubForbiddenError(
        'PUBSUB_WRONG_ACCOUNT',
        'this session token belongs to another account and cannot use its queues',
      );
    }
    return s;
  }
}

function invalidSession(): PubSubAuthError {
  return new PubSubAuthError(
    'PUBSUB_SESSION_INVALID',
    'missing or unknown session token; pass the token from /auth in the Authorization header or the session parameter',
  );
}

export function rateLimited(ms: number, what: string): PubSubLimitError {
  return new PubSubLimitError(
    'PUBSUB_AUTH_RATE_LIMITED',
    `too many failed /auth attempts ${what}; try again in ${Math.ceil(ms / 1000)}s`,
    {
      details: { retryAfterSeconds: Math.ceil(ms / 1000) },
    },
  );
}
