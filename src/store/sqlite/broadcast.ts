import type Database from 'better-sqlite3';
import type {
  Broadcast,
  BroadcastState,
  BroadcastStore,
  BroadcastTarget,
  Delivery,
  DeliveryState,
  Priority,
  Template,
  TemplateStore,
  WriteFence,
} from '../../alerting/broadcast/types.js';
import type { WebhookLog, WebhookLogEntry } from '../../alerting/channels/webhook.js';
import type { CallClaim, CallClaimOptions, IncidentCallClaims } from '../../alerting/emergency/call-claim.js';
import type {
  Incident,
  IncidentQuery,
  IncidentStore,
  LocationEntry,
  LocationStore,
} from '../../alerting/emergency/types.js';
import type { Rule, RuleStore } from '../../alerting/rules/types.js';
import { ConflictError } from '../../core/errors.js';
import type { Page, PageRequest } from '../../core/paging.js';
import type { Db } from './database.js';
import { pageByTime } from './paging.js';

/**
 * SQLite implementations of the broadcast, template, rule, location, incident and webhook-log stores.
 * Records are JSON bodies with the columns we query on beside them (tables: migrations/broadcast.ts).
 */
type BodyRow = { body: string };
const parse = <T>(r: BodyRow | undefined): T | undefined => (r ? (JSON.parse(r.body) as T) : undefined);

export class SqliteBroadcastStore implements BroadcastStore {
  private readonly ins;
  private readonly upd;
  private readonly getB;
  private readonly saveD;
  private readonly listD;
  private readonly countD;
  private readonly getD;
  private readonly insT;
  private readonly getT;
  private fenceQ: Database.Statement<unknown[]> | undefined;
  private unownedQ: Database.Statement<unknown[]> | undefined;
  constructor(private readonly db: Db) {
    this.ins = db.prepare('INSERT INTO broadcasts (id, created_at, state, body) VALUES (?, ?, ?, ?)');
    this.insT = db.prepare('INSERT INTO broadcast_targets (broadcast_id, body) VALUES (?, ?)');
    this.getT = db.prepare('SELECT body FROM broadcast_targets WHERE broadcast_id = ?');
    this.upd = db.prepare('UPDATE broadcasts SET state = ?, body = ? WHERE id = ?');
    this.getB = db.prepare('SELECT body FROM broadcasts WHERE id = ?');
    this.saveD = db.prepare(
      `INSERT INTO broadcast_deliveries (id, broadcast_id, device_id, state, body) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET state = excluded.state, body = excluded.body`,
    );
    this.listD = db.prepare('SELECT body FROM broadcast_deliveries WHERE broadcast_id = ? ORDER BY rowid');
    this.countD = db.prepare(
      'SELECT state, COUNT(*) AS n FROM broadcast_deliveries WHERE broadcast_id = ? GROUP BY state',
    );
    this.getD = db.prepare('SELECT body FROM broadcast_deliveries WHERE id = ?');
  }
  // Prepared on first use: the leases table belongs to the cluster module's migrations.
  private get fence() {
    this.fenceQ ??= this.db.prepare('SELECT 1 FROM leases WHERE name = ? AND holder = ? AND token = ?');
    return this.fenceQ;
  }
  private get unowned() {
    this.unownedQ ??= this.db.prepare(
      `SELECT b.id, json_extract(b.body, '$.priority') AS priority FROM broadcasts b
         LEFT JOIN leases l ON l.name = 'broadcast:' || b.id
        WHERE b.state = 'delivering' AND (l.name IS NULL OR l.expires_at < ?)
        ORDER BY b.created_at, b.rowid LIMIT ?`,
    );
    return this.unownedQ;
  }
  async insertBroadcast(b: Broadcast, targets?: readonly BroadcastTarget[]): Promise<void> {
    this.db.transaction(() => {
      this.ins.run(b.id, b.createdAt, b.state, JSON.stringify(b));
      // One row for all targets (device ids and kinds as two parallel arrays), not one row per phone.
      if (targets && targets.length > 0)
        this.insT.run(
          b.id,
          JSON.stringify({ ids: targets.map((t) => t.deviceId), kinds: targets.map((t) => t.kind) }),
        );
    })();
  }
  async listTargets(broadcastId: string): Promise<BroadcastTarget[]> {
    const r = parse<{ ids: string[]; kinds: string[] }>(this.getT.get(broadcastId) as BodyRow | undefined);
    return r ? r.ids.map((deviceId, i) => ({ deviceId, kind: r.kinds[i] ?? '' })) : [];
  }
  async updateBroadcast(b: Broadcast, fence?: WriteFence): Promise<void> {
    this.db.transaction(() => {
      if (fence) this.checkFence(fence);
      this.upd.run(b.state, JSON.stringify(b), b.id);
    })();
  }
  /** The fence of the PostgreSQL store, inside the caller's transaction (one hub per file: always held). */
  private checkFence(f: WriteFence): void {
    if (!this.fence.get(f.lease, f.holder, f.token))
      throw new ConflictError(
        'LEASE_LOST',
        `${f.lease}: this hub no longer holds the lease (token ${f.token})`,
      );
  }
  async listUnowned(q: {
    graceMs: number;
    limit: number;
  }): Promise<Array<{ id: string; priority: Priority }>> {
    return this.unowned.all(Date.now() - q.graceMs, q.limit) as Array<{ id: string; priority: Priority }>;
  }
  async getBroadcast(id: string): Promise<Broadcast | undefined> {
    return parse<Broadcast>(this.getB.get(id) as BodyRow | undefined);
  }
  async pageBroadcasts(
    req: PageRequest,
    f: { before?: string | undefined; state?: BroadcastState | undefined },
  ): Promise<Page<Broadcast>> {
    return pageByTime<Broadcast>(this.db, {
      table: 'broadcasts',
      where: [
        ...(f.before ? [['created_at < ?', [f.before]] as [string, unknown[]]] : []),
        ...(f.state ? [['state = ?', [f.state]] as [string, unknown[]]] : []),
      ],
      search: ['$.title', '$.text', '$.createdBy', '$.id'],
      req,
    });
  }
  async listBroadcasts(q: { limit: number; before?: string; state?: BroadcastState }): Promise<Broadcast[]> {
    const args: unknown[] = [];
    let sql = 'SELECT body FROM broadcasts WHERE 1=1';
    if (q.before) {
      sql += ' AND created_at < ?';
      args.push(q.before);
    }
    if (q.state) {
      sql += ' AND state = ?';
      args.push(q.state);
    }
    sql += ' ORDER BY created_at DESC, rowid DESC LIMIT ?';
    args.push(q.limit);
    return (this.db.prepare(sql).all(...args) as BodyRow[]).map((r) => JSON.parse(r.body) as Broadcast);
  }
  async saveDeliveries(ds: Delivery[], fence?: WriteFence): Promise<void> {
    this.db.transaction((list: Delivery[]) => {
      if (fence && list.length > 0) this.checkFence(fence);
      for (const d of list) this.saveD.run(d.id, d.broadcastId, d.deviceId, d.state, JSON.stringify(d));
    })(ds);
  }
  async listDeliveries(broadcastId: string): Promise<Delivery[]> {
    return (this.listD.all(broadcastId) as BodyRow[]).map((r) => JSON.parse(r.body) as Delivery);
  }

