import type { Migration } from './types.js';

/** Security hardening (issue 13): API keys record the local user they act for. */
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
];
