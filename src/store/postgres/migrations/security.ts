import type { Migration } from '../../migration.js';

/** The SQLite `security` module on PostgreSQL (store/sqlite/migrations/security.ts), version for version. */
export const securityMigrations: Migration[] = [
  {
    version: 1,
    name: 'api keys record their creator',
    sql: `
      ALTER TABLE api_keys ADD COLUMN created_by TEXT COLLATE "C";
      UPDATE api_keys SET created_by = substr(name, 9) WHERE name LIKE 'session:%';
      CREATE INDEX api_keys_created_by ON api_keys(created_by);
    `,
  },
  {
    version: 2,
    name: 'roles, directory users, scoped keys, sliding sessions, revocation reasons',
    sql: `
      ALTER TABLE users ADD COLUMN role TEXT COLLATE "C" NOT NULL DEFAULT 'admin';
      ALTER TABLE users ADD COLUMN source TEXT COLLATE "C" NOT NULL DEFAULT 'local';
      ALTER TABLE api_keys ADD COLUMN role TEXT COLLATE "C";
      ALTER TABLE api_keys ADD COLUMN scopes TEXT COLLATE "C";
      UPDATE api_keys SET role = 'admin' WHERE name NOT LIKE 'session:%';
      ALTER TABLE api_keys ADD COLUMN idle_seconds INTEGER;
      ALTER TABLE api_keys ADD COLUMN absolute_expires_at TEXT COLLATE "C";
      UPDATE api_keys SET absolute_expires_at = expires_at WHERE expires_at IS NOT NULL;
      ALTER TABLE api_keys ADD COLUMN revoked_reason TEXT COLLATE "C";
      UPDATE api_keys SET revoked_reason = 'revoked' WHERE revoked_at IS NOT NULL;
    `,
  },
];
