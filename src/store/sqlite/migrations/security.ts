import type { Migration } from './types.js';

/**
 * Security hardening (issue 13): API keys record the local user they act for. Roles (issue 18): users and
 * keys get a role (existing ones become `admin`, sessions take their user's role at each request), scoped
 * keys a list of permissions, sessions a sliding expiry with an absolute cap, revocations a reason.
 */
export const securityMigrations: Migration[] = [
  {
    version: 1,
    name: 'api keys record their creator',
    sql: `
      ALTER TABLE api_keys ADD COLUMN created_by TEXT;
      UPDATE api_keys SET created_by = substr(name, 9) WHERE name LIKE 'session:%';
      CREATE INDEX api_keys_created_by ON api_keys(created_by);
    `,
  },
  {
    version: 2,
    name: 'roles, directory users, scoped keys, sliding sessions, revocation reasons',
    sql: `
      ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
      ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
      ALTER TABLE api_keys ADD COLUMN role TEXT;
      ALTER TABLE api_keys ADD COLUMN scopes TEXT;
      UPDATE api_keys SET role = 'admin' WHERE name NOT LIKE 'session:%';
      ALTER TABLE api_keys ADD COLUMN idle_seconds INTEGER;
      ALTER TABLE api_keys ADD COLUMN absolute_expires_at TEXT;
      UPDATE api_keys SET absolute_expires_at = expires_at WHERE expires_at IS NOT NULL;
      ALTER TABLE api_keys ADD COLUMN revoked_reason TEXT;
      UPDATE api_keys SET revoked_reason = 'revoked' WHERE revoked_at IS NOT NULL;
    `,
  },
];
