import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digestAuthorization, parseDigestChallenge, verifyDigest } from '../../src/net/digest.js';

// RFC 7616 §3.9.1: the same request answered with SHA-256 and with MD5.
const RFC7616 = {
  header: (alg: string) =>
    `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${alg}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
  username: 'Mufasa',
  password: 'Circle of Life',
  uri: '/dir/index.html',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
};

describe('HTTP Digest (RFC 7616 / 2617)', () => {
  it('parses a challenge, also among other schemes', () => {
    const c = parseDigestChallenge(['Basic realm="x"', RFC7616.header('SHA-256')]);
    expect(c).toEqual({
      realm: 'http-auth@example.org',
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
      qop: ['auth', 'auth-int'],
      algorithm: 'SHA-256',
      stale: false,
    });
    expect(parseDigestChallenge('Basic realm="x"')).toBeUndefined();
    expect(parseDigestChallenge('Digest realm="x"')).toBeUndefined(); // no nonce
    expect(parseDigestChallenge('Digest nonce="n", algorithm=SHA-512-256')).toBeUndefined();
    expect(parseDigestChallenge('Digest realm="a \\"b\\"", nonce=abc, stale=TRUE')).toMatchObject({
      realm: 'a "b"',
      nonce: 'abc',
      stale: true,
      algorithm: 'MD5',
      qop: [],
    });
  });

  it('answers the RFC 7616 examples (SHA-256 and MD5)', () => {
    for (const [alg, response] of [
      ['SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'],
      ['MD5', '8ca523f5e9506fed4657c9700eebdbec'],
    ] as const) {
      const a = digestAuthorization({
        challenge: parseDigestChallenge(RFC7616.header(alg))!,
        username: RFC7616.username,
        password: RFC7616.password,
        method: 'GET',
        uri: RFC7616.uri,
        nc: 1,
        cnonce: RFC7616.cnonce,
      });
      expect(a).toContain(`response="${response}"`);
      expect(a).toContain('nc=00000001');
      expect(a).toContain('qop=auth,');
      expect(a).toContain('opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"');
    }
  });

  it('answers the RFC 2617 example', () => {
    const a = digestAuthorization({
      challenge: parseDigestChallenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
      )!,
      username: 'Mufasa',
      password: 'Circle Of Life',
      method: 'GET',
      uri: '/dir/index.html',
      nc: 1,
      cnonce: '0a4f113b',
    });
    expect(a).toContain('response="6629fae49393a05397450978507c4ef1"');
  });

  it('verifies what it answers, and nothing else', () => {
    const o = {
      username: 'admin',
      password: 'pw',
      realm: 'phone',
      method: 'POST',
      nonceValid: (n: string) => n === 'n1',
    };
    const auth = digestAuthorization({
      challenge: { realm: 'phone', nonce: 'n1', qop: ['auth'], algorithm: 'MD5', stale: false },
      username: 'admin',
      password: 'pw',
      method: 'POST',
      uri: '/CGI/Execute',
      nc: 1,
    });
    expect(verifyDigest(auth, o)).toBe(true);
    expect(verifyDigest(auth, { ...o, password: 'other' })).toBe(false);
    expect(verifyDigest(auth, { ...o, nonceValid: (n) => n === 'n2' })).toBe(false);
    expect(verifyDigest(auth, { ...o, method: 'GET' })).toBe(false);
    expect(verifyDigest('Basic YWRtaW46cHc=', o)).toBe(false);
    expect(verifyDigest(undefined, o)).toBe(false);
  });

  it('never throws on random headers', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        parseDigestChallenge(s);
        parseDigestChallenge(`Digest ${s}`);
        verifyDigest(`Digest ${s}`, {
          username: 'a',
          password: 'b',
          realm: 'r',
          method: 'GET',
          nonceValid: () => true,
        });
      }),
      { numRuns: 3000 },
    );
  });
});
