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
import type { PostgresDatabase, Query } from './database.js';
import { pageByTime } from './paging.js';
import { bodies, bodyOf, countOf, jsonText, Params } from './sql.js';

/**
 * PostgreSQL implementations of the broadcast, template, rule, location, incident and webhook-log stores:
 * the SQLite stores' behaviour (test/store/alerting-contract.ts runs against both) over the same tables
 * (migrations/broadcast.ts). Every write is committed before its promise resolves; multi-row writes are one
 * transaction. Insertion order (SQLite's `rowid`) is the `seq` column.
 */

type BodyRow = { body: string };

export class PostgresBroadcastStore implements BroadcastStore {
  constructor(private readonly db: PostgresDatabase) {}

  async insertBroadcast(b: Broadcast, targets?: readonly BroadcastTarget[]): Promise<void> {
    await this.db.tx(async (q) => {
      await q('INSERT INTO broadcasts (id, created_at, state, body) VALUES ($1, $2, $3, $4)', [
        b.id,
        b.createdAt,
        b.state,
        JSON.stringify(b),
      ]);
      // One row for all targets (device ids and kinds as two parallel arrays), as the SQLite store.
      if (targets && targets.length > 0)
        await q('INSERT INTO broadcast_targets (broadcast_id, body) VALUES ($1, $2)', [
          b.id,
          JSON.stringify({ ids: targets.map((t) => t.deviceId), kinds: targets.map((t) => t.kind) }),
        ]);
    });
  }

  async listTargets(broadcastId: string): Promise<BroadcastTarget[]> {
    const r = bodyOf<{ ids: string[]; kinds: string[] }>(
      await this.db.query<BodyRow>('SELECT body FROM broadcast_targets WHERE broadcast_id = $1', [
        broadcastId,
      ]),
    );
    return r ? r.ids.map((deviceId, i) => ({ deviceId, kind: r.kinds[i] ?? '' })) : [];
  }

  async updateBroadcast(b: Broadcast, fence?: WriteFence): Promise<void> {
    await this.fenced(
      fence,
      (guard) => `UPDATE broadcasts SET state = $1, body = $2 WHERE id = $3 AND ${guard}`,
      [b.state, JSON.stringify(b), b.id],
    );
  }

  /**
   * Runs a write, fenced when `f` is given: one statement that first share-locks the fence's lease row as
   * it must be (a takeover, the acquire's UPDATE of that row, waits for the commit) and writes only if it
   * was found; otherwise nothing is written and LEASE_LOST is thrown. `write(guard)` gives the statement
   * with `guard` (a condition, evaluated once before any row) in its WHERE. One round trip, where BEGIN,
   * the lock, the write and COMMIT took four.
   */
  private async fenced(
    f: WriteFence | undefined,
    write: (guard: string) => string,
    params: unknown[],
  ): Promise<void> {
    if (!f) {
      await this.db.query(write('TRUE'), params);
      return;
    }
    const n = params.length;
    const [r] = await this.db.query<{ held: number }>(
      `WITH fence AS MATERIALIZED (
         SELECT 1 FROM leases WHERE name = $${n + 1} AND holder = $${n + 2} AND token = $${n + 3} FOR SHARE),
       w AS (${write('EXISTS (SELECT 1 FROM fence)')})
       SELECT (SELECT count(*) FROM fence)::int AS held`,
      [...params, f.lease, f.holder, f.token],
    );
    if (r?.held !== 1)
      throw new ConflictError(
        'LEASE_LOST',
        `${f.lease}: this hub no longer holds the lease (token ${f.token})`,
      );
  }

  async listUnowned(q: {
    graceMs: number;
    limit: number;
  }): Promise<Array<{ id: string; priority: Priority }>> {
    // The partial index broadcasts_delivering keeps this cheap: only running broadcasts are read.
    const rows = await this.db.query<{ id: string; priority: Priority }>(
      `SELECT b.id, b.body::json->>'priority' AS priority FROM broadcasts b
         LEFT JOIN leases l ON l.name = 'broadcast:' || b.id
        WHERE b.state = 'delivering'
          AND (l.name IS NULL
               OR l.expires_at < (extract(epoch from clock_timestamp()) * 1000)::bigint - $1::bigint)
        ORDER BY b.created_at, b.seq LIMIT $2`,
      [q.graceMs, q.limit],
    );
    return rows.map((r) => ({ id: r.id, priority: r.priority }));
  }

