import {
  type AudioSpec,
  CONTENT_ID_RE,
  type ContentItem,
  type ContentKind,
  type ContentStore,
  newContentId,
} from '../../drivers/avaya/content-store.js';
import type { PostgresDatabase } from './database.js';
import { countOf } from './sql.js';

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

/**
 * Avaya push content on PostgreSQL (migration `avaya` 1, the SQLite table), written through: `put`
 * resolves once the row is committed, so the phone that was pushed the href can fetch it from any hub. A
 * fetch counts itself and checks expiry in one statement (two hubs serving the same content both count).
 */
export class PostgresContentStore implements ContentStore {
  constructor(private readonly db: PostgresDatabase) {}

  async put(item: Omit<ContentItem, 'id' | 'fetches'>): Promise<ContentItem> {
    const it: ContentItem = { ...item, id: newContentId(), fetches: 0 };
    await this.db.query(
      `INSERT INTO avaya_content (${COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        it.id,
        it.kind,
        it.contentType,
        it.body,
        it.audio ? JSON.stringify(it.audio) : null,
        it.audioData ? Buffer.from(it.audioData) : null,
        it.deviceId ?? null,
        it.createdAt,
        it.expiresAt,
        0,
      ],
    );
    return { ...it };
  }

  async get(id: string): Promise<ContentItem | undefined> {
    if (!CONTENT_ID_RE.test(id)) return undefined;
    const [r] = await this.db.query<Row>(`SELECT ${COLS} FROM avaya_content WHERE id = $1`, [id]);
    return r ? fromRow(r) : undefined;
  }

  async fetch(id: string, now: number): Promise<ContentItem | undefined> {
    if (!CONTENT_ID_RE.test(id)) return undefined;
    const [r] = await this.db.query<Row>(
      `UPDATE avaya_content SET fetches = fetches + 1, last_fetch_at = $2 WHERE id = $1 AND expires_at > $2
       RETURNING ${COLS}`,
      [id, now],
    );
    return r ? fromRow(r) : undefined;
  }

  sweep(now: number): Promise<number> {
    return countOf(this.db.query, 'DELETE FROM avaya_content WHERE expires_at <= $1', [now]);
  }

  async count(): Promise<number> {
    const [r] = await this.db.query<{ n: number }>('SELECT count(*) AS n FROM avaya_content');
    return r?.n ?? 0;
  }
}
