import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * HTTP Digest access authentication (RFC 7616; RFC 2617 without qop still answered). Pure apart from the
 * client nonce, which callers may pass in (tests use the RFC's). Used for Cisco Multiplatform phones, whose
 * XML push ("CISCO XML EXE Auth Mode": Local or Remote Credential) is challenged with Digest, not Basic.
 */
export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  /** The qop values offered (`auth`, `auth-int`); empty for RFC 2069-style challenges. */
  qop: string[];
  algorithm: DigestAlgorithm;
  stale: boolean;
}

/** Longest challenge header we parse (a peer cannot make us chew through megabytes). */
const MAX_HEADER = 4096;

/**
 * The first Digest challenge in a WWW-Authenticate header (several schemes may be listed), or undefined when
 * there is none or it is unusable (no nonce, an algorithm we do not speak).
 */
export function parseDigestChallenge(header: string | string[] | undefined): DigestChallenge | undefined {
  const all = Array.isArray(header) ? header : header === undefined ? [] : [header];
  for (const h of all) {
    if (h.length > MAX_HEADER) continue;
    const at = h.search(/(^|[\s,])Digest\s/i);
    if (at < 0) continue;
    const params = parseParams(h.slice(h.toLowerCase().indexOf('digest', at) + 6));
    const nonce = params.get('nonce');
    if (!nonce) continue;
    const alg = (params.get('algorithm') ?? 'MD5').toUpperCase();
    const algorithm = (
      { MD5: 'MD5', 'MD5-SESS': 'MD5-sess', 'SHA-256': 'SHA-256', 'SHA-256-SESS': 'SHA-256-sess' } as const
    )[alg as 'MD5'];
    if (!algorithm) continue;
    const opaque = params.get('opaque');
    return {
      realm: params.get('realm') ?? '',
      nonce,
      ...(opaque !== undefined ? { opaque } : {}),
      qop: (params.get('qop') ?? '')
        .split(',')
        .map((q) => q.trim().toLowerCase())
        .filter(Boolean),
      algorithm,
      stale: (params.get('stale') ?? '').toLowerCase() === 'true',
    };
  }
  return undefined;
}

/** `k=v, k="quoted \"v\""` pairs until the next scheme (a token followed by a space and no `=`). */
function parseParams(s: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  const n = s.length;
  while (i < n) {
    while (i < n && (s[i] === ' ' || s[i] === ',' || s[i] === '\t')) i++;
    const m = /^([A-Za-z0-9_-]+)\s*=\s*/.exec(s.slice(i, i + 100));
    if (!m) break;
    const key = m[1]!.toLowerCase();
    i += m[0].length;
    let value = '';
    if (s[i] === '"') {
      i++;
      while (i < n && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < n) i++;
        value += s[i];
        i++;
      }
      i++;
    } else {
      while (i < n && s[i] !== ',') value += s[i++];
      value = value.trim();
    }
    if (!out.has(key)) out.set(key, value);
  }
  return out;
}

const hashOf = (alg: DigestAlgorithm) => (alg.startsWith('SHA-256') ? 'sha256' : 'md5');
const h = (alg: DigestAlgorithm, s: string) => createHash(hashOf(alg)).update(s, 'utf8').digest('hex');
const quote = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;

/**
 * Digest credentials of one peer, with the last challenge it sent: later requests answer it at once (nonce
 * count incremented) instead of taking a 401 first; a new challenge (stale nonce) replaces it.
 */
export class DigestCredentials {
  private challenge: DigestChallenge | undefined;
  private nc = 0;
  constructor(
    readonly username: string,
    private readonly password: string,
  ) {}

  /** The Authorization value for a request, if a challenge is known. */
  authorization(method: string, uri: string): string | undefined {
    if (!this.challenge) return undefined;
    this.nc++;
    return digestAuthorization({
      challenge: this.challenge,
      username: this.username,
      password: this.password,
      method,
      uri,
      nc: this.nc,
    });
  }

