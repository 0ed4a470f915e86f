import type { Migration } from './types.js';

/** Scheduled and recurring broadcasts (JSON bodies keyed by id). */
export const scheduleMigrations: Migration[] = [
  {
    version: 1,
    name: 'broadcast schedules',
    sql: `
      CREATE TABLE broadcast_schedules (
        id TEXT PRIMARY KEY,
        body TEXT NOT NULL
      );
    `,
  },
];
