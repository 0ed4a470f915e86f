import type { CapAlertStore, CapRecord } from '../../alerting/cap/store.js';
import type { ChannelLogEntry, ChannelLogStore } from '../../alerting/channels/dispatch.js';
import type { Db } from './database.js';

type BodyRow = { body: string };

/** CAP messages received (table cap_alerts, migrations/alerting.ts). */
export class SqliteCapAlertStore implements CapAlertStore {
  private readonly ins;
  private readonly upd;
  private readonly one;
  private readonly byEvent;
  private readonly newest;
  constructor(private readonly db: Db) {
    this.ins = db.prepare(
      'INSERT INTO cap_alerts (key, event_id, received_at, body) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO NOTHING',
    );
    this.upd = db.prepare('UPDATE cap_alerts SET event_id = ?, body = ? WHERE key = ?');
    this.one = db.prepare('SELECT body FROM cap_alerts WHERE key = ?');
    this.byEvent = db.prepare('SELECT body FROM cap_alerts WHERE event_id = ?');
    this.newest = db.prepare('SELECT body FROM cap_alerts ORDER BY received_at DESC, rowid DESC LIMIT ?');
  }
  async get(key: string): Promise<CapRecord | undefined> {
    const r = this.one.get(key) as BodyRow | undefined;
    return r ? (JSON.parse(r.body) as CapRecord) : undefined;
  }
  async insert(r: CapRecord): Promise<boolean> {
    return this.ins.run(r.key, r.eventId, r.receivedAt, JSON.stringify(r)).changes === 1;
  }
  async update(r: CapRecord): Promise<void> {
    this.upd.run(r.eventId, JSON.stringify(r), r.key);
  }
  async byEventId(eventId: string): Promise<CapRecord | undefined> {
    const r = this.byEvent.get(eventId) as BodyRow | undefined;
    return r ? (JSON.parse(r.body) as CapRecord) : undefined;
  }
  async list(q: { limit: number }): Promise<CapRecord[]> {
    return (this.newest.all(q.limit) as BodyRow[]).map((r) => JSON.parse(r.body) as CapRecord);
  }
  async prune(keep: number): Promise<void> {
    this.db
      .prepare(
        'DELETE FROM cap_alerts WHERE rowid NOT IN (SELECT rowid FROM cap_alerts ORDER BY received_at DESC, rowid DESC LIMIT ?)',
      )
      .run(keep);
  }
}

/** The alerting channels' delivery log (table channel_log). */
export class SqliteChannelLog implements ChannelLogStore {
  private readonly put;
  constructor(private readonly db: Db) {
    this.put = db.prepare(
      `INSERT INTO channel_log (id, incident_id, created_at, body) VALUES (?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET body = excluded.body`,
    );
  }
  async save(e: ChannelLogEntry): Promise<void> {
    this.put.run(e.id, e.incidentId, e.createdAt, JSON.stringify(e));
  }
  async list(q: { limit: number; incidentId?: string }): Promise<ChannelLogEntry[]> {
    const rows = q.incidentId
      ? this.db
          .prepare(
            'SELECT body FROM channel_log WHERE incident_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?',
          )
          .all(q.incidentId, q.limit)
      : this.db
          .prepare('SELECT body FROM channel_log ORDER BY created_at DESC, rowid DESC LIMIT ?')
          .all(q.limit);
    return (rows as BodyRow[]).map((r) => JSON.parse(r.body) as ChannelLogEntry);
  }
  async prune(keep: number): Promise<void> {
    this.db
      .prepare(
        'DELETE FROM channel_log WHERE rowid NOT IN (SELECT rowid FROM channel_log ORDER BY created_at DESC, rowid DESC LIMIT ?)',
      )
      .run(keep);
  }
}
