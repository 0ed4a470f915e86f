import type { Migration } from './types.js';

/** PubSub relay: accounts, sessions, queued messages with leases, dedup keys. Times are epoch ms. */
export const pubsubMigrations: Migration[] = [
  {
    version: 1,
    name: 'pubsub accounts, sessions, messages, dedup',
    sql: `
      CREATE TABLE pubsub_accounts (
        sid TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL,
        token_salt TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        rotated_at INTEGER
      );
      CREATE TABLE pubsub_sessions (
        token_hash TEXT PRIMARY KEY,
        account_sid TEXT NOT NULL REFERENCES pubsub_accounts(sid) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX pubsub_sessions_account ON pubsub_sessions(account_sid, expires_at);
      CREATE INDEX pubsub_sessions_expires ON pubsub_sessions(expires_at);
      CREATE TABLE pubsub_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        account_sid TEXT NOT NULL REFERENCES pubsub_accounts(sid) ON DELETE CASCADE,
        queue TEXT NOT NULL,
        payload TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        lease_session TEXT,
        lease_until INTEGER,
        deliveries INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX pubsub_messages_queue ON pubsub_messages(account_sid, queue, seq);
      CREATE INDEX pubsub_messages_expires ON pubsub_messages(expires_at);
      CREATE INDEX pubsub_messages_lease_session ON pubsub_messages(lease_session) WHERE lease_session IS NOT NULL;
      CREATE INDEX pubsub_messages_lease_until ON pubsub_messages(lease_until) WHERE lease_until IS NOT NULL;
      CREATE TABLE pubsub_dedup (
        account_sid TEXT NOT NULL REFERENCES pubsub_accounts(sid) ON DELETE CASCADE,
        queue TEXT NOT NULL,
        key TEXT NOT NULL,
        message_id TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (account_sid, queue, key)
      );
      CREATE INDEX pubsub_dedup_expires ON pubsub_dedup(expires_at);
      -- Per-queue message counts kept by triggers, so that limit checks are O(1) instead of a scan.
      CREATE TABLE pubsub_queues (
        account_sid TEXT NOT NULL REFERENCES pubsub_accounts(sid) ON DELETE CASCADE,
        queue TEXT NOT NULL,
        depth INTEGER NOT NULL,
        PRIMARY KEY (account_sid, queue)
      );
      CREATE INDEX pubsub_queues_nonempty ON pubsub_queues(account_sid) WHERE depth > 0;
      CREATE TRIGGER pubsub_messages_count_ins AFTER INSERT ON pubsub_messages BEGIN
        INSERT INTO pubsub_queues (account_sid, queue, depth) VALUES (NEW.account_sid, NEW.queue, 1)
          ON CONFLICT (account_sid, queue) DO UPDATE SET depth = depth + 1;
      END;
      CREATE TRIGGER pubsub_messages_count_del AFTER DELETE ON pubsub_messages BEGIN
        UPDATE pubsub_queues SET depth = depth - 1 WHERE account_sid = OLD.account_sid AND queue = OLD.queue;
      END;
    `,
  },
];
