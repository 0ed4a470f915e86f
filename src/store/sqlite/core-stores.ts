import type { Device, Group } from '../../core/devices.js';
import type { EventFilter, HubEvent } from '../../core/events.js';
import { isPermission, isRole, type Role } from '../../core/roles.js';
import type {
  ApiKeyRecord,
  ApiKeyStore,
  CoreStores,
  DeviceStore,
  EventListQuery,
  EventStore,
  GroupStore,
  KvStore,
  UserRecord,
  UserStore,
} from '../../core/store.js';
import { EVENT_LIST_MAX } from '../../core/store.js';
import { SqliteAuditStore } from './audit.js';
import { type Db, migrationsApplied } from './database.js';

type Row = Record<string, unknown>;

export function typeClause(filter: EventFilter | undefined, args: unknown[]): string {
  const parts: string[] = [];
  if (filter?.types && filter.types.length > 0 && !filter.types.includes('*')) {
    const ors: string[] = [];
    for (const t of filter.types) {
      if (t.endsWith('.*')) {
        ors.push("type LIKE ? ESCAPE '\\'");
        args.push(`${t.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      } else {
        ors.push('type = ?');
        args.push(t);
      }
    }
    parts.push(`(${ors.join(' OR ')})`);
  }
  if (filter?.source) {
    parts.push('source = ?');
    args.push(filter.source);
  }
  return parts.length ? ` AND ${parts.join(' AND ')}` : '';
}

class SqliteEventStore implements EventStore {
  private insert;
  constructor(private readonly db: Db) {
    this.insert = db.prepare(
      'INSERT INTO events (seq, id, time, source, type, data) VALUES (?, ?, ?, ?, ?, ?)',
    );
  }
  async append(events: HubEvent[]): Promise<void> {
    this.db.transaction((evs: HubEvent[]) => {
      for (const e of evs) this.insert.run(e.seq, e.id, e.time, e.source, e.type, JSON.stringify(e.data));
    })(events);
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
    const args: unknown[] = [q.after ?? 0];
    let sql = 'SELECT seq, id, time, source, type, data FROM events WHERE seq > ?';
    if (q.before !== undefined) {
      sql += ' AND seq < ?';
      args.push(q.before);
    }
    sql += typeClause(q.filter, args);
    const text = q.q?.trim();
    if (text) {
      sql += " AND (type || ' ' || source || ' ' || data) LIKE ? ESCAPE '\\'";
      args.push(`%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    sql += ` ORDER BY seq ${q.order === 'desc' ? 'DESC' : 'ASC'} LIMIT ?`;
    args.push(Math.max(1, Math.min(q.limit ?? 100, EVENT_LIST_MAX)));
    return (this.db.prepare(sql).all(...args) as Row[]).map((r) => ({
      seq: r.seq as number,
      id: r.id as string,
      time: r.time as string,
      source: r.source as string,
      type: r.type as string,
      data: JSON.parse(r.data as string) as Record<string, unknown>,
    }));
  }
}

function rowToDevice(r: Row): Device {
  return {
    id: r.id as string,
    kind: r.kind as string,
    name: r.name as string,
    address: r.address as string,
    labels: JSON.parse(r.labels as string) as string[],
    groups: JSON.parse(r.groups_json as string) as string[],
    location: JSON.parse(r.location as string) as Device['location'],
    settings: JSON.parse(r.settings as string) as Record<string, unknown>,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
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
  private params(d: Device): unknown[] {
    return [
      d.kind,
      d.name,
      d.address,
      JSON.stringify(d.labels),
      JSON.stringify(d.groups),
      JSON.stringify(d.location),
      JSON.stringify(d.settings),
      d.createdAt,
      d.updatedAt,
      d.id,
    ];
  }
  async insert(d: Device): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO devices (kind, name, address, labels, groups_json, location, settings, created_at, updated_at, id) VALUES (?,?,?,?,?,?,?,?,?,?)',
      )
      .run(...this.params(d));
  }
  async update(d: Device): Promise<void> {
    this.db
      .prepare(
        'UPDATE devices SET kind=?, name=?, address=?, labels=?, groups_json=?, location=?, settings=?, created_at=?, updated_at=? WHERE id=?',
      )
      .run(...this.params(d));
  }
  async remove(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM devices WHERE id = ?').run(id).changes > 0;
  }
}

class SqliteGroupStore implements GroupStore {
  constructor(private readonly db: Db) {}
  async list(): Promise<Group[]> {
    return (this.db.prepare('SELECT * FROM groups ORDER BY id').all() as Row[]).map((r) => ({
      id: r.id as string,
      name: r.name as string,
      ...(r.description ? { description: r.description as string } : {}),
    }));
  }
  async get(id: string): Promise<Group | undefined> {
    const r = this.db.prepare('SELECT * FROM groups WHERE id = ?').get(id) as Row | undefined;
    return r
      ? {
          id: r.id as string,
          name: r.name as string,
          ...(r.description ? { description: r.description as string } : {}),
        }
      : undefined;
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

function rowToKey(r: Row): ApiKeyRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    prefix: r.prefix as string,
    hash: r.hash as string,
    salt: r.salt as string,
    createdAt: r.created_at as string,
    lastUsedAt: (r.last_used_at as string | null) ?? null,
    revokedAt: (r.revoked_at as string | null) ?? null,
    expiresAt: (r.expires_at as string | null) ?? null,
    createdBy: (r.created_by as string | null) ?? null,
    role: isRole(r.role) ? r.role : null,
    scopes: typeof r.scopes === 'string' ? (JSON.parse(r.scopes) as string[]).filter(isPermission) : null,
    idleSeconds: (r.idle_seconds as number | null) ?? null,
    absoluteExpiresAt: (r.absolute_expires_at as string | null) ?? null,
    revokedReason: (r.revoked_reason as string | null) ?? null,
  };
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
    this.db
      .prepare(
        'INSERT INTO api_keys (id, name, prefix, hash, salt, created_at, last_used_at, revoked_at, expires_at, created_by, role, scopes, idle_seconds, absolute_expires_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)',
      )
      .run(
        k.id,
        k.name,
        k.prefix,
        k.hash,
        k.salt,
        k.createdAt,
        k.lastUsedAt,
        k.revokedAt,
        k.expiresAt ?? null,
        k.createdBy ?? null,
        k.role ?? null,
        k.scopes ? JSON.stringify(k.scopes) : null,
        k.idleSeconds ?? null,
        k.absoluteExpiresAt ?? null,
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

function rowToUser(r: Row): UserRecord {
  return {
    name: r.name as string,
    passwordHash: r.password_hash as string,
    createdAt: r.created_at as string,
    lastLoginAt: (r.last_login_at as string | null) ?? null,
    disabledAt: (r.disabled_at as string | null) ?? null,
    // A row with an unknown role (written by a newer version) grants nothing more than a viewer.
    role: isRole(r.role) ? r.role : 'viewer',
    source: r.source === 'oidc' ? 'oidc' : 'local',
  };
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
    this.db
      .prepare(
        'INSERT INTO users (name, password_hash, created_at, last_login_at, disabled_at, role, source) VALUES (?,?,?,?,?,?,?)',
      )
      .run(u.name, u.passwordHash, u.createdAt, u.lastLoginAt, u.disabledAt, u.role, u.source);
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
