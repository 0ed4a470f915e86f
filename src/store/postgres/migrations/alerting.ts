import type { Migration } from '../../migration.js';

/**
 * CAP messages received and the alerting channels' delivery log: the SQLite tables
 * (store/sqlite/migrations/alerting.ts), with `seq` standing in for SQLite's rowid (insertion order).
 */
export const alertingMigrations: Migration[] = [
  {
    version: 1,
    name: 'cap alerts and channel log',
    sql: `
      CREATE TABLE cap_alerts (
        key TEXT COLLATE "C" PRIMARY KEY,
        event_id TEXT COLLATE "C",
        received_at TEXT COLLATE "C" NOT NULL,
        body TEXT NOT NULL,
        seq BIGSERIAL
      );
      CREATE INDEX cap_alerts_event ON cap_alerts (event_id);
      CREATE INDEX cap_alerts_received ON cap_alerts (received_at);
      CREATE TABLE channel_log (
        id TEXT COLLATE "C" PRIMARY KEY,
        incident_id TEXT COLLATE "C" NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        body TEXT NOT NULL,
        seq BIGSERIAL
      );
      CREATE INDEX channel_log_incident ON channel_log (incident_id, created_at);
      CREATE INDEX channel_log_created ON channel_log (created_at);
    `,
  },
];
