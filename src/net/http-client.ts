import http from 'node:http';
import https from 'node:https';
import { DeviceError, TimeoutError } from '../core/errors.js';

/**
 * The one HTTP client helper for talking to phones and webhooks. Built on node:http so that what goes on
 * the wire is exactly what we say: explicit Content-Length (no chunking), no `Expect: 100-continue`,
 * `Connection: close` unless an agent is given, a hard timeout for the whole exchange, and a cap on the
 * response size (a peer cannot make us buffer unbounded data).
 */
export interface HttpRequest {
  url: string;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Whole-exchange timeout (connect + send + receive). */
  timeoutMs?: number;
  signal?: AbortSignal;
  basicAuth?: { username: string; password: string };
  maxResponseBytes?: number;
  agent?: http.Agent | false;
  /** TLS options for https: URLs. */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
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
        ...(isHttps && req.tls
          ? { ca: req.tls.ca, rejectUnauthorized: req.tls.rejectUnauthorized ?? true }
          : {}),
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
        res.on('error', (e) => finish(networkError(target, e)));
      },
    );
    const timer = setTimeout(() => {
      r.destroy();
      finish(
        new TimeoutError('HTTP_TIMEOUT', `${target} did not answer within ${timeoutMs} ms`, {
          details: { timeoutMs },
        }),
      );
    }, timeoutMs);
    const onAbort = () => {
      r.destroy();
      finish(
        new DeviceError('HTTP_ABORTED', `request to ${target} was aborted`, { cause: req.signal?.reason }),
      );
    };
    if (req.signal?.aborted) onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    r.on('error', (e) => finish(networkError(target, e)));
    if (body !== undefined) r.end(body);
    else r.end();
  });
}

function networkError(target: string, e: Error & { code?: string }): DeviceError {
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
    details: { errno: e.code },
  });
}

/** Encodes form fields as application/x-www-form-urlencoded. */
export function formEncode(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}
