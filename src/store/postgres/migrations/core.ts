import type { Migration } from '../../migration.js';

/**
 * Core tables on PostgreSQL: the tables and columns of the SQLite `core` module
 * (store/sqlite/migrations/core.ts), version for version, so a table copier moves a site by name.
 *
 * Types: sequence numbers are BIGINT; ISO times, ids and JSON bodies stay TEXT exactly as SQLite holds
 * them (a JSON body is copied byte for byte; JSONB would reorder keys and refuse `\u0000`). Every TEXT
 * column is `COLLATE "C"`: comparisons and ORDER BY are by code point, as SQLite's BINARY collation,
 * whatever the database's locale (an ISO time compared under en_US would ignore its punctuation).
 */
export const coreMigrations: Migration[] = [
  {
    version: 1,
    name: 'events, devices, groups, api keys, kv',
    sql: `
      CREATE TABLE events (
        seq BIGINT PRIMARY KEY,
        id TEXT COLLATE "C" NOT NULL UNIQUE,
        time TEXT COLLATE "C" NOT NULL,
        source TEXT COLLATE "C" NOT NULL,
        type TEXT COLLATE "C" NOT NULL,
        data TEXT COLLATE "C" NOT NULL
      );
      CREATE INDEX events_type_seq ON events(type, seq);
      CREATE INDEX events_time ON events(time);
      CREATE TABLE devices (
        id TEXT COLLATE "C" PRIMARY KEY,
        kind TEXT COLLATE "C" NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        address TEXT COLLATE "C" NOT NULL,
        labels TEXT COLLATE "C" NOT NULL,
        groups_json TEXT COLLATE "C" NOT NULL,
        location TEXT COLLATE "C" NOT NULL,
        settings TEXT COLLATE "C" NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        updated_at TEXT COLLATE "C" NOT NULL
      );
      CREATE INDEX devices_kind ON devices(kind);
      CREATE TABLE groups (
        id TEXT COLLATE "C" PRIMARY KEY,
        name TEXT COLLATE "C" NOT NULL,
        description TEXT COLLATE "C"
      );
      CREATE TABLE api_keys (
        id TEXT COLLATE "C" PRIMARY KEY,
        name TEXT COLLATE "C" NOT NULL,
        prefix TEXT COLLATE "C" NOT NULL,
        hash TEXT COLLATE "C" NOT NULL,
        salt TEXT COLLATE "C" NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        last_used_at TEXT COLLATE "C",
        revoked_at TEXT COLLATE "C"
      );
      CREATE TABLE kv (
        ns TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        value TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (ns, key)
      );
    `,
  },
  {
    version: 2,
    name: 'local users; expiring session keys',
    sql: `
      CREATE TABLE users (
        name TEXT COLLATE "C" PRIMARY KEY,
        password_hash TEXT COLLATE "C" NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        last_login_at TEXT COLLATE "C",
        disabled_at TEXT COLLATE "C"
      );
      ALTER TABLE api_keys ADD COLUMN expires_at TEXT COLLATE "C";
    `,
  },
];
