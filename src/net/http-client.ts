import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import { DeviceError, TimeoutError } from '../core/errors.js';
import type { DigestCredentials } from './digest.js';

/**
 * The one HTTP client helper for talking to phones and webhooks. Built on node:http so that what goes on
 * the wire is exactly what we say: explicit Content-Length (no chunking), no `Expect: 100-continue`,
 * `Connection: close` unless an agent is given, a hard timeout for the whole exchange, and a cap on the
 * response size (a peer cannot make us buffer unbounded data).
 */
export interface HttpRequest {
  url: string;
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Whole-exchange timeout (connect + send + receive). */
  timeoutMs?: number;
  signal?: AbortSignal;
  basicAuth?: { username: string; password: string };
  /**
   * HTTP Digest: the request answers the peer's last challenge at once, or is sent again answering the
   * challenge of a 401 (once). Ignored when basicAuth is given.
   */
  digest?: DigestCredentials;
  maxResponseBytes?: number;
  agent?: http.Agent | false;
  /**
   * TLS options for https: URLs. `servername` is the name the peer's certificate must carry when it differs
   * from the URL's host (e.g. a phone reached by IP whose certificate names the device); it is also sent as
   * SNI unless it is an IP address.
   */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean; servername?: string };
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Milliseconds from start to last byte. */
  ms: number;
  text(): string;
}

export async function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  const d = req.digest;
  if (!d || req.basicAuth) return httpRequestOnce(req);
  const url = new URL(req.url);
  const method = req.method ?? (req.body !== undefined ? 'POST' : 'GET');
  const target = `${url.pathname}${url.search}`;
  const withAuth = (auth: string | undefined): HttpRequest =>
    auth ? { ...req, method, headers: { ...(req.headers ?? {}), Authorization: auth } } : { ...req, method };
  const res = await httpRequestOnce(withAuth(d.authorization(method, target)));
  if (res.status !== 401 || !d.challenged(res.headers['www-authenticate'])) return res;
  const again = await httpRequestOnce(withAuth(d.authorization(method, target)));
  if (again.status === 401) d.reset();
  return again;
}

async function httpRequestOnce(req: HttpRequest): Promise<HttpResponse> {
  const url = new URL(req.url);
  const isHttps = url.protocol === 'https:';
  if (!isHttps && url.protocol !== 'http:') {
    throw new DeviceError('HTTP_BAD_URL', `unsupported URL scheme ${url.protocol} (http: or https: only)`, {
      field: 'url',
    });
  }
  const body =
    req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  if (body !== undefined) headers['Content-Length'] = String(body.length);
  if (req.agent === undefined || req.agent === false) headers.Connection = headers.Connection ?? 'close';
  if (req.basicAuth) {
    headers.Authorization = `Basic ${Buffer.from(`${req.basicAuth.username}:${req.basicAuth.password}`).toString('base64')}`;
  }
  const timeoutMs = req.timeoutMs ?? 10_000;
  const max = req.maxResponseBytes ?? 1024 * 1024;
  const started = performance.now();
  const target = `${url.protocol}//${url.host}${url.pathname}`;

  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    // The whole request reached the socket (`finish`): a later failure means the peer may have acted on it
    // without answering (`details.requestSent`), which matters for requests that are not idempotent.
    let sent = false;
    const finish = (err: Error | undefined, res?: HttpResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(res!);
    };
    const mod = isHttps ? https : http;
    const r = mod.request(
      {
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || (isHttps ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method: req.method ?? (body ? 'POST' : 'GET'),
        headers,
        agent: req.agent ?? false,
        ...(isHttps && req.tls ? tlsOptions(req.tls) : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > max) {
            r.destroy();
            finish(
              new DeviceError('HTTP_RESPONSE_TOO_LARGE', `${target} answered more than ${max} bytes`, {
                details: { limit: max },
              }),
            );
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          finish(undefined, {
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: buf,
            ms: performance.now() - started,
            text: () => buf.toString('utf8'),
          });
        });
        res.on('error', (e) => finish(networkError(target, e, true)));
      },
    );
    const timer = setTimeout(() => {
      r.destroy();
      finish(
        new TimeoutError('HTTP_TIMEOUT', `${target} did not answer within ${timeoutMs} ms`, {
          details: { timeoutMs, requestSent: sent },
        }),
      );
    }, timeoutMs);
    const onAbort = () => {
      r.destroy();
      finish(
        new DeviceError('HTTP_ABORTED', `request to ${target} was aborted`, {
          cause: req.signal?.reason,
          details: { requestSent: sent },
        }),
      );
    };
    if (req.signal?.aborted) onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    r.on('error', (e) => finish(networkError(target, e, sent)));
    r.on('finish', () => {
      sent = true;
    });
    if (body !== undefined) r.end(body);
    else r.end();
  });
}

function tlsOptions(t: NonNullable<HttpRequest['tls']>): https.RequestOptions {
  const o: https.RequestOptions = { rejectUnauthorized: t.rejectUnauthorized ?? true };
  if (t.ca !== undefined && t.ca !== '') o.ca = t.ca;
  const name = t.servername;
  if (name) {
    if (isIP(name) === 0) o.servername = name;
    o.checkServerIdentity = (_host, cert) => checkServerIdentity(name, cert);
  }
  return o;
}

/** Certificate problems (the peer is reachable; retrying will not help). */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

function networkError(target: string, e: Error & { code?: string }, requestSent: boolean): DeviceError {
  if (e.code !== undefined && TLS_CODES.has(e.code)) {
    const hint =
      e.code === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? 'the certificate does not name the host we connected to (set the TLS server name it carries)'
        : e.code === 'ERR_SSL_WRONG_VERSION_NUMBER'
          ? 'the peer does not speak TLS on this port'
          : "the peer's certificate is not trusted (give the CA that signed it, or allow unverified certificates)";
    return new DeviceError('HTTP_TLS_FAILED', `${target}: TLS failed (${e.code}): ${hint}`, {
      retryable: false,
      cause: e,
      details: { errno: e.code, reason: e.message, requestSent },
    });
  }
  const transient = [
    'ECONNREFUSED',
    'ECONNRESET',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'EPIPE',
    'ETIMEDOUT',
    'EAI_AGAIN',
  ].includes(e.code ?? '');
  return new DeviceError('HTTP_NETWORK_ERROR', `${target}: ${e.code ?? e.message}`, {
    retryable: transient,
    cause: e,
    details: { errno: e.code, requestSent },
  });
}

/** Encodes form fields as application/x-www-form-urlencoded. */
export function formEncode(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}
