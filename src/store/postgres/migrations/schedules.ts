import type { Migration } from '../../migration.js';

/** Scheduled and recurring broadcasts: the SQLite table (store/sqlite/migrations/schedules.ts). */
export const scheduleMigrations: Migration[] = [
  {
    version: 1,
    name: 'broadcast schedules',
    sql: `
      CREATE TABLE broadcast_schedules (
        id TEXT COLLATE "C" PRIMARY KEY,
        body TEXT NOT NULL
      );
    `,
  },
];
