import { AuthError, type ErrorOptions, LimitError, NotFoundError, ValidationError } from '../core/errors.js';

/**
 * Typed errors of the PubSub relay. Every code is stable (clients and tests match on it); messages name
 * the offending field or limit and never contain a token.
 */
export class PubSubValidationError extends ValidationError {}

export class PubSubAuthError extends AuthError {}

export class PubSubForbiddenError extends AuthError {
  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(code, message, { status: 403, ...opts });
  }
}

export class PubSubLimitError extends LimitError {}

export class PubSubNotFoundError extends NotFoundError {}

/** The duration text (`30s`, `10m`, `2h`) does not parse. */
export function badDuration(field: string, text: string): PubSubValidationError {
  return new PubSubValidationError(
    'PUBSUB_BAD_DURATION',
    `${field}: ${JSON.stringify(text.slice(0, 40))} is not a duration; use a number with a unit: ms, s, m, h or d (e.g. 30s, 10m, 2h)`,
    { field },
  );
}

/** The queue holds `n` messages, the limit: every store backend throws exactly this. */
export function queueFullError(queue: string, n: number, limit: number): PubSubLimitError {
  return new PubSubLimitError(
    'PUBSUB_QUEUE_FULL',
    `queue ${queue} already holds ${n} messages (limit pubsub.maxQueueLength = ${limit}); subscribe to drain it`,
    { field: 'queue', details: { limit } },
  );
}

/** The account already has `n` queues holding messages, the limit. */
export function tooManyQueuesError(accountSid: string, n: number, limit: number): PubSubLimitError {
  return new PubSubLimitError(
    'PUBSUB_TOO_MANY_QUEUES',
    `account ${accountSid} already has ${n} queues holding messages (limit pubsub.maxQueuesPerAccount = ${limit}); drain or let some expire first`,
    { field: 'queue', details: { limit } },
  );
}

/** The account already has `n` live sessions, the limit. */
export function tooManySessionsError(accountSid: string, n: number, limit: number): PubSubLimitError {
  return new PubSubLimitError(
    'PUBSUB_TOO_MANY_SESSIONS',
    `account ${accountSid} has ${n} live sessions (limit pubsub.maxSessionsPerAccount = ${limit}); reuse session tokens or use a shorter ttl`,
  );
}