  async countDeliveries(broadcastId: string): Promise<Partial<Record<DeliveryState, number>>> {
    const out: Partial<Record<DeliveryState, number>> = {};
    for (const r of this.countD.all(broadcastId) as Array<{ state: DeliveryState; n: number }>)
      out[r.state] = r.n;
    return out;
  }
  async getDelivery(id: string): Promise<Delivery | undefined> {
    return parse<Delivery>(this.getD.get(id) as BodyRow | undefined);
  }
}

/** A JSON-body table keyed by id (templates, rules, locations, schedules). */
export class KeyedJsonStore<T> {
  private readonly all;
  private readonly one;
  private readonly put;
  private readonly del;
  constructor(
    db: Db,
    table: string,
    key: string,
    private readonly keyOf: (t: T) => string,
    extra: { col: string; of: (t: T) => string } | undefined = undefined,
  ) {
    this.all = db.prepare(`SELECT body FROM ${table} ORDER BY ${key}`);
    this.one = db.prepare(`SELECT body FROM ${table} WHERE ${key} = ?`);
    this.put = extra
      ? db.prepare(
          `INSERT INTO ${table} (${key}, ${extra.col}, body) VALUES (?, ?, ?) ON CONFLICT(${key}) DO UPDATE SET ${extra.col} = excluded.${extra.col}, body = excluded.body`,
        )
      : db.prepare(
          `INSERT INTO ${table} (${key}, body) VALUES (?, ?) ON CONFLICT(${key}) DO UPDATE SET body = excluded.body`,
        );
    this.del = db.prepare(`DELETE FROM ${table} WHERE ${key} = ?`);
    this.extra = extra;
  }
  private readonly extra: { col: string; of: (t: T) => string } | undefined;
  async list(): Promise<T[]> {
    return (this.all.all() as BodyRow[]).map((r) => JSON.parse(r.body) as T);
  }
  async get(id: string): Promise<T | undefined> {
    return parse<T>(this.one.get(id) as BodyRow | undefined);
  }
  async upsert(t: T): Promise<void> {
    this.upsertNow(t);
  }
  /** The synchronous write (inside a caller's transaction). */
  upsertNow(t: T): void {
    if (this.extra) this.put.run(this.keyOf(t), this.extra.of(t), JSON.stringify(t));
    else this.put.run(this.keyOf(t), JSON.stringify(t));
  }
  async remove(id: string): Promise<boolean> {
    return this.del.run(id).changes > 0;
  }
}

