import type { CapAlertStore, CapRecord } from '../../alerting/cap/store.js';
import type { ChannelLogEntry, ChannelLogStore } from '../../alerting/channels/dispatch.js';
import type { PostgresDatabase } from './database.js';
import { bodies, bodyOf } from './sql.js';

/** CAP messages received (table cap_alerts, migrations/alerting.ts), as the SQLite store keeps them. */
export class PostgresCapAlertStore implements CapAlertStore {
  constructor(private readonly db: PostgresDatabase) {}
  async get(key: string): Promise<CapRecord | undefined> {
    return bodyOf<CapRecord>(await this.db.query('SELECT body FROM cap_alerts WHERE key = $1', [key]));
  }
  async insert(r: CapRecord): Promise<boolean> {
    const rows = await this.db.query(
      'INSERT INTO cap_alerts (key, event_id, received_at, body) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING RETURNING 1',
      [r.key, r.eventId, r.receivedAt, JSON.stringify(r)],
    );
    return rows.length === 1;
  }
  async update(r: CapRecord): Promise<void> {
    await this.db.query('UPDATE cap_alerts SET event_id = $1, body = $2 WHERE key = $3', [
      r.eventId,
      JSON.stringify(r),
      r.key,
    ]);
  }
  async byEventId(eventId: string): Promise<CapRecord | undefined> {
    return bodyOf<CapRecord>(
      await this.db.query('SELECT body FROM cap_alerts WHERE event_id = $1 LIMIT 1', [eventId]),
    );
  }
  async list(q: { limit: number }): Promise<CapRecord[]> {
    return bodies<CapRecord>(
      await this.db.query('SELECT body FROM cap_alerts ORDER BY received_at DESC, seq DESC LIMIT $1', [
        q.limit,
      ]),
    );
  }
  async prune(keep: number): Promise<void> {
    await this.db.query(
      'DELETE FROM cap_alerts WHERE seq NOT IN (SELECT seq FROM cap_alerts ORDER BY received_at DESC, seq DESC LIMIT $1)',
      [keep],
    );
  }
}

/** The alerting channels' delivery log (table channel_log). */
export class PostgresChannelLog implements ChannelLogStore {
  constructor(private readonly db: PostgresDatabase) {}
  async save(e: ChannelLogEntry): Promise<void> {
    await this.db.query(
      `INSERT INTO channel_log (id, incident_id, created_at, body) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body`,
      [e.id, e.incidentId, e.createdAt, JSON.stringify(e)],
    );
  }
  async list(q: { limit: number; incidentId?: string }): Promise<ChannelLogEntry[]> {
    const rows = q.incidentId
      ? await this.db.query(
          'SELECT body FROM channel_log WHERE incident_id = $1 ORDER BY created_at DESC, seq DESC LIMIT $2',
          [q.incidentId, q.limit],
        )
      : await this.db.query('SELECT body FROM channel_log ORDER BY created_at DESC, seq DESC LIMIT $1', [
          q.limit,
        ]);
    return bodies<ChannelLogEntry>(rows as Array<{ body: string }>);
  }
  async prune(keep: number): Promise<void> {
    await this.db.query(
      'DELETE FROM channel_log WHERE seq NOT IN (SELECT seq FROM channel_log ORDER BY created_at DESC, seq DESC LIMIT $1)',
      [keep],
    );
  }
}
