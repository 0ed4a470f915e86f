import { randomBytes } from 'node:crypto';
import type { Db } from '../../store/sqlite/database.js';

/**
 * Addressable push content with an expiry: each push stores what the phone will fetch, and the push's
 * href names it (`<publicUrl>/avaya/content/<id>`). Ids are 128-bit random (unguessable), so content for
 * one phone cannot be enumerated by another host.
 */
export type ContentKind =
  | 'topline'
  | 'display'
  | 'audio'
  | 'audio_multicast'
  | 'audio_transmit'
  | 'audio_stop'
  | 'subscribe'
  | 'phonexml';

export interface AudioSpec {
  codec: 'PCMU' | 'PCMA';
  packetSizeMs: 10 | 20 | 30 | 40 | 50 | 60;
  audioTimerS: number;
  promptline?: string;
  /** Multicast group and port (audio_multicast) or the hub's receive port (audio_transmit). */
  host?: string;
  port?: number;
}

export interface ContentItem {
  id: string;
  kind: ContentKind;
  contentType: string;
  /** Body served as is (for audio kinds: unused; the XML is built per fetch from `audio`). */
  body: string;
  audio?: AudioSpec;
  /** G.711-encoded samples (unicast audio). */
  audioData?: Uint8Array;
  deviceId?: string;
  createdAt: number;
  expiresAt: number;
  fetches: number;
}

export interface ContentStore {
  put(item: Omit<ContentItem, 'id' | 'fetches'>): ContentItem;
  /** Returns the item if it exists and has not expired, counting the fetch. */
  fetch(id: string, now: number): ContentItem | undefined;
  get(id: string): ContentItem | undefined;
  /** Deletes expired items; returns how many. */
  sweep(now: number): number;
  count(): number;
}

export function newContentId(): string {
  return randomBytes(16).toString('hex');
}

export const CONTENT_ID_RE = /^[0-9a-f]{32}$/;

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

export class SqliteContentStore implements ContentStore {
  private readonly ins;
  private readonly sel;
  private readonly bump;
  private readonly del;
  private readonly cnt;
  constructor(db: Db) {
    this.ins = db.prepare(
      `INSERT INTO avaya_content (id, kind, content_type, body, audio_json, audio_data, device_id, created_at, expires_at)
       VALUES (@id, @kind, @content_type, @body, @audio_json, @audio_data, @device_id, @created_at, @expires_at)`,
    );
    this.sel = db.prepare('SELECT * FROM avaya_content WHERE id = ?');
    this.bump = db.prepare('UPDATE avaya_content SET fetches = fetches + 1, last_fetch_at = ? WHERE id = ?');
    this.del = db.prepare('DELETE FROM avaya_content WHERE expires_at <= ?');
    this.cnt = db.prepare('SELECT COUNT(*) AS n FROM avaya_content');
  }
  put(item: Omit<ContentItem, 'id' | 'fetches'>): ContentItem {
    const id = newContentId();
    this.ins.run({
      id,
      kind: item.kind,
      content_type: item.contentType,
      body: item.body,
      audio_json: item.audio ? JSON.stringify(item.audio) : null,
      audio_data: item.audioData ? Buffer.from(item.audioData) : null,
      device_id: item.deviceId ?? null,
      created_at: item.createdAt,
      expires_at: item.expiresAt,
    });
    return { ...item, id, fetches: 0 };
  }
  get(id: string): ContentItem | undefined {
    if (!CONTENT_ID_RE.test(id)) return undefined;
    const r = this.sel.get(id) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }
  fetch(id: string, now: number): ContentItem | undefined {
    const it = this.get(id);
    if (!it || it.expiresAt <= now) return undefined;
    this.bump.run(now, id);
    return { ...it, fetches: it.fetches + 1 };
  }
  sweep(now: number): number {
    return this.del.run(now).changes;
  }
  count(): number {
    return (this.cnt.get() as { n: number }).n;
  }
}

/** In-memory store for the standalone CLI push server and tests. */
export class MemoryContentStore implements ContentStore {
  private items = new Map<string, ContentItem>();
  constructor(private readonly maxItems = 100_000) {}
  put(item: Omit<ContentItem, 'id' | 'fetches'>): ContentItem {
    if (this.items.size >= this.maxItems) this.sweep(item.createdAt);
    if (this.items.size >= this.maxItems) {
      const oldest = this.items.keys().next().value;
      if (oldest !== undefined) this.items.delete(oldest);
    }
    const it = { ...item, id: newContentId(), fetches: 0 };
    this.items.set(it.id, it);
    return it;
  }
  get(id: string): ContentItem | undefined {
    return this.items.get(id);
  }
  fetch(id: string, now: number): ContentItem | undefined {
    const it = this.items.get(id);
    if (!it || it.expiresAt <= now) return undefined;
    it.fetches++;
    return it;
  }
  sweep(now: number): number {
    let n = 0;
    for (const [k, v] of this.items) {
      if (v.expiresAt <= now) {
        this.items.delete(k);
        n++;
      }
    }
    return n;
  }
  count(): number {
    return this.items.size;
  }
}
