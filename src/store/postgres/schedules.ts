import type { Schedule, ScheduleStore } from '../../alerting/broadcast/schedules.js';
import { PostgresKeyedJsonStore } from './broadcast.js';
import type { PostgresDatabase } from './database.js';

/** Scheduled and recurring broadcasts (table: migrations/schedules.ts). */
export class PostgresScheduleStore extends PostgresKeyedJsonStore<Schedule> implements ScheduleStore {
  constructor(db: PostgresDatabase) {
    super(db, 'broadcast_schedules', 'id', (s) => s.id);
  }
}
