import type { Migration } from './types.js';

/**
 * Leases of singleton work (core/cluster.ts). A SQLite hub is alone on its data directory, so it always gets
 * its leases; the table keeps the port's behaviour (tokens, expiry, release) the same on both backends.
 */
export const clusterMigrations: Migration[] = [
  {
    version: 1,
    name: 'leases',
    sql: `
      CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        token INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
    `,
  },
];
