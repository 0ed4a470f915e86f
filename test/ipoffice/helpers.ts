import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Devlink3Monitor, type MonitorOptions } from '../../src/drivers/ipoffice/monitor.js';

/** Polls `cond` every 10 ms until it holds (or fails after `ms`). */
export async function waitFor(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A self-signed certificate for 127.0.0.1, generated with openssl at test time. */
export function makeCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sb-ipo-tls-'));
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
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
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

export interface Captured {
  type: string;
  data: Record<string, unknown>;
}

export function monitor(opts: Partial<MonitorOptions> & { client: MonitorOptions['client'] }): {
  m: Devlink3Monitor;
  events: Captured[];
} {
  const events: Captured[] = [];
  const m = new Devlink3Monitor({
    resyncQuietMs: 150,
    loadUsers: false,
    ...opts,
    emit: (type, data) => events.push({ type, data }),
    client: {
      reconnect: { initialMs: 20, maxMs: 100 },
      keepaliveMs: 0,
      requestTimeoutMs: 2000,
      ...opts.client,
    },
  });
  return { m, events };
}
