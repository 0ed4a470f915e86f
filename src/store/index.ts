import type { Config } from '../config/schema.js';
import { ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { StorePorts } from '../core/module.js';
import type { PubSubStore } from '../pubsub/store.js';
import { PostgresCapAlertStore, PostgresChannelLog } from './postgres/alerting.js';
import { PostgresContentStore } from './postgres/avaya-content.js';
import { postgresBroadcastStores } from './postgres/broadcast.js';
import { PostgresConfigChanges } from './postgres/config-changes.js';
import { postgresCoreStores } from './postgres/core-stores.js';
import { PostgresDatabase } from './postgres/database.js';
import { PostgresLeaseStore } from './postgres/leases.js';
import { PostgresPubSubStore } from './postgres/pubsub.js';
import { PostgresScheduleStore } from './postgres/schedules.js';
import { PostgresSmdrStore } from './postgres/smdr.js';
import { SqliteCapAlertStore, SqliteChannelLog } from './sqlite/alerting.js';
import { SqliteContentStore } from './sqlite/avaya-content.js';
import { sqliteBroadcastStores } from './sqlite/broadcast.js';
import { SqliteConfigChanges } from './sqlite/config-changes.js';
import { sqliteCoreStores } from './sqlite/core-stores.js';
import { type Db, openDatabase } from './sqlite/database.js';
import { SqliteLeaseStore } from './sqlite/leases.js';
import { lockDataDir } from './sqlite/lock.js';
import { MIGRATIONS, type Migration } from './sqlite/migrations/index.js';
import { SqlitePubSubStore } from './sqlite/pubsub.js';
import { SqliteScheduleStore } from './sqlite/schedules.js';
import { SqliteSmdrStore } from './sqlite/smdr.js';

/**
 * The one place that opens the configured backend and builds every store port (issue 15): `store.url`
 * empty = the embedded SQLite file in `dataDir`; `postgres://…` = PostgreSQL. Modules, drivers and CLI
 * commands get the ports from here and never name a backend.
 */
export type StoreBackend = 'sqlite' | 'postgres';

export interface OpenedStores {
  backend: StoreBackend;
  stores: StorePorts;
  /** Where the data is, for logs and `/readyz` (a PostgreSQL URL without its password). */
  where: string;
  /** Closes every store and releases the data directory. */
  close(): Promise<void>;
}

export interface OpenStoresOptions {
  logger: Logger;
  /** SQLite migrations (tests replace them). */
  migrations?: Record<string, Migration[]>;
  /**
   * Take the data directory's lock (the hub does: one hub per SQLite file). CLI commands that write while a
   * hub may run leave it off (SQLite's own locking and busy timeout serialise them).
   */
  lock?: boolean;
}

/** `postgres://…` or `postgresql://…`; anything else is refused with a clear message. */
export function storeBackendOf(url: string): StoreBackend {
  const u = url.trim();
  if (u === '') return 'sqlite';
  if (/^postgres(ql)?:\/\//i.test(u)) return 'postgres';
  throw new ValidationError(
    'STORE_URL_INVALID',
    'store.url: must be empty (SQLite in dataDir) or a postgres://user@host:port/database URL',
    { field: 'store.url' },
  );
}

/** A PostgreSQL URL without its password, for logs. */
export function redactStoreUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

export async function openStores(config: Config, opts: OpenStoresOptions): Promise<OpenedStores> {
  const backend = storeBackendOf(config.store.url);
  return backend === 'postgres' ? openPostgres(config, opts) : openSqlite(config, opts);
}

/**
 * Every store on one PostgreSQL database (several hubs may share it). Connects and migrates before the hub
 * starts: an unreachable server stops the start with STORE_UNAVAILABLE (the service manager starts it
 * again); later losses fail single operations with 503 and show in `/readyz` until the server is back.
 */
async function openPostgres(config: Config, opts: OpenStoresOptions): Promise<OpenedStores> {
  const s = config.store;
  const db = new PostgresDatabase({
    url: s.url.trim(),
    poolSize: s.poolSize,
    connectTimeoutMs: s.connectTimeoutMs,
    statementTimeoutMs: s.statementTimeoutMs,
    logger: opts.logger.child({ module: 'store' }),
  });
  try {
    await db.open();
  } catch (e) {
    await db.close();
    throw e;
  }
  const core = postgresCoreStores(db);
  const stores: StorePorts = {
    ...core,
    ...postgresBroadcastStores(db),
    schedules: new PostgresScheduleStore(db),
    smdr: new PostgresSmdrStore(db),
    avayaContent: new PostgresContentStore(db),
    pubsub: new PostgresPubSubStore(db),
    capAlerts: new PostgresCapAlertStore(db),
    channelLog: new PostgresChannelLog(db),
    leases: new PostgresLeaseStore(db),
    configChanges: new PostgresConfigChanges(db),
    ready: () => db.reachable,
    close: () => db.close(),
  };
  return {
    backend: 'postgres',
    stores,
    where: redactStoreUrl(s.url.trim()),
    close: () => db.close(),
  };
}

async function openSqlite(config: Config, opts: OpenStoresOptions): Promise<OpenedStores> {
  const memory = config.dataDir === ':memory:';
  // One hub per data directory: a second one would lose events (UNIQUE seq) and PubSub wake-ups.
  const unlock = memory || opts.lock === false ? () => {} : lockDataDir(config.dataDir);
  let db: Db;
  try {
    db = openDatabase({
      dataDir: config.dataDir,
      migrations: opts.migrations ?? MIGRATIONS,
      keepBackups: config.backups.keepBeforeMigration,
      onBackup: (file, pending) =>
        opts.logger.info({ file, pending }, 'database backed up before migrating it'),
    });
  } catch (e) {
    unlock();
    throw e;
  }
  const core = sqliteCoreStores(db);
  const pubsub: PubSubStore = new SqlitePubSubStore(db);
  const avayaContent = new SqliteContentStore(db, config.store.writeBehindMs);
  const stores: StorePorts = {
    ...core,
    ...sqliteBroadcastStores(db),
    schedules: new SqliteScheduleStore(db),
    capAlerts: new SqliteCapAlertStore(db),
    channelLog: new SqliteChannelLog(db),
    leases: new SqliteLeaseStore(db),
    configChanges: new SqliteConfigChanges(db),
    smdr: new SqliteSmdrStore(db),
    avayaContent,
    pubsub,
    close: async () => {
      await core.close();
    },
  };
  let closed = false;
  return {
    backend: 'sqlite',
    stores,
    where: memory ? ':memory:' : config.dataDir,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await avayaContent.flush().catch((e: unknown) => {
          opts.logger.warn({ err: e }, 'avaya content not written at close');
        });
        await pubsub.close?.();
        await core.close();
      } finally {
        unlock();
      }
    },
  };
}
