import { type AuditEntry, type AuditQuery, type AuditStore, auditColumns } from '../../core/audit.js';
import { AUDIT_INSERT_COLUMNS, auditWhereSql, binder, type Row, rowToAuditEntry } from '../core-rows.js';
import type { PostgresDatabase } from './database.js';
import { deleted } from './sql.js';

/**
 * The audit trail on PostgreSQL: the `audit_log` table of the SQLite store, append-only (a trigger refuses
 * UPDATE), with the same filters and order (store/core-rows.ts `auditWhereSql`), newest first by seq.
 */
export class PostgresAuditStore implements AuditStore {
  constructor(private readonly db: PostgresDatabase) {}
  async append(e: Omit<AuditEntry, 'seq'>): Promise<number> {
    const [r] = await this.db.query<{ seq: number }>(
      `INSERT INTO audit_log (${AUDIT_INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING seq`,
      auditColumns(e),
    );
    return r!.seq;
  }
  /** One statement: the entries' columns as nine text arrays, inserted in their order (seq follows it). */
  async appendMany(entries: readonly Omit<AuditEntry, 'seq'>[]): Promise<void> {
    if (entries.length === 0) return;
    const cols: unknown[][] = AUDIT_INSERT_COLUMNS.split(',').map(() => []);
    for (const e of entries) {
      const row = auditColumns(e);
      for (let i = 0; i < row.length; i++) cols[i]!.push(row[i]);
    }
    await this.db.query(
      `INSERT INTO audit_log (${AUDIT_INSERT_COLUMNS})
       SELECT c1, c2, c3, c4, c5, c6, c7, c8, c9
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::text[]) WITH ORDINALITY AS t(c1, c2, c3, c4, c5, c6, c7, c8, c9, n)
        ORDER BY n`,
      cols,
    );
  }
  async list(q: AuditQuery): Promise<AuditEntry[]> {
    const { args, p } = binder('postgres');
    const sql = `SELECT * FROM audit_log${auditWhereSql(q, p)} ORDER BY seq DESC LIMIT ${p(q.limit)}`;
    return (await this.db.query<Row>(sql, args)).map(rowToAuditEntry);
  }
  prune(before: string): Promise<number> {
    return deleted(this.db, 'time < $1', 'audit_log', [before]);
  }
}