export class SqliteTemplateStore extends KeyedJsonStore<Template> implements TemplateStore {
  constructor(db: Db) {
    super(db, 'broadcast_templates', 'id', (t) => t.id);
  }
}

export class SqliteRuleStore extends KeyedJsonStore<Rule> implements RuleStore {
  constructor(db: Db) {
    super(db, 'rules', 'id', (r) => r.id, { col: 'source', of: (r) => r.origin });
  }
}

export class SqliteLocationStore implements LocationStore {
  private readonly inner: KeyedJsonStore<LocationEntry>;
  constructor(private readonly db: Db) {
    this.inner = new KeyedJsonStore<LocationEntry>(db, 'locations', 'extension', (l) => l.extension);
  }
  async get(extension: string): Promise<LocationEntry | undefined> {
    return this.inner.get(extension);
  }
  async list(): Promise<LocationEntry[]> {
    return this.inner.list();
  }
  async upsertMany(rows: LocationEntry[]): Promise<void> {
    this.db.transaction((rs: LocationEntry[]) => {
      for (const r of rs) this.inner.upsertNow(r);
    })(rows);
  }
  async remove(extension: string): Promise<boolean> {
    return this.inner.remove(extension);
  }
}

export class SqliteIncidentStore implements IncidentStore, IncidentCallClaims {
  private readonly ins;
  private readonly upd;
  private readonly one;
  private readonly byCall;
  private readonly release;
  private readonly claim;
  private readonly liveOf;
  constructor(private readonly db: Db) {
    this.ins = db.prepare(
      'INSERT INTO incidents (id, created_at, call_key, source_device, call_live, body) VALUES (?, ?, ?, ?, ?, ?)',
    );
    // A call that ended releases its live claim (the PBX may reuse the CallID for the next call).
    this.upd = db.prepare(
      'UPDATE incidents SET body = ?, call_live = CASE WHEN ? THEN 0 ELSE call_live END WHERE id = ?',
    );
    this.one = db.prepare('SELECT body FROM incidents WHERE id = ?');
    this.byCall = db.prepare(
      'SELECT body FROM incidents WHERE call_key = ? ORDER BY created_at DESC LIMIT 1',
    );
    // Stale live claims of a key: too old to be this call, or another caller (a reused CallID).
    this.release = db.prepare(
      `UPDATE incidents SET call_live = 0 WHERE source_device = ? AND call_key = ? AND call_live = 1
         AND (created_at < ? OR (? <> '' AND coalesce(json_extract(body, '$.caller.extension'), '') NOT IN ('', ?)))`,
    );
    this.liveOf = db.prepare(
      'SELECT body FROM incidents WHERE source_device = ? AND call_key = ? AND call_live = 1',
    );
    this.claim = db.transaction((i: Incident, staleBefore: string, key: string): CallClaim => {
      this.release.run(i.pbx, key, staleBefore, i.caller.extension, i.caller.extension);
      const existing = parse<Incident>(this.liveOf.get(i.pbx, key) as BodyRow | undefined);
      if (existing) return { created: false, incident: existing };
      this.ins.run(i.id, i.createdAt, key, i.pbx, 1, JSON.stringify(i));
      return { created: true, incident: i };
    });
  }
  async insert(i: Incident): Promise<void> {
    this.insertNow(i);
  }
  private insertNow(i: Incident): void {
    this.ins.run(i.id, i.createdAt, i.callKey, i.pbx, 0, JSON.stringify(i));
  }
  async claimCall(i: Incident, o: CallClaimOptions): Promise<CallClaim> {
    if (!i.callKey || i.callEndedAt) {
      this.insertNow(i);
      return { created: true, incident: i };
    }
    // IMMEDIATE: another connection (the CLI) cannot slip a claim between the check and the insert.
    return this.claim.immediate(i, o.staleBefore, i.callKey);
  }
  async update(i: Incident): Promise<void> {
    this.upd.run(JSON.stringify(i), i.callEndedAt !== null ? 1 : 0, i.id);
  }
  async get(id: string): Promise<Incident | undefined> {
    return parse<Incident>(this.one.get(id) as BodyRow | undefined);
  }
  async byCallKey(callKey: string): Promise<Incident | undefined> {
    return parse<Incident>(this.byCall.get(callKey) as BodyRow | undefined);
  }
  async listOpen(q: { since: string; limit: number }): Promise<Incident[]> {
    const rows = this.db
      .prepare(
        "SELECT body FROM incidents WHERE created_at >= ? AND json_extract(body, '$.state') != 'acknowledged' ORDER BY created_at ASC LIMIT ?",
      )
      .all(q.since, q.limit) as BodyRow[];
    return rows.map((r) => JSON.parse(r.body) as Incident);
  }
  async list(q: IncidentQuery): Promise<Incident[]> {
    const where = incidentFilters(q);
    const sql = `SELECT body FROM incidents ${where.length ? `WHERE ${where.map(([w]) => w).join(' AND ')}` : ''} ORDER BY created_at DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...where.flatMap(([, a]) => a), q.limit);
    return (rows as BodyRow[]).map((r) => JSON.parse(r.body) as Incident);
  }
  async page(req: PageRequest, f: Omit<IncidentQuery, 'limit'>): Promise<Page<Incident>> {
    return pageByTime<Incident>(this.db, {
      table: 'incidents',
      where: incidentFilters(f),
      search: [
        '$.id',
        '$.caller.name',
        '$.caller.extension',
        '$.caller.callbackNumber',
        '$.location.site',
        '$.location.building',
        '$.location.floor',
        '$.location.room',
        '$.acknowledgedBy',
      ],
      req,
    });
  }
}

/**
 * The incident log's filters as SQL over the JSON bodies (SQLite's JSON functions, no extra columns): one
 * place for the listing and the pages.
 */
function incidentFilters(q: Omit<IncidentQuery, 'limit'>): Array<[string, unknown[]]> {
  const exercise =
    "(coalesce(json_extract(body, '$.drill'), 0) = 1 OR coalesce(json_extract(body, '$.test'), 0) = 1)";
  const where: Array<[string, unknown[]]> = [];
  if (q.before) where.push(['created_at < ?', [q.before]]);
  if (q.drills === 'exclude') where.push([`NOT ${exercise}`, []]);
  else if (q.drills === 'only') where.push([exercise, []]);
  if (q.open) where.push(["json_extract(body, '$.acknowledgedAt') IS NULL", []]);
  return where;
}

export class SqliteWebhookLog implements WebhookLog {
  private readonly put;
  constructor(private readonly db: Db) {
    this.put = db.prepare(
      `INSERT INTO webhook_deliveries (id, rule_id, created_at, body) VALUES (?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET body = excluded.body`,
    );
  }
  async save(e: WebhookLogEntry): Promise<void> {
    this.put.run(e.id, e.ruleId, e.createdAt, JSON.stringify(e));
  }
  async list(q: { limit: number; ruleId?: string }): Promise<WebhookLogEntry[]> {
    const rows = q.ruleId
      ? this.db
          .prepare(
            'SELECT body FROM webhook_deliveries WHERE rule_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?',
          )
          .all(q.ruleId, q.limit)
      : this.db
          .prepare('SELECT body FROM webhook_deliveries ORDER BY created_at DESC, rowid DESC LIMIT ?')
          .all(q.limit);
    return (rows as BodyRow[]).map((r) => JSON.parse(r.body) as WebhookLogEntry);
  }
  /** Keeps the log bounded: deletes all but the newest `keep` entries. */
  async prune(keep: number): Promise<void> {
    this.db
      .prepare(
        'DELETE FROM webhook_deliveries WHERE id NOT IN (SELECT id FROM webhook_deliveries ORDER BY created_at DESC, rowid DESC LIMIT ?)',
      )
      .run(keep);
  }
}

export interface BroadcastStores {
  broadcasts: SqliteBroadcastStore;
  templates: SqliteTemplateStore;
  rules: SqliteRuleStore;
  locations: SqliteLocationStore;
  incidents: SqliteIncidentStore;
  webhooks: SqliteWebhookLog;
}

export function sqliteBroadcastStores(db: Db): BroadcastStores {
  return {
    broadcasts: new SqliteBroadcastStore(db),
    templates: new SqliteTemplateStore(db),
    rules: new SqliteRuleStore(db),
    locations: new SqliteLocationStore(db),
    incidents: new SqliteIncidentStore(db),
    webhooks: new SqliteWebhookLog(db),
  };
}