  async getBroadcast(id: string): Promise<Broadcast | undefined> {
    return bodyOf<Broadcast>(await this.db.query<BodyRow>('SELECT body FROM broadcasts WHERE id = $1', [id]));
  }

  pageBroadcasts(
    req: PageRequest,
    f: { before?: string | undefined; state?: BroadcastState | undefined },
  ): Promise<Page<Broadcast>> {
    return pageByTime<Broadcast>(this.db.query, {
      table: 'broadcasts',
      where: (p) => broadcastFilters(f, p),
      search: ['$.title', '$.text', '$.createdBy', '$.id'],
      req,
    });
  }

  async listBroadcasts(q: { limit: number; before?: string; state?: BroadcastState }): Promise<Broadcast[]> {
    const p = new Params();
    const where = broadcastFilters(q, p);
    const rows = await this.db.query<BodyRow>(
      `SELECT body FROM broadcasts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, seq DESC LIMIT ${p.p(q.limit)}`,
      p.values,
    );
    return bodies<Broadcast>(rows);
  }

  async saveDeliveries(ds: Delivery[], fence?: WriteFence): Promise<void> {
    if (ds.length === 0) return;
    // One statement for the whole batch (a thousand phones: one round trip), in the order given.
    const cols = { id: [] as string[], bc: [] as string[], dev: [] as string[], st: [] as string[] };
    const body: string[] = [];
    for (const d of ds) {
      cols.id.push(d.id);
      cols.bc.push(d.broadcastId);
      cols.dev.push(d.deviceId);
      cols.st.push(d.state);
      body.push(JSON.stringify(d));
    }
    // The same id twice in one batch: the last body wins, at the place of the first (SQLite's row-by-row
    // upsert keeps the first rowid), not an error.
    await this.fenced(
      fence,
      (guard) =>
        `INSERT INTO broadcast_deliveries (id, broadcast_id, device_id, state, body)
       SELECT id, bc, dev, st, body FROM (
         SELECT DISTINCT ON (id) id, bc, dev, st, body, min(n) OVER (PARTITION BY id) AS first
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
             WITH ORDINALITY AS t(id, bc, dev, st, body, n)
           ORDER BY id, n DESC) last
       WHERE ${guard}
       ORDER BY first
       ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, body = EXCLUDED.body`,
      [cols.id, cols.bc, cols.dev, cols.st, body],
    );
  }

  async countDeliveries(broadcastId: string): Promise<Partial<Record<DeliveryState, number>>> {
    const r = await this.db.query<{ state: DeliveryState; n: string }>(
      'SELECT state, COUNT(*) AS n FROM broadcast_deliveries WHERE broadcast_id = $1 GROUP BY state',
      [broadcastId],
    );
    const out: Partial<Record<DeliveryState, number>> = {};
    for (const row of r) out[row.state] = Number(row.n);
    return out;
  }

  async listDeliveries(broadcastId: string): Promise<Delivery[]> {
    return bodies<Delivery>(
      await this.db.query<BodyRow>(
        'SELECT body FROM broadcast_deliveries WHERE broadcast_id = $1 ORDER BY seq',
        [broadcastId],
      ),
    );
  }

  async getDelivery(id: string): Promise<Delivery | undefined> {
    return bodyOf<Delivery>(
      await this.db.query<BodyRow>('SELECT body FROM broadcast_deliveries WHERE id = $1', [id]),
    );
  }
}

function broadcastFilters(
  f: { before?: string | undefined; state?: BroadcastState | undefined },
  p: Params,
): string[] {
  const where: string[] = [];
  if (f.before) where.push(`created_at < ${p.p(f.before)}`);
  if (f.state) where.push(`state = ${p.p(f.state)}`);
  return where;
}

/** A JSON-body table keyed by one column (templates, rules, locations, schedules), as SQLite's KeyedJsonStore. */
export class PostgresKeyedJsonStore<T> {
  constructor(
    protected readonly db: PostgresDatabase,
    private readonly table: string,
    private readonly key: string,
    private readonly keyOf: (t: T) => string,
    private readonly extra: { col: string; of: (t: T) => string } | undefined = undefined,
  ) {}

  async list(): Promise<T[]> {
    return bodies<T>(await this.db.query<BodyRow>(`SELECT body FROM ${this.table} ORDER BY ${this.key}`));
  }

  async get(id: string): Promise<T | undefined> {
    return bodyOf<T>(
      await this.db.query<BodyRow>(`SELECT body FROM ${this.table} WHERE ${this.key} = $1`, [id]),
    );
  }

