import { createHash } from 'node:crypto';
import type { SmdrListQuery, SmdrStore, StoredSmdrRow } from '../../drivers/ipoffice/smdr-store.js';
import type { Db } from './database.js';

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

/** SMDR call history in the embedded database (migration `ipoffice` 1). */
export class SqliteSmdrStore implements SmdrStore {
  private readonly ins;
  private readonly unrec;
  private readonly setKey;

  constructor(private readonly db: Db) {
    this.ins = db.prepare(
      `INSERT OR IGNORE INTO smdr_records (id, device_id, received_at, call_start, call_id, continuation, line,
         line_hash, emergency, devlink_call_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.unrec = db.prepare(
      `SELECT * FROM smdr_records WHERE device_id = ? AND devlink_call_key IS NULL
         AND call_start >= ? AND call_start <= ? ORDER BY call_start LIMIT 500`,
    );
    this.setKey = db.prepare('UPDATE smdr_records SET devlink_call_key = ? WHERE id = ?');
  }

  async insert(r: StoredSmdrRow): Promise<boolean> {
    const hash = createHash('sha256').update(r.line).digest('hex');
    const res = this.ins.run(
      r.id,
      r.deviceId,
      r.receivedAt,
      r.callStart,
      r.callId,
      r.continuation ? 1 : 0,
      r.line,
      hash,
      r.emergency ? 1 : 0,
      r.devlinkCallKey,
    );
    return res.changes === 1;
  }

  async list(q: SmdrListQuery): Promise<StoredSmdrRow[]> {
    const where = ['device_id = ?'];
    const args: Array<string | number> = [q.deviceId];
    if (q.from) {
      where.push('call_start >= ?');
      args.push(q.from);
    }
    if (q.to) {
      where.push('call_start < ?');
      args.push(q.to);
    }
    if (q.callId) {
      where.push('call_id = ?');
      args.push(q.callId);
    }
    args.push(q.limit);
    const rows = this.db
      .prepare(
        `SELECT * FROM smdr_records WHERE ${where.join(' AND ')} ORDER BY call_start, received_at LIMIT ?`,
      )
      .all(...args) as Row[];
    return rows.map(toRow);
  }

  async unreconciled(deviceId: string, from: string, to: string): Promise<StoredSmdrRow[]> {
    return (this.unrec.all(deviceId, from, to) as Row[]).map(toRow);
  }

  async setDevlinkCallKey(id: string, callKey: string): Promise<void> {
    this.setKey.run(callKey, id);
  }
}
