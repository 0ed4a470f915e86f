import type { Migration } from './types.js';

/** The audit trail (issue 18): append-only, its own retention (`audit.retentionDays`). */
export const auditMigrations: Migration[] = [
  {
    version: 1,
    name: 'audit trail',
    sql: `
      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        time TEXT NOT NULL,
        actor_kind TEXT NOT NULL,
        actor_id TEXT,
        actor_name TEXT,
        address TEXT,
        action TEXT NOT NULL,
        target TEXT,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX audit_log_time ON audit_log(time);
      CREATE INDEX audit_log_action ON audit_log(action, seq);
      CREATE INDEX audit_log_actor ON audit_log(actor_name, seq);
      -- Append-only: rows are never changed; only pruning by age deletes them.
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    `,
  },
];