  upsert(t: T): Promise<void> {
    return this.upsertWith(this.db.query, t);
  }

  /** The upsert on a given runner (a transaction of upsertMany). */
  protected async upsertWith(q: Query, t: T): Promise<void> {
    const { table, key, extra } = this;
    if (extra)
      await q(
        `INSERT INTO ${table} (${key}, ${extra.col}, body) VALUES ($1, $2, $3)
         ON CONFLICT (${key}) DO UPDATE SET ${extra.col} = EXCLUDED.${extra.col}, body = EXCLUDED.body`,
        [this.keyOf(t), extra.of(t), JSON.stringify(t)],
      );
    else
      await q(
        `INSERT INTO ${table} (${key}, body) VALUES ($1, $2) ON CONFLICT (${key}) DO UPDATE SET body = EXCLUDED.body`,
        [this.keyOf(t), JSON.stringify(t)],
      );
  }

  async remove(id: string): Promise<boolean> {
    return (await countOf(this.db.query, `DELETE FROM ${this.table} WHERE ${this.key} = $1`, [id])) > 0;
  }
}

export class PostgresTemplateStore extends PostgresKeyedJsonStore<Template> implements TemplateStore {
  constructor(db: PostgresDatabase) {
    super(db, 'broadcast_templates', 'id', (t) => t.id);
  }
}

export class PostgresRuleStore extends PostgresKeyedJsonStore<Rule> implements RuleStore {
  constructor(db: PostgresDatabase) {
    super(db, 'rules', 'id', (r) => r.id, { col: 'source', of: (r) => r.origin });
  }
}

export class PostgresLocationStore extends PostgresKeyedJsonStore<LocationEntry> implements LocationStore {
  constructor(db: PostgresDatabase) {
    super(db, 'locations', 'extension', (l) => l.extension);
  }
  async upsertMany(rows: LocationEntry[]): Promise<void> {
    await this.db.tx(async (q) => {
      for (const r of rows) await this.upsertWith(q, r);
    });
  }
}

export class PostgresIncidentStore implements IncidentStore, IncidentCallClaims {
  constructor(private readonly db: PostgresDatabase) {}

  async insert(i: Incident): Promise<void> {
    await this.db.query(
      'INSERT INTO incidents (id, created_at, call_key, source_device, body) VALUES ($1, $2, $3, $4, $5)',
      [i.id, i.createdAt, i.callKey, i.pbx, JSON.stringify(i)],
    );
  }

  async claimCall(i: Incident, o: CallClaimOptions): Promise<CallClaim> {
    if (!i.callKey || i.callEndedAt) {
      await this.insert(i);
      return { created: true, incident: i };
    }
    const key = i.callKey;
    return this.db.tx(async (q) => {
      // Stale live claims of the key: too old to be this call, or another caller (a reused CallID).
      await q(
        `UPDATE incidents SET call_live = 0
          WHERE source_device = $1 AND call_key = $2 AND call_live = 1
            AND (created_at < $3 OR ($4 <> '' AND coalesce(${jsonText('$.caller.extension')}, '') NOT IN ('', $4)))`,
        [i.pbx, key, o.staleBefore, i.caller.extension],
      );
      // Waits for a concurrent claim of the same key to commit, then does nothing.
      const got = await q(
        `INSERT INTO incidents (id, created_at, call_key, source_device, call_live, body) VALUES ($1, $2, $3, $4, 1, $5)
         ON CONFLICT (source_device, call_key) WHERE call_live = 1 DO NOTHING RETURNING id`,
        [i.id, i.createdAt, key, i.pbx, JSON.stringify(i)],
      );
      if (got.length === 1) return { created: true, incident: i };
      const existing = bodyOf<Incident>(
        await q<BodyRow>(
          'SELECT body FROM incidents WHERE source_device = $1 AND call_key = $2 AND call_live = 1',
          [i.pbx, key],
        ),
      );
      if (!existing) throw new Error('incident claim: conflict without a live incident'); // cannot happen
      return { created: false, incident: existing };
    });
  }

  async update(i: Incident): Promise<void> {
    // A call that ended releases its live claim (the PBX may reuse the CallID for the next call).
    await this.db.query(
      'UPDATE incidents SET body = $1, call_live = CASE WHEN $3 THEN 0 ELSE call_live END WHERE id = $2',
      [JSON.stringify(i), i.id, i.callEndedAt !== null],
    );
  }

