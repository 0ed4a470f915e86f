import { randomUUID } from 'node:crypto';
import type { AuditStore } from '../../core/audit.js';
import type { Device, Group } from '../../core/devices.js';
import type { HubEvent } from '../../core/events.js';
import type { Role } from '../../core/roles.js';
import type {
  ApiKeyRecord,
  ApiKeyStore,
  DeviceStore,
  EventDraft,
  EventListQuery,
  EventStore,
  EventWatcher,
  GroupStore,
  KvStore,
  UserRecord,
  UserStore,
} from '../../core/store.js';
import {
  binder,
  DEVICE_COLUMNS,
  deviceParams,
  eventListSql,
  KEY_COLUMNS,
  keyParams,
  type Row,
  rowToDevice,
  rowToEvent,
  rowToGroup,
  rowToKey,
  rowToUser,
  USER_COLUMNS,
  userParams,
} from '../core-rows.js';
import { PostgresAuditStore } from './audit.js';
import type { PostgresDatabase } from './database.js';
import { EVENTS_CHANNEL } from './migrations/events.js';
import { deleted, pgConflict, placeholders } from './sql.js';

/**
 * PostgreSQL implementations of the core store ports (src/core/store.ts), in their asynchronous form
 * (`AsyncPort<…>`), over the tables of the `core` and `security` migrations: the SQLite tables and
 * columns, so both backends share their row mapping and filters (store/core-rows.ts). The contract suite
 * test/store/core-contract.ts runs against both. Connection failures reject with STORE_UNAVAILABLE (the
 * database layer); a duplicate key with STORE_CONFLICT, as on SQLite.
 */

export class PostgresEventStore implements EventStore {
  /** Several hubs share the database: it numbers events (`events_insert`, migrations/events.ts). */
  readonly numbering = 'store';
  /** This store's id in NOTIFY payloads: its own wake-ups are ignored. */
  readonly origin = randomUUID();
  constructor(private readonly db: PostgresDatabase) {}
  /** One statement: numbered under the sequence lock, committed, NOTIFYed (see migrations/events.ts). */
  async insert(events: EventDraft[]): Promise<number[]> {
    if (events.length === 0) return [];
    const rows = await this.db.query<{ event_id: string; event_seq: number }>(
      'SELECT event_id, event_seq FROM events_insert($1, $2, $3, $4, $5, $6)',
      [
        events.map((e) => e.id),
        events.map((e) => e.time),
        events.map((e) => e.source),
        events.map((e) => e.type),
        events.map((e) => JSON.stringify(e.data)),
        this.origin,
      ],
    );
    const seqs = new Map(rows.map((r) => [r.event_id, r.event_seq]));
    return events.map((e) => {
      const seq = seqs.get(e.id);
      if (seq === undefined) throw new Error(`events_insert answered no seq for ${e.id}`);
      return seq;
    });
  }
  watch(w: EventWatcher): () => void {
    return this.db.listen(EVENTS_CHANNEL, {
      notify: (payload) => {
        let v: unknown;
        try {
          v = JSON.parse(payload);
        } catch {
          return w.reconnected();
        }
        if (!Array.isArray(v) || v[0] === this.origin) return;
        if (typeof v[1] === 'number' && Number.isSafeInteger(v[1])) w.stored(v[1]);
        else w.reconnected();
      },
      reconnected: () => w.reconnected(),
    });
  }
  /** One statement: every event or none; a seq or id stored already rejects the batch with STORE_CONFLICT. */
  async append(events: HubEvent[]): Promise<void> {
    if (events.length === 0) return;
    await pgConflict('event', events.map((e) => e.seq).join(','), () =>
      this.db.query(
        `INSERT INTO events (seq, id, time, source, type, data)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])`,
        [
          events.map((e) => e.seq),
          events.map((e) => e.id),
          events.map((e) => e.time),
          events.map((e) => e.source),
          events.map((e) => e.type),
          events.map((e) => JSON.stringify(e.data)),
        ],
      ),
    );
  }
  async lastSeq(): Promise<number> {
    const [r] = await this.db.query<{ s: number }>(
      `SELECT GREATEST(COALESCE((SELECT MAX(seq) FROM events), 0),
                       COALESCE((SELECT last FROM event_sequence WHERE id = 1), 0)) AS s`,
    );
    return r?.s ?? 0;
  }
  async list(q: EventListQuery): Promise<HubEvent[]> {
    const { args, p } = binder('postgres');
    return (await this.db.query<Row>(eventListSql(q, p, 'ILIKE'), args)).map(rowToEvent);
  }
  prune(q: { before: string; keep: number }): Promise<number> {
    // As SQLite: all but the newest `keep` by seq, and everything older than `before`.
    return deleted(this.db, 'seq <= (SELECT COALESCE(MAX(seq), 0) FROM events) - $1 OR time < $2', 'events', [
      q.keep,
      q.before,
    ]);
  }
}

