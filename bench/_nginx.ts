import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/postgres.js';

/** nginx as a bench anchor (Nchan for PubSub, static files for settings): one worker, in a throw-away prefix. */
export const NGINX = '/usr/sbin/nginx';
export const nginxInstalled = (): boolean => existsSync(NGINX);

export interface RunningNginx {
  url: string;
  /** The nginx prefix directory (static files go in `${dir}/www`). */
  dir: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Polls `url` until it answers 200 (or fails after `timeoutMs`). */
export async function waitHttp200(url: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return;
    if (Date.now() > end) throw new Error(`${url}: no 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts nginx on 127.0.0.1 (ephemeral port) with `location = /healthz` and the given server body
 * (`{www}` in it is the static root), after `top` (e.g. `load_module …;`) and `http` (extra http-level
 * directives) in the configuration. Resolves once /healthz answers.
 */
export async function startNginx(
  o: { top?: string; events?: string; http?: string; server: string; files?: Record<string, Buffer> } = {
    server: '',
  },
): Promise<RunningNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-nginx-'));
  mkdirSync(join(dir, 'www'));
  for (const [name, body] of Object.entries(o.files ?? {})) writeFileSync(join(dir, 'www', name), body);
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${o.top ?? ''}
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { ${o.events ?? 'worker_connections 4096;'} }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  ${o.http ?? ''}
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = /healthz { return 200 "ok"; }
    ${o.server.replaceAll('{www}', join(dir, 'www'))}
  }
}
`,
  );
  const proc = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHttp200(`${url}/healthz`, 30_000);
  } catch (e) {
    proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url,
    dir,
    proc,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
