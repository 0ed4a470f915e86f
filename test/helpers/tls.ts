import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A self-signed certificate for 127.0.0.1 (CN and subjectAltName), generated with openssl at test time, or
 * for another name (`{ cn: 'SEP…', san: 'DNS:SEP…' }`). Throws when openssl is not installed; tests that
 * need it can `describe.skipIf` on `tryMakeCert()`.
 */
export function makeCert(name: { cn: string; san: string } = { cn: '127.0.0.1', san: 'IP:127.0.0.1' }): {
  key: string;
  cert: string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'sb-test-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        `/CN=${name.cn}`,
        '-addext',
        `subjectAltName=${name.san}`,
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `makeCert()`, or undefined when openssl is not available. */
export function tryMakeCert(): { key: string; cert: string } | undefined {
  try {
    return makeCert();
  } catch {
    return undefined;
  }
}
