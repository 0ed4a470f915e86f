import type { Migration } from '../../migration.js';
import { auditMigrations } from './audit.js';
import { coreMigrations } from './core.js';
import { pubsubMigrations } from './pubsub.js';
import { securityMigrations } from './security.js';

/**
 * PostgreSQL migrations per module, numbered like the SQLite ones (store/sqlite/migrations) and recorded
 * in the same `schema_migrations` table shape. Module, table and column names are the SQLite ones, so
 * `switchboard store migrate` copies a site table by table. The order matters: `security` alters tables
 * of `core`.
 */
export const POSTGRES_MIGRATIONS: Record<string, Migration[]> = {
  core: coreMigrations,
  pubsub: pubsubMigrations,
  security: securityMigrations,
  audit: auditMigrations,
};
