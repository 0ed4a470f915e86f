import type { Migration } from './types.js';

/** Avaya module: addressable push content (what phones fetch after a push), with expiry. */
export const avayaMigrations: Migration[] = [
  {
    version: 1,
    name: 'avaya push content',
    sql: `
      CREATE TABLE avaya_content (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        content_type TEXT NOT NULL,
        body TEXT NOT NULL,
        audio_json TEXT,
        audio_data BLOB,
        device_id TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        fetches INTEGER NOT NULL DEFAULT 0,
        last_fetch_at INTEGER
      );
      CREATE INDEX avaya_content_expires ON avaya_content (expires_at);
    `,
  },
];
