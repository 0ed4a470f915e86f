import { randomBytes } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import type { Config } from '../config/schema.js';
import { ActionRunner } from '../core/actions.js';
import { ApiKeyService } from '../core/apikeys.js';
import { AuditLog } from '../core/audit.js';
import { EventBus } from '../core/bus.js';
import { type Clock, systemClock } from '../core/clock.js';
import { Cluster } from '../core/cluster.js';
import { ConfigSync } from '../core/config-sync.js';
import { SealedDeviceStore } from '../core/device-secrets.js';
import { type DeviceKindInfo, DeviceRegistry } from '../core/devices.js';
import type { AnyDriver, DriverContext } from '../core/driver.js';
import type { Logger } from '../core/logger.js';
import type { HubContext, HubModule } from '../core/module.js';
import { SECRET_KEY_BYTES, SecretBox, SecretOpenError } from '../core/secret-box.js';
import { holdPeriodic } from '../core/singleton.js';
import type { DeviceStore } from '../core/store.js';
import { type OpenedStores, openStores } from '../store/index.js';
import { loadSecretKey } from '../store/secret-key.js';
import { secretsKeyPath } from '../store/sqlite/files.js';
import type { Migration } from '../store/sqlite/migrations/index.js';
import { VERSION } from '../version.js';
import { auditHubEvents } from './audit-events.js';
import { MODULES, orderModules } from './modules.js';

export interface Hub extends HubContext {
  modules: HubModule[];
  apiKeys: ApiKeyService;
  /**
   * Called once the HTTP server listens, with its real port and the phone listener's (fills in publicUrl,
   * the URL phones are given, when not configured).
   */
  setListening(port: number, phonePort?: number): void;
  /** Stops modules, closes device sessions, flushes the bus and closes the store. */
  shutdown(): Promise<void>;
  abort: AbortController;
}

export interface CreateHubOptions {
  logger: Logger;
  clock?: Clock;
  /** Modules in addition to (or instead of) the built-in ones (tests). */
  modules?: HubModule[];
  replaceModules?: boolean;
  /** Extra drivers (tests). */
  drivers?: AnyDriver[];
  migrations?: Record<string, Migration[]>;
}

/** First non-internal IPv4 address, for the default public URL. */
export function defaultHost(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** Opens the store and builds the hub's shared services. The HTTP app is built by buildApp(). */
export async function createHub(config: Config, opts: CreateHubOptions): Promise<Hub> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger;
  const opened = await openStores(config, {
    logger,
    ...(opts.migrations ? { migrations: opts.migrations } : {}),
  });
  try {
    return await composeHub(config, opts, opened, clock, logger);
  } catch (e) {
    await opened.close();
    throw e;
  }
}

