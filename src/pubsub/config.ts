import { hostname } from 'node:os';
import { type Static, Type } from 'typebox';
import { ValidationError } from '../core/errors.js';
import { parseDuration } from './protocol.js';

const Duration = (def: string, description: string) =>
  Type.String({ default: def, pattern: '^[0-9.]+(ms|s|m|h|d)?([0-9.]+(ms|s|m|h|d))*$', description });

/** `pubsub:` section of switchboard.yaml (the long-poll relay of seed 001). */
export const PubSubConfigSchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: true,
      description: 'Serve the PubSub relay (/auth, /<AccountSid>/<queue>).',
    }),
    hostname: Type.String({
      default: '',
      description: 'Hostname field of messages (default: the machine hostname).',
    }),
    retention: Duration('7d', 'How long a message waits for a subscriber before it expires.'),
    lease: Duration(
      '30s',
      'How long a delivered message waits for the acknowledgement (next poll) before redelivery.',
    ),
    defaultTimeout: Duration('30s', 'Long-poll timeout when the request has no timeout parameter.'),
    maxTimeout: Duration('5m', 'Largest accepted long-poll timeout (larger values are refused with 400).'),
    linger: Duration(
      '0ms',
      'After the first message of a poll, wait this long for more (up to 10) before closing the list.',
    ),
    sessionTtl: Duration('1h', 'Session token lifetime when /auth has no ttl parameter.'),
    maxSessionTtl: Duration('30d', 'Largest accepted ttl for /auth.'),
    maxSessionsPerAccount: Type.Integer({
      minimum: 1,
      default: 1000,
      description: 'Live session tokens per account.',
    }),
    dedupWindow: Duration(
      '10m',
      'A publish with the same queue and body within this window is stored once (0 disables).',
    ),
    idempotencyWindow: Duration('24h', 'How long an Idempotency-Key is remembered.'),
    maxMessageBytes: Type.Integer({
      minimum: 256,
      maximum: 16 * 1024 * 1024,
      default: 65_536,
      description: 'Largest message (encoded JSON).',
    }),
    maxQueueLength: Type.Integer({ minimum: 1, default: 10_000, description: 'Messages stored per queue.' }),
    maxQueuesPerAccount: Type.Integer({
      minimum: 1,
      default: 1000,
      description: 'Queues holding messages per account.',
    }),
    maxPollsPerSession: Type.Integer({
      minimum: 1,
      default: 10,
      description: 'Concurrent long-polls per session token.',
    }),
    requirePublishAuth: Type.Boolean({
      default: false,
      description:
        'Require a session token (or a valid signature) on publishes. Off by default: the seed has platforms and apps POST without one.',
    }),
    callXml: Type.Object(
      {
        timeout: Duration(
          '25s',
          'How long a Call XML request waits for the application before answering with keep-alive XML.',
        ),
        keepAlivePause: Type.Integer({
          minimum: 0,
          maximum: 60,
          default: 1,
          description: 'Seconds of <Pause> in the keep-alive XML.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    signature: Type.Object(
      {
        enabled: Type.Boolean({
          default: false,
          description:
            'Check the HMAC-SHA1 signature of platform webhooks (form publishes without a session).',
        }),
        header: Type.String({
          default: 'X-Zang-Signature',
          description: 'Header carrying the base64 signature.',
        }),
        key: Type.String({
          default: '',
          description: 'Signing key (the platform AuthToken) for every account; prefer keyFile.',
        }),
        keys: Type.Record(Type.String(), Type.String(), {
          default: {},
          description: 'Signing key per AccountSid (overrides key).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    authRateLimit: Type.Object(
      {
        window: Duration('5m', 'Window over which failed /auth attempts are counted.'),
        maxFailuresPerAddress: Type.Integer({
          minimum: 1,
          default: 20,
          description: 'Failed /auth attempts per client address per window.',
        }),
        maxFailuresPerAccount: Type.Integer({
          minimum: 1,
          default: 5,
          description:
            'Failed /auth attempts per (client address, AccountSid) per window; counted before the token is checked, so parallel guesses count too. Another address cannot lock an account out.',
        }),
        slowDownAfterFailures: Type.Integer({
          minimum: 1,
          default: 100,
          description:
            'Failed /auth attempts (from any address) per window after which every /auth first waits `slowDown` (a global slow-down, never a lock-out).',
        }),
        slowDown: Duration('1s', 'Delay before each /auth check while the global slow-down is on.'),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

export type PubSubConfig = Static<typeof PubSubConfigSchema>;

/** The config with durations in milliseconds. */
export interface PubSubSettings {
  enabled: boolean;
  hostname: string;
  retentionMs: number;
  leaseMs: number;
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  lingerMs: number;
  sessionTtlMs: number;
  maxSessionTtlMs: number;
  maxSessionsPerAccount: number;
  dedupWindowMs: number;
  idempotencyWindowMs: number;
  maxMessageBytes: number;
  maxQueueLength: number;
  maxQueuesPerAccount: number;
  maxPollsPerSession: number;
  requirePublishAuth: boolean;
  callXmlTimeoutMs: number;
  keepAlivePause: number;
  signature: { enabled: boolean; header: string; key: string; keys: Record<string, string> };
  authRateLimit: {
    windowMs: number;
    maxFailuresPerAddress: number;
    maxFailuresPerAccount: number;
    slowDownAfterFailures: number;
    slowDownMs: number;
  };
}

export function resolvePubSubSettings(c: PubSubConfig): PubSubSettings {
  const d = (v: string, field: string) => {
    try {
      return parseDuration(v, `pubsub.${field}`);
    } catch (e) {
      throw new ValidationError('CONFIG_INVALID', (e as Error).message, { field: `pubsub.${field}` });
    }
  };
  const s: PubSubSettings = {
    enabled: c.enabled,
    hostname: c.hostname || hostname(),
    retentionMs: d(c.retention, 'retention'),
    leaseMs: d(c.lease, 'lease'),
    defaultTimeoutMs: d(c.defaultTimeout, 'defaultTimeout'),
    maxTimeoutMs: d(c.maxTimeout, 'maxTimeout'),
    lingerMs: d(c.linger, 'linger'),
    sessionTtlMs: d(c.sessionTtl, 'sessionTtl'),
    maxSessionTtlMs: d(c.maxSessionTtl, 'maxSessionTtl'),
    maxSessionsPerAccount: c.maxSessionsPerAccount,
    dedupWindowMs: d(c.dedupWindow, 'dedupWindow'),
    idempotencyWindowMs: d(c.idempotencyWindow, 'idempotencyWindow'),
    maxMessageBytes: c.maxMessageBytes,
    maxQueueLength: c.maxQueueLength,
    maxQueuesPerAccount: c.maxQueuesPerAccount,
    maxPollsPerSession: c.maxPollsPerSession,
    requirePublishAuth: c.requirePublishAuth,
    callXmlTimeoutMs: d(c.callXml.timeout, 'callXml.timeout'),
    keepAlivePause: c.callXml.keepAlivePause,
    signature: { ...c.signature },
    authRateLimit: {
      windowMs: d(c.authRateLimit.window, 'authRateLimit.window'),
      maxFailuresPerAddress: c.authRateLimit.maxFailuresPerAddress,
      maxFailuresPerAccount: c.authRateLimit.maxFailuresPerAccount,
      slowDownAfterFailures: c.authRateLimit.slowDownAfterFailures,
      slowDownMs: d(c.authRateLimit.slowDown, 'authRateLimit.slowDown'),
    },
  };
  if (s.defaultTimeoutMs > s.maxTimeoutMs) {
    throw new ValidationError('CONFIG_INVALID', 'pubsub.defaultTimeout must not exceed pubsub.maxTimeout', {
      field: 'pubsub.defaultTimeout',
    });
  }
  if (s.sessionTtlMs > s.maxSessionTtlMs) {
    throw new ValidationError('CONFIG_INVALID', 'pubsub.sessionTtl must not exceed pubsub.maxSessionTtl', {
      field: 'pubsub.sessionTtl',
    });
  }
  if (s.leaseMs < 1000)
    throw new ValidationError('CONFIG_INVALID', 'pubsub.lease must be at least 1s', {
      field: 'pubsub.lease',
    });
  return s;
}
