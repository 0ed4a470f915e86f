import { type Clock, systemClock } from './clock.js';
import type { Device, DeviceRegistry } from './devices.js';
import type { ActionResult, AnyDriver, DeviceSession, DriverContext, ExecuteOptions } from './driver.js';
import { NotFoundError, ValidationError } from './errors.js';
import type { EventEmitter } from './events.js';
import { type MacroRunResult, runMacro } from './macro.js';
import { type ActionSpec, type ControlSpec, findAction, validateParams } from './spec.js';

/**
 * The action runner: `execute(deviceId, actionId, params)` → validated against the spec → driver → typed
 * result. Used by the REST API, CLI, rules, macros and broadcasts alike. Sessions are opened lazily, one
 * per device, and reopened when the device changes.
 */
export class ActionRunner {
  private sessions = new Map<string, { session: DeviceSession; updatedAt: string }>();
  /**
   * Devices read by actions, replaced on every registry change (a broadcast runs thousands of
   * actions; each would otherwise read and decode the device row). Never handed out to callers.
   */
  private cache = new Map<string, Device | null>();
  private static readonly CACHE_MAX = 50_000;

  constructor(
    private readonly registry: DeviceRegistry,
    private readonly drivers: Map<string, AnyDriver>,
    private readonly ctxFor: (device: Device) => DriverContext,
    private readonly bus?: EventEmitter,
    private readonly clock: Clock = systemClock,
  ) {
    registry.onChange(({ type, device }) => {
      // Keep the new version (or a tombstone), so that a late prime() cannot bring back an old one.
      if (this.cache.size >= ActionRunner.CACHE_MAX) this.cache.clear();
      this.cache.set(device.id, type === 'removed' ? null : device);
      if (type !== 'added') void this.closeSession(device.id);
    });
  }

  driver(kind: string): AnyDriver {
    const d = this.drivers.get(kind);
    if (!d)
      throw new NotFoundError('DRIVER_NOT_FOUND', `no driver for device kind ${JSON.stringify(kind)}`, {
        field: 'kind',
      });
    return d;
  }

  specFor(deviceId: string): ControlSpec {
    return this.driver(this.registry.require(deviceId).kind).spec;
  }

  /**
   * Offers devices just read from the registry (a broadcast's targets), so that their first actions do not
   * read them again. Devices already held are kept; later registry changes still replace them.
   */
  prime(devices: readonly Device[]): void {
    for (const d of devices) {
      if (this.cache.size >= ActionRunner.CACHE_MAX) break;
      if (!this.cache.has(d.id)) this.cache.set(d.id, d);
    }
  }

  private device(deviceId: string): Device {
    const hit = this.cache.get(deviceId);
    if (hit) return hit;
    // null (removed) or unknown: ask the registry (which throws DEVICE_NOT_FOUND when it is gone).
    const d = this.registry.require(deviceId);
    if (this.cache.size >= ActionRunner.CACHE_MAX) this.cache.clear();
    this.cache.set(deviceId, d);
    return d;
  }

  /** Returns the device's open session, opening it if needed. */
  session(deviceId: string): DeviceSession {
    return this.sessionFor(this.registry.require(deviceId));
  }

  /** The open session of a device already read from the registry (one read per action, not two). */
  private sessionFor(device: Device): DeviceSession {
    const deviceId = device.id;
    const cur = this.sessions.get(deviceId);
    if (cur && cur.updatedAt === device.updatedAt) return cur.session;
    if (cur) void cur.session.close();
    const session = this.driver(device.kind).open(device, this.ctxFor(device));
    this.sessions.set(deviceId, { session, updatedAt: device.updatedAt });
    return session;
  }

  private resolve(
    deviceId: string,
    actionId: string,
    kind: 'action' | 'query' | 'any',
  ): { device: Device; action: ActionSpec } {
    const device = this.device(deviceId);
    const spec = this.driver(device.kind).spec;
    const action = findAction(spec, actionId);
    if (!action || (kind !== 'any' && action.kind !== kind)) {
      throw new NotFoundError(
        'ACTION_NOT_FOUND',
        `${device.kind} devices have no ${kind === 'any' ? 'action or query' : kind} ${JSON.stringify(actionId)}`,
        { field: 'actionId' },
      );
    }
    return { device, action };
  }

  /** Validates params for an action without running it (used by rule validation and the console). */
  validate(deviceId: string, actionId: string, params: unknown): Record<string, unknown> {
    const { action } = this.resolve(deviceId, actionId, 'any');
    return validateParams(action, params);
  }

  /** Runs an action or query (by the spec's `kind`). */
  async execute(
    deviceId: string,
    actionId: string,
    params: unknown,
    opts: ExecuteOptions = {},
  ): Promise<ActionResult> {
    const { device, action } = this.resolve(deviceId, actionId, 'any');
    const valid = validateParams(action, params);
    const session = this.sessionFor(device);
    const started = this.clock.now();
    const result =
      action.kind === 'query'
        ? await session.query(action.id, valid, opts)
        : await session.execute(action.id, valid, opts);
    if (opts.quiet) return result;
    this.bus?.emit({
      source: device.id,
      type: action.kind === 'query' ? 'device.query' : 'device.action',
      data: {
        deviceId: device.id,
        actionId: action.id,
        ok: result.ok,
        outcome: result.outcome ?? null,
        ms: this.clock.now() - started,
      },
    });
    return result;
  }

  async runMacro(
    deviceId: string,
    macroId: string,
    params: unknown,
    opts: { signal?: AbortSignal; subscribe?: MacroEventSource } = {},
  ): Promise<MacroRunResult> {
    const device = this.registry.require(deviceId);
    const spec = this.driver(device.kind).spec;
    const macro = spec.macros?.find((m) => m.id === macroId);
    if (!macro)
      throw new NotFoundError(
        'MACRO_NOT_FOUND',
        `${device.kind} devices have no macro ${JSON.stringify(macroId)}`,
        { field: 'macroId' },
      );
    const valid = macro.params ? validateParams({ id: macro.id, params: macro.params }, params) : {};
    if (!macro.params && params && typeof params === 'object' && Object.keys(params).length > 0) {
      throw new ValidationError('ACTION_PARAMS_INVALID', `macro ${macro.id} takes no parameters`, {
        field: 'params',
      });
    }
    return runMacro(macro, valid, {
      session: this.session(deviceId),
      run: (id, p, o) => this.execute(deviceId, id, p, o),
      clock: this.clock,
      deviceId,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.subscribe ? { events: opts.subscribe } : {}),
    });
  }

  variables(deviceId: string): Record<string, unknown> {
    return this.session(deviceId).variables();
  }

  async closeSession(deviceId: string): Promise<void> {
    const cur = this.sessions.get(deviceId);
    if (!cur) return;
    this.sessions.delete(deviceId);
    await cur.session.close();
  }

  async closeAll(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(all.map((s) => s.session.close()));
  }
}

/** Lets macros wait for bus events from their device. */
export type MacroEventSource = (
  filter: { type: string; source: string },
  handler: (data: Record<string, unknown>) => void,
) => () => void;
