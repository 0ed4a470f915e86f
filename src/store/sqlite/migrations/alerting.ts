import type { Migration } from './types.js';

/** CAP messages received (dedupe, broadcasts they caused) and the alerting channels' delivery log. */
export const alertingMigrations: Migration[] = [
  {
    version: 1,
    name: 'cap alerts and channel log',
    sql: `
      CREATE TABLE cap_alerts (
        key TEXT PRIMARY KEY,
        event_id TEXT,
        received_at TEXT NOT NULL,
        body TEXT NOT NULL
      );
      CREATE INDEX cap_alerts_event ON cap_alerts (event_id);
      CREATE INDEX cap_alerts_received ON cap_alerts (received_at);
      CREATE TABLE channel_log (
        id TEXT PRIMARY KEY,
        incident_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        body TEXT NOT NULL
      );
      CREATE INDEX channel_log_incident ON channel_log (incident_id, created_at);
      CREATE INDEX channel_log_created ON channel_log (created_at);
    `,
  },
];
