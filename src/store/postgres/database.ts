import { createRequire } from 'node:module';
import type pgModule from 'pg';

type Pg = typeof pgModule;
let pgLoaded: Pg | undefined;
/**
 * The `pg` client library, loaded when a PostgreSQL store is first opened: a hub on SQLite (the default)
 * does not pay for it at start-up (≈ 10% of a cold start, with the undici it pulls in).
 */
function pgLib(): Pg {
  pgLoaded ??= createRequire(import.meta.url)('pg') as Pg;
  return pgLoaded;
}

import { ValidationError } from '../../core/errors.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import { backoffDelay } from '../../core/retry.js';
import { StoreBusyError, StoreServerTooOldError, StoreUnavailableError, StoreValueError } from '../errors.js';
import { type Migration, planMigrations } from '../migration.js';
import { POSTGRES_MIGRATIONS } from './migrations/index.js';

/**
 * The PostgreSQL connection of a store: a pool for statements, one dedicated connection for LISTEN
 * (wake-ups), numbered migrations, and clear errors while the server is unreachable.
 *
 * - Pool connections are made on demand, so after a restart of PostgreSQL the next statement simply
 *   connects again; meanwhile every statement fails fast with `STORE_UNAVAILABLE` (HTTP 503).
 * - The LISTEN connection reconnects by itself with capped, jittered exponential backoff, then tells its
 *   listeners to re-check (notifications sent while it was away are lost: they are wake-ups only).
 * - Deadlocks and serialization failures (the statement was rolled back whole) are retried a few times.
 */
export interface PostgresOptions {
  /** `postgres://user[:password]@host[:port]/database` — never logged (it may hold a password). */
  url: string;
  /** Connections in the statement pool. Default 10. */
  poolSize?: number;
  /** Longest wait to open a connection before failing with STORE_UNAVAILABLE. Default 5 s. */
  connectTimeoutMs?: number;
  /** Longest a statement may run before PostgreSQL cancels it (`statement_timeout`). Default 15 s. */
  statementTimeoutMs?: number;
  /** First and longest delay between reconnects of the LISTEN connection. Default 100 ms … 5 s. */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  logger?: Logger;
  /** Migrations per module (default: every PostgreSQL migration of the code). */
  migrations?: Record<string, Migration[]>;
}

export const POSTGRES_DEFAULTS = {
  poolSize: 10,
  connectTimeoutMs: 5000,
  statementTimeoutMs: 15_000,
  reconnectInitialMs: 100,
  reconnectMaxMs: 5000,
} as const;

/** A statement runner: the pool, or one connection inside a transaction. */
export type Query = <R = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<R[]>;

export interface Listener {
  notify(payload: string): void;
  /**
   * The LISTEN on this channel is (re)established (also once after `listen` on a connection that was up
   * already): notifications may have been missed before.
   */
  reconnected(): void;
}

/** bigint (count(*), BIGINT columns of epoch ms) as a JS number: every value we store fits. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pgLib().types.builtins.INT8
      ? (v: string) => Number(v)
      : pgLib().types.getTypeParser(oid, format ?? 'text')) as Pg['types']['getTypeParser'],
};

/** SQLSTATE classes and node errors that mean "the server is not there (now)". */
const UNAVAILABLE_NODE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);
const UNAVAILABLE_SQLSTATE = new Set(['57P01', '57P02', '57P03', '53300']);
const RETRY_SQLSTATE = new Set(['40P01', '40001']);
/** PostgreSQL 12.0 (`server_version_num`): the oldest server the migrations run on. */
const MIN_SERVER_VERSION_NUM = 120000;

/** Throws STORE_SERVER_TOO_OLD below PostgreSQL 12 (`server_version_num`, `server_version` as the server says). */
export function requireServerVersion(num: string | undefined, text: string | undefined): void {
  if (!(Number(num) >= MIN_SERVER_VERSION_NUM))
    throw new StoreServerTooOldError(`PostgreSQL ${text ?? num ?? '(version unknown)'}`, 'PostgreSQL 12');
}
/** Statement timeout (statement_timeout), lock not available (lock_timeout, NOWAIT). */
const BUSY_SQLSTATE = new Set(['57014', '55P03']);

