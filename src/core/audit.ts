import { csvText } from './csv.js';
import { ValidationError } from './errors.js';
import type { Logger } from './logger.js';
import { scheduleWrite, WriteBehind } from './serial.js';

/**
 * The audit trail (issue 18): an append-only record of every change and every send: who (credential
 * kind, id and name), when, from which address, what (`device.added`, `key.created`, `user.role-changed`,
 * `broadcast.sent`, `incident.acknowledged`, `signin.failed` …), on what, and whether it was allowed.
 * Kept for `audit.retentionDays` (default one year) whatever the event log keeps. Nothing in it is a
 * secret: no passwords, no keys, no message bodies beyond a title.
 */
export type AuditOutcome = 'ok' | 'denied' | 'failed';

export interface AuditEntry {
  /** Cursor order: grows with every entry. */
  seq: number;
  time: string;
  /** `key`, `session` (a signed-in user), `cli` (a command on the hub's machine), `system`, `anonymous`. */
  actorKind: string;
  actorId: string | null;
  actorName: string | null;
  /** Client address of the request (null for the CLI and the hub itself). */
  address: string | null;
  action: string;
  /** What it acted on (`device x1`, `key ab12cd34`, `user ops`), when there is one. */
  target: string | null;
  outcome: AuditOutcome;
  /** A few non-secret facts (role, priority, template, HTTP status). */
  detail: Record<string, unknown>;
}

export type AuditInput = Omit<AuditEntry, 'seq' | 'time' | 'detail' | 'outcome'> & {
  time?: string;
  outcome?: AuditOutcome;
  detail?: Record<string, unknown>;
};

export interface AuditQuery {
  /** Entries with seq below this (the `next` cursor of the previous page), newest first. */
  before?: number;
  limit: number;
  /** Actor name or id, exactly. */
  actor?: string;
  /** Action, exactly, or a prefix ending in `.*` (`device.*`). */
  action?: string;
  outcome?: AuditOutcome;
  /** Client address, exactly. */
  address?: string;
  /** ISO times: since inclusive, until exclusive. */
  since?: string;
  until?: string;
}

/** The audit store port: append and read only (plus pruning by age); no update, no delete by id. */
export interface AuditStore {
  append(e: Omit<AuditEntry, 'seq'>): Promise<number>;
  /** Appends entries in order, in one transaction (all or none). */
  appendMany(entries: readonly Omit<AuditEntry, 'seq'>[]): Promise<void>;
  list(q: AuditQuery): Promise<AuditEntry[]>;
  /** Deletes entries older than `before` (ISO time); answers how many. */
  prune(before: string): Promise<number>;
}

export const AUDIT_PAGE_MAX = 1000;

/** The stored columns of an entry, in table order (time … detail as JSON text): one list for SQL and CSV. */
export function auditColumns(e: Omit<AuditEntry, 'seq'>): unknown[] {
  return [
    e.time,
    e.actorKind,
    e.actorId,
    e.actorName,
    e.address,
    e.action,
    e.target,
    e.outcome,
    JSON.stringify(e.detail),
  ];
}

function isoOrThrow(v: string | undefined, field: string): string | undefined {
  if (v === undefined || v === '') return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new ValidationError('AUDIT_QUERY_INVALID', `${field}: not a date/time (ISO 8601)`, { field });
  return new Date(t).toISOString();
}

/** The one way to write to the audit trail (`record`) and read it (`page`, `csv`). */
export class AuditLog {
  /** Batches are written in order, behind the requests they describe (core/serial.ts). */
  private readonly writes: WriteBehind;
  /** Entries recorded since the last batch went to the store. */
  private pending: Omit<AuditEntry, 'seq'>[] = [];
  /** Settles when the batch `pending` goes into is stored (undefined: no batch scheduled). */
  private batch: Promise<void> | undefined;

  /**
   * @param delayMs how long entries wait to share one transaction (`store.writeBehindMs`; 0 = the next
   * event-loop turn): under load one commit per API request was 6% of the hub's time.
   */
  constructor(
    private readonly store: AuditStore,
    private readonly now: () => number,
    private readonly logger?: Logger,
    private readonly delayMs = 0,
  ) {
    this.writes = new WriteBehind((err, actions) =>
      this.logger?.error({ err, actions }, 'audit trail write failed'),
    );
  }

  /**
   * Appends an entry. Never throws nor rejects: an audit write that fails is logged as an error (the
   * request it describes has already happened), so a full disk shows in the log and in /readyz, not as a
   * 500. Entries go to the store in batches (see delayMs); the returned promise settles when this entry is
   * stored (callers may ignore it). `flush()` writes what is waiting at once (reads and shutdown call it).
   */
  record(e: AuditInput): Promise<void> {
    this.pending.push({
      time: e.time ?? new Date(this.now()).toISOString(),
      actorKind: e.actorKind,
      actorId: e.actorId,
      actorName: e.actorName,
      address: e.address,
      action: e.action,
      target: e.target,
      outcome: e.outcome ?? 'ok',
      detail: e.detail ?? {},
    });
    this.batch ??= new Promise<void>((resolve) => scheduleWrite(this.delayMs, () => resolve(this.flush())));
    return this.batch;
  }

  /** Writes the waiting entries now; settles when every entry recorded so far is stored (or logged as lost). */
  flush(): Promise<void> {
    this.batch = undefined;
    if (this.pending.length === 0) return this.writes.idle();
    const entries = this.pending;
    this.pending = [];
    const actions = [...new Set(entries.map((x) => x.action))].slice(0, 10).join(', ');
    return this.writes.write(`${entries.length} entries (${actions})`, () => this.store.appendMany(entries));
  }

  /** One page, newest first, and the cursor of the next (older) page or null. */
  async page(q: Omit<AuditQuery, 'since' | 'until'> & { since?: string; until?: string }): Promise<{
    entries: AuditEntry[];
    next: string | null;
  }> {
    await this.flush();
    const limit = Math.max(1, Math.min(q.limit, AUDIT_PAGE_MAX));
    const since = isoOrThrow(q.since, 'since');
    const until = isoOrThrow(q.until, 'until');
    const rows = await this.store.list({
      ...q,
      limit: limit + 1,
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
    });
    const entries = rows.slice(0, limit);
    const more = rows.length > limit;
    return { entries, next: more ? String(entries[entries.length - 1]!.seq) : null };
  }

  /** Every matching entry (newest first, at most `max`) as CSV. */
  async csv(q: Omit<AuditQuery, 'limit' | 'before'> & { max: number }): Promise<string> {
    const rows: unknown[][] = [
      [
        'seq',
        'time',
        'actor_kind',
        'actor_id',
        'actor_name',
        'address',
        'action',
        'target',
        'outcome',
        'detail',
      ],
    ];
    let before: number | undefined;
    let left = q.max;
    while (left > 0) {
      const { entries, next } = await this.page({
        ...q,
        limit: Math.min(AUDIT_PAGE_MAX, left),
        ...(before ? { before } : {}),
      });
      for (const e of entries) rows.push([e.seq, ...auditColumns(e)]);
      left -= entries.length;
      if (!next) break;
      before = Number(next);
    }
    return csvText(rows);
  }

  prune(before: string): Promise<number> {
    return this.store.prune(before);
  }
}
