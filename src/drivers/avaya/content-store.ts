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
  /** Writes anything held in memory to durable storage (stores that write behind). */
  flush?(): void;
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

/**
 * Content in SQLite, written behind: `put` and the fetch counter go to memory at once (the push that names the
 * content is answered from there) and reach the table in one transaction per event-loop turn, so a broadcast
 * to a thousand Avaya phones costs one commit, not a thousand. `flush()` writes now (the service calls it on
 * close). A crash loses at most the content put in its last turn, which the phones could not have fetched
 * from the crashed hub anyway. If a write fails the content stays in memory (still served) and the write is
 * tried again on the next turn that adds content.
 */
export class SqliteContentStore implements ContentStore {
  private readonly ins;
  private readonly sel;
  private readonly bump;
  private readonly del;
  private readonly cnt;
  private readonly writeBatch;
  /** Content put but not yet written. */
  private pending = new Map<string, ContentItem>();
  /** Fetches counted but not yet written: id → [count, last fetch time]. */
  private bumps = new Map<string, [number, number]>();
  private scheduled = false;

  constructor(db: Db) {
    this.ins = db.prepare(
      `INSERT INTO avaya_content (id, kind, content_type, body, audio_json, audio_data, device_id, created_at, expires_at, fetches)
       VALUES (@id, @kind, @content_type, @body, @audio_json, @audio_data, @device_id, @created_at, @expires_at, @fetches)`,
    );
    this.sel = db.prepare('SELECT * FROM avaya_content WHERE id = ?');
    this.bump = db.prepare('UPDATE avaya_content SET fetches = fetches + ?, last_fetch_at = ? WHERE id = ?');
    this.del = db.prepare('DELETE FROM avaya_content WHERE expires_at <= ?');
    this.cnt = db.prepare('SELECT COUNT(*) AS n FROM avaya_content');
    this.writeBatch = db.transaction((items: ContentItem[], bumps: Array<[string, number, number]>) => {
      for (const it of items)
        this.ins.run({
          id: it.id,
          kind: it.kind,
          content_type: it.contentType,
          body: it.body,
          audio_json: it.audio ? JSON.stringify(it.audio) : null,
          audio_data: it.audioData ? Buffer.from(it.audioData) : null,
          device_id: it.deviceId ?? null,
          created_at: it.createdAt,
          expires_at: it.expiresAt,
          fetches: it.fetches,
        });
      for (const [id, n, at] of bumps) this.bump.run(n, at, id);
    });
  }

  put(item: Omit<ContentItem, 'id' | 'fetches'>): ContentItem {
    const it: ContentItem = { ...item, id: newContentId(), fetches: 0 };
    this.pending.set(it.id, it);
    this.schedule();
    return { ...it };
  }

  get(id: string): ContentItem | undefined {
    if (!CONTENT_ID_RE.test(id)) return undefined;
    const p = this.pending.get(id);
    if (p) return { ...p };
    const r = this.sel.get(id) as Row | undefined;
    if (!r) return undefined;
    const it = fromRow(r);
    const b = this.bumps.get(id);
    return b ? { ...it, fetches: it.fetches + b[0] } : it;
  }

  fetch(id: string, now: number): ContentItem | undefined {
    const it = this.get(id);
    if (!it || it.expiresAt <= now) return undefined;
    const p = this.pending.get(id);
    if (p) p.fetches++;
    else {
      const b = this.bumps.get(id);
      this.bumps.set(id, [(b?.[0] ?? 0) + 1, now]);
      this.schedule();
    }
    return { ...it, fetches: it.fetches + 1 };
  }

  sweep(now: number): number {
    this.flush();
    return this.del.run(now).changes;
  }

  count(): number {
    this.flush();
    return (this.cnt.get() as { n: number }).n;
  }

  /** Writes what is pending in one transaction. */
  flush(): void {
    this.scheduled = false;
    if (this.pending.size === 0 && this.bumps.size === 0) return;
    const items = [...this.pending.values()];
    const bumps = [...this.bumps].map(([id, [n, at]]) => [id, n, at] as [string, number, number]);
    this.writeBatch(items, bumps); // throws with nothing cleared: the next flush writes it all
    this.pending = new Map();
    this.bumps = new Map();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      if (!this.scheduled) return;
      try {
        this.flush();
      } catch {
        // Kept in memory and served from there; written with the next batch.
      }
    });
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
