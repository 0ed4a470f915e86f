import { scheduleWrite } from '../../core/serial.js';
import {
  type AudioSpec,
  CONTENT_ID_RE,
  type ContentItem,
  type ContentKind,
  type ContentStore,
  newContentId,
} from '../../drivers/avaya/content-store.js';
import type { Db } from './database.js';

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

  /** @param writeBehindMs delay of the batch writes (`scheduleWrite`; 0 = the next event-loop turn). */
  constructor(
    db: Db,
    private readonly writeBehindMs = 0,
  ) {
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

  async put(item: Omit<ContentItem, 'id' | 'fetches'>): Promise<ContentItem> {
    const it: ContentItem = { ...item, id: newContentId(), fetches: 0 };
    this.pending.set(it.id, it);
    this.schedule();
    return { ...it };
  }

  async get(id: string): Promise<ContentItem | undefined> {
    return this.read(id);
  }

  /** The item as stored plus what is counted but not yet written (synchronous: no await between read and count). */
  private read(id: string): ContentItem | undefined {
    if (!CONTENT_ID_RE.test(id)) return undefined;
    const p = this.pending.get(id);
    if (p) return { ...p };
    const r = this.sel.get(id) as Row | undefined;
    if (!r) return undefined;
    const it = fromRow(r);
    const b = this.bumps.get(id);
    return b ? { ...it, fetches: it.fetches + b[0] } : it;
  }

  async fetch(id: string, now: number): Promise<ContentItem | undefined> {
    // Read and count in one synchronous step, so that concurrent fetches each see their own count.
    const it = this.read(id);
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

  async sweep(now: number): Promise<number> {
    this.writeNow();
    return this.del.run(now).changes;
  }

  async count(): Promise<number> {
    this.writeNow();
    return (this.cnt.get() as { n: number }).n;
  }

  /** Writes what is pending in one transaction. */
  async flush(): Promise<void> {
    this.writeNow();
  }

  /** Writes what is pending in one transaction, now (throws with nothing cleared when the write fails). */
  private writeNow(): void {
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
    scheduleWrite(this.writeBehindMs, () => {
      if (!this.scheduled) return;
      try {
        this.writeNow();
      } catch {
        // Kept in memory and served from there; written with the next batch.
      }
    });
  }
}
