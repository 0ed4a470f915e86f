import type { Device, Group } from '../../core/devices.js';
import type { HubEvent } from '../../core/events.js';
import type { Role } from '../../core/roles.js';
import type {
  ApiKeyRecord,
  ApiKeyStore,
  CoreStores,
  DeviceStore,
  EventDraft,
  EventListQuery,
  EventStore,
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
import { StoreConflictError } from '../errors.js';
import { SqliteAuditStore } from './audit.js';
import { type Db, migrationsApplied } from './database.js';

/** A primary key or unique constraint refused the row: the same typed error as every backend. */
export function sqliteConflict<T>(entity: string, id: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE')
      throw new StoreConflictError(entity, id, e);
    throw e;
  }
}

class SqliteEventStore implements EventStore {
  /** One hub owns the file (the data directory's lock): its bus numbers events. */
  readonly numbering = 'bus';
  private put;
  constructor(private readonly db: Db) {
    this.put = db.prepare('INSERT INTO events (seq, id, time, source, type, data) VALUES (?, ?, ?, ?, ?, ?)');
  }
  async append(events: HubEvent[]): Promise<void> {
    sqliteConflict('event', events.map((e) => e.seq).join(','), () =>
      this.db.transaction((evs: HubEvent[]) => {
        for (const e of evs) this.put.run(e.seq, e.id, e.time, e.source, e.type, JSON.stringify(e.data));
      })(events),
    );
  }
  /** The contract's numbering, in one transaction (SQLite serialises writers itself). */
  async insert(events: EventDraft[]): Promise<number[]> {
    const bySeq = this.db.prepare('SELECT seq FROM events WHERE id = ?');
    const top = this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM events');
    return sqliteConflict('event', events.map((e) => e.id).join(','), () =>
      this.db.transaction((evs: EventDraft[]) =>
        evs.map((e) => {
          const old = bySeq.get(e.id) as { seq: number } | undefined;
          if (old) return old.seq;
          const seq = (top.get() as { s: number }).s + 1;
          this.put.run(seq, e.id, e.time, e.source, e.type, JSON.stringify(e.data));
          return seq;
        }),
      )(events),
    );
  }
  async lastSeq(): Promise<number> {
    return (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM events').get() as { s: number }).s;
  }
  async prune(q: { before: string; keep: number }): Promise<number> {
    const last = await this.lastSeq();
    // seq grows with time, so "all but the newest keep" is a seq bound; the time bound uses the column.
    return this.db.prepare('DELETE FROM events WHERE seq <= ? OR time < ?').run(last - q.keep, q.before)
      .changes;
  }
  async list(q: EventListQuery): Promise<HubEvent[]> {
    const { args, p } = binder('sqlite');
    const sql = eventListSql(q, p, 'LIKE');
    return (this.db.prepare(sql).all(...args) as Row[]).map(rowToEvent);
  }
}

class SqliteDeviceStore implements DeviceStore {
  constructor(private readonly db: Db) {}
  async list(q: { kind?: string; group?: string; label?: string; site?: string } = {}): Promise<Device[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.kind) {
      where.push('kind = ?');
      args.push(q.kind);
    }
    if (q.group) {
      where.push('EXISTS (SELECT 1 FROM json_each(groups_json) WHERE value = ?)');
      args.push(q.group);
    }
    if (q.label) {
      where.push('EXISTS (SELECT 1 FROM json_each(labels) WHERE value = ?)');
      args.push(q.label);
    }
    if (q.site) {
      where.push("json_extract(location, '$.site') = ?");
      args.push(q.site);
    }
    const sql = `SELECT * FROM devices${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    return (this.db.prepare(sql).all(...args) as Row[]).map(rowToDevice);
  }
  private getStmt: ReturnType<Db['prepare']> | undefined;
  async get(id: string): Promise<Device | undefined> {
    // Prepared once: the action runner reads the device on every action (broadcasts run thousands).
    this.getStmt ??= this.db.prepare('SELECT * FROM devices WHERE id = ?');
    const r = this.getStmt.get(id) as Row | undefined;
    return r ? rowToDevice(r) : undefined;
  }
  async insert(d: Device): Promise<void> {
    sqliteConflict('device', d.id, () =>
      this.db
        .prepare(
          `INSERT INTO devices (${DEVICE_COLUMNS.join(', ')}) VALUES (${DEVICE_COLUMNS.map(() => '?')})`,
        )
        .run(...deviceParams(d)),
    );
  }
  async update(d: Device): Promise<void> {
    const set = DEVICE_COLUMNS.slice(0, -1).map((c) => `${c}=?`);
    this.db.prepare(`UPDATE devices SET ${set.join(', ')} WHERE id=?`).run(...deviceParams(d));
  }
  async remove(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM devices WHERE id = ?').run(id).changes > 0;
  }
}

class SqliteGroupStore implements GroupStore {
  constructor(private readonly db: Db) {}
  async list(): Promise<Group[]> {
    return (this.db.prepare('SELECT * FROM groups ORDER BY id').all() as Row[]).map(rowToGroup);
  }
  async get(id: string): Promise<Group | undefined> {
    const r = this.db.prepare('SELECT * FROM groups WHERE id = ?').get(id) as Row | undefined;
    return r ? rowToGroup(r) : undefined;
  }
  async upsert(g: Group): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO groups (id, name, description) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, description = excluded.description',
      )
      .run(g.id, g.name, g.description ?? null);
  }
  async remove(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM groups WHERE id = ?').run(id).changes > 0;
  }
}

class SqliteApiKeyStore implements ApiKeyStore {
  constructor(private readonly db: Db) {}
  async list(): Promise<ApiKeyRecord[]> {
    return (this.db.prepare('SELECT * FROM api_keys ORDER BY created_at, id').all() as Row[]).map(rowToKey);
  }
  async get(id: string): Promise<ApiKeyRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as Row | undefined;
    return r ? rowToKey(r) : undefined;
  }
  async insert(k: ApiKeyRecord): Promise<void> {
    const params = keyParams(k);
    sqliteConflict('api key', k.id, () =>
      this.db
        .prepare(`INSERT INTO api_keys (${KEY_COLUMNS}) VALUES (${params.map(() => '?')})`)
        .run(...params),
    );
  }
  async revoke(id: string, at: string, reason = 'revoked'): Promise<boolean> {
    return (
      this.db
        .prepare('UPDATE api_keys SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL')
        .run(at, reason, id).changes > 0
    );
  }
  async extend(id: string, expiresAt: string, at: string): Promise<void> {
    this.db
      .prepare('UPDATE api_keys SET expires_at = ?, last_used_at = ? WHERE id = ? AND revoked_at IS NULL')
      .run(expiresAt, at, id);
  }
  async touch(id: string, at: string): Promise<void> {
    this.db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(at, id);
  }
  async revokeCreatedBy(user: string, at: string, reason = 'revoked'): Promise<number> {
    return this.db
      .prepare(
        'UPDATE api_keys SET revoked_at = ?, revoked_reason = ? WHERE revoked_at IS NULL AND (created_by = ? OR name = ?)',
      )
      .run(at, reason, user, `session:${user}`).changes;
  }
}

class SqliteUserStore implements UserStore {
  constructor(private readonly db: Db) {}
  async list(): Promise<UserRecord[]> {
    return (this.db.prepare('SELECT * FROM users ORDER BY name').all() as Row[]).map(rowToUser);
  }
  async get(name: string): Promise<UserRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM users WHERE name = ?').get(name) as Row | undefined;
    return r ? rowToUser(r) : undefined;
  }
  async insert(u: UserRecord): Promise<void> {
    const params = userParams(u);
    sqliteConflict('user', u.name, () =>
      this.db.prepare(`INSERT INTO users (${USER_COLUMNS}) VALUES (${params.map(() => '?')})`).run(...params),
    );
  }
  async setRole(name: string, role: Role): Promise<boolean> {
    return this.db.prepare('UPDATE users SET role = ? WHERE name = ?').run(role, name).changes > 0;
  }
  async setPassword(name: string, passwordHash: string): Promise<boolean> {
    return (
      this.db.prepare('UPDATE users SET password_hash = ? WHERE name = ?').run(passwordHash, name).changes > 0
    );
  }
  async setDisabled(name: string, at: string | null): Promise<boolean> {
    return this.db.prepare('UPDATE users SET disabled_at = ? WHERE name = ?').run(at, name).changes > 0;
  }
  async touchLogin(name: string, at: string): Promise<void> {
    this.db.prepare('UPDATE users SET last_login_at = ? WHERE name = ?').run(at, name);
  }
}

class SqliteKvStore implements KvStore {
  constructor(private readonly db: Db) {}
  async get<T>(ns: string, key: string): Promise<T | undefined> {
    const r = this.db.prepare('SELECT value FROM kv WHERE ns = ? AND key = ?').get(ns, key) as
      | { value: string }
      | undefined;
    return r ? (JSON.parse(r.value) as T) : undefined;
  }
  async set(ns: string, key: string, value: unknown): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO kv (ns, key, value) VALUES (?, ?, ?) ON CONFLICT(ns, key) DO UPDATE SET value = excluded.value',
      )
      .run(ns, key, JSON.stringify(value));
  }
  async delete(ns: string, key: string): Promise<void> {
    this.db.prepare('DELETE FROM kv WHERE ns = ? AND key = ?').run(ns, key);
  }
  async list<T>(ns: string): Promise<Array<{ key: string; value: T }>> {
    return (
      this.db.prepare('SELECT key, value FROM kv WHERE ns = ? ORDER BY key').all(ns) as Array<{
        key: string;
        value: string;
      }>
    ).map((r) => ({
      key: r.key,
      value: JSON.parse(r.value) as T,
    }));
  }
}

/** The SQLite implementation of the core store interfaces over one open database. */
export function sqliteCoreStores(db: Db): CoreStores {
  let open = true;
  return {
    events: new SqliteEventStore(db),
    devices: new SqliteDeviceStore(db),
    groups: new SqliteGroupStore(db),
    apiKeys: new SqliteApiKeyStore(db),
    users: new SqliteUserStore(db),
    kv: new SqliteKvStore(db),
    audit: new SqliteAuditStore(db),
    ready: () => open && db.open && migrationsApplied(db),
    close: async () => {
      if (!open) return;
      open = false;
      if (db.open) db.close();
    },
  };
}
