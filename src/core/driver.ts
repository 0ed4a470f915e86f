import type { AlertPlanner } from '../alerting/broadcast/types.js';
import type { Clock } from './clock.js';
import type { Cluster } from './cluster.js';
import type { Device } from './devices.js';
import type { EventEmitter } from './events.js';
import type { Logger } from './logger.js';
import type { ControlSpec } from './spec.js';
import type { KvStore } from './store.js';

/**
 * The driver contract. A driver is the code for one device kind: it publishes a control spec and
 * implements it. Sessions are opened lazily per device by the action runner and closed when the device
 * changes or is removed, or at shutdown.
 */
export interface ActionResult<T = unknown> {
  /** True when the device accepted/executed the command. */
  ok: boolean;
  /** Stable outcome name (`accepted`, `busy`, `displayed`, `CISCO_ERROR_4` …). */
  outcome?: string;
  /** Human-readable summary, free of secrets. */
  message?: string;
  /** Typed detail (parsed response, query result). */
  data?: T;
  /** When `ok` is false: is a retry later likely to succeed? */
  retryable?: boolean;
}

export interface ExecuteOptions {
  signal?: AbortSignal;
  /** Per-call timeout override. */
  timeoutMs?: number;
  /**
   * The caller records the outcome itself (a broadcast writes one `broadcast.delivery` event per phone):
   * no `device.action` event and no per-push driver event for this call.
   */
  quiet?: boolean;
}

export interface DeviceSession {
  /** Runs an action of the spec. `params` are already validated against the spec (defaults applied). */
  execute(actionId: string, params: Record<string, unknown>, opts?: ExecuteOptions): Promise<ActionResult>;
  /** Runs a query of the spec (kind `query`). */
  query(queryId: string, params: Record<string, unknown>, opts?: ExecuteOptions): Promise<ActionResult>;
  /** Current variable/feedback values (names from the spec's `variables`). */
  variables(): Record<string, unknown>;
  /** Driver-interpreted raw command for macro `push` steps (e.g. a Cisco URI or XML object). */
  push?(command: string, opts?: ExecuteOptions): Promise<ActionResult>;
  /** Stops background work (connections, timers). */
  close(): Promise<void>;
}

/** Public facts about the hub that drivers put into content phones fetch (URLs). */
export interface HubInfo {
  /** Base URL phones and platforms use to reach this hub, e.g. `http://10.0.0.2:8080`. */
  publicUrl: string;
  version: string;
}

export interface DriverContext {
  bus: EventEmitter;
  logger: Logger;
  clock: Clock;
  hub: HubInfo;
  kv: KvStore;
  /**
   * The leases of singleton work shared by the hubs of a site (core/cluster.ts): a driver whose device
   * must be served by one hub at a time (the IP Office link) holds a lease. Absent: the only hub.
   */
  cluster?: Cluster;
  /** Aborted when the hub shuts down. */
  signal: AbortSignal;
}

export interface Driver<S = Record<string, unknown>> {
  kind: string;
  spec: ControlSpec;
  /** JSON schema of the per-device `settings` (TypeBox or plain JSON schema). */
  configSchema: object;
  /** Setting keys that hold secrets (never shown through the API). */
  secretKeys?: string[];
  /**
   * How this kind shows broadcasts and alerts (its planner: src/alerting/broadcast/types.ts). A kind without
   * one cannot show alerts: its deliveries fail with `no_planner`, and `all` targets skip it.
   */
  alertPlanner?: AlertPlanner;
  open(device: Device<S>, ctx: DriverContext): DeviceSession;
}

/** Type-erased driver as stored in the registry. */
// biome-ignore lint/suspicious/noExplicitAny: drivers are heterogeneous in their settings type.
export type AnyDriver = Driver<any>;
