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