  /** Takes a 401's challenge; false when it holds no usable Digest challenge. */
  challenged(header: string | string[] | undefined): boolean {
    const c = parseDigestChallenge(header);
    if (!c || (c.qop.length > 0 && !c.qop.includes('auth'))) return false;
    this.challenge = c;
    this.nc = 0;
    return true;
  }

  /** Forgets the challenge (e.g. the credentials were refused). */
  reset(): void {
    this.challenge = undefined;
    this.nc = 0;
  }
}

export interface DigestResponseInput {
  challenge: DigestChallenge;
  username: string;
  password: string;
  method: string;
  /** The request-target as sent (path and query). */
  uri: string;
  /** Nonce count (1 for the first use of a nonce). */
  nc: number;
  /** Client nonce (random when not given). */
  cnonce?: string;
}

/** The `Authorization: Digest …` value answering a challenge (qop=auth when offered). */
export function digestAuthorization(i: DigestResponseInput): string {
  const c = i.challenge;
  const qop = c.qop.includes('auth') ? 'auth' : undefined;
  if (c.qop.length > 0 && !qop) throw new Error(`digest qop ${c.qop.join(',')} is not supported (auth only)`);
  const cnonce = i.cnonce ?? randomBytes(16).toString('hex');
  const nc = i.nc.toString(16).padStart(8, '0');
  const response = digestResponse({ ...i, qop, nc, cnonce });
  const parts = [
    `username=${quote(i.username)}`,
    `realm=${quote(c.realm)}`,
    `uri=${quote(i.uri)}`,
    `algorithm=${c.algorithm}`,
    `nonce=${quote(c.nonce)}`,
    ...(qop ? [`nc=${nc}`, `cnonce=${quote(cnonce)}`, `qop=${qop}`] : []),
    `response=${quote(response)}`,
    ...(c.opaque !== undefined ? [`opaque=${quote(c.opaque)}`] : []),
  ];
  return `Digest ${parts.join(', ')}`;
}

/** The `response` value (hex) of RFC 7616 §3.4.1, for qop `auth` or none. */
function digestResponse(
  i: Omit<DigestResponseInput, 'nc' | 'cnonce'> & { qop: 'auth' | undefined; nc: string; cnonce: string },
): string {
  const { algorithm, realm, nonce } = i.challenge;
  let ha1 = h(algorithm, `${i.username}:${realm}:${i.password}`);
  if (algorithm.endsWith('-sess')) ha1 = h(algorithm, `${ha1}:${nonce}:${i.cnonce}`);
  const ha2 = h(algorithm, `${i.method}:${i.uri}`);
  return i.qop
    ? h(algorithm, `${ha1}:${nonce}:${i.nc}:${i.cnonce}:${i.qop}:${ha2}`)
    : h(algorithm, `${ha1}:${nonce}:${ha2}`);
}

/**
 * Server side (the simulator): checks an Authorization header against the expected credentials, for a nonce
 * the server issued (`nonceValid`). Returns false for anything malformed.
 */
export function verifyDigest(
  header: string | undefined,
  o: {
    username: string;
    password: string;
    realm: string;
    method: string;
    nonceValid: (nonce: string) => boolean;
  },
): boolean {
  if (!header || header.length > MAX_HEADER || !/^Digest\s/i.test(header)) return false;
  const p = parseParams(header.slice(7));
  const nonce = p.get('nonce') ?? '';
  if (p.get('username') !== o.username || p.get('realm') !== o.realm || !o.nonceValid(nonce)) return false;
  const algorithm = (p.get('algorithm') ?? 'MD5') as DigestAlgorithm;
  if (!['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess'].includes(algorithm)) return false;
  const qop = p.get('qop');
  if (qop !== undefined && qop !== 'auth') return false;
  const expected = digestResponse({
    challenge: { realm: o.realm, nonce, qop: [], algorithm, stale: false },
    username: o.username,
    password: o.password,
    method: o.method,
    uri: p.get('uri') ?? '',
    qop,
    nc: p.get('nc') ?? '',
    cnonce: p.get('cnonce') ?? '',
  });
  const got = Buffer.from(p.get('response') ?? '');
  const want = Buffer.from(expected);
  return got.length === want.length && timingSafeEqual(got, want);
}
