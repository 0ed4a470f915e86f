import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { Type } from 'typebox';
import { diskState } from '../../store/disk.js';
import { VERSION } from '../../version.js';
import type { Hub } from '../compose.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
  }
}

/** prom-client registry per app (process metrics + HTTP request histogram by route and status). */
export function setupMetrics(app: FastifyInstance): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'switchboard_' });
  const hist = new Histogram({
    name: 'switchboard_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  app.decorate('metrics', registry);
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    hist.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  return registry;
}

export function registerHealthRoutes(app: FastifyInstance, hub: Hub): void {
  const events = new Counter({
    name: 'switchboard_events_total',
    help: 'Events emitted on the bus, by type',
    labelNames: ['type'] as const,
    registers: [app.metrics],
  });
  // This hub's own events (another hub counts its own).
  hub.bus.subscribe((e) => events.inc({ type: e.type }));
  new Gauge({
    name: 'switchboard_devices',
    help: 'Registered devices by kind',
    labelNames: ['kind'] as const,
    registers: [app.metrics],
    collect() {
      this.reset();
      if (!hub.stores.ready()) return;
      const counts = new Map<string, number>();
      for (const d of hub.devices.list()) counts.set(d.kind, (counts.get(d.kind) ?? 0) + 1);
      for (const [k, n] of counts) this.set({ kind: k }, n);
    },
  });
  const scalar = (name: string, help: string, value: () => number) =>
    new Gauge({
      name,
      help,
      registers: [app.metrics],
      collect() {
        this.set(value());
      },
    });
  scalar(
    'switchboard_events_unwritten',
    'Events emitted here and not yet stored (the store refuses writes while this grows)',
    () => hub.bus.unwritten,
  );
  scalar(
    'switchboard_events_dropped',
    'Events dropped unwritten since start (buffer full while the store refused, or refused by the store)',
    () => hub.bus.dropped,
  );
  scalar('switchboard_event_seq', 'Last event sequence number', () => hub.bus.lastSeq);

  const hide = { schema: { hide: true } } as const;
  app.get(
    '/healthz',
    {
      schema: {
        hide: true,
        response: { 200: Type.Object({ status: Type.Literal('ok'), version: Type.String() }) },
      },
    },
    async () => ({ status: 'ok' as const, version: VERSION }),
  );
  app.get('/readyz', hide, async (_req, reply) => {
    const disk = diskState(hub.config.dataDir, hub.config.events.minFreeDiskMb);
    const ready = hub.stores.ready() && !hub.signal.aborted && disk.state !== 'full';
    return reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not ready',
      store: hub.stores.ready() ? 'open' : hub.storeBackend === 'postgres' ? 'unreachable' : 'closed',
      shuttingDown: hub.signal.aborted,
      disk: disk.state,
      ...(disk.freeMb !== undefined ? { diskFreeMb: disk.freeMb } : {}),
    });
  });
  app.get('/metrics', hide, async (_req, reply) => {
    reply.header('content-type', app.metrics.contentType);
    return app.metrics.metrics();
  });
}
