import { alertingMigrations } from './alerting.js';
import { auditMigrations } from './audit.js';
import { avayaMigrations } from './avaya.js';
import { broadcastMigrations } from './broadcast.js';
import { clusterMigrations } from './cluster.js';
import { clusterConfigMigrations } from './cluster-config.js';
import { coreMigrations } from './core.js';
import { ipofficeMigrations } from './ipoffice.js';
import { pubsubMigrations } from './pubsub.js';
import { scheduleMigrations } from './schedules.js';
import { securityMigrations } from './security.js';
import type { Migration } from './types.js';

/**
 * Migrations per module. Each module numbers its own (so modules evolve independently); the
 * `schema_migrations` table records (module, version). Add a module with one line here.
 */
export const MIGRATIONS: Record<string, Migration[]> = {
  core: coreMigrations,
  broadcast: broadcastMigrations,
  avaya: avayaMigrations,
  pubsub: pubsubMigrations,
  security: securityMigrations,
  ipoffice: ipofficeMigrations,
  audit: auditMigrations,
  schedules: scheduleMigrations,
  alerting: alertingMigrations,
  cluster: clusterMigrations,
  // After every module whose tables it puts triggers on.
  cluster_config: clusterConfigMigrations,
};

export type { Migration };
