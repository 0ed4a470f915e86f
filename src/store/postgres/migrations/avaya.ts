import type { Migration } from '../../migration.js';

/**
 * Avaya push content (what phones fetch after a push) with expiry: the SQLite table
 * (store/sqlite/migrations/avaya.ts); epoch-millisecond times are BIGINT, the audio samples BYTEA.
 */
export const avayaMigrations: Migration[] = [
  {
    version: 1,
    name: 'avaya push content',
    sql: `
      CREATE TABLE avaya_content (
        id TEXT COLLATE "C" PRIMARY KEY,
        kind TEXT NOT NULL,
        content_type TEXT NOT NULL,
        body TEXT NOT NULL,
        audio_json TEXT,
        audio_data BYTEA,
        device_id TEXT,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        fetches INTEGER NOT NULL DEFAULT 0,
        last_fetch_at BIGINT
      );
      CREATE INDEX avaya_content_expires ON avaya_content (expires_at);
    `,
  },
];
