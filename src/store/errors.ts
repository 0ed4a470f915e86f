import { ConflictError, SwitchboardError, ValidationError } from '../core/errors.js';

/** Errors every store backend raises with the same codes, whatever the database behind it. */

/** The database is newer than this code: refuse to start rather than corrupt it. */
export class StoreVersionError extends SwitchboardError {
  constructor(module: string, dbVersion: number, codeVersion: number, other = 'another --data-dir') {
    super(
      'STORE_TOO_NEW',
      `the database has ${module} schema version ${dbVersion} but this version of Switchboard knows up to ${codeVersion}; upgrade Switchboard or use ${other}`,
      { status: 500, details: { module, dbVersion, codeVersion } },
    );
  }
}

/** The database server is older than the oldest the migrations support: refuse to start, saying which. */
export class StoreServerTooOldError extends SwitchboardError {
  constructor(server: string, needed: string) {
    super(
      'STORE_SERVER_TOO_OLD',
      `the database server is ${server}; Switchboard needs ${needed} or later (store.url)`,
      { status: 500, details: { server, needed } },
    );
  }
}

/**
 * The database cannot be reached right now (connection refused or lost, server restarting): the
 * operation did not happen, or for a write whose answer was lost, may have happened (publishers retry
 * with an Idempotency-Key). HTTP 503, retryable; the store reconnects by itself.
 */
export class StoreUnavailableError extends SwitchboardError {
  constructor(detail: string, cause?: unknown) {
    super('STORE_UNAVAILABLE', `the store is unavailable (${detail}); retry shortly`, {
      status: 503,
      retryable: true,
      // Answered as `Retry-After: 1` where the HTTP layer maps it (the PubSub relay does).
      details: { retryAfterSeconds: 1 },
      cause,
    });
  }
}

/**
 * The database answered, but could not do the operation in time: a statement ran past
 * `store.statementTimeoutMs` (PostgreSQL 57014), a lock could not be taken (55P03), or a deadlock or
 * serialization failure came back after every retry (40P01, 40001). The operation did not happen (its
 * transaction was rolled back). HTTP 503, retryable: the caller tries again, as for STORE_UNAVAILABLE; the
 * connection itself is fine, so `/readyz` stays ready.
 */
export class StoreBusyError extends SwitchboardError {
  constructor(detail: string, cause?: unknown) {
    super('STORE_BUSY', `the store is busy (${detail}); the operation did not happen, retry shortly`, {
      status: 503,
      retryable: true,
      details: { retryAfterSeconds: 1 },
      cause,
    });
  }
}

/**
 * A row with the same key exists already (two hubs, or two requests, adding the same device, key, user or
 * event at once): the insert did not happen. HTTP 409. Every backend raises it with this code, so the
 * caller that checked "absent" first and lost the race answers the same conflict on any backend.
 */
export class StoreConflictError extends ConflictError {
  constructor(entity: string, id: string, cause?: unknown) {
    super('STORE_CONFLICT', `a ${entity} with id ${JSON.stringify(id)} exists already`, {
      details: { entity, id },
      cause,
    });
  }
}

/**
 * A value the database cannot hold: PostgreSQL text refuses the NUL character (U+0000), which SQLite
 * stores. HTTP 400: the request did not happen. (Inside JSON bodies a NUL is escaped and is fine.)
 */
export class StoreValueError extends ValidationError {
  constructor(cause?: unknown) {
    super('STORE_VALUE_INVALID', 'a text value holds a NUL character (U+0000), which the store cannot keep', {
      cause,
    });
  }
}
