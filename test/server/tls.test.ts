import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { type Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { startHub } from '../../src/cli/serve.js';
import { defaultConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { redirectTarget } from '../../src/server/tls.js';
import { spawnSwitchboard } from '../helpers/process.js';
import { makeCert } from '../helpers/tls.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const first = makeCert();
const second = makeCert();
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

function writePair(name: string, pair: { key: string; cert: string }) {
  writeFileSync(join(dir, `${name}.crt`), pair.cert);
  writeFileSync(join(dir, `${name}.key`), pair.key, { mode: 0o600 });
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

function tlsConfig(files: { cert: string; key: string }, extra: Record<string, unknown> = {}) {
  return defaultConfig({
    dataDir: mkdtempSync(join(dir, 'data-')),
    'http.host': '127.0.0.1',
    'http.port': 0,
    'log.level': 'silent',
    'http.tls.cert': files.cert,
    'http.tls.key': files.key,
    ...extra,
  });
}

/** GET over HTTPS trusting only `ca`; resolves status, body and the fingerprint of the served certificate. */
function get(
  url: string,
  ca: string[],
  agent?: Agent,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; served: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, agent: agent ?? false, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body,
          served: (res.socket as TLSSocket).getPeerCertificate().fingerprint256,
          reused: req.reusedSocket,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function plainGet(port: number, path: string, host?: string): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        ...(host === undefined ? {} : { headers: { host } }),
        setHost: host === undefined,
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            ...(res.headers.location ? { location: res.headers.location } : {}),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS for the API and console (http.tls)', () => {
  it('serves HTTPS with the configured pair, reloads a renewed one without dropping an open stream, keeps the old on a bad one', async () => {
    const files = writePair('live', first);
    const running = await startHub(tlsConfig(files), { logger: silentLogger });
    try {
      expect(running.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(running.hub.hub.publicUrl).toMatch(/^https:\/\//);
      const ok = await get(`${running.url}/readyz`, [first.cert]);
      expect(ok.status).toBe(200);
      expect(ok.served).toBe(fingerprint(first.cert));

      // An event stream opened with the first certificate.
      const key = (await running.hub.apiKeys.create('tls')).key;
      const events: string[] = [];
      const stream = httpsRequest(`${running.url}/api/events/stream`, {
        ca: [first.cert],
        agent: false,
        headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
      });
      const opened = new Promise<void>((resolve, reject) => {
        stream.on('response', (res) => {
          expect(res.statusCode).toBe(200);
          res.on('data', (c: Buffer) => events.push(c.toString()));
          resolve();
        });
        stream.on('error', reject);
      });
      stream.end();
      await opened;

      // Renewal: new files, SIGHUP's reload.
      writePair('live', second);
      expect(running.reloadTls()).toBe(true);
      const renewed = await get(`${running.url}/readyz`, [second.cert]);
      expect(renewed.status).toBe(200);
      expect(renewed.served).toBe(fingerprint(second.cert));
      await expect(get(`${running.url}/readyz`, [first.cert])).rejects.toThrow(/self.signed|certificate/i);

      // The stream opened before the reload still delivers.
      running.hub.bus.emit({ source: 'test', type: 'tls.after-reload', data: {} });
      for (let i = 0; i < 100 && !events.join('').includes('tls.after-reload'); i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(events.join('')).toContain('tls.after-reload');
      stream.destroy();

      // A key that does not match: refused, the server keeps serving the second pair.
      writeFileSync(files.key, first.key);
      expect(running.reloadTls()).toBe(false);
      expect((await get(`${running.url}/readyz`, [second.cert])).served).toBe(fingerprint(second.cert));
    } finally {
      await running.stop();
    }
  });

  it('refuses to start on a missing file, a half-configured pair or a key that does not match', async () => {
    const good = writePair('good', first);
    await expect(
      startHub(tlsConfig({ cert: good.cert, key: join(dir, 'nope.key') }), { logger: silentLogger }),
    ).rejects.toMatchObject({
      code: 'HTTP_TLS_FILE_UNREADABLE',
      field: 'http.tls.key',
    });
    await expect(
      startHub(tlsConfig({ cert: good.cert, key: '' }), { logger: silentLogger }),
    ).rejects.toMatchObject({
      code: 'HTTP_TLS_FILE_MISSING',
    });
    const mixed = writePair('mixed', { cert: first.cert, key: second.key });
    await expect(startHub(tlsConfig(mixed), { logger: silentLogger })).rejects.toMatchObject({
      code: 'HTTP_TLS_INVALID',
    });
    const garbage = writePair('garbage', { cert: 'not a certificate', key: 'not a key' });
    await expect(startHub(tlsConfig(garbage), { logger: silentLogger })).rejects.toMatchObject({
      code: 'HTTP_TLS_INVALID',
    });
  });

  it('redirects plain HTTP to HTTPS (308, same path and query) and refuses a request without a usable Host', async () => {
    const files = writePair('redir', first);
    const running = await startHub(
      tlsConfig(files, { 'http.tls.redirect.enabled': true, 'http.tls.redirect.port': 0 }),
      { logger: silentLogger },
    );
    try {
      const port = running.redirectPort!;
      expect(port).toBeGreaterThan(0);
      const r = await plainGet(port, '/api/devices?kind=cisco');
      expect(r.status).toBe(308);
      expect(r.location).toBe(`${running.url}/api/devices?kind=cisco`);
      // Following it works.
      expect(
        (await get(r.location!.replace('/api/devices?kind=cisco', '/healthz'), [first.cert])).status,
      ).toBe(200);
      expect((await plainGet(port, '/', 'evil.example/x')).status).toBe(400);
      expect((await plainGet(port, '/', '')).status).toBe(400);
      // The HTTPS port does not answer plain HTTP: the TLS server drops it.
      await expect(plainGet(running.port, '/healthz')).rejects.toThrow(/socket hang up|ECONNRESET/);
    } finally {
      await running.stop();
    }
  });

  it('redirect target: publicUrl when https, else the requested host on the HTTPS port', () => {
    const plain = defaultConfig({ 'http.publicUrl': '' });
    expect(redirectTarget(plain, 8443, 'hub.example:80', '/console/?a=1')).toBe(
      'https://hub.example:8443/console/?a=1',
    );
    expect(redirectTarget(plain, 443, '[::1]:80', '/')).toBe('https://[::1]/');
    expect(redirectTarget(plain, 443, 'a@b', '/')).toBeUndefined();
    expect(redirectTarget(plain, 443, undefined, '/')).toBeUndefined();
    expect(redirectTarget(plain, 443, 'hub', '//evil.example/x')).toBe('https://hub//evil.example/x');
    const pub = defaultConfig({ 'http.publicUrl': 'https://sb.example.org/' });
    expect(redirectTarget(pub, 8443, 'whatever', '/x')).toBe('https://sb.example.org/x');
  });

  it('the real process reloads its certificate on SIGHUP and keeps running', async () => {
    const files = writePair('proc', first);
    const hub = spawnSwitchboard(
      ['serve', '--data-dir', mkdtempSync(join(dir, 'proc-')), '--port', '0', '--host', '127.0.0.1'],
      {
        SWITCHBOARD_HTTP_TLS_CERT: files.cert,
        SWITCHBOARD_HTTP_TLS_KEY: files.key,
      },
    );
    try {
      const url = (await hub.waitFor(/"url":"(https:\/\/127\.0\.0\.1:\d+)"/))[1]!;
      expect((await get(`${url}/readyz`, [first.cert])).served).toBe(fingerprint(first.cert));
      writePair('proc', second);
      hub.proc.kill('SIGHUP');
      await hub.waitFor(/TLS certificate reloaded/);
      expect((await get(`${url}/readyz`, [second.cert])).served).toBe(fingerprint(second.cert));
      expect(hub.proc.exitCode).toBeNull();
    } finally {
      hub.proc.kill('SIGTERM');
      expect(await hub.exited).toBe(0);
    }
  });
});
