import type { AuditEntry, AuditOutcome, AuditQuery } from '../core/audit.js';
import type { Device, Group } from '../core/devices.js';
import type { EventFilter, HubEvent } from '../core/events.js';
import { isPermission, isRole } from '../core/roles.js';
import { type ApiKeyRecord, EVENT_LIST_MAX, type EventListQuery, type UserRecord } from '../core/store.js';

/**
 * Rows of the core tables (events, devices, groups, api_keys, users, audit_log) and the filters on them,
 * written once for every SQL backend: the SQLite and PostgreSQL stores share the table and column names,
 * so they share the mapping and the WHERE clauses, and a filter cannot mean one thing on one backend and
 * another on the other. A backend gives its placeholder style through `Bind`.
 */
export type Row = Record<string, unknown>;

/** Adds a parameter and answers its placeholder (`?` for SQLite, `$n` for PostgreSQL). */
export type Bind = (value: unknown) => string;

/** A `Bind` with its argument list: `?` placeholders, or numbered `$n` ones. */
export function binder(style: 'sqlite' | 'postgres'): { args: unknown[]; p: Bind } {
  const args: unknown[] = [];
  return {
    args,
    p: (v) => {
      args.push(v);
      return style === 'sqlite' ? '?' : `$${args.length}`;
    },
  };
}

/** A LIKE pattern for "starts with" (`%`, `_` and `\` in the prefix are literal; ESCAPE '\'). */
export function likePrefix(prefix: string): string {
  return `${likeEscape(prefix)}%`;
}
export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The event filter (types: exact or `prefix.*`, `*` = all; source) as ` AND …` or ''. */
export function eventFilterSql(filter: EventFilter | undefined, p: Bind): string {
  const parts: string[] = [];
  if (filter?.types && filter.types.length > 0 && !filter.types.includes('*')) {
    const ors = filter.types.map((t) =>
      t.endsWith('.*') ? `type LIKE ${p(likePrefix(t.slice(0, -1)))} ESCAPE '\\'` : `type = ${p(t)}`,
    );
    parts.push(`(${ors.join(' OR ')})`);
  }
  if (filter?.source) parts.push(`source = ${p(filter.source)}`);
  return parts.length ? ` AND ${parts.join(' AND ')}` : '';
}

/** `EventStore.list`'s page size: 100 by default, between 1 and EVENT_LIST_MAX. */
export function eventListLimit(limit: number | undefined): number {
  return Math.max(1, Math.min(limit ?? 100, EVENT_LIST_MAX));
}

export function rowToEvent(r: Row): HubEvent {
  return {
    seq: Number(r.seq),
    id: r.id as string,
    time: r.time as string,
    source: r.source as string,
    type: r.type as string,
    data: JSON.parse(r.data as string) as Record<string, unknown>,
  };
}

export function rowToDevice(r: Row): Device {
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

/** The device columns after `id`, in the order of DEVICE_COLUMNS, then the id. */
export const DEVICE_COLUMNS = [
  'kind',
  'name',
  'address',
  'labels',
  'groups_json',
  'location',
  'settings',
  'created_at',
  'updated_at',
  'id',
] as const;
export function deviceParams(d: Device): unknown[] {
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

export function rowToGroup(r: Row): Group {
  return {
    id: r.id as string,
    name: r.name as string,
    ...(r.description ? { description: r.description as string } : {}),
  };
}

export function rowToKey(r: Row): ApiKeyRecord {
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
    idleSeconds: r.idle_seconds === null || r.idle_seconds === undefined ? null : Number(r.idle_seconds),
    absoluteExpiresAt: (r.absolute_expires_at as string | null) ?? null,
    revokedReason: (r.revoked_reason as string | null) ?? null,
  };
}

export const KEY_COLUMNS =
  'id, name, prefix, hash, salt, created_at, last_used_at, revoked_at, expires_at, created_by, role, scopes, idle_seconds, absolute_expires_at';
export function keyParams(k: ApiKeyRecord): unknown[] {
  return [
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
  ];
}

export function rowToUser(r: Row): UserRecord {
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

export const USER_COLUMNS = 'name, password_hash, created_at, last_login_at, disabled_at, role, source';
export function userParams(u: UserRecord): unknown[] {
  return [u.name, u.passwordHash, u.createdAt, u.lastLoginAt, u.disabledAt, u.role, u.source];
}

export function rowToAuditEntry(r: Row): AuditEntry {
  return {
    seq: Number(r.seq),
    time: r.time as string,
    actorKind: r.actor_kind as string,
    actorId: (r.actor_id as string | null) ?? null,
    actorName: (r.actor_name as string | null) ?? null,
    address: (r.address as string | null) ?? null,
    action: r.action as string,
    target: (r.target as string | null) ?? null,
    outcome: r.outcome as AuditOutcome,
    detail: JSON.parse(r.detail as string) as Record<string, unknown>,
  };
}

export const AUDIT_INSERT_COLUMNS =
  'time, actor_kind, actor_id, actor_name, address, action, target, outcome, detail';

/** The audit query's filters (before, actor, action or `prefix.*`, outcome, since, until) as ` WHERE …`. */
export function auditWhereSql(q: AuditQuery, p: Bind): string {
  const where: string[] = [];
  if (q.before !== undefined) where.push(`seq < ${p(q.before)}`);
  if (q.actor) where.push(`(actor_name = ${p(q.actor)} OR actor_id = ${p(q.actor)})`);
  if (q.action) {
    where.push(
      q.action.endsWith('.*')
        ? `action LIKE ${p(likePrefix(q.action.slice(0, -1)))} ESCAPE '\\'`
        : `action = ${p(q.action)}`,
    );
  }
  if (q.address) where.push(`address = ${p(q.address)}`);
  if (q.outcome) where.push(`outcome = ${p(q.outcome)}`);
  if (q.since) where.push(`time >= ${p(q.since)}`);
  if (q.until) where.push(`time < ${p(q.until)}`);
  return where.length ? ` WHERE ${where.join(' AND ')}` : '';
}

const EVENT_SELECT = 'SELECT seq, id, time, source, type, data FROM events WHERE seq > ';

/**
 * `EventStore.list`: seq > after (and < before), the filter, a search over type, source and data (`like`:
 * the backend's ASCII case-insensitive LIKE: SQLite's LIKE, PostgreSQL's ILIKE), oldest first unless
 * `order: 'desc'`, at most `eventListLimit`.
 */
export function eventListSql(o: EventListQuery, p: Bind, like: 'LIKE' | 'ILIKE'): string {
  let sql = EVENT_SELECT + p(o.after ?? 0);
  if (o.before !== undefined) sql += ` AND seq < ${p(o.before)}`;
  sql += eventFilterSql(o.filter, p);
  const q = o.q?.trim();
  if (q) sql += ` AND (type || ' ' || source || ' ' || data) ${like} ${p(`%${likeEscape(q)}%`)} ESCAPE '\\'`;
  return `${sql} ORDER BY seq ${o.order === 'desc' ? 'DESC' : 'ASC'} LIMIT ${p(eventListLimit(o.limit))}`;
}
