import type { Migration } from './types.js';

/** IP Office module: SMDR call-detail records (call history), one row per record line. */
export const ipofficeMigrations: Migration[] = [
  {
    version: 1,
    name: 'smdr records',
    sql: `
      CREATE TABLE smdr_records (
        id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        received_at TEXT NOT NULL,
        call_start TEXT,
        call_id TEXT NOT NULL,
        continuation INTEGER NOT NULL,
        line TEXT NOT NULL,
        line_hash TEXT NOT NULL,
        emergency INTEGER NOT NULL DEFAULT 0,
        devlink_call_key TEXT
      );
      CREATE UNIQUE INDEX smdr_records_line ON smdr_records (device_id, line_hash);
      CREATE INDEX smdr_records_start ON smdr_records (device_id, call_start);
      CREATE INDEX smdr_records_call ON smdr_records (device_id, call_id);
    `,
  },
];
