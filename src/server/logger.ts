import pino from 'pino';
import type { Logger } from '../core/logger.js';
import { prettyStream } from './log-pretty.js';

/** Query parameters whose values are secrets (PubSub session tokens, signed URLs). */
const SECRET_QUERY = /([?&](?:session|token|access_token|key|password|AuthToken|sig|signature)=)[^&#]*/gi;

/** Path segments that are capabilities: the per-delivery acknowledgement token phones follow. */
const SECRET_PATH = /(\/alerts\/ack\/[^/?#]+\/)[^/?#]+/g;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[REDACTED]').replace(SECRET_PATH, '$1[REDACTED]');
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
