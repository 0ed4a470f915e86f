import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export type Json = Record<string, unknown>;

/** A TCP port free on 127.0.0.1 right now (for a hub's `http.port`). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** Polls `fn` every 25 ms until it answers something other than undefined; fails after `ms` naming `what`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    // A poll that fails (the hub too busy to accept within undici's 10 s on a loaded machine) is "not yet".
    let failed: unknown;
    const v = await fn().catch((e: unknown) => {
      failed = e;
      return undefined;
    });
    if (v !== undefined) return v;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}${failed ? `: ${String(failed)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Calls a hub's API with an API key: the parsed JSON answer; HTTP ≥ 400 throws. */
export function hubApi(url: string, key: string) {
  return async <T = Json>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : {}) as T;
  };
}

/** Waits until the hub at `url` answers `/healthz` with 200. */
export async function hubReady(url: string, ms = 180_000): Promise<void> {
  await until(
    'the hub',
    async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined),
    ms,
  );
}

/**
 * Writes `<dir>/switchboard.yaml` for a bench hub: data in `<dir>/data`, 127.0.0.1:`port`, warn logs, `key` as
 * its API key, plus `extra` YAML lines; answers the file's path (for `switchboard serve -c`).
 */
export function writeHubConfig(dir: string, port: number, key: string, extra: string[] = []): string {
  const file = join(dir, 'switchboard.yaml');
  writeFileSync(
    file,
    [
      `dataDir: ${JSON.stringify(join(dir, 'data'))}`,
      `http: { host: 127.0.0.1, port: ${port} }`,
      'log: { level: warn }',
      `auth: { apiKeys: [${JSON.stringify(key)}] }`,
      ...extra,
      '',
    ].join('\n'),
  );
  return file;
}
