import type { Migration } from '../../migration.js';

/**
 * IP Office SMDR call-detail records: the SQLite table (store/sqlite/migrations/ipoffice.ts). Flags stay
 * INTEGER 0/1 as in SQLite, so rows copy across unchanged.
 */
export const ipofficeMigrations: Migration[] = [
  {
    version: 1,
    name: 'smdr records',
    sql: `
      CREATE TABLE smdr_records (
        id TEXT COLLATE "C" PRIMARY KEY,
        device_id TEXT COLLATE "C" NOT NULL,
        received_at TEXT COLLATE "C" NOT NULL,
        call_start TEXT COLLATE "C",
        call_id TEXT COLLATE "C" NOT NULL,
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
