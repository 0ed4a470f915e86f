import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import type { EventEmitter } from './events.js';
import { jsonEqual } from './json.js';
import { formatProblems, schemaProblems } from './schema-errors.js';
import type { DeviceStore, GroupStore } from './store.js';

/** Where a device is: used in alerts (Kari's Law "dispatchable location") and for filtering. */
export interface Location {
  site?: string;
  building?: string;
  floor?: string;
  room?: string;
  description?: string;
}

export interface Device<S = Record<string, unknown>> {
  id: string;
  kind: string;
  name: string;
  /** Host or host:port (`10.0.0.5`, `127.0.0.1:18001`). */
  address: string;
  labels: string[];
  groups: string[];
  location: Location;
  /** Driver-specific settings, validated by the driver's `configSchema`. */
  settings: S;
  createdAt: string;
  updatedAt: string;
}

export interface Group {
  id: string;
  name: string;
  description?: string;
}

export const LocationSchema = Type.Object(
  {
    site: Type.Optional(Type.String({ maxLength: 200 })),
    building: Type.Optional(Type.String({ maxLength: 200 })),
    floor: Type.Optional(Type.String({ maxLength: 200 })),
    room: Type.Optional(Type.String({ maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

/** Reads of one reload before it gives up because local writes kept overlapping it. */
const LOAD_ATTEMPTS = 3;

export const DeviceInputSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: ID_PATTERN })),
    kind: Type.String({ minLength: 1, maxLength: 64 }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    address: Type.String({ minLength: 1, maxLength: 255 }),
    labels: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 64 })),
    groups: Type.Optional(Type.Array(Type.String({ pattern: ID_PATTERN }), { maxItems: 64 })),
    location: Type.Optional(LocationSchema),
    settings: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

export type DeviceInput = {
  id?: string;
  kind: string;
  name?: string;
  address: string;
  labels?: string[];
  groups?: string[];
  location?: Location;
  settings?: Record<string, unknown>;
};

export type DevicePatch = Partial<Omit<DeviceInput, 'id' | 'kind'>>;

function checkDeviceInput(input: unknown, partial: boolean): void {
  const schema = partial ? Type.Partial(DeviceInputSchema) : DeviceInputSchema;
  const problems = schemaProblems(schema, input);
  if (problems.length > 0) {
    const first = problems[0]!;
    throw new ValidationError('DEVICE_INVALID', formatProblems(problems).join('; '), { field: first.path });
  }
}

/**
 * Checks a device to add from outside (an API body) against DeviceInputSchema: DEVICE_INVALID naming the
 * first bad field. `DeviceService.add` checks again (callers in the code are typed, not trusted).
 */
export function assertDeviceInput(input: unknown): asserts input is DeviceInput {
  checkDeviceInput(input, false);
}

/** `assertDeviceInput` for a change (every field optional; `DeviceService.update` checks again). */
export function assertDevicePatch(input: unknown): asserts input is DevicePatch {
  checkDeviceInput(input, true);
}