async function composeHub(
  config: Config,
  opts: CreateHubOptions,
  opened: OpenedStores,
  clock: Clock,
  logger: Logger,
): Promise<Hub> {
  const stores = opened.stores;
  const bus = await EventBus.open(stores.events, {
    clock,
    onError: (e) => logger.error({ err: e }, 'event bus subscriber failed'),
    logger: logger.child({ module: 'events' }),
    bufferMax: config.events.bufferMax,
    feedPollMs: config.events.feedPollMs,
    writeDelayMs: config.store.writeBehindMs,
  });
  const modules = orderModules(
    opts.replaceModules ? (opts.modules ?? []) : [...MODULES, ...(opts.modules ?? [])],
  );
  const drivers = new Map<string, AnyDriver>();
  for (const m of modules) for (const d of m.drivers?.({ config }) ?? []) drivers.set(d.kind, d);
  for (const d of opts.drivers ?? []) drivers.set(d.kind, d);
  const kinds = new Map<string, DeviceKindInfo>(
    [...drivers.values()].map((d) => [
      d.kind,
      { kind: d.kind, configSchema: d.configSchema, ...(d.secretKeys ? { secretKeys: d.secretKeys } : {}) },
    ]),
  );
  // Device passwords are sealed at rest with the key of secrets.keyFile (created on first start).
  stores.devices = await sealDevices(config, stores.devices, kinds, logger);
  // Configuration another hub (or the CLI) changes is reloaded here within cluster.configPollMs; the
  // versions are read before the first loads, so a change made meanwhile is reloaded, never missed.
  const configSync = new ConfigSync({
    changes: stores.configChanges,
    pollMs: config.cluster.configPollMs,
    clock,
    logger: logger.child({ module: 'config-sync' }),
  });
  await configSync.prime();
  const devices = new DeviceRegistry(stores.devices, stores.groups, kinds, bus, clock);
  await devices.load();
  configSync.register('devices', () => devices.load());
  const abort = new AbortController();
  const hubInfo = { publicUrl: config.http.publicUrl.replace(/\/+$/, ''), version: VERSION };
  const cluster = new Cluster({
    store: stores.leases,
    instanceId:
      config.cluster.instanceName || `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    ttlMs: config.cluster.leaseTtlMs,
    renewMs: config.cluster.leaseRenewMs,
    // Real timers, not the hub's clock: a lease lives on the store's clock (tests move the hub's).
    logger: logger.child({ module: 'cluster' }),
  });
  const ctxFor = (device: { id: string; kind: string }): DriverContext => ({
    bus,
    logger: logger.child({ device: device.id, kind: device.kind }),
    clock,
    hub: hubInfo,
    kv: stores.kv,
    cluster,
    signal: abort.signal,
  });
  const actions = new ActionRunner(devices, drivers, ctxFor, bus, clock);
  /**
   * Runs a pruning job every `minutes` on one hub at a time (lease `prune:<what>`; a lone hub always holds
   * it, so it runs at start as before), logging what it deleted (or why it failed).
   */
  const prunePeriodically = (what: string, minutes: number, prune: () => Promise<number>) => {
    const run = async () => {
      try {
        const n = await prune();
        if (n > 0) logger.info({ deleted: n }, `${what} pruned`);
      } catch (e) {
        logger.warn({ err: e }, `${what} pruning failed`);
      }
    };
    return holdPeriodic(cluster, `prune:${what}`, minutes * 60_000, run, logger);
  };
  const daysAgo = (days: number) => new Date(clock.now() - days * 86_400_000).toISOString();
  // The event log is bounded: events.retentionDays and events.maxEvents, pruned at start and periodically.
  const pruner = prunePeriodically('event log', config.events.pruneIntervalMinutes, () =>
    stores.events.prune({ before: daysAgo(config.events.retentionDays), keep: config.events.maxEvents }),
  );
  const audit = new AuditLog(stores.audit, () => clock.now(), logger, config.store.writeBehindMs);
  // The audit trail keeps its own retention (audit.retentionDays, default one year).
  const stopAuditEvents = auditHubEvents(bus, audit);
  const auditPruner = prunePeriodically('audit trail', config.audit.pruneIntervalMinutes, () =>
    audit.prune(daysAgo(config.audit.retentionDays)),
  );
  const apiKeys = new ApiKeyService(stores.apiKeys, config.auth.apiKeys, () => new Date(clock.now()));
  // Keys and users are read per request; open event streams check theirs again when they change elsewhere.
  configSync.register('keys', async () => apiKeys.changedElsewhere());
  configSync.register('users', async () => apiKeys.changedElsewhere());
  configSync.start();
  let stopped = false;
  const hub: Hub = {
    config,
    stores,
    storeBackend: opened.backend,
    audit,
    bus,
    cluster,
    devices,
    actions,
    drivers,
    logger,
    clock,
    configSync,
    hub: hubInfo,
    signal: abort.signal,
    modules,
    apiKeys,
    abort,
    setListening(port: number, phonePort?: number) {
      const urlOf = (h: string, p: number, scheme: string) => {
        const host = h === '0.0.0.0' || h === '::' ? defaultHost() : h;
        return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${p}`;
      };
      const phone = config.http.phoneListener;
      // publicUrl is what phones are given: the phone listener's when there is one (plain HTTP).
      if (phone.enabled && phonePort !== undefined)
        hubInfo.publicUrl = phone.publicUrl
          ? phone.publicUrl.replace(/\/+$/, '')
          : urlOf(phone.host || config.http.host, phonePort, 'http');
      else if (!config.http.publicUrl)
        hubInfo.publicUrl = urlOf(
          config.http.host,
          port,
          config.http.tls.cert || config.http.tls.key ? 'https' : 'http',
        );
    },
    async shutdown() {
      if (stopped) return;
      stopped = true;
      abort.abort(new Error('hub shutting down'));
      configSync.stop();
      await pruner();
      await auditPruner();
      stopAuditEvents();
      for (const m of [...modules].reverse()) {
        try {
          await m.stop?.(hub);
        } catch (e) {
          logger.error({ err: e, module: m.name }, 'module failed to stop');
        }
      }
      // Leases are given up, so another hub takes the singleton work over at once.
      await cluster.close();
      await actions.closeAll();
      // The audit entries still waiting for their batch are stored before the store closes.
      await audit.flush();
      try {
        await bus.close();
      } finally {
        await opened.close();
      }
    },
  };
  return hub;
}

/**
 * Wraps the device store so secret settings are sealed at rest; loads (or on first start creates) the key,
 * refuses to start when stored secrets do not open with it, and seals secrets left in clear text by an
 * older version.
 */
async function sealDevices(
  config: Config,
  store: DeviceStore,
  kinds: ReadonlyMap<string, DeviceKindInfo>,
  logger: Logger,
): Promise<DeviceStore> {
  const memory = config.dataDir === ':memory:';
  const file = secretsKeyPath(config.dataDir, config.secrets.keyFile);
  const loaded = memory
    ? { key: randomBytes(SECRET_KEY_BYTES), created: false }
    : loadSecretKey(file, !(await SealedDeviceStore.holdsSealed(store)));
  if (loaded.created)
    logger.info({ keyFile: file }, 'created the secrets key file: back it up with the data');
  const sealed = new SealedDeviceStore(store, new SecretBox(loaded.key), kinds);
  const unreadable = await sealed.unreadable();
  if (unreadable.length > 0)
    throw new SecretOpenError(
      `the passwords of ${unreadable.length} device(s) (${unreadable.slice(0, 5).join(', ')}) do not open with the key in ${file}: another key file? Restore the one backed up with this data (secrets.keyFile)`,
    );
  const n = await sealed.sealExisting();
  if (n > 0) logger.info({ devices: n }, 'device passwords stored in clear text are now encrypted');
  return sealed;
}
