import type { Migration } from '../../migration.js';
import { avayaMigrations } from './avaya.js';
import { broadcastMigrations } from './broadcast.js';
import { ipofficeMigrations } from './ipoffice.js';
import { pubsubMigrations } from './pubsub.js';
import { scheduleMigrations } from './schedules.js';

/**
 * PostgreSQL migrations per module, numbered like the SQLite ones (store/sqlite/migrations), with the same
 * module names, and recorded in the same `schema_migrations` table shape.
 */
export const POSTGRES_MIGRATIONS: Record<string, Migration[]> = {
  pubsub: pubsubMigrations,
  broadcast: broadcastMigrations,
  schedules: scheduleMigrations,
  avaya: avayaMigrations,
  ipoffice: ipofficeMigrations,
};