export class PostgresDeviceStore implements DeviceStore {
  constructor(private readonly db: PostgresDatabase) {}
  async list(q: { kind?: string; group?: string; label?: string; site?: string } = {}): Promise<Device[]> {
    const { args, p } = binder('postgres');
    const where: string[] = [];
    if (q.kind) where.push(`kind = ${p(q.kind)}`);
    // The JSON arrays' string elements, as SQLite's json_each(…) value = ?.
    if (q.group) where.push(`groups_json::jsonb ? ${p(q.group)}`);
    if (q.label) where.push(`labels::jsonb ? ${p(q.label)}`);
    if (q.site) where.push(`(location::jsonb ->> 'site') = ${p(q.site)}`);
    const sql = `SELECT * FROM devices${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    return (await this.db.query<Row>(sql, args)).map(rowToDevice);
  }
  async get(id: string): Promise<Device | undefined> {
    const [r] = await this.db.query<Row>('SELECT * FROM devices WHERE id = $1', [id]);
    return r ? rowToDevice(r) : undefined;
  }
  async insert(d: Device): Promise<void> {
    await pgConflict('device', d.id, () =>
      this.db.query(
        `INSERT INTO devices (${DEVICE_COLUMNS.join(', ')}) VALUES (${placeholders(DEVICE_COLUMNS.length)})`,
        deviceParams(d),
      ),
    );
  }
  async update(d: Device): Promise<void> {
    const set = DEVICE_COLUMNS.slice(0, -1).map((c, i) => `${c} = $${i + 1}`);
    await this.db.query(
      `UPDATE devices SET ${set.join(', ')} WHERE id = $${DEVICE_COLUMNS.length}`,
      deviceParams(d),
    );
  }
  async remove(id: string): Promise<boolean> {
    return (await deleted(this.db, 'id = $1', 'devices', [id])) > 0;
  }
}

export class PostgresGroupStore implements GroupStore {
  constructor(private readonly db: PostgresDatabase) {}
  async list(): Promise<Group[]> {
    return (await this.db.query<Row>('SELECT * FROM groups ORDER BY id')).map(rowToGroup);
  }
  async get(id: string): Promise<Group | undefined> {
    const [r] = await this.db.query<Row>('SELECT * FROM groups WHERE id = $1', [id]);
    return r ? rowToGroup(r) : undefined;
  }
  async upsert(g: Group): Promise<void> {
    await this.db.query(
      'INSERT INTO groups (id, name, description) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description',
      [g.id, g.name, g.description ?? null],
    );
  }
  async remove(id: string): Promise<boolean> {
    return (await deleted(this.db, 'id = $1', 'groups', [id])) > 0;
  }
}

export class PostgresApiKeyStore implements ApiKeyStore {
  constructor(private readonly db: PostgresDatabase) {}
  async list(): Promise<ApiKeyRecord[]> {
    return (await this.db.query<Row>('SELECT * FROM api_keys ORDER BY created_at, id')).map(rowToKey);
  }
  async get(id: string): Promise<ApiKeyRecord | undefined> {
    const [r] = await this.db.query<Row>('SELECT * FROM api_keys WHERE id = $1', [id]);
    return r ? rowToKey(r) : undefined;
  }
  async insert(k: ApiKeyRecord): Promise<void> {
    const params = keyParams(k);
    await pgConflict('api key', k.id, () =>
      this.db.query(`INSERT INTO api_keys (${KEY_COLUMNS}) VALUES (${placeholders(params.length)})`, params),
    );
  }
  async revoke(id: string, at: string, reason = 'revoked'): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE api_keys SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL RETURNING 1',
      [at, reason, id],
    );
    return rows.length > 0;
  }
  async extend(id: string, expiresAt: string, at: string): Promise<void> {
    await this.db.query(
      'UPDATE api_keys SET expires_at = $1, last_used_at = $2 WHERE id = $3 AND revoked_at IS NULL',
      [expiresAt, at, id],
    );
  }
  async touch(id: string, at: string): Promise<void> {
    await this.db.query('UPDATE api_keys SET last_used_at = $1 WHERE id = $2', [at, id]);
  }
  async revokeCreatedBy(user: string, at: string, reason = 'revoked'): Promise<number> {
    const rows = await this.db.query(
      'UPDATE api_keys SET revoked_at = $1, revoked_reason = $2 WHERE revoked_at IS NULL AND (created_by = $3 OR name = $4) RETURNING 1',
      [at, reason, user, `session:${user}`],
    );
    return rows.length;
  }
}

export class PostgresUserStore implements UserStore {
  constructor(private readonly db: PostgresDatabase) {}
  async list(): Promise<UserRecord[]> {
    return (await this.db.query<Row>('SELECT * FROM users ORDER BY name')).map(rowToUser);
  }
  async get(name: string): Promise<UserRecord | undefined> {
    const [r] = await this.db.query<Row>('SELECT * FROM users WHERE name = $1', [name]);
    return r ? rowToUser(r) : undefined;
  }
  async insert(u: UserRecord): Promise<void> {
    const params = userParams(u);
    await pgConflict('user', u.name, () =>
      this.db.query(`INSERT INTO users (${USER_COLUMNS}) VALUES (${placeholders(params.length)})`, params),
    );
  }
  private async set(column: string, name: string, value: unknown): Promise<boolean> {
    const rows = await this.db.query(`UPDATE users SET ${column} = $1 WHERE name = $2 RETURNING 1`, [
      value,
      name,
    ]);
    return rows.length > 0;
  }
  setRole(name: string, role: Role): Promise<boolean> {
    return this.set('role', name, role);
  }
  setPassword(name: string, passwordHash: string): Promise<boolean> {
    return this.set('password_hash', name, passwordHash);
  }
  setDisabled(name: string, at: string | null): Promise<boolean> {
    return this.set('disabled_at', name, at);
  }
  async touchLogin(name: string, at: string): Promise<void> {
    await this.set('last_login_at', name, at);
  }
}

export class PostgresKvStore implements KvStore {
  constructor(private readonly db: PostgresDatabase) {}
  async get<T>(ns: string, key: string): Promise<T | undefined> {
    const [r] = await this.db.query<{ value: string }>('SELECT value FROM kv WHERE ns = $1 AND key = $2', [
      ns,
      key,
    ]);
    return r ? (JSON.parse(r.value) as T) : undefined;
  }
  async set(ns: string, key: string, value: unknown): Promise<void> {
    await this.db.query(
      'INSERT INTO kv (ns, key, value) VALUES ($1, $2, $3) ON CONFLICT (ns, key) DO UPDATE SET value = EXCLUDED.value',
      [ns, key, JSON.stringify(value)],
    );
  }
  async delete(ns: string, key: string): Promise<void> {
    await this.db.query('DELETE FROM kv WHERE ns = $1 AND key = $2', [ns, key]);
  }
  async list<T>(ns: string): Promise<Array<{ key: string; value: T }>> {
    const rows = await this.db.query<{ key: string; value: string }>(
      'SELECT key, value FROM kv WHERE ns = $1 ORDER BY key',
      [ns],
    );
    return rows.map((r) => ({ key: r.key, value: JSON.parse(r.value) as T }));
  }
}

/** The core stores on PostgreSQL: the asynchronous form of `CoreStores`, with event pages. */
export interface PostgresCoreStores {
  events: PostgresEventStore;
  devices: PostgresDeviceStore;
  groups: PostgresGroupStore;
  apiKeys: PostgresApiKeyStore;
  users: PostgresUserStore;
  kv: PostgresKvStore;
  audit: AuditStore;
  /** True once the database answers with every migration applied. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

/** The PostgreSQL implementation of the core store interfaces over one database (mirrors sqliteCoreStores). */
export function postgresCoreStores(db: PostgresDatabase): PostgresCoreStores {
  return {
    events: new PostgresEventStore(db),
    devices: new PostgresDeviceStore(db),
    groups: new PostgresGroupStore(db),
    apiKeys: new PostgresApiKeyStore(db),
    users: new PostgresUserStore(db),
    kv: new PostgresKvStore(db),
    audit: new PostgresAuditStore(db),
    ready: async () => {
      try {
        await db.open();
        await db.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close: () => db.close(),
  };
}
