/**
 * The one error family of Switchboard. Every protocol, validation and device failure is a
 * `SwitchboardError` with a stable `code` (e.g. `DEVLINK3_AUTH_FAILED`), a human message that names the
 * bad field and never contains a secret, and an HTTP status used by the API error mapper.
 */
export interface ErrorOptions {
  /** Dotted path of the offending field, when there is one (`params.volume`, `http.port`). */
  field?: string;
  /** HTTP status the API answers with. Defaults per subclass. */
  status?: number;
  /** Whether retrying the same operation later may succeed (transient network failure, busy device). */
  retryable?: boolean;
  /** Extra machine-readable detail; must never contain secrets. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class SwitchboardError extends Error {
  readonly code: string;
  readonly field: string | undefined;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.field = opts.field;
    this.status = opts.status ?? 500;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details;
  }

  toJSON(): { code: string; message: string; field?: string; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.field === undefined ? {} : { field: this.field }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** Bad input from a user or an API caller (HTTP 400). */
export class ValidationError extends SwitchboardError {
  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(code, message, { status: 400, ...opts });
  }
}

/** Something named does not exist (HTTP 404). */
export class NotFoundError extends SwitchboardError {
  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(code, message, { status: 404, ...opts });
  }
}

/** A request that conflicts with the current state (HTTP 409). */
export class ConflictError extends SwitchboardError {
  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(code, message, { status: 409, ...opts });
  }
}

/** Bytes or text from a peer that do not follow the protocol (HTTP 502 when surfaced through the API). */
export class ProtocolError extends SwitchboardError {
  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(code, message, { status: 502, ...opts });
  }
}

/** A device or peer refused, failed or could not be reached (HTTP 502, or 504 for timeouts). */
export class DeviceError extends SwitchboardError {
  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(code, message, { status: 502, ...opts });
  }
}

/** An operation ran out of time. Retryable by default. */
export class TimeoutError extends SwitchboardError {
  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(code, message, { status: 504, retryable: true, ...opts });
  }
}

/** Missing or wrong credentials (HTTP 401) or not allowed (403 via `status`). */
export class AuthError extends SwitchboardError {
  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(code, message, { status: 401, ...opts });
  }
}

/** A configured limit was reached (HTTP 429 or 413 via `status`). */
export class LimitError extends SwitchboardError {
  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(code, message, { status: 429, ...opts });
  }
}

export function isSwitchboardError(e: unknown): e is SwitchboardError {
  return e instanceof SwitchboardError;
}

/** Message of any thrown value, for logs and reports. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
