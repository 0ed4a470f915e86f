import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import type { HubModule } from '../core/module.js';
import { buildApp } from '../server/app.js';
import { type CreateHubOptions, createHub, type Hub } from '../server/compose.js';
import { warmRouteSchemas } from '../server/lazy-schemas.js';
import { listenPhone } from '../server/listeners.js';
import { createLogger } from '../server/logger.js';
import { loadTlsPair, reloadTls, startRedirectListener, tlsEnabled } from '../server/tls.js';
import { PACKAGE_ROOT } from '../version.js';

export interface RunningHub {
  hub: Hub;
  app: FastifyInstance;
  url: string;
  port: number;
  /** Port of the plain-HTTP redirect listener (`http.tls.redirect`), when it runs. */
  redirectPort?: number;
  /** Re-reads `http.tls.cert/key` into the running server (what SIGHUP does); false if they are unusable. */
  reloadTls(): boolean;
  /** The phone listener (`http.phoneListener`), when it is on. */
  phoneUrl?: string;
  phonePort?: number;
  /** Graceful stop: stop accepting, let in-flight requests finish within `shutdown.graceMs`, then close the store. */
  stop(): Promise<void>;
}

export interface StartOptions extends Partial<CreateHubOptions> {
  modules?: HubModule[];
  /** Install SIGINT/SIGTERM handlers that stop gracefully and exit 0. */
  handleSignals?: boolean;
  /** Called with the app after every route is registered, before it listens (the API contract test's hooks). */
  prepareApp?: (app: FastifyInstance) => void | Promise<void>;
}

/** Starts the hub: store, modules, HTTP server. Used by `serve`, `demo` and the tests. */
export async function startHub(config: Config, opts: StartOptions = {}): Promise<RunningHub> {
  const logger = opts.logger ?? createLogger({ level: config.log.level, pretty: config.log.pretty });
  // A bad certificate or key stops the start before the store is opened.
  const tls = tlsEnabled(config) ? loadTlsPair(config) : undefined;
  const hub = await createHub(config, { ...opts, logger });
  let app: FastifyInstance;
  try {
    app = await buildApp(hub, {
      consoleDir: fileURLToPath(new URL('console/dist', PACKAGE_ROOT)),
      ...(tls ? { tls } : {}),
    });
    await opts.prepareApp?.(app);
    await app.listen({ host: config.http.host, port: config.http.port });
  } catch (e) {
    await hub.shutdown();
    throw e;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  let phone: { server: Server; port: number } | undefined;
  if (config.http.phoneListener.enabled) {
    try {
      phone = await listenPhone(app, config);
    } catch (e) {
      await app.close().catch(() => {});
      await hub.shutdown();
      throw e;
    }
  }
  hub.setListening(port, phone?.port);
  let redirect: { server: Server; port: number } | undefined;
  try {
    if (tls && config.http.tls.redirect.enabled)
      redirect = await startRedirectListener(config, () => port, logger);
    for (const m of hub.modules) await m.start?.(hub);
  } catch (e) {
    // A module that cannot start (bad certificate, port in use) must not leave the others running.
    redirect?.server.close();
    phone?.server.close();
    await app.close().catch(() => {});
    await hub.shutdown();
    throw e;
  }
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
  const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
  // Route schemas not used yet compile in the background, one per event-loop turn (lazy-schemas.ts).
  warmRouteSchemas(app, hub.abort.signal).catch((e: unknown) =>
    logger.error({ err: e }, 'a route schema does not compile: requests to that route will fail'),
  );
  const reload = () => (tls ? reloadTls(app.server as unknown as HttpsServer, config, logger) : false);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const grace = config.shutdown.graceMs;
      // In-flight requests get the first half of the grace period; the modules (which abort their work and
      // store what is left as resumable) the rest.
      const force = setTimeout(
        () => {
          logger.warn({ graceMs: grace }, 'grace period over: closing remaining connections');
          app.server.closeAllConnections();
          phone?.server.closeAllConnections();
        },
        Math.floor(grace / 2),
      );
      force.unref();
      hub.abort.abort(new Error('hub shutting down'));
      if (redirect) {
        redirect.server.close();
        redirect.server.closeAllConnections();
      }
      try {
        const phoneClosed = phone
          ? new Promise<void>((resolve) => {
              phone?.server.close(() => resolve());
              phone?.server.closeIdleConnections();
            })
          : Promise.resolve();
        await Promise.all([app.close(), phoneClosed]);
      } finally {
        clearTimeout(force);
        await hub.shutdown();
      }
    })();
    return stopping;
  };

  if (opts.handleSignals) {
    const onSignal = (sig: string) => {
      logger.info({ signal: sig, graceMs: config.shutdown.graceMs }, 'shutting down');
      // The process exits within shutdown.graceMs whatever hangs: a second hub may start on the same data.
      const deadline = setTimeout(() => {
        logger.error(
          { graceMs: config.shutdown.graceMs },
          'shutdown did not finish within shutdown.graceMs: exiting now',
        );
        process.exit(1);
      }, config.shutdown.graceMs);
      deadline.unref();
      stop().then(
        () => {
          logger.info('stopped');
          process.exit(0);
        },
        (e) => {
          logger.error({ err: e }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // A promise nobody handled (a store write behind an alert that failed in an unforeseen way) must not
    // take the 911 path down with the process: it is logged as an error, loudly, and the hub goes on.
    process.on('unhandledRejection', (err) => {
      logger.error({ err }, 'unhandled promise rejection (a bug: please report it); the hub keeps running');
    });
    // SIGHUP: re-read the TLS key pair (certificate renewal) without a restart. Without TLS it is
    // ignored (it would otherwise end the process).
    process.on('SIGHUP', () => {
      if (tls) reload();
      else logger.info('SIGHUP: nothing to reload (http.tls is off)');
    });
  }
  const phoneBind = config.http.phoneListener.host || config.http.host;
  const phoneHost =
    phoneBind === '0.0.0.0' || phoneBind === '::'
      ? '127.0.0.1'
      : phoneBind.includes(':')
        ? `[${phoneBind}]`
        : phoneBind;
  return {
    hub,
    app,
    url,
    port,
    ...(redirect ? { redirectPort: redirect.port } : {}),
    reloadTls: reload,
    ...(phone ? { phoneUrl: `http://${phoneHost}:${phone.port}`, phonePort: phone.port } : {}),
    stop,
  };
}
