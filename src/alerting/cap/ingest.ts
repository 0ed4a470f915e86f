import type { EventBus, Subscription } from '../../core/bus.js';
import { type Clock, systemClock } from '../../core/clock.js';
import { errorMessage } from '../../core/errors.js';
import type { HubEvent } from '../../core/events.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import { type ParsedCap, parseCap } from './codec.js';
import { capEventData, capKey, expiresAt } from './match.js';
import type { CapAlertStore, CapRecord } from './store.js';
import type { CapSite, CapStatus } from './types.js';

export interface CapIngestOptions {
  site: CapSite;
  languages: string[];
  statuses: CapStatus[];
  maxBytes: number;
  keep: number;
}

export type IngestOutcome = 'emitted' | 'duplicate' | 'ignored' | 'expired';

export interface IngestResult {
  key: string;
  identifier: string;
  msgType: string;
  outcome: IngestOutcome;
  eventId: string | null;
  /** Broadcasts recalled because this Update/Cancel referenced the alert that caused them. */
  recalled: string[];
  warnings: string[];
}

/**
 * CAP ingest: every message from `POST /api/cap` or a feed goes through `accept`. It is deduplicated by
 * `sender|identifier` (a message seen before is answered `duplicate` and changes nothing), recorded,
 * and (status in `cap.statuses`, not expired on arrival) emitted as a `cap.alert` event that rules match
 * on. An Update or Cancel recalls the broadcasts its referenced messages caused; the broadcasts a rule
 * starts for a `cap.alert` are attached to its record from the `rule.fired` event (a broadcast started
 * for a message already cancelled is recalled at once).
 */
export class CapIngest {
  private sub: Subscription | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private accepted = 0;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly deps: {
      store: CapAlertStore;
      bus: EventBus;
      recall: (broadcastId: string, by: string) => Promise<unknown>;
      options: CapIngestOptions;
      clock?: Clock;
      logger?: Logger;
    },
  ) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? silentLogger;
  }

  start(): void {
    this.sub ??= this.deps.bus.subscribe((e) => this.track(this.onRule(e)), {
      filter: { types: ['rule.fired', 'rule.failed'] },
    });
  }

  async stop(): Promise<void> {
    this.sub?.unsubscribe();
    this.sub = undefined;
    await Promise.allSettled([...this.pending]);
  }

  private track(p: Promise<unknown>): void {
    const q = p
      .catch((e) => this.log.warn({ err: errorMessage(e) }, 'CAP follow-up failed'))
      .finally(() => this.pending.delete(q));
    this.pending.add(q);
  }

  /** Parses (CAP_INVALID / CAP_TOO_LARGE on a bad document) and accepts one message. */
  async acceptDocument(doc: string | Buffer, origin: string): Promise<IngestResult> {
    return this.accept(parseCap(doc, { maxBytes: this.deps.options.maxBytes }), origin);
  }

  async accept(parsed: ParsedCap, origin: string): Promise<IngestResult> {
    const a = parsed.alert;
    const o = this.deps.options;
    const key = capKey(a.sender, a.identifier);
    const now = this.clock.now();
    const exp = expiresAt(a);
    const data = capEventData(a, { site: o.site, languages: o.languages, origin });
    const rec: CapRecord = {
      key,
      sender: a.sender,
      identifier: a.identifier,
      sent: a.sent,
      msgType: a.msgType,
      status: a.status,
      origin,
      receivedAt: new Date(now).toISOString(),
      expiresAt: exp === undefined ? null : new Date(exp).toISOString(),
      eventId: null,
      broadcasts: [],
      state: 'active',
      references: a.references.map((r) => capKey(r.sender, r.identifier)),
      event: String(data.event),
      severity: String(data.severity),
      inArea: data.inArea === true,
    };
    const result = (outcome: IngestOutcome, recalled: string[] = []): IngestResult => ({
      key,
      identifier: a.identifier,
      msgType: a.msgType,
      outcome,
      eventId: rec.eventId,
      recalled,
      warnings: parsed.warnings,
    });
    const ignored = !o.statuses.includes(a.status);
    if (ignored) rec.state = 'ignored';
    if (!(await this.deps.store.insert(rec))) return result('duplicate');
    if (++this.accepted % 100 === 0) await this.deps.store.prune(o.keep);
    if (ignored) {
      this.log.info({ key, status: a.status, origin }, 'CAP message ignored (status not accepted)');
      return result('ignored');
    }
    // An Update supersedes, a Cancel cancels, the messages it references: their broadcasts are recalled.
    const recalled: string[] = [];
    if (a.msgType === 'Update' || a.msgType === 'Cancel')
      for (const ref of rec.references) recalled.push(...(await this.retire(ref, a.msgType, key)));
    if (exp !== undefined && exp <= now) {
      rec.state = 'expired';
      await this.deps.store.update(rec);
      this.log.info({ key, origin }, 'CAP message expired on arrival: not emitted');
      return result('expired', recalled);
    }
    const ev = this.deps.bus.emit({ source: 'cap', type: 'cap.alert', data });
    rec.eventId = ev.id;
    await this.deps.store.update(rec);
    this.log.info(
      { key, msgType: a.msgType, event: data.event, severity: data.severity, inArea: data.inArea, origin },
      'CAP message accepted',
    );
    return result('emitted', recalled);
  }

  /** Marks a referenced message superseded/cancelled and recalls its broadcasts. */
  private async retire(ref: string, why: 'Update' | 'Cancel', by: string): Promise<string[]> {
    const old = await this.deps.store.get(ref);
    if (!old) return [];
    old.state = why === 'Cancel' ? 'cancelled' : 'superseded';
    await this.deps.store.update(old);
    const done: string[] = [];
    for (const b of old.broadcasts) {
      try {
        await this.deps.recall(b, `cap:${why.toLowerCase()}:${by}`.slice(0, 200));
        done.push(b);
      } catch (e) {
        this.log.warn({ broadcastId: b, ref, err: errorMessage(e) }, 'CAP recall failed');
      }
    }
    return done;
  }

  /** A rule fired for a `cap.alert`: the broadcasts it started belong to that message. */
  private async onRule(e: HubEvent): Promise<void> {
    if (e.data.eventType !== 'cap.alert' || typeof e.data.eventId !== 'string') return;
    const results = Array.isArray(e.data.results) ? (e.data.results as Array<Record<string, unknown>>) : [];
    const ids = results
      .filter((r) => r.type === 'broadcast' && r.ok === true && typeof r.id === 'string')
      .map((r) => r.id as string);
    if (ids.length === 0) return;
    const rec = await this.deps.store.byEventId(e.data.eventId);
    if (!rec) return;
    rec.broadcasts.push(...ids.filter((id) => !rec.broadcasts.includes(id)));
    await this.deps.store.update(rec);
    if (rec.state === 'cancelled' || rec.state === 'superseded')
      for (const b of ids) await this.deps.recall(b, `cap:late:${rec.key}`.slice(0, 200));
  }

  list(limit: number): Promise<CapRecord[]> {
    return this.deps.store.list({ limit });
  }
}
