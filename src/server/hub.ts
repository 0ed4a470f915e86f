import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import type { ActionRunner } from '../core/actions.js';
import type { AuditLog } from '../core/audit.js';
import type { EventBus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import type { DeviceRegistry } from '../core/devices.js';
import type { AnyDriver, HubInfo } from '../core/driver.js';
import type { Logger } from '../core/logger.js';
import type { CoreStores } from '../core/store.js';
import type { Db } from '../store/sqlite/database.js';

/**
 * Everything a module gets when the hub composes it. Built once by `createHub` (server/compose.ts).
 */
export interface HubContext {
  config: Config;
  /** The embedded SQLite database (modules keep their own prepared statements over it). */
  db: Db;
  stores: CoreStores;
  /** The audit trail: record every change and send here (the API records its own routes, server/access.ts). */
  audit: AuditLog;
  bus: EventBus;
  devices: DeviceRegistry;
  actions: ActionRunner;
  drivers: Map<string, AnyDriver>;
  logger: Logger;
  clock: Clock;
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
  /** Drivers this module contributes (device kinds). */
  drivers?: (ctx: { config: Config }) => AnyDriver[];
  /** Fastify routes. Called inside its own encapsulated plugin context. */
  routes?: (app: FastifyInstance, hub: HubContext) => Promise<void> | void;
  /** Background work started after the server listens (connections to PBXs, sweepers). */
  start?: (hub: HubContext) => Promise<void> | void;
  /** Stops background work; called before the store closes. */
  stop?: (hub: HubContext) => Promise<void> | void;
}
