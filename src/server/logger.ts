import pino from 'pino';
import type { Logger } from '../core/logger.js';
import { prettyStream } from './log-pretty.js';

/** Query parameters whose values are secrets (PubSub session tokens, signed URLs), lower case. */
const SECRET_QUERY_NAMES = new Set([
  'session',
  'token',
  'access_token',
  'key',
  'password',
  'authtoken',
  'sig',
  'signature',
]);

/** Decodes %XX escapes (and `+` in query names) where they are valid; leaves broken ones as they are. */
function lenientDecode(text: string, plusIsSpace: boolean): string {
  const t = plusIsSpace ? text.replace(/\+/g, ' ') : text;
  try {
    return decodeURIComponent(t);
  } catch {
    return t.replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

/**
 * Masks the secrets of a request URL for logs: the values of secret query parameters and the
 * acknowledgement token of `/alerts/ack/<delivery>/<token>`. Names are compared decoded, as the router and
 * the query parser see them, so `sess%69on=…` or `/alerts/%61ck/…` are masked too. A fragment is dropped.
 */
export function redactUrl(url: string): string {
  const hash = url.indexOf('#');
  const withoutHash = hash === -1 ? url : url.slice(0, hash);
  const q = withoutHash.indexOf('?');
  const path = q === -1 ? withoutHash : withoutHash.slice(0, q);
  const segments = path.split('/');
  const decoded = segments.map((seg) => lenientDecode(seg, false).toLowerCase());
  for (let i = 0; i + 3 < segments.length; i++) {
    if (decoded[i] === 'alerts' && decoded[i + 1] === 'ack' && segments[i + 3] !== '') {
      segments[i + 3] = '[REDACTED]';
    }
  }
  let out = segments.join('/');
  if (q !== -1) {
    const pairs = withoutHash
      .slice(q + 1)
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        const name = eq === -1 ? pair : pair.slice(0, eq);
        if (!SECRET_QUERY_NAMES.has(lenientDecode(name, true).trim().toLowerCase())) return pair;
        return `${name}=[REDACTED]`;
      });
    out += `?${pairs.join('&')}`;
  }
  return out;
}

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'password',
  'token',
  'authToken',
  'AuthToken',
  'secret',
  'key',
  '*.password',
  '*.token',
  '*.authToken',
  '*.AuthToken',
  '*.secret',
  '*.apiKey',
  '*.key',
  'settings.password',
  'config.auth.apiKeys',
];

export interface LoggerOptions {
  level: string;
  /** Write to this stream instead of stdout (tests). */
  destination?: NodeJS.WritableStream;
  /** `log.pretty`: readable lines for a terminal instead of JSON (colour when the output is a TTY). */
  pretty?: boolean;
}

/** The hub's structured logger: JSON lines, secrets redacted, URLs with secret query values masked. */
export function createLogger(o: LoggerOptions): pino.Logger & Logger {
  return pino(
    {
      level: o.level,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      serializers: {
        req(req: {
          method: string;
          url: string;
          id: string;
          ip?: string;
          socket?: { remoteAddress?: string };
        }) {
          return {
            method: req.method,
            url: redactUrl(req.url),
            id: req.id,
            remoteAddress: req.ip ?? req.socket?.remoteAddress,
          };
        },
        err: pino.stdSerializers.err,
      },
    },
    o.pretty
      ? prettyStream(o.destination ?? process.stdout, !o.destination && process.stdout.isTTY === true)
      : (o.destination ?? process.stdout),
  ) as pino.Logger & Logger;
}
