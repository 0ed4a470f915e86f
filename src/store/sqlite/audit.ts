import {
  type AuditEntry,
  type AuditOutcome,
  type AuditQuery,
  type AuditStore,
  auditColumns,
} from '../../core/audit.js';
import type { Db } from './database.js';

type Row = Record<string, unknown>;

function rowToEntry(r: Row): AuditEntry {
  return {
    seq: r.seq as number,
    time: r.time as string,
    actorKind: r.actor_kind as string,
    actorId: (r.actor_id as string | null) ?? null,
    actorName: (r.actor_name as string | null) ?? null,
    address: (r.address as string | null) ?? null,
    action: r.action as string,
    target: (r.target as string | null) ?? null,
    outcome: r.outcome as AuditOutcome,
    detail: JSON.parse(r.detail as string) as Record<string, unknown>,
  };
}

/** The SQLite audit trail: one append-only table (an UPDATE trigger refuses changes). */
export class SqliteAuditStore implements AuditStore {
  private readonly insert;
  constructor(private readonly db: Db) {
    this.insert = db.prepare(
      'INSERT INTO audit_log (time, actor_kind, actor_id, actor_name, address, action, target, outcome, detail) VALUES (?,?,?,?,?,?,?,?,?)',
    );
  }
  async append(e: Omit<AuditEntry, 'seq'>): Promise<number> {
    return Number(this.insert.run(...auditColumns(e)).lastInsertRowid);
  }
  async list(q: AuditQuery): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.before !== undefined) {
      where.push('seq < ?');
      args.push(q.before);
    }
    if (q.actor) {
      where.push('(actor_name = ? OR actor_id = ?)');
      args.push(q.actor, q.actor);
    }
    if (q.action) {
      if (q.action.endsWith('.*')) {
        where.push("action LIKE ? ESCAPE '\\'");
        args.push(`${q.action.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      } else {
        where.push('action = ?');
        args.push(q.action);
      }
    }
    if (q.outcome) {
      where.push('outcome = ?');
      args.push(q.outcome);
    }
    if (q.since) {
      where.push('time >= ?');
      args.push(q.since);
    }
    if (q.until) {
      where.push('time < ?');
      args.push(q.until);
    }
    const sql = `SELECT * FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    args.push(q.limit);
    return (this.db.prepare(sql).all(...args) as Row[]).map(rowToEntry);
  }
  async prune(before: string): Promise<number> {
    return this.db.prepare('DELETE FROM audit_log WHERE time < ?').run(before).changes;
  }
}
