import type { Migration } from '../../migration.js';
import { alertingMigrations } from './alerting.js';
import { auditMigrations } from './audit.js';
import { avayaMigrations } from './avaya.js';
import { broadcastMigrations } from './broadcast.js';
import { clusterMigrations } from './cluster.js';
import { coreMigrations } from './core.js';
import { eventsMigrations } from './events.js';
import { ipofficeMigrations } from './ipoffice.js';
import { pubsubMigrations } from './pubsub.js';
import { scheduleMigrations } from './schedules.js';
import { securityMigrations } from './security.js';

/**
 * PostgreSQL migrations per module, numbered like the SQLite ones (store/sqlite/migrations), with the same
 * module names, and recorded in the same `schema_migrations` table shape. Module, table and column names
 * are the SQLite ones, so `switchboard store migrate` copies a site table by table. The order matters:
 * `security` alters tables of `core`.
 */
export const POSTGRES_MIGRATIONS: Record<string, Migration[]> = {
  core: coreMigrations,
  pubsub: pubsubMigrations,
  security: securityMigrations,
  audit: auditMigrations,
  broadcast: broadcastMigrations,
  schedules: scheduleMigrations,
  avaya: avayaMigrations,
  ipoffice: ipofficeMigrations,
  alerting: alertingMigrations,
  cluster: clusterMigrations,
  events: eventsMigrations,
};
