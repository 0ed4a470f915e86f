import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { isAbsolute, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Config } from '../config/schema.js';
import { ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { limitConnectionsPerAddress, serverTimeouts } from './connections.js';

/**
 * HTTPS for the API and console (`http.tls.cert` / `http.tls.key`): the key pair is read and checked at
 * start (a missing file, a key that does not match the certificate: the hub does not start), re-read on
 * SIGHUP and swapped in with `setSecureContext` (connections already open keep theirs, none is dropped;
 * a bad pair on reload is logged and the old one stays). Optionally a plain-HTTP listener that only
 * redirects to HTTPS.
 */

export interface PemPair {
  key: Buffer;
  cert: Buffer;
}

/** Reads one PEM file named by a config key (absolute, or relative to the data directory). */
export function readPemFile(
  file: string,
  dataDir: string,
  field: string,
  codes: { missing: string; unreadable: string; requiredWhen: string },
): Buffer {
  if (!file)
    throw new ValidationError(codes.missing, `${field}: required when ${codes.requiredWhen}`, { field });
  const path = isAbsolute(file) ? file : resolve(dataDir, file);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ValidationError(
      codes.unreadable,
      `${field}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      { field },
    );
  }
}

/** True when the API and console are served over HTTPS. */
export function tlsEnabled(config: Config): boolean {
  return config.http.tls.cert !== '' || config.http.tls.key !== '';
}

const CODES = {
  missing: 'HTTP_TLS_FILE_MISSING',
  unreadable: 'HTTP_TLS_FILE_UNREADABLE',
  requiredWhen: 'the other of http.tls.cert and http.tls.key is set',
};

/** Reads `http.tls.cert` and `http.tls.key` and checks they form a usable pair (HTTP_TLS_INVALID if not). */
export function loadTlsPair(config: Config): PemPair {
  const pair = {
    cert: readPemFile(config.http.tls.cert, config.dataDir, 'http.tls.cert', CODES),
    key: readPemFile(config.http.tls.key, config.dataDir, 'http.tls.key', CODES),
  };
  try {
    createSecureContext(pair);
  } catch (e) {
    // OpenSSL's reason ("key values mismatch", "no start line"), never the key itself.
    throw new ValidationError(
      'HTTP_TLS_INVALID',
      `http.tls: the certificate and key cannot be used together (${(e as Error).message})`,
      { field: 'http.tls.key' },
    );
  }
  return pair;
}

/**
 * Re-reads the key pair and swaps it into the listening server (SIGHUP). Returns false, logging why,
 * when the new files are unusable: the server keeps the pair it has.
 */
export function reloadTls(server: HttpsServer, config: Config, logger: Logger): boolean {
  let pair: PemPair;
  try {
    pair = loadTlsPair(config);
  } catch (e) {
    logger.error({ err: e }, 'TLS certificate not reloaded: keeping the current one');
    return false;
  }
  server.setSecureContext(pair);
  logger.info({ cert: config.http.tls.cert }, 'TLS certificate reloaded');
  return true;
}

/** Host names a redirect may name: a DNS name, IPv4, or bracketed IPv6; anything else is refused. */
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]{2,45}\])$/;

/**
 * Where a plain-HTTP request is sent: `http.publicUrl` when it is an https URL, else the host the client
 * asked for (its Host header, validated) on the HTTPS port. Undefined for a request without a usable host.
 */
export function redirectTarget(
  config: Config,
  httpsPort: number,
  hostHeader: string | undefined,
  url: string,
): string | undefined {
  const path = url.startsWith('/') ? url : '/';
  const pub = config.http.publicUrl.replace(/\/+$/, '');
  if (pub.startsWith('https://')) return `${pub}${path}`;
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d{1,5})?$/.exec(hostHeader ?? '');
  const host = m?.[1];
  if (!host || !HOST.test(host)) return undefined;
  return `https://${host}${httpsPort === 443 ? '' : `:${httpsPort}`}${path}`;
}

/** The redirect listener (`http.tls.redirect`): 308 to HTTPS for every request, 400 without a usable Host. */
export async function startRedirectListener(
  config: Config,
  httpsPort: () => number,
  logger: Logger,
): Promise<{ server: Server; port: number }> {
  const server = createServer(serverTimeouts(config.http), (req, res) => {
    const to = redirectTarget(config, httpsPort(), req.headers.host, req.url ?? '/');
    if (!to) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end('this address serves HTTPS only; send a Host header\n');
      return;
    }
    res.writeHead(308, { location: to, 'content-type': 'text/plain; charset=utf-8' });
    res.end(`moved to ${to}\n`);
  });
  limitConnectionsPerAddress(server, config.http.maxConnectionsPerAddress);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(config.http.tls.redirect.port, config.http.host, () => {
      server.off('error', fail);
      ok();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.tls.redirect.port;
  logger.info({ port }, 'redirecting plain HTTP to HTTPS');
  return { server, port };
}
