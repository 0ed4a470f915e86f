import { createHash } from 'node:crypto';
import type { SmdrListQuery, SmdrStore, StoredSmdrRow } from '../../drivers/ipoffice/smdr-store.js';
import type { PostgresDatabase } from './database.js';
import { Params } from './sql.js';

interface Row {
  id: string;
  device_id: string;
  received_at: string;
  call_start: string | null;
  call_id: string;
  continuation: number;
  line: string;
  emergency: number;
  devlink_call_key: string | null;
}

const COLS =
  'id, device_id, received_at, call_start, call_id, continuation, line, emergency, devlink_call_key';

const toRow = (r: Row): StoredSmdrRow => ({
  id: r.id,
  deviceId: r.device_id,
  receivedAt: r.received_at,
  callStart: r.call_start,
  callId: r.call_id,
  continuation: r.continuation === 1,
  line: r.line,
  emergency: r.emergency === 1,
  devlinkCallKey: r.devlink_call_key,
});

/**
 * SMDR call history on PostgreSQL (migration `ipoffice` 1, the SQLite table). A resend of the same line is
 * ignored on whichever hub receives it (the unique (device_id, line_hash)). Order as SQLite: by Call Start
 * with unknown starts first, then by reception.
 */
export class PostgresSmdrStore implements SmdrStore {
  constructor(private readonly db: PostgresDatabase) {}

  async insert(r: StoredSmdrRow): Promise<boolean> {
    const hash = createHash('sha256').update(r.line).digest('hex');
    const rows = await this.db.query(
      `INSERT INTO smdr_records (id, device_id, received_at, call_start, call_id, continuation, line, line_hash,
         emergency, devlink_call_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        r.id,
        r.deviceId,
        r.receivedAt,
        r.callStart,
        r.callId,
        r.continuation ? 1 : 0,
        // PostgreSQL text cannot hold NUL: it is kept as U+FFFD rather than losing the record (the hash, the
        // resend check, is of the line as received).
        r.line.replaceAll('\0', '\uFFFD'),
        hash,
        r.emergency ? 1 : 0,
        r.devlinkCallKey,
      ],
    );
    return rows.length === 1;
  }

  async list(q: SmdrListQuery): Promise<StoredSmdrRow[]> {
    const p = new Params();
    const where = [`device_id = ${p.p(q.deviceId)}`];
    if (q.from) where.push(`call_start >= ${p.p(q.from)}`);
    if (q.to) where.push(`call_start < ${p.p(q.to)}`);
    if (q.callId) where.push(`call_id = ${p.p(q.callId)}`);
    const rows = await this.db.query<Row>(
      `SELECT ${COLS} FROM smdr_records WHERE ${where.join(' AND ')}
       ORDER BY call_start NULLS FIRST, received_at LIMIT ${p.p(q.limit)}`,
      p.values,
    );
    return rows.map(toRow);
  }

  async unreconciled(deviceId: string, from: string, to: string): Promise<StoredSmdrRow[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLS} FROM smdr_records WHERE device_id = $1 AND devlink_call_key IS NULL
         AND call_start >= $2 AND call_start <= $3 ORDER BY call_start LIMIT 500`,
      [deviceId, from, to],
    );
    return rows.map(toRow);
  }

  async setDevlinkCallKey(id: string, callKey: string): Promise<void> {
    await this.db.query('UPDATE smdr_records SET devlink_call_key = $1 WHERE id = $2', [callKey, id]);
  }
}
