import type { Schedule, ScheduleStore } from '../../alerting/broadcast/schedules.js';
import { KeyedJsonStore } from './broadcast.js';
import type { Db } from './database.js';

/** Scheduled and recurring broadcasts (table: migrations/schedules.ts). */
export class SqliteScheduleStore extends KeyedJsonStore<Schedule> implements ScheduleStore {
  private readonly claim;
  constructor(db: Db) {
    super(db, 'broadcast_schedules', 'id', (s) => s.id);
    this.claim = db.prepare(
      `UPDATE broadcast_schedules SET body = ? WHERE id = ? AND json_extract(body, '$.nextRunAt') = ?`,
    );
  }
  async claimRun(s: Schedule, dueAt: string): Promise<boolean> {
    return this.claim.run(JSON.stringify(s), s.id, dueAt).changes === 1;
  }
}
