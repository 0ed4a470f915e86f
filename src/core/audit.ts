import { csvText } from './csv.js';
import { ValidationError } from './errors.js';
import type { Logger } from './logger.js';
import { WriteBehind } from './serial.js';

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
  /** Entries are written in order, behind the request they describe (core/serial.ts). */
  private readonly writes: WriteBehind;

  constructor(
    private readonly store: AuditStore,
    private readonly now: () => number,
    private readonly logger?: Logger,
  ) {
    this.writes = new WriteBehind((err, action) =>
      this.logger?.error({ err, action }, 'audit trail write failed'),
    );
  }

  /**
   * Appends an entry. Never throws nor rejects: an audit write that fails is logged as an error (the
   * request it describes has already happened), so a full disk shows in the log and in /readyz, not as a
   * 500. The write starts at once; the returned promise settles when it is stored (callers may ignore it).
   */
  record(e: AuditInput): Promise<void> {
    const time = e.time ?? new Date(this.now()).toISOString();
    return this.writes.write(e.action, async () => {
      await this.store.append({
        time,
        actorKind: e.actorKind,
        actorId: e.actorId,
        actorName: e.actorName,
        address: e.address,
        action: e.action,
        target: e.target,
        outcome: e.outcome ?? 'ok',
        detail: e.detail ?? {},
      });
    });
  }

  /** One page, newest first, and the cursor of the next (older) page or null. */
  async page(q: Omit<AuditQuery, 'since' | 'until'> & { since?: string; until?: string }): Promise<{
    entries: AuditEntry[];
    next: string | null;
  }> {
    await this.writes.idle();
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
