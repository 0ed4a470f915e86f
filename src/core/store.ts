import type { AuditStore } from './audit.js';
import type { Device, DeviceInput, Group } from './devices.js';
import type { EventFilter, HubEvent } from './events.js';
import type { Permission, Role } from './roles.js';

/**
 * Store interfaces. `core` depends only on these; `store/sqlite` (embedded default) implements them and a
 * Redis implementation will satisfy the same contracts later.
 */
/** The most events one `EventStore.list` answers. */
export const EVENT_LIST_MAX = 10_000;

export interface EventListQuery {
  after?: number;
  before?: number;
  limit?: number;
  order?: 'asc' | 'desc';
  filter?: EventFilter;
  q?: string | undefined;
}

/** An event before the store numbers it. */
export type EventDraft = Omit<HubEvent, 'seq'>;

/** Wake-ups from a store several hubs share (`EventStore.watch`). */
export interface EventWatcher {
  /** Another hub stored events, the highest with this seq (a hint: read the table). */
  stored(seq: number): void;
  /** The wake-up channel was away and is back: wake-ups may have been missed. */
  reconnected(): void;
}

export interface EventStore {
  /**
   * Who numbers events. `bus`: one hub owns the store (SQLite), its bus numbers events and `append`s them.
   * `store`: several hubs share it (PostgreSQL); `insert` numbers them, one global sequence in commit order.
   */
  readonly numbering: 'bus' | 'store';
  /** Appends events that already carry their `seq`, atomically. */
  append(events: HubEvent[]): Promise<void>;
  /**
   * Stores events and numbers them, atomically: the next seqs in the given order, answered in that order.
   * Commit order is seq order, so a reader that has seen seq N never later finds a committed event below N.
   * Idempotent by `id`: an event stored already (a retry after an answer that was lost) answers its seq.
   */
  insert(events: EventDraft[]): Promise<number[]>;
  /**
   * Wake-ups when another hub stored events (stores several hubs share; absent otherwise). Returns the
   * function that stops them.
   */
  watch?(w: EventWatcher): () => void;
  /** Highest seq stored or handed out (0 when empty). */
  lastSeq(): Promise<number>;
  /**
   * Events with `after` < seq < `before`, oldest first (`order: 'desc'`: newest first), with the type/source
   * filter and a case-insensitive search over type, source and data; at most `limit` (1 … EVENT_LIST_MAX).
   */
  list(q: EventListQuery): Promise<HubEvent[]>;
  /** Deletes events older than `before` (ISO time) and all but the newest `keep`; answers how many. */
  prune(q: { before: string; keep: number }): Promise<number>;
}

export interface DeviceStore {
  list(q?: { kind?: string; group?: string; label?: string; site?: string }): Promise<Device[]>;
  get(id: string): Promise<Device | undefined>;
  insert(d: Device): Promise<void>;
  update(d: Device): Promise<void>;
  remove(id: string): Promise<boolean>;
}

export interface GroupStore {
  list(): Promise<Group[]>;
  get(id: string): Promise<Group | undefined>;
  upsert(g: Group): Promise<void>;
  remove(id: string): Promise<boolean>;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  /** Short non-secret prefix shown in listings (`sbk_ab12…`). */
  prefix: string;
  /** scrypt hash of the secret part, hex. */
  hash: string;
  salt: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** Session tokens (sign-in with a local user) expire; plain API keys do not (null/absent). */
  expiresAt?: string | null;
  /** The local user this key acts for: the signed-in user of a session, or of the session that created the key. */
  createdBy?: string | null;
  /** Role of a role key (`admin` for keys made before roles existed); null for scoped keys and sessions. */
  role?: Role | null;
  /** Permissions of a scoped key; null otherwise. */
  scopes?: Permission[] | null;
  /** Sessions: sliding expiry. Each use moves `expiresAt` to now + this, never past `absoluteExpiresAt`. */
  idleSeconds?: number | null;
  /** Sessions: the absolute cap of the sliding expiry. */
  absoluteExpiresAt?: string | null;
  /** Why it was revoked (`signed-out`, `revoked`, `user-disabled`, `password-changed`), shown to the console. */
  revokedReason?: string | null;
}

export interface ApiKeyStore {
  list(): Promise<ApiKeyRecord[]>;
  get(id: string): Promise<ApiKeyRecord | undefined>;
  insert(k: ApiKeyRecord): Promise<void>;
  revoke(id: string, at: string, reason?: string): Promise<boolean>;
  touch(id: string, at: string): Promise<void>;
  /** Moves a session's sliding expiry (and records the use). */
  extend(id: string, expiresAt: string, at: string): Promise<void>;
  /** Revokes every live key acting for `user` (its sessions and the keys they created); answers how many. */
  revokeCreatedBy(user: string, at: string, reason?: string): Promise<number>;
}

/** A local console/API user (sign-in with username and password). */
export interface UserRecord {
  name: string;
  /** `scrypt$N$r$p$<salt hex>$<hash hex>`: explicit parameters and a per-user salt. */
  passwordHash: string;
  createdAt: string;
  lastLoginAt: string | null;
  disabledAt: string | null;
  /** `admin` for users made before roles existed. */
  role: Role;
  /** `local` (password) or `oidc` (signs in with the directory; no password; role from its groups). */
  source: 'local' | 'oidc';
}

export interface UserStore {
  list(): Promise<UserRecord[]>;
  get(name: string): Promise<UserRecord | undefined>;
  insert(u: UserRecord): Promise<void>;
  setPassword(name: string, passwordHash: string): Promise<boolean>;
  setDisabled(name: string, at: string | null): Promise<boolean>;
  touchLogin(name: string, at: string): Promise<void>;
  setRole(name: string, role: Role): Promise<boolean>;
}

/** Small persistent key/value space for modules that need a few settings (per namespace). */
export interface KvStore {
  get<T>(ns: string, key: string): Promise<T | undefined>;
  set(ns: string, key: string, value: unknown): Promise<void>;
  delete(ns: string, key: string): Promise<void>;
  list<T>(ns: string): Promise<Array<{ key: string; value: T }>>;
}

export interface CoreStores {
  events: EventStore;
  devices: DeviceStore;
  groups: GroupStore;
  apiKeys: ApiKeyStore;
  users: UserStore;
  kv: KvStore;
  /** The audit trail (append-only). */
  audit: AuditStore;
  /** True once the store is open and migrations are applied. */
  ready(): boolean;
  close(): Promise<void>;
}

export type { Device, DeviceInput, Group };
