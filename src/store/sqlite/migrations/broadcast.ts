import type { Migration } from './types.js';

/** Broadcasts, deliveries, templates, rules, webhook log, locations and incidents. */
export const broadcastMigrations: Migration[] = [
  {
    version: 1,
    name: 'broadcasts, deliveries, templates',
    sql: `
      CREATE TABLE broadcasts (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        state TEXT NOT NULL,
        body TEXT NOT NULL
      );
      CREATE INDEX broadcasts_created ON broadcasts(created_at);
      CREATE TABLE broadcast_deliveries (
        id TEXT PRIMARY KEY,
        broadcast_id TEXT NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
        device_id TEXT NOT NULL,
        state TEXT NOT NULL,
        body TEXT NOT NULL
      );
      CREATE INDEX broadcast_deliveries_bc ON broadcast_deliveries(broadcast_id);
      CREATE TABLE broadcast_templates (
        id TEXT PRIMARY KEY,
        body TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'rules, webhook deliveries, locations, incidents',
    sql: `
      CREATE TABLE rules (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        body TEXT NOT NULL
      );
      CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY,
        rule_id TEXT,
        created_at TEXT NOT NULL,
        body TEXT NOT NULL
      );
      CREATE INDEX webhook_deliveries_created ON webhook_deliveries(created_at);
      CREATE TABLE locations (
        extension TEXT PRIMARY KEY,
        body TEXT NOT NULL
      );
      CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        call_key TEXT,
        body TEXT NOT NULL
      );
      CREATE INDEX incidents_created ON incidents(created_at);
      CREATE INDEX incidents_call ON incidents(call_key);
    `,
  },
  {
    version: 3,
    name: 'broadcast targets (stored with the broadcast; deliveries are written with their outcomes)',
    sql: `
      CREATE TABLE broadcast_targets (
        broadcast_id TEXT PRIMARY KEY REFERENCES broadcasts(id) ON DELETE CASCADE,
        body TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'incident exactly-once: one live incident per (source device, call key)',
    sql: `
      ALTER TABLE incidents ADD COLUMN source_device TEXT;
      ALTER TABLE incidents ADD COLUMN call_live INTEGER NOT NULL DEFAULT 0;
      UPDATE incidents SET source_device = json_extract(body, '$.pbx');
      CREATE UNIQUE INDEX incidents_live_call ON incidents(source_device, call_key) WHERE call_live = 1;
    `,
  },
  {
    version: 5,
    name: 'running broadcasts found without reading the others (hubs resume those whose lease ran out)',
    sql: `CREATE INDEX broadcasts_delivering ON broadcasts(created_at) WHERE state = 'delivering';`,
  },
];