  async get(id: string): Promise<Incident | undefined> {
    return bodyOf<Incident>(await this.db.query<BodyRow>('SELECT body FROM incidents WHERE id = $1', [id]));
  }

  async byCallKey(callKey: string): Promise<Incident | undefined> {
    return bodyOf<Incident>(
      await this.db.query<BodyRow>(
        'SELECT body FROM incidents WHERE call_key = $1 ORDER BY created_at DESC LIMIT 1',
        [callKey],
      ),
    );
  }

  async listOpen(q: { since: string; limit: number }): Promise<Incident[]> {
    return bodies<Incident>(
      await this.db.query<BodyRow>(
        `SELECT body FROM incidents WHERE created_at >= $1 AND ${jsonText('$.state')} <> 'acknowledged'
         ORDER BY created_at ASC LIMIT $2`,
        [q.since, q.limit],
      ),
    );
  }

  async list(q: IncidentQuery): Promise<Incident[]> {
    const p = new Params();
    const where = incidentFilters(q, p);
    return bodies<Incident>(
      await this.db.query<BodyRow>(
        `SELECT body FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY created_at DESC LIMIT ${p.p(q.limit)}`,
        p.values,
      ),
    );
  }

  page(req: PageRequest, f: Omit<IncidentQuery, 'limit'>): Promise<Page<Incident>> {
    return pageByTime<Incident>(this.db.query, {
      table: 'incidents',
      where: (p) => incidentFilters(f, p),
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

/** The incident log's filters (the SQLite store's incidentFilters, over the JSON bodies). */
function incidentFilters(q: Omit<IncidentQuery, 'limit'>, p: Params): string[] {
  // Absent flags are false (SQLite: coalesce(…, 0) = 1): never NULL, so NOT works.
  const exercise = `coalesce(${jsonText('$.drill')} = 'true' OR ${jsonText('$.test')} = 'true', false)`;
  const where: string[] = [];
  if (q.before) where.push(`created_at < ${p.p(q.before)}`);
  if (q.drills === 'exclude') where.push(`NOT ${exercise}`);
  else if (q.drills === 'only') where.push(exercise);
  if (q.open) where.push(`${jsonText('$.acknowledgedAt')} IS NULL`);
  return where;
}

/** The webhook delivery log (what broadcast/webhook.ts writes and the API lists). */
export type WebhookLogStore = WebhookLog;

export class PostgresWebhookLog implements WebhookLogStore {
  constructor(private readonly db: PostgresDatabase) {}

  async save(e: WebhookLogEntry): Promise<void> {
    await this.db.query(
      `INSERT INTO webhook_deliveries (id, rule_id, created_at, body) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body`,
      [e.id, e.ruleId, e.createdAt, JSON.stringify(e)],
    );
  }

  async list(q: { limit: number; ruleId?: string }): Promise<WebhookLogEntry[]> {
    const p = new Params();
    const where = q.ruleId ? `WHERE rule_id = ${p.p(q.ruleId)}` : '';
    return bodies<WebhookLogEntry>(
      await this.db.query<BodyRow>(
        `SELECT body FROM webhook_deliveries ${where} ORDER BY created_at DESC, seq DESC LIMIT ${p.p(q.limit)}`,
        p.values,
      ),
    );
  }

  /** Keeps the log bounded: deletes all but the newest `keep` entries. */
  async prune(keep: number): Promise<void> {
    await this.db.query(
      `DELETE FROM webhook_deliveries WHERE id NOT IN
         (SELECT id FROM webhook_deliveries ORDER BY created_at DESC, seq DESC LIMIT $1)`,
      [keep],
    );
  }
}

export interface PostgresBroadcastStores {
  broadcasts: PostgresBroadcastStore;
  templates: PostgresTemplateStore;
  rules: PostgresRuleStore;
  locations: PostgresLocationStore;
  incidents: PostgresIncidentStore;
  webhooks: PostgresWebhookLog;
}

/** The alerting stores over one PostgreSQL database (mirrors sqliteBroadcastStores). */
export function postgresBroadcastStores(db: PostgresDatabase): PostgresBroadcastStores {
  return {
    broadcasts: new PostgresBroadcastStore(db),
    templates: new PostgresTemplateStore(db),
    rules: new PostgresRuleStore(db),
    locations: new PostgresLocationStore(db),
    incidents: new PostgresIncidentStore(db),
    webhooks: new PostgresWebhookLog(db),
  };
}
