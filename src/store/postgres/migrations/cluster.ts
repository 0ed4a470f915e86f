import type { Migration } from '../../migration.js';

/**
 * Leases of singleton work (core/cluster.ts), the SQLite table's names and types (expiry in epoch ms). Expiry
 * is on the database's clock (`clock_timestamp()`), so the hubs' clocks never decide who holds a lease.
 */
export const clusterMigrations: Migration[] = [
  {
    version: 1,
    name: 'leases',
    sql: `
      CREATE TABLE leases (
        name TEXT COLLATE "C" PRIMARY KEY,
        holder TEXT COLLATE "C" NOT NULL,
        token BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
    `,
  },
];
