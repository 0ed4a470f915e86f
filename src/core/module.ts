import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import type { ActionRunner } from './actions.js';
import type { AuditLog } from './audit.js';
import type { EventBus } from './bus.js';
import type { Clock } from './clock.js';
import type { Cluster } from './cluster.js';
import type { ConfigSync } from './config-sync.js';
import type { DeviceRegistry } from './devices.js';
import type { AnyDriver, HubInfo } from './driver.js';
import type { Logger } from './logger.js';
import type { CoreStores } from './store.js';

/**
 * Every store port the hub hands to its modules. Core declares its own (events, devices, keys, users, kv,
 * audit); each domain adds its ports beside their definition by declaration merging, as Fastify's
 * decorators do:
 *
 * ```ts
 * declare module '../../core/module.js' {
 *   interface StorePorts { avayaContent: ContentStore }
 * }
 * ```
 *
 * One place, `store/index.ts` `openStores`, opens the configured backend and builds them all; no module
 * names a backend.
 */
export interface StorePorts extends CoreStores {}

/** Everything a module gets when the hub composes it. Built once by `createHub` (server/compose.ts). */
export interface HubContext {
  config: Config;
  /** The store ports of the configured backend (SQLite or PostgreSQL): async, no backend types. */
  stores: StorePorts;
  /** Which backend holds the data (`sqlite`, `postgres`), for status pages; never a secret. */
  storeBackend: 'sqlite' | 'postgres';
  /** The audit trail: record every change and send here (the API records its own routes, server/access.ts). */
  audit: AuditLog;
  bus: EventBus;
  /**
   * Leases of singleton work shared by the hubs of a site (the IP Office link, broadcasts, the scheduler):
   * `cluster.hold(name, …)` runs work only while this hub holds the lease (core/cluster.ts).
   */
  cluster: Cluster;
  devices: DeviceRegistry;
  actions: ActionRunner;
  drivers: Map<string, AnyDriver>;
  logger: Logger;
  clock: Clock;
  /**
   * Reloads this hub's in-memory configuration when another hub or the CLI changed it: a module that keeps
   * an area in memory registers its `load()` (`configSync.register('templates', () => t.load())`).
   */
  configSync: ConfigSync;
  hub: HubInfo;
  /** Aborted when the hub starts shutting down. */
  signal: AbortSignal;
}

/**
 * A module: one surface of the hub (a driver and its phone-facing routes, the PubSub relay, the settings
 * server …). Listed in server/modules.ts. Modules register Fastify plugins; routes under `/api` get API-key
 * auth automatically (see server/app.ts); other prefixes (`/avaya`, `/cisco`, PubSub paths) bring their own.
 */
export interface HubModule {
  name: string;
  /**
   * Modules whose `start` must have run before this one's (and whose `stop` runs after it). The hub orders
   * modules by these declarations and refuses a cycle or an unknown name.
   */
  after?: readonly string[];
  /** Drivers this module contributes (device kinds). */
  drivers?: (ctx: { config: Config }) => AnyDriver[];
  /** Fastify routes. Called inside its own encapsulated plugin context. */
  routes?: (app: FastifyInstance, hub: HubContext) => Promise<void> | void;
  /** Background work started after the server listens (connections to PBXs, sweepers). */
  start?: (hub: HubContext) => Promise<void> | void;
  /** Stops background work; called before the store closes. */
  stop?: (hub: HubContext) => Promise<void> | void;
}
