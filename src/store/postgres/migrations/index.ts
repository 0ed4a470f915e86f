import type { Migration } from '../../migration.js';
import { pubsubMigrations } from './pubsub.js';

/**
 * PostgreSQL migrations per module, numbered like the SQLite ones (store/sqlite/migrations) and recorded
 * in the same `schema_migrations` table shape. Only the PubSub relay has a PostgreSQL store so far.
 */
export const POSTGRES_MIGRATIONS: Record<string, Migration[]> = {
  pubsub: pubsubMigrations,
};
