import { type AuditEntry, type AuditQuery, type AuditStore, auditColumns } from '../../core/audit.js';
import { AUDIT_INSERT_COLUMNS, auditWhereSql, binder, type Row, rowToAuditEntry } from '../core-rows.js';
import type { Db } from './database.js';

/** The SQLite audit trail: one append-only table (an UPDATE trigger refuses changes). */
export class SqliteAuditStore implements AuditStore {
  private readonly insert;
  constructor(private readonly db: Db) {
    this.insert = db.prepare(`INSERT INTO audit_log (${AUDIT_INSERT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)`);
  }
  async append(e: Omit<AuditEntry, 'seq'>): Promise<number> {
    return Number(this.insert.run(...auditColumns(e)).lastInsertRowid);
  }
  async appendMany(entries: readonly Omit<AuditEntry, 'seq'>[]): Promise<void> {
    if (entries.length === 0) return;
    this.db.transaction(() => {
      for (const e of entries) this.insert.run(...auditColumns(e));
    })();
  }
  async list(q: AuditQuery): Promise<AuditEntry[]> {
    const { args, p } = binder('sqlite');
    const sql = `SELECT * FROM audit_log${auditWhereSql(q, p)} ORDER BY seq DESC LIMIT ${p(q.limit)}`;
    return (this.db.prepare(sql).all(...args) as Row[]).map(rowToAuditEntry);
  }
  async prune(before: string): Promise<number> {
    return this.db.prepare('DELETE FROM audit_log WHERE time < ?').run(before).changes;
  }
}