export const GroupInputSchema = Type.Object(
  {
    id: Type.String({ pattern: ID_PATTERN }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

/** What the registry needs to know about drivers: settings schema and defaults per kind. */
export interface DeviceKindInfo {
  kind: string;
  /** JSON schema of `settings`. */
  configSchema: object;
  /** Keys of `settings` never shown back through the API (passwords). */
  secretKeys?: string[];
}

const SECRET_KEY = /(password|secret|token|passphrase|privatekey)$/i;

/** Whether a device setting is a secret: declared by its driver (`secretKeys`) or named like one. */
export function isSecretSetting(key: string, info?: DeviceKindInfo): boolean {
  return (info?.secretKeys ?? []).includes(key) || SECRET_KEY.test(key);
}

/** Copy of a device safe to show: secret settings replaced by `"********"`. */
export function redactDevice(d: Device, info?: DeviceKindInfo): Device {
  const settings: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d.settings ?? {})) {
    settings[k] = isSecretSetting(k, info) && v !== undefined && v !== '' ? '********' : v;
  }
  return { ...d, settings };
}

/**
 * The device registry: CRUD with validation (device fields, and settings through the driver's schema),
 * `device.added` / `device.updated` / `device.removed` events, and groups.
 */
export class DeviceRegistry {
  private listeners = new Set<(change: { type: 'added' | 'updated' | 'removed'; device: Device }) => void>();
  /**
   * Every device and group, read once from the store (`load`) and kept current by this registry's writes
   * (and by `load` again when another hub changed them): reads are synchronous and cost no query, which the
   * 911 path and every action depend on; writes go to the store first.
   */
  private byId = new Map<string, Device>();
  private groupsById = new Map<string, Group>();

  constructor(
    private readonly store: DeviceStore,
    private readonly groupStore: GroupStore,
    private readonly kinds: Map<string, DeviceKindInfo>,
    private readonly bus?: EventEmitter,
    private readonly clock: Clock = systemClock,
  ) {}

  kindInfo(kind: string): DeviceKindInfo | undefined {
    return this.kinds.get(kind);
  }

  knownKinds(): string[] {
    return [...this.kinds.keys()].sort();
  }

  private loaded = false;
  /** Local writes in flight, and started so far: a reload read while one ran may miss it (see `load`). */
  private writing = 0;
  private writesStarted = 0;

  /**
   * Reads every device and group from the store: at start, and again when another hub (or the CLI) changed
   * them (core/config-sync.ts). A reload swaps the maps whole, so a device in use is never missing for a
   * moment, and tells the `onChange` listeners what was added, changed or removed (modules open or close
   * sessions on it); it emits no bus event (the writing hub did). A read that overlapped a write of this
   * registry might not hold it, so it is read again; after `LOAD_ATTEMPTS` such reads it fails with
   * DEVICE_RELOAD_BUSY and the caller tries later.
   */
  async load(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const started = this.writesStarted;
      const [devices, groups] = await Promise.all([this.store.list(), this.groupStore.list()]);
      if (this.writing === 0 && this.writesStarted === started) {
        this.apply(devices, groups);
        return;
      }
      if (attempt >= LOAD_ATTEMPTS)
        throw new ConflictError('DEVICE_RELOAD_BUSY', 'devices are being written here: reload them later');
    }
  }

  private apply(devices: Device[], groups: Group[]): void {
    const prev = this.byId;
    this.byId = new Map(devices.map((d) => [d.id, d] as const));
    this.groupsById = new Map(groups.map((g) => [g.id, g] as const));
    if (!this.loaded) {
      this.loaded = true;
      return;
    }
    const changes: Array<{ type: 'added' | 'updated' | 'removed'; device: Device }> = [];
    for (const d of this.byId.values()) {
      const old = prev.get(d.id);
      if (!old) changes.push({ type: 'added', device: d });
      else if (!jsonEqual(old, d)) changes.push({ type: 'updated', device: d });
    }
    for (const d of prev.values()) if (!this.byId.has(d.id)) changes.push({ type: 'removed', device: d });
    // Every listener hears every change even when one throws; the first failure is thrown after, loud.
    let failure: unknown;
    for (const c of changes)
      for (const l of this.listeners) {
        try {
          l(c);
        } catch (e) {
          failure ??= e;
        }
      }
    if (failure !== undefined) throw failure;
  }

  /** Runs one local write, counted so that a reload overlapping it reads again. */
  private async write<T>(fn: () => Promise<T>): Promise<T> {
    this.writing++;
    this.writesStarted++;
    try {
      return await fn();
    } finally {
      this.writing--;
    }
  }

  /** Devices by id (the store's order), optionally filtered like the store port's `list`. */
  list(q: { kind?: string; group?: string; label?: string; site?: string } = {}): Device[] {
    const out: Device[] = [];
    for (const d of this.byId.values()) {
      if (q.kind && d.kind !== q.kind) continue;
      if (q.group && !d.groups.includes(q.group)) continue;
      if (q.label && !d.labels.includes(q.label)) continue;
      if (q.site && d.location?.site !== q.site) continue;
      out.push(d);
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(id: string): Device | undefined {
    return this.byId.get(id);
  }

  require(id: string): Device {
    const d = this.get(id);
    if (!d)
      throw new NotFoundError('DEVICE_NOT_FOUND', `no device with id ${JSON.stringify(id)}`, { field: 'id' });
    return d;
  }

  onChange(fn: (change: { type: 'added' | 'updated' | 'removed'; device: Device }) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private notify(type: 'added' | 'updated' | 'removed', device: Device): void {
    for (const l of this.listeners) l({ type, device });
    this.bus?.emit({
      source: 'hub',
      type: `device.${type}`,
      data: { id: device.id, kind: device.kind, name: device.name, address: device.address },
    });
  }

  private validateInput(input: unknown, partial: boolean): void {
    if (partial) assertDevicePatch(input);
    else assertDeviceInput(input);
  }

  private validateSettings(kind: string, settings: Record<string, unknown>): Record<string, unknown> {
    const info = this.kinds.get(kind);
    if (!info) {
      throw new ValidationError(
        'DEVICE_UNKNOWN_KIND',
        `kind: ${JSON.stringify(kind)} is not a known device kind (known: ${this.knownKinds().join(', ') || 'none'})`,
        { field: 'kind' },
      );
    }
    settings = coerceStrings(info.configSchema as Record<string, unknown>, settings) as Record<
      string,
      unknown
    >;
    const problems = schemaProblems(info.configSchema as Record<string, unknown>, settings, 'settings');
    if (problems.length > 0) {
      throw new ValidationError('DEVICE_SETTINGS_INVALID', formatProblems(problems).join('; '), {
        field: problems[0]!.path,
      });
    }
    return settings;
  }

  async add(input: DeviceInput): Promise<Device> {
    return this.write(async () => {
      this.validateInput(input, false);
      const id = input.id ?? `${input.kind}-${randomUUID().slice(0, 8)}`;
      if (this.get(id))
        throw new ConflictError('DEVICE_EXISTS', `a device with id ${JSON.stringify(id)} exists`, {
          field: 'id',
        });
      const settings = this.validateSettings(input.kind, input.settings ?? {});
      const now = new Date(this.clock.now()).toISOString();
      const d: Device = {
        id,
        kind: input.kind,
        name: input.name ?? id,
        address: input.address,
        labels: dedupe(input.labels ?? []),
        groups: dedupe(input.groups ?? []),
        location: input.location ?? {},
        settings,
        createdAt: now,
        updatedAt: now,
      };
      // Claimed in the cache before the write, so two concurrent adds of one id cannot both pass the check.
      this.byId.set(id, d);
      try {
        await this.store.insert(d);
      } catch (err) {
        this.byId.delete(id);
        throw err;
      }
      this.notify('added', d);
      return d;
    });
  }

  async update(id: string, patch: DevicePatch): Promise<Device> {
    return this.write(async () => {
      this.validateInput(patch, true);
      const cur = this.require(id);
      const settings =
        patch.settings === undefined
          ? cur.settings
          : this.validateSettings(cur.kind, { ...cur.settings, ...patch.settings });
      const d: Device = {
        ...cur,
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.address !== undefined ? { address: patch.address } : {}),
        ...(patch.labels !== undefined ? { labels: dedupe(patch.labels) } : {}),
        ...(patch.groups !== undefined ? { groups: dedupe(patch.groups) } : {}),
        ...(patch.location !== undefined ? { location: patch.location } : {}),
        settings,
        updatedAt: new Date(this.clock.now()).toISOString(),
      };
      await this.store.update(d);
      this.byId.set(id, d);
      this.notify('updated', d);
      return d;
    });
  }

  /** Insert or update by id (used by discovery, e.g. Avaya subscription). */
  async upsert(input: DeviceInput & { id: string }): Promise<{ device: Device; created: boolean }> {
    const cur = this.get(input.id);
    if (!cur) return { device: await this.add(input), created: true };
    const { id: _id, kind: _kind, ...patch } = input;
    return { device: await this.update(input.id, patch), created: false };
  }

  async remove(id: string): Promise<void> {
    return this.write(async () => {
      const d = this.require(id);
      await this.store.remove(id);
      this.byId.delete(id);
      this.notify('removed', d);
    });
  }

  // ---- groups
  listGroups(): Array<Group & { members: number }> {
    const devices = this.list();
    const known = new Map(this.groupsById);
    for (const d of devices) for (const g of d.groups) if (!known.has(g)) known.set(g, { id: g, name: g });
    return [...known.values()]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((g) => ({ ...g, members: devices.filter((d) => d.groups.includes(g.id)).length }));
  }

  getGroup(id: string): Group & { members: Device[] } {
    const g = this.groupsById.get(id);
    const members = this.list({ group: id });
    if (!g && members.length === 0)
      throw new NotFoundError('GROUP_NOT_FOUND', `no group with id ${JSON.stringify(id)}`, { field: 'id' });
    return { ...(g ?? { id, name: id }), members };
  }

  async putGroup(input: { id: string; name?: string; description?: string }): Promise<Group> {
    return this.write(async () => {
      const problems = schemaProblems(GroupInputSchema, input);
      if (problems.length > 0)
        throw new ValidationError('GROUP_INVALID', formatProblems(problems).join('; '), {
          field: problems[0]!.path,
        });
      const g: Group = {
        id: input.id,
        name: input.name ?? input.id,
        ...(input.description ? { description: input.description } : {}),
      };
      await this.groupStore.upsert(g);
      this.groupsById.set(g.id, g);
      this.bus?.emit({ source: 'hub', type: 'group.updated', data: { id: g.id, name: g.name } });
      return g;
    });
  }

  async removeGroup(id: string): Promise<void> {
    return this.write(async () => {
      const members = this.list({ group: id });
      if (members.length > 0) {
        throw new ConflictError(
          'GROUP_NOT_EMPTY',
          `group ${JSON.stringify(id)} still has ${members.length} device(s)`,
          { field: 'id' },
        );
      }
      const removed = await this.groupStore.remove(id);
      this.groupsById.delete(id);
      if (!removed)
        throw new NotFoundError('GROUP_NOT_FOUND', `no group with id ${JSON.stringify(id)}`, { field: 'id' });
    });
  }
}

/**
 * Text from the CLI and forms (`--set port=8080`, `--set tls=true`) becomes the type the driver's schema
 * asks for; anything else is left for validation to report.
 */
function coerceStrings(schema: Record<string, unknown>, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    if (typeof value !== 'string') return value;
    const t = schema.type;
    if ((t === 'integer' || t === 'number') && value.trim() !== '' && Number.isFinite(Number(value)))
      return Number(value);
    if (t === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
    return value;
  }
  const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
  if (!props) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [k, v] of Object.entries(out)) if (props[k]) out[k] = coerceStrings(props[k], v);
  return out;
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs)];
}
