import type { Schedule, ScheduleStore } from '../../alerting/broadcast/schedules.js';
import { PostgresKeyedJsonStore } from './broadcast.js';
import type { PostgresDatabase } from './database.js';

/** Scheduled and recurring broadcasts (table: migrations/schedules.ts). */
export class PostgresScheduleStore extends PostgresKeyedJsonStore<Schedule> implements ScheduleStore {
  constructor(private readonly pg: PostgresDatabase) {
    super(pg, 'broadcast_schedules', 'id', (s) => s.id);
  }
  async claimRun(s: Schedule, dueAt: string): Promise<boolean> {
    // One statement: of two hubs claiming the same due run, the second finds nextRunAt moved on.
    const rows = await this.pg.query(
      `UPDATE broadcast_schedules SET body = $2
        WHERE id = $1 AND (replace(body, '\\u0000', '\\ufffd')::json->>'nextRunAt') = $3 RETURNING id`,
      [s.id, JSON.stringify(s), dueAt],
    );
    return rows.length === 1;
  }
}
