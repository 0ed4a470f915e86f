import { randomBytes } from 'node:crypto';

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
  put(item: Omit<ContentItem, 'id' | 'fetches'>): Promise<ContentItem>;
  /** Returns the item if it exists and has not expired, counting the fetch. */
  fetch(id: string, now: number): Promise<ContentItem | undefined>;
  get(id: string): Promise<ContentItem | undefined>;
  /** Deletes expired items; returns how many. */
  sweep(now: number): Promise<number>;
  count(): Promise<number>;
  /** Writes anything held in memory to durable storage (stores that write behind). */
  flush?(): Promise<void>;
}

export function newContentId(): string {
  return randomBytes(16).toString('hex');
}

export const CONTENT_ID_RE = /^[0-9a-f]{32}$/;

/** In-memory store for the standalone CLI push server and tests. */
export class MemoryContentStore implements ContentStore {
  private items = new Map<string, ContentItem>();
  constructor(private readonly maxItems = 100_000) {}
  async put(item: Omit<ContentItem, 'id' | 'fetches'>): Promise<ContentItem> {
    if (this.items.size >= this.maxItems) await this.sweep(item.createdAt);
    if (this.items.size >= this.maxItems) {
      const oldest = this.items.keys().next().value;
      if (oldest !== undefined) this.items.delete(oldest);
    }
    const it = { ...item, id: newContentId(), fetches: 0 };
    this.items.set(it.id, it);
    return it;
  }
  async get(id: string): Promise<ContentItem | undefined> {
    return this.items.get(id);
  }
  async fetch(id: string, now: number): Promise<ContentItem | undefined> {
    const it = this.items.get(id);
    if (!it || it.expiresAt <= now) return undefined;
    it.fetches++;
    return it;
  }
  async sweep(now: number): Promise<number> {
    let n = 0;
    for (const [k, v] of this.items) {
      if (v.expiresAt <= now) {
        this.items.delete(k);
        n++;
      }
    }
    return n;
  }
  async count(): Promise<number> {
    return this.items.size;
  }
}

declare module '../../core/module.js' {
  interface StorePorts {
    avayaContent: ContentStore;
  }
}
