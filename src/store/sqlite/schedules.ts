import type { Schedule, ScheduleStore } from '../../alerting/broadcast/schedules.js';
import { KeyedJsonStore } from './broadcast.js';
import type { Db } from './database.js';

/** Scheduled and recurring broadcasts (table: migrations/schedules.ts). */
export class SqliteScheduleStore extends KeyedJsonStore<Schedule> implements ScheduleStore {
  constructor(db: Db) {
    super(db, 'broadcast_schedules', 'id', (s) => s.id);
  }
}
