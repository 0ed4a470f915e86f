import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Config } from '../config/schema.js';
import { NotFoundError } from '../core/errors.js';
import { limitConnectionsPerAddress, serverTimeouts } from './connections.js';

/**
 * Which listener serves a route, decided once when the route is registered (from its URL pattern):
 * - `phone`: what phones call without credentials (Cisco services and callbacks, Avaya push content and
 *   SUBSCRIBELIST, settings files, alert acknowledgement links);
 * - `pubsub`: the PubSub relay (`/auth`, `/<AccountSid>/…`), for applications;
 * - `health`: `/healthz`, `/readyz` on every listener (load balancers check each);
 * - `management`: everything else — the API, its documentation, `/metrics`, the console.
 */
export type RouteSurface = 'phone' | 'pubsub' | 'health' | 'management';

declare module 'fastify' {
  interface FastifyContextConfig {
    surface?: RouteSurface;
  }
  interface FastifyInstance {
    /** Sockets accepted by the phone listener (`http.phoneListener`); empty when it is off. */
    phoneSockets: WeakSet<Socket>;
  }
}

const PHONE_PREFIXES = ['/cisco/', '/avaya/', '/alerts/'];

/** The surface of a route URL pattern (see RouteSurface). */
export function surfaceOf(url: string): RouteSurface {
  if (url === '/healthz' || url === '/readyz') return 'health';
  if (url === '/auth' || url.startsWith('/:sid')) return 'pubsub';
  if (PHONE_PREFIXES.some((p) => url.startsWith(p)) || url === '/cisco') return 'phone';
  // Settings files: /46xxsettings.txt, /46xxspecials.txt and the /:file(...) pattern of static files.
  if (/^\/46xx/.test(url) || url.startsWith('/:file')) return 'phone';
  return 'management';
}

/**
 * Splits the routes between the main listener (`http.host`/`http.port`) and the phone listener
 * (`http.phoneListener`), so the API and console can be bound to a management network while phones reach
 * only what they need. Installed before any route is registered. When the phone listener is off, every
 * route is served on the main listener, as before. A route asked for on the wrong listener is a 404 (the
 * same answer as a path that does not exist), decided on the matched route, before authentication.
 */
export function installListenerSurfaces(app: FastifyInstance, config: Config): void {
  const phone = config.http.phoneListener;
  app.decorate('phoneSockets', new WeakSet<Socket>());
  app.addHook('onRoute', (route: RouteOptions) => {
    route.config = { ...(route.config ?? {}), surface: route.config?.surface ?? surfaceOf(route.url) };
  });
  if (!phone.enabled) return;
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const surface = req.routeOptions.config?.surface;
    if (surface === undefined || surface === 'health') return;
    const onPhone = app.phoneSockets.has(req.raw.socket);
    const allowed = onPhone
      ? surface === 'phone' || (surface === 'pubsub' && phone.pubsub)
      : surface === 'management' || (surface === 'pubsub' && !phone.pubsub);
    if (!allowed) throw new NotFoundError('NOT_FOUND', `no route for ${req.method} ${req.url.split('?')[0]}`);
  });
}

/**
 * Starts the phone listener: a second HTTP server on `http.phoneListener.host`/`port` handing its requests
 * to the same Fastify app (same routes, hooks, limits and timeouts as the main listener). Resolves with the
 * server and its port once it listens.
 */
export async function listenPhone(
  app: FastifyInstance,
  config: Config,
): Promise<{ server: Server; port: number }> {
  const h = config.http;
  const server = createServer(serverTimeouts(h));
  limitConnectionsPerAddress(server, h.maxConnectionsPerAddress);
  server.on('connection', (socket: Socket) => app.phoneSockets.add(socket));
  server.on('request', (req, res) => app.routing(req, res));
  const host = h.phoneListener.host || h.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: h.phoneListener.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : h.phoneListener.port };
}