function sqlState(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** True when the error means the database could not be reached or the connection broke. */
export function isConnectionError(e: unknown): boolean {
  const code = sqlState(e);
  if (code && (UNAVAILABLE_NODE.has(code) || UNAVAILABLE_SQLSTATE.has(code) || code.startsWith('08')))
    return true;
  const msg = e instanceof Error ? e.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed|Cannot use a pool after calling end/i.test(
    msg,
  );
}

function unavailable(e: unknown): StoreUnavailableError {
  const code = sqlState(e);
  const msg = e instanceof Error ? e.message : String(e);
  // pg's messages name the host and port at most, never the password.
  return new StoreUnavailableError(`PostgreSQL: ${code ? `${code} ` : ''}${msg.slice(0, 200)}`, e);
}

function busy(e: unknown): StoreBusyError {
  const code = sqlState(e);
  const msg = e instanceof Error ? e.message : String(e);
  return new StoreBusyError(`PostgreSQL: ${code ? `${code} ` : ''}${msg.slice(0, 200)}`, e);
}

function positive(name: string, v: number | undefined, def: number): number {
  const x = v ?? def;
  if (!Number.isFinite(x) || x <= 0) {
    throw new ValidationError('STORE_BAD_OPTION', `${name} must be a positive number, got ${String(v)}`, {
      field: name,
    });
  }
  return x;
}

/** Quotes an identifier for LISTEN (channel names are ours, but never interpolate unquoted). */
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

export class PostgresDatabase {
  readonly pool: pgModule.Pool;
  private readonly log: Logger;
  private readonly opts: Required<Omit<PostgresOptions, 'logger' | 'migrations'>>;
  private readonly migrations: Record<string, Migration[]>;
  private migrated: Promise<void> | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();
  private listenClient: pgModule.Client | undefined;
  private listenAttempt = 0;
  private listenTimer: NodeJS.Timeout | undefined;
  private listenConnecting = false;
  private everListened = false;
  private closed = false;

  constructor(options: PostgresOptions) {
    if (!/^postgres(ql)?:\/\//.test(options.url)) {
      throw new ValidationError('STORE_BAD_URL', 'the PostgreSQL store URL must start with postgres://', {
        field: 'url',
      });
    }
    this.opts = {
      url: options.url,
      poolSize: positive('poolSize', options.poolSize, POSTGRES_DEFAULTS.poolSize),
      connectTimeoutMs: positive(
        'connectTimeoutMs',
        options.connectTimeoutMs,
        POSTGRES_DEFAULTS.connectTimeoutMs,
      ),
      statementTimeoutMs: positive(
        'statementTimeoutMs',
        options.statementTimeoutMs,
        POSTGRES_DEFAULTS.statementTimeoutMs,
      ),
      reconnectInitialMs: positive(
        'reconnectInitialMs',
        options.reconnectInitialMs,
        POSTGRES_DEFAULTS.reconnectInitialMs,
      ),
      reconnectMaxMs: positive('reconnectMaxMs', options.reconnectMaxMs, POSTGRES_DEFAULTS.reconnectMaxMs),
    };
    this.log = options.logger ?? silentLogger;
    this.migrations = options.migrations ?? POSTGRES_MIGRATIONS;
    this.pool = new (pgLib().Pool)({
      connectionString: this.opts.url,
      max: this.opts.poolSize,
      connectionTimeoutMillis: this.opts.connectTimeoutMs,
      statement_timeout: this.opts.statementTimeoutMs,
      keepAlive: true,
      types: TYPES,
    });
    // An idle connection the server closed (restart): the pool drops it; the next statement reconnects.
    this.pool.on('error', (e) => this.log.warn({ err: e }, 'postgres idle connection lost'));
  }

  /** Runs one statement (autocommit) after the migrations; connection failures become STORE_UNAVAILABLE. */
  readonly query: Query = async <R>(sql: string, params?: unknown[]): Promise<R[]> => {
    await this.open();
    return this.run(() => this.pool.query(sql, params).then((r) => r.rows as R[]));
  };

  /** Runs `fn` in one transaction on one connection (BEGIN … COMMIT, ROLLBACK on error). */
  async tx<T>(fn: (q: Query) => Promise<T>): Promise<T> {
    await this.open();
    return this.run(() => this.rawTx(fn));
  }

  private async rawTx<T>(fn: (q: Query) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const q: Query = async <R>(sql: string, params?: unknown[]) =>
        (await client.query(sql, params)).rows as R[];
      const r = await fn(q);
      await client.query('COMMIT');
      return r;
    } catch (e) {
      if (isConnectionError(e)) broken = true;
      else await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release(broken);
    }
  }

  /**
   * False from a statement that failed to reach the server until one succeeds again: `/readyz`, the
   * console and the 911 readiness show it.
   */
  get reachable(): boolean {
    return this.lastReachable && !this.closed;
  }
  private lastReachable = true;

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError('the store is closed');
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await fn();
        this.lastReachable = true;
        return r;
      } catch (e) {
        if (isConnectionError(e)) {
          this.lastReachable = false;
          throw unavailable(e);
        }
        // A deadlock or serialization failure rolled the whole statement/transaction back: run it again.
        const state = sqlState(e) ?? '';
        if (RETRY_SQLSTATE.has(state) && attempt < 4) continue;
        // Rolled back and retryable, but not now: a 503 the caller retries, never a 500.
        if (RETRY_SQLSTATE.has(state) || BUSY_SQLSTATE.has(state)) throw busy(e);
        // A NUL character in a text value: PostgreSQL cannot store it (SQLite can).
        if (sqlState(e) === '22021') throw new StoreValueError(e);
        throw e;
      }
    }
  }

  /**
   * Applies the migrations once (concurrent hubs: a transaction-scoped advisory lock makes the others
   * wait, then find nothing to do). Throws STORE_TOO_NEW for a database newer than the code. A failure
   * to connect is not remembered: the next call tries again.
   */
  open(): Promise<void> {
    this.migrated ??= this.run(() => this.rawTx((q) => this.migrate(q))).catch((e) => {
      this.migrated = undefined;
      throw e;
    });
    return this.migrated;
  }

  private async migrate(q: Query): Promise<void> {
    // The migrations use PostgreSQL 12 features (AS MATERIALIZED, plan_cache_mode): say so, not a SQL error.
    const [ver] = await q<{ num: string; text: string }>(
      "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text",
    );
    requireServerVersion(ver?.num, ver?.text);
    // 0x5357424d = "SWBM": one lock key for every Switchboard migration in this database.
    await q('SELECT pg_advisory_xact_lock(1398227533)');
    await q(`CREATE TABLE IF NOT EXISTS schema_migrations (
      module TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL,
      PRIMARY KEY (module, version))`);
    const rows = await q<{ module: string; v: number }>(
      'SELECT module, MAX(version) AS v FROM schema_migrations GROUP BY module',
    );
    const plan = planMigrations(
      new Map(rows.map((r) => [r.module, r.v])),
      this.migrations,
      'another database',
    );
    for (const { module, migration: m } of plan) {
      await q(m.sql);
      await q('INSERT INTO schema_migrations (module, version, name, applied_at) VALUES ($1, $2, $3, $4)', [
        module,
        m.version,
        m.name,
        new Date().toISOString(),
      ]);
      this.log.info({ module, version: m.version, name: m.name }, 'postgres migration applied');
    }
  }

  /** Subscribes to NOTIFY on `channel`; returns the unsubscribe function. */
  listen(channel: string, l: Listener): () => void {
    let set = this.listeners.get(channel);
    const fresh = !set;
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(l);
    if (!this.listenClient && !this.listenConnecting) this.connectListener();
    else if (fresh && this.listenClient) {
      // A channel added on a live connection: its listeners hear `reconnected` once the LISTEN is in.
      const client = this.listenClient;
      client.query(`LISTEN ${ident(channel)}`).then(
        () => {
          if (this.listenClient === client) for (const x of set) x.reconnected();
        },
        () => this.dropListener(),
      );
    } else if (this.listenClient) l.reconnected();
    return () => {
      set.delete(l);
    };
  }

  /** True while the LISTEN connection is up (wake-ups flow). */
  listening(): boolean {
    return this.listenClient !== undefined;
  }

  private connectListener(): void {
    if (this.closed || this.listenConnecting) return;
    this.listenConnecting = true;
    const client = new (pgLib().Client)({
      connectionString: this.opts.url,
      connectionTimeoutMillis: this.opts.connectTimeoutMs,
      keepAlive: true,
      types: TYPES,
    });
    let gone = false;
    const lost = (why: string) => {
      if (gone) return;
      gone = true;
      if (this.listenClient === client) this.listenClient = undefined;
      client.end().catch(() => {});
      if (!this.closed) {
        this.log.warn({ reason: why }, 'postgres LISTEN connection lost; reconnecting');
        this.scheduleListener();
      }
    };
    client.on('error', (e) => lost(e.message));
    client.on('end', () => lost('connection ended'));
    client.on('notification', (n) => {
      for (const l of this.listeners.get(n.channel) ?? []) {
        try {
          l.notify(n.payload ?? '');
        } catch (e) {
          this.log.warn({ err: e }, 'postgres notification handler failed');
        }
      }
    });
    void (async () => {
      try {
        await client.connect();
        for (const ch of this.listeners.keys()) await client.query(`LISTEN ${ident(ch)}`);
        if (this.closed || gone) {
          await client.end().catch(() => {});
          return;
        }
        this.listenClient = client;
        this.listenAttempt = 0;
        if (this.everListened) this.log.info('postgres LISTEN connection back');
        this.everListened = true;
        for (const set of this.listeners.values()) for (const l of set) l.reconnected();
      } catch (e) {
        lost((e as Error).message);
      } finally {
        this.listenConnecting = false;
      }
    })();
  }

  private dropListener(): void {
    const c = this.listenClient;
    this.listenClient = undefined;
    if (c) c.emit('error', new Error('LISTEN failed'));
  }

  private scheduleListener(): void {
    if (this.closed || this.listenTimer) return;
    const delay = backoffDelay(this.listenAttempt++, {
      initialMs: this.opts.reconnectInitialMs,
      maxMs: this.opts.reconnectMaxMs,
    });
    this.listenTimer = setTimeout(() => {
      this.listenTimer = undefined;
      // The attempt that failed may still be unwinding its finally: retry once it has.
      if (this.listenConnecting) this.scheduleListener();
      else this.connectListener();
    }, delay);
    this.listenTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.listenTimer) clearTimeout(this.listenTimer);
    const c = this.listenClient;
    this.listenClient = undefined;
    await c?.end().catch(() => {});
    await this.pool.end().catch(() => {});
  }
}
