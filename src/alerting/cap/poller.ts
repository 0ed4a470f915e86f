import { type Clock, systemClock, type TimerHandle } from '../../core/clock.js';
import { errorMessage } from '../../core/errors.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import { httpRequest } from '../../net/http-client.js';
import { hostOf } from '../channels/http.js';
import { FEED_MAX_BYTES, parseCapFeed } from './atom.js';
import type { CapIngest } from './ingest.js';

export interface CapFeedConfig {
  name: string;
  url: string;
  intervalSeconds: number;
  timeoutMs: number;
  maxLinked: number;
}

export interface CapFeedStatus {
  name: string;
  /** Host only (a feed URL may carry a key). */
  host: string;
  lastPollAt: string | null;
  lastOkAt: string | null;
  lastError: string | null;
  entries: number;
  emitted: number;
}

/**
 * Polls the configured CAP feeds (Atom, or a single CAP document) on their interval: conditional GET
 * (ETag / Last-Modified), the feed parsed by the pure reader, inline alerts handed to the ingest, linked
 * alerts fetched (at most `maxLinked` per poll, each entry id+updated once). A feed that fails is logged
 * and tried again on the next interval; one feed never holds up another.
 */
export class CapPoller {
  private readonly timers = new Map<string, TimerHandle>();
  private readonly status = new Map<string, CapFeedStatus>();
  private readonly validators = new Map<string, { etag?: string; lastModified?: string }>();
  /** Entries already handed over (`feed|entry id|updated`), bounded. */
  private readonly seen = new Set<string>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private stopped = true;
  private running = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      feeds: CapFeedConfig[];
      ingest: CapIngest;
      maxBytes: number;
      clock?: Clock;
      logger?: Logger;
      signal?: AbortSignal;
    },
  ) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? silentLogger;
    for (const f of deps.feeds)
      this.status.set(f.name, {
        name: f.name,
        host: hostOf(f.url),
        lastPollAt: null,
        lastOkAt: null,
        lastError: null,
        entries: 0,
        emitted: 0,
      });
  }

  start(): void {
    this.stopped = false;
    for (const f of this.deps.feeds) this.arm(f, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) this.clock.clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }

  feeds(): CapFeedStatus[] {
    return [...this.status.values()].map((s) => ({ ...s }));
  }

  private arm(f: CapFeedConfig, delayMs: number): void {
    if (this.stopped) return;
    this.timers.set(
      f.name,
      this.clock.setTimeout(() => {
        const p = this.poll(f).finally(() => {
          this.running.delete(p);
          this.arm(f, f.intervalSeconds * 1000);
        });
        this.running.add(p);
      }, delayMs),
    );
  }

  /** One poll of one feed (also used by tests). */
  async poll(f: CapFeedConfig): Promise<void> {
    const st = this.status.get(f.name)!;
    st.lastPollAt = new Date(this.clock.now()).toISOString();
    try {
      const v = this.validators.get(f.name) ?? {};
      const res = await httpRequest({
        url: f.url,
        headers: {
          Accept: 'application/atom+xml, application/cap+xml, application/xml;q=0.9, */*;q=0.1',
          'User-Agent': 'Switchboard-CAP/1',
          ...(v.etag ? { 'If-None-Match': v.etag } : {}),
          ...(v.lastModified ? { 'If-Modified-Since': v.lastModified } : {}),
        },
        timeoutMs: f.timeoutMs,
        maxResponseBytes: Math.max(this.deps.maxBytes, FEED_MAX_BYTES),
        ...(this.deps.signal ? { signal: this.deps.signal } : {}),
      });
      if (res.status === 304) {
        st.lastOkAt = st.lastPollAt;
        st.lastError = null;
        return;
      }
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      const etag = header(res.headers.etag);
      const lastModified = header(res.headers['last-modified']);
      this.validators.set(f.name, { ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) });
      const entries = parseCapFeed(res.body, Math.max(this.deps.maxBytes, FEED_MAX_BYTES));
      st.entries = entries.length;
      let linked = 0;
      for (const e of entries) {
        const seenKey = `${f.name}|${e.id}|${e.updated}`;
        if (this.seen.has(seenKey)) continue;
        if (e.error) {
          this.log.warn(
            { feed: f.name, entry: e.id.slice(0, 200), code: e.error.code, err: e.error.message },
            'CAP feed entry refused',
          );
        } else if (e.cap) {
          const r = await this.deps.ingest.accept(e.cap, `feed:${f.name}`);
          if (r.outcome === 'emitted') st.emitted++;
        } else if (e.link) {
          if (linked >= f.maxLinked) continue;
          // The feed names the URL: only http(s), never file:, data: or other schemes.
          const target = new URL(e.link, f.url);
          if (target.protocol !== 'http:' && target.protocol !== 'https:') {
            this.log.warn(
              { feed: f.name, scheme: target.protocol },
              'CAP linked alert with a refused URL scheme',
            );
            this.seen.add(seenKey);
            continue;
          }
          linked++;
          const doc = await httpRequest({
            url: target.toString(),
            headers: {
              Accept: 'application/cap+xml, application/xml;q=0.9',
              'User-Agent': 'Switchboard-CAP/1',
            },
            timeoutMs: f.timeoutMs,
            maxResponseBytes: this.deps.maxBytes,
            ...(this.deps.signal ? { signal: this.deps.signal } : {}),
          });
          if (doc.status !== 200) {
            this.log.warn({ feed: f.name, status: doc.status }, 'CAP linked alert could not be fetched');
            continue;
          }
          try {
            const r = await this.deps.ingest.acceptDocument(doc.body, `feed:${f.name}`);
            if (r.outcome === 'emitted') st.emitted++;
          } catch (err) {
            this.log.warn(
              { feed: f.name, entry: e.id.slice(0, 200), err: errorMessage(err) },
              'CAP linked alert refused',
            );
          }
        }
        this.seen.add(seenKey);
        if (this.seen.size > 20_000) this.seen.delete(this.seen.values().next().value!);
      }
      st.lastOkAt = st.lastPollAt;
      st.lastError = null;
    } catch (e) {
      st.lastError = errorMessage(e)
        .replace(/https?:\/\/\S+/g, '<url>')
        .slice(0, 300);
      this.log.warn({ feed: f.name, host: st.host, err: st.lastError }, 'CAP feed poll failed');
    }
  }
}

const header = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
