import { isSwitchboardError } from '../../core/errors.js';
import { GroupCommit, type GroupMember } from '../../core/serial.js';
import {
  type AudioSpec,
  CONTENT_ID_RE,
  type ContentItem,
  type ContentKind,
  type ContentStore,
  newContentId,
} from '../../drivers/avaya/content-store.js';
import type { PostgresDatabase } from './database.js';
import { countOf, NO_FLUSH_WAIT } from './sql.js';

interface Row {
  id: string;
  kind: ContentKind;
  content_type: string;
  body: string;
  audio_json: string | null;
  audio_data: Buffer | null;
  device_id: string | null;
  created_at: number;
  expires_at: number;
  fetches: number;
}

const COLS =
  'id, kind, content_type, body, audio_json, audio_data, device_id, created_at, expires_at, fetches';

function fromRow(r: Row): ContentItem {
  return {
    id: r.id,
    kind: r.kind,
    contentType: r.content_type,
    body: r.body,
    ...(r.audio_json ? { audio: JSON.parse(r.audio_json) as AudioSpec } : {}),
    ...(r.audio_data ? { audioData: new Uint8Array(r.audio_data) } : {}),
    ...(r.device_id ? { deviceId: r.device_id } : {}),
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    fetches: r.fetches,
  };
}

/** Group commit of puts and of fetches: statements in flight at once, and the largest group. */
const GROUP = { inFlight: 2, max: 200 } as const;

/** The columns as the fetch's UPDATE returns them (`c.` the updated row). */
const C_COLS = COLS.split(', ')
  .map((c) => `c.${c}`)
  .join(', ');

/**
 * Avaya push content on PostgreSQL (migration `avaya` 1, the SQLite table), written through: `put`
 * resolves once the row is committed, so the phone that was pushed the href can fetch it from any hub. A
 * fetch counts itself and checks expiry in one statement (two hubs serving the same content both count).
 *
 * A broadcast puts content for hundreds of phones at once, and their fetches come back together: puts and
 * fetches are each committed in groups (`GroupCommit`: one statement for the ones that arrive while the
 * previous ones are in flight, no added delay), not one round trip each.
 */
export class PostgresContentStore implements ContentStore {
  private readonly puts = new GroupCommit<ContentItem, ContentItem>((g) => this.putGroup(g), {
    ...GROUP,
    // A value the store refuses (a NUL in a body) fails only its own put; an unreachable store fails them all.
    alone: (e) => isSwitchboardError(e) && !e.retryable,
  });
  private readonly fetches = new GroupCommit<{ id: string; now: number }, ContentItem | undefined>(
    (g) => this.fetchGroup(g),
    GROUP,
  );

  constructor(private readonly db: PostgresDatabase) {}

  put(item: Omit<ContentItem, 'id' | 'fetches'>): Promise<ContentItem> {
    return this.puts.add({ ...item, id: newContentId(), fetches: 0 });
  }

  private async putGroup(group: Array<GroupMember<ContentItem, ContentItem>>): Promise<void> {
    const col = <T>(f: (it: ContentItem) => T) => group.map((m) => f(m.item));
    await this.db.query(
      `INSERT INTO avaya_content (${COLS})
       SELECT x.*, 0 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[],
                                 $7::text[], $8::bigint[], $9::bigint[])
         AS x(id, kind, content_type, body, audio_json, audio_data, device_id, created_at, expires_at)`,
      [
        col((it) => it.id),
        col((it) => it.kind),
        col((it) => it.contentType),
        col((it) => it.body),
        col((it) => (it.audio ? JSON.stringify(it.audio) : null)),
        col((it) => (it.audioData ? Buffer.from(it.audioData) : null)),
        col((it) => it.deviceId ?? null),
        col((it) => it.createdAt),
        col((it) => it.expiresAt),
      ],
    );
    for (const m of group) m.resolve({ ...m.item });
  }

  async get(id: string): Promise<ContentItem | undefined> {
    if (!CONTENT_ID_RE.test(id)) return undefined;
    const [r] = await this.db.query<Row>(`SELECT ${COLS} FROM avaya_content WHERE id = $1`, [id]);
    return r ? fromRow(r) : undefined;
  }

  async fetch(id: string, now: number): Promise<ContentItem | undefined> {
    if (!CONTENT_ID_RE.test(id)) return undefined;
    return this.fetches.add({ id, now });
  }

  /**
   * One UPDATE for the group. Fetches of the same content in one group count once each, in the order they
   * came (the first sees the lowest count: `fetches === 1` is the phone's first fetch); the group's latest
   * time is the one checked against expiry and kept as the last fetch. The rows are locked in id order
   * first, so that two groups (two hubs, or two groups in flight here) sharing rows never deadlock. The
   * count does not wait for the WAL flush (NO_FLUSH_WAIT): the phone is answered without a disk write, and
   * only a crash of PostgreSQL itself could lose a count.
   */
  private async fetchGroup(
    group: Array<GroupMember<{ id: string; now: number }, ContentItem | undefined>>,
  ): Promise<void> {
    const rows = await this.db.query<Row>(
      `WITH u AS MATERIALIZED (
         SELECT x.id, count(*)::int AS n, max(x.now) AS last
           FROM unnest($1::text[], $2::bigint[]) AS x(id, now) GROUP BY x.id),
       l AS MATERIALIZED (
         SELECT c.id, u.n, u.last FROM avaya_content c JOIN u ON u.id = c.id
          WHERE c.expires_at > u.last ORDER BY c.id FOR UPDATE OF c)
       UPDATE avaya_content c SET fetches = c.fetches + l.n, last_fetch_at = l.last
       FROM l, ${NO_FLUSH_WAIT} WHERE c.id = l.id
       RETURNING ${C_COLS}`,
      [group.map((m) => m.item.id), group.map((m) => m.item.now)],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const asked = new Map<string, number>();
    for (const m of group) asked.set(m.item.id, (asked.get(m.item.id) ?? 0) + 1);
    const seen = new Map<string, number>();
    for (const m of group) {
      const r = byId.get(m.item.id);
      if (!r) {
        m.resolve(undefined);
        continue;
      }
      const k = (seen.get(r.id) ?? 0) + 1;
      seen.set(r.id, k);
      m.resolve(fromRow({ ...r, fetches: r.fetches - asked.get(r.id)! + k }));
    }
  }

  sweep(now: number): Promise<number> {
    return countOf(this.db.query, 'DELETE FROM avaya_content WHERE expires_at <= $1', [now]);
  }

  async count(): Promise<number> {
    const [r] = await this.db.query<{ n: number }>('SELECT count(*) AS n FROM avaya_content');
    return r?.n ?? 0;
  }
}
