import { randomUUID } from 'node:crypto';
import { systemClock } from './clock.js';
import type { Device } from './devices.js';
import type { DriverContext } from './driver.js';
import type { EventEmitter, EventInput, HubEvent } from './events.js';
import { silentLogger } from './logger.js';
import type { KvStore } from './store.js';

/**
 * Running a driver without a hub (CLI commands that talk straight to a phone, the standalone Avaya push
 * server, benchmarks): the one way to make the `DriverContext` and `Device` records a session needs.
 */

/** A `KvStore` kept in memory for the life of the process. */
export class MemoryKvStore implements KvStore {
  private readonly m = new Map<string, unknown>();
  async get<T>(ns: string, key: string): Promise<T | undefined> {
    return this.m.get(`${ns}\u0000${key}`) as T | undefined;
  }
  async set(ns: string, key: string, value: unknown): Promise<void> {
    this.m.set(`${ns}\u0000${key}`, value);
  }
  async delete(ns: string, key: string): Promise<void> {
    this.m.delete(`${ns}\u0000${key}`);
  }
  async list<T>(ns: string): Promise<Array<{ key: string; value: T }>> {
    const p = `${ns}\u0000`;
    return [...this.m]
      .filter(([k]) => k.startsWith(p))
      .map(([k, value]) => ({ key: k.slice(p.length), value: value as T }));
  }
}

/** An event emitter without a bus: numbers each event and hands it to `onEvent` (if any). */
export function localEmitter(onEvent?: (e: HubEvent) => void): EventEmitter {
  let seq = 0;
  return {
    emit<D extends Record<string, unknown>>(input: EventInput<D>): HubEvent<D> {
      const e: HubEvent<D> = {
        seq: ++seq,
        id: `evt_${randomUUID()}`,
        time: input.time ?? new Date().toISOString(),
        source: input.source,
        type: input.type,
        data: input.data,
      };
      onEvent?.(e as HubEvent);
      return e;
    },
  };
}

export interface StandaloneContextOptions {
  /** Reported as the hub version (`cli`, `bench`, `standalone`). */
  version: string;
  /** URL phones use to reach this process, when it serves content (default none). */
  publicUrl?: string;
  bus?: EventEmitter;
  signal?: AbortSignal;
}

/** A `DriverContext` for a driver used outside the hub: silent logger, system clock, in-memory KV. */
export function standaloneContext(o: StandaloneContextOptions): DriverContext {
  return {
    bus: o.bus ?? localEmitter(),
    logger: silentLogger,
    clock: systemClock,
    hub: { publicUrl: o.publicUrl ?? '', version: o.version },
    kv: new MemoryKvStore(),
    signal: o.signal ?? new AbortController().signal,
  };
}

/** A `Device` record for a device that is not registered with a hub (id defaults to the address). */
export function standaloneDevice<S>(o: {
  kind: string;
  address: string;
  settings: S;
  id?: string;
  name?: string;
}): Device<S> {
  const now = new Date().toISOString();
  return {
    id: o.id ?? o.address,
    kind: o.kind,
    name: o.name ?? o.address,
    address: o.address,
    labels: [],
    groups: [],
    location: {},
    settings: o.settings,
    createdAt: now,
    updatedAt: now,
  };
}
