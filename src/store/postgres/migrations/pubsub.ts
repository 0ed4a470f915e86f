import type { Migration } from '../../migration.js';

/**
 * PubSub relay on PostgreSQL: the SQLite schema (accounts, sessions, messages with leases, dedup keys,
 * per-queue counts), times as epoch ms in BIGINT, plus `pubsub_insert`: the whole publish (dedup, limit
 * checks under a row lock of the queue, insert, wake-up NOTIFY) as one statement, so that it costs one
 * round trip and is atomic whichever hub runs it. Limit errors are raised as SQLSTATE SBQ01 (queue full)
 * and SBQ02 (too many queues) with the count in the message, and mapped to the relay's typed errors.
 */
export const pubsubMigrations: Migration[] = [
  {
    version: 1,
    name: 'pubsub accounts, sessions, messages, dedup, queue counts, insert function',
    sql: `
      CREATE TABLE pubsub_accounts (
        sid TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL,
        token_salt TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        rotated_at BIGINT
      );
      CREATE TABLE pubsub_sessions (
        token_hash TEXT PRIMARY KEY,
        account_sid TEXT NOT NULL REFERENCES pubsub_accounts(sid) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX pubsub_sessions_account ON pubsub_sessions(account_sid, expires_at);
      CREATE INDEX pubsub_sessions_expires ON pubsub_sessions(expires_at);
      CREATE TABLE pubsub_messages (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        account_sid TEXT NOT NULL REFERENCES pubsub_accounts(sid) ON DELETE CASCADE,
        queue TEXT NOT NULL,
        payload TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        lease_session TEXT,
        lease_until BIGINT,
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
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (account_sid, queue, key)
      );
      CREATE INDEX pubsub_dedup_expires ON pubsub_dedup(expires_at);
      -- Per-queue message counts kept by triggers, so that limit checks are O(1) instead of a scan; the
      -- row is also the lock that makes a queue's limit check and insert atomic across hubs.
      CREATE TABLE pubsub_queues (
        account_sid TEXT NOT NULL REFERENCES pubsub_accounts(sid) ON DELETE CASCADE,
        queue TEXT NOT NULL,
        depth BIGINT NOT NULL,
        PRIMARY KEY (account_sid, queue)
      );
      CREATE INDEX pubsub_queues_nonempty ON pubsub_queues(account_sid) WHERE depth > 0;

      CREATE FUNCTION pubsub_messages_count_ins() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        INSERT INTO pubsub_queues AS q (account_sid, queue, depth) VALUES (NEW.account_sid, NEW.queue, 1)
          ON CONFLICT (account_sid, queue) DO UPDATE SET depth = q.depth + 1;
        RETURN NEW;
      END $fn$;
      CREATE TRIGGER pubsub_messages_count_ins AFTER INSERT ON pubsub_messages
        FOR EACH ROW EXECUTE FUNCTION pubsub_messages_count_ins();
      -- One UPDATE per queue for a whole acknowledgement or sweep, not one per message.
      CREATE FUNCTION pubsub_messages_count_del() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        UPDATE pubsub_queues q SET depth = q.depth - d.n
          FROM (SELECT account_sid, queue, COUNT(*) AS n FROM old_rows GROUP BY account_sid, queue
                ORDER BY account_sid, queue) d
          WHERE q.account_sid = d.account_sid AND q.queue = d.queue;
        RETURN NULL;
      END $fn$;
      CREATE TRIGGER pubsub_messages_count_del AFTER DELETE ON pubsub_messages
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION pubsub_messages_count_del();

      CREATE FUNCTION pubsub_insert(
        p_id TEXT, p_account TEXT, p_queue TEXT, p_payload TEXT, p_bytes INTEGER,
        p_created BIGINT, p_expires BIGINT, p_now BIGINT,
        p_dedup_key TEXT, p_dedup_expires BIGINT, p_max_length BIGINT, p_max_queues BIGINT,
        p_channel TEXT, p_notify TEXT
      ) RETURNS TEXT LANGUAGE plpgsql AS $fn$
      DECLARE
        v_depth BIGINT;
        v_n BIGINT;
        v_dup TEXT;
      BEGIN
        IF p_dedup_key IS NOT NULL THEN
          -- Claims the key, or waits for a concurrent publish of the same key and then sees it live.
          INSERT INTO pubsub_dedup AS d (account_sid, queue, key, message_id, expires_at)
            VALUES (p_account, p_queue, p_dedup_key, p_id, p_dedup_expires)
            ON CONFLICT (account_sid, queue, key) DO UPDATE
              SET message_id = EXCLUDED.message_id, expires_at = EXCLUDED.expires_at
              WHERE d.expires_at <= p_now;
          IF NOT FOUND THEN
            SELECT message_id INTO v_dup FROM pubsub_dedup
              WHERE account_sid = p_account AND queue = p_queue AND key = p_dedup_key;
            RETURN v_dup;
          END IF;
        END IF;
        -- Locks the queue's count row (creating it at 0) until commit.
        INSERT INTO pubsub_queues AS q (account_sid, queue, depth) VALUES (p_account, p_queue, 0)
          ON CONFLICT (account_sid, queue) DO UPDATE SET depth = q.depth
          RETURNING q.depth INTO v_depth;
        IF v_depth <= 0 THEN
          -- A new queue for the account: one at a time per account, so the count cannot race.
          PERFORM 1 FROM pubsub_accounts WHERE sid = p_account FOR NO KEY UPDATE;
          SELECT COUNT(*) INTO v_n FROM pubsub_queues WHERE account_sid = p_account AND depth > 0;
          IF v_n >= p_max_queues THEN
            RAISE EXCEPTION USING ERRCODE = 'SBQ02', MESSAGE = v_n::TEXT;
          END IF;
        ELSIF v_depth >= p_max_length THEN
          RAISE EXCEPTION USING ERRCODE = 'SBQ01', MESSAGE = v_depth::TEXT;
        END IF;
        INSERT INTO pubsub_messages (id, account_sid, queue, payload, bytes, created_at, expires_at)
          VALUES (p_id, p_account, p_queue, p_payload, p_bytes, p_created, p_expires);
        IF p_notify IS NOT NULL THEN
          PERFORM pg_notify(p_channel, p_notify);
        END IF;
        RETURN NULL;
      END $fn$;
    `,
  },
  {
    version: 2,
    name: 'NOTIFY on account and session changes (hubs cache them)',
    // Statement-level triggers: whoever changes an account or ends a session (a hub, the CLI, an operator
    // in psql), every hub hears it and drops its cached accounts and sessions. New sessions need no notice
    // (a hub never caches a session it did not find).
    sql: `
      CREATE FUNCTION pubsub_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        PERFORM pg_notify('switchboard_pubsub_auth', '');
        RETURN NULL;
      END $fn$;
      CREATE TRIGGER pubsub_accounts_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pubsub_accounts
        FOR EACH STATEMENT EXECUTE FUNCTION pubsub_auth_changed();
      CREATE TRIGGER pubsub_sessions_changed AFTER UPDATE OR DELETE OR TRUNCATE ON pubsub_sessions
        FOR EACH STATEMENT EXECUTE FUNCTION pubsub_auth_changed();
    `,
  },
];
