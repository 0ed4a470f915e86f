import type { Migration } from '../../migration.js';

/** NOTIFY channel of event wake-ups; the payload is JSON `[origin, highest seq]`. */
export const EVENTS_CHANNEL = 'switchboard_events';

/** events_insert's opening (every version): the sequence lock, then the base to number from. */
const LOCK_AND_BASE = `      DECLARE
        base BIGINT;
        top BIGINT;
      BEGIN
        -- 0x53574556 = "SWEV": held until commit, so commit order = seq order across hubs.
        PERFORM pg_advisory_xact_lock(1398228310);
        SELECT GREATEST(
          COALESCE((SELECT s.last FROM event_sequence s WHERE s.id = 1), 0),
          COALESCE((SELECT MAX(e.seq) FROM events e), 0)
        ) INTO base;
`;

/**
 * events_insert's insert (every version): the `batch` CTE's new events numbered from `base` in their order,
 * answered with the ids and seqs stored; the statement goes on with the rows of ids stored before.
 */
const INSERT_BATCH = `          ), ins AS (
            INSERT INTO events (seq, id, time, source, type, data)
            SELECT base + b.k, b.id, b.time, b.source, b.type, b.data FROM batch b ORDER BY b.k
            RETURNING events.id, events.seq
          )
          SELECT ins.id, ins.seq FROM ins
          UNION ALL
`;

/** events_insert's close (every version): the high-water mark, and the wake-up of the other hubs. */
const SEQUENCE_AND_NOTIFY = `        SELECT COALESCE(MAX(e.seq), 0) INTO top FROM events e;
        IF top > base THEN
          INSERT INTO event_sequence (id, last) VALUES (1, top)
            ON CONFLICT (id) DO UPDATE SET last = EXCLUDED.last;
          PERFORM pg_notify('${EVENTS_CHANNEL}', json_build_array(p_origin, top)::text);
        END IF;
      END
`;

/**
 * One global event sequence for several hubs on one database (PostgreSQL only: on SQLite one hub owns the
 * file and its bus numbers events).
 *
 * Why a lock and not an identity column alone: identities are handed out before commit, so a reader could
 * see seq 11 committed while seq 10 is still in flight, move on, and never see 10. `events_insert` instead
 * numbers events under a transaction-scoped advisory lock that is released only after the commit, so the
 * order in which events commit is the order of their seqs: a reader that has seen N never later finds a
 * committed event below N. The lock is held for one statement (a plpgsql function: no round trip inside),
 * and every hub batches its events per event-loop turn, so the serialisation costs one short critical
 * section per batch.
 *
 * `event_sequence` keeps the high-water mark, so a seq is never handed out twice even after pruning every
 * event; the next seq is also past any seq stored otherwise (a site copied from SQLite, an `append`).
 * Events already stored (by id) answer their seq and are not stored again: a batch retried after an answer
 * that was lost is never duplicated. A NOTIFY (`[origin, highest seq]`) wakes the other hubs' feeds at commit.
 */
export const eventsMigrations: Migration[] = [
  {
    version: 1,
    name: 'one global event sequence (numbered at commit under an advisory lock)',
    sql: `
      CREATE TABLE event_sequence (
        id SMALLINT PRIMARY KEY CHECK (id = 1),
        last BIGINT NOT NULL
      );
      CREATE FUNCTION events_insert(
        p_id TEXT[], p_time TEXT[], p_source TEXT[], p_type TEXT[], p_data TEXT[], p_origin TEXT
      ) RETURNS TABLE (event_id TEXT, event_seq BIGINT) LANGUAGE plpgsql AS $fn$
${LOCK_AND_BASE}        RETURN QUERY
          WITH batch AS (
            SELECT x.id, x.time, x.source, x.type, x.data, row_number() OVER (ORDER BY x.n) AS k
            FROM unnest(p_id, p_time, p_source, p_type, p_data) WITH ORDINALITY AS x(id, time, source, type, data, n)
            WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = x.id)
${INSERT_BATCH}          SELECT e.id, e.seq FROM events e WHERE e.id = ANY (p_id);
${SEQUENCE_AND_NOTIFY}      $fn$;
    `,
  },
  {
    version: 2,
    name: 'events_insert finds stored ids by index, whatever the table statistics say',
    // Version 1 asked "already stored?" as an anti-join and a `= ANY` scan over events. PL/pgSQL keeps a
    // statement's generic plan for the connection's life, so a plan made while the table was small (a new
    // site, a hub's first batches) went on hashing the whole table for every batch as it grew: 12 ms per
    // batch at 12,000 events in the broadcast bench, growing with the table until autovacuum's next ANALYZE.
    // Now the plan is made for each call, from the table's current size (`plan_cache_mode`), and the
    // question is a scalar subquery per id, which the planner never turns into a join: one unique-index
    // probe per event.
    sql: `
      CREATE OR REPLACE FUNCTION events_insert(
        p_id TEXT[], p_time TEXT[], p_source TEXT[], p_type TEXT[], p_data TEXT[], p_origin TEXT
      ) RETURNS TABLE (event_id TEXT, event_seq BIGINT) LANGUAGE plpgsql
      SET plan_cache_mode = force_custom_plan AS $fn$
${LOCK_AND_BASE}        RETURN QUERY
          WITH input AS MATERIALIZED (
            SELECT x.id, x.time, x.source, x.type, x.data, x.n,
                   (SELECT e.seq FROM events e WHERE e.id = x.id) AS stored_seq
            FROM unnest(p_id, p_time, p_source, p_type, p_data) WITH ORDINALITY AS x(id, time, source, type, data, n)
          ), batch AS (
            SELECT i.id, i.time, i.source, i.type, i.data, row_number() OVER (ORDER BY i.n) AS k
            FROM input i WHERE i.stored_seq IS NULL
${INSERT_BATCH}          SELECT i.id, i.stored_seq FROM input i WHERE i.stored_seq IS NOT NULL;
${SEQUENCE_AND_NOTIFY}      $fn$;
    `,
  },
];
