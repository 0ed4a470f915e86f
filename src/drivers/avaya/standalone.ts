import type { AddressInfo } from 'node:net';
import formbody from '@fastify/formbody';
import Fastify from 'fastify';
import type { ActionResult, DeviceSession } from '../../core/driver.js';
import { isSwitchboardError } from '../../core/errors.js';
import type { HubEvent } from '../../core/events.js';
import { findAction, validateParams } from '../../core/spec.js';
import { localEmitter, standaloneContext, standaloneDevice } from '../../core/standalone.js';
import type { AvayaConfig } from './config.js';
import { MemoryContentStore } from './content-store.js';
import { type AvayaDeviceSettings, avayaDriver } from './driver.js';
import { registerAvayaRoutes } from './routes.js';
import { AvayaService } from './service.js';

/**
 * A Push Initiator + Trusted Push Server without a hub (CLI `switchboard push …`, benchmarks): an
 * in-memory content store behind a small Fastify server with the same `/avaya/` routes, and the same
 * driver sessions the hub uses.
 */
export interface StandaloneOptions {
  host?: string;
  port?: number;
  /** URL phones use to reach this server (default http://<host>:<port>). */
  publicUrl?: string;
  /** Host for the default public URL when listening on a wildcard address. */
  publicHost?: string;
  config?: Partial<AvayaConfig>;
  onEvent?: (e: HubEvent) => void;
}

export interface StandalonePushServer {
  url: string;
  service: AvayaService;
  /** Runs an action of specs/avaya.yaml against a phone at `address` (host or host:port). */
  run(
    address: string,
    actionId: string,
    params: Record<string, unknown>,
    settings?: AvayaDeviceSettings,
  ): Promise<ActionResult>;
  /** Waits until every content item pushed so far was fetched and no RTP stream is running (or timeout). */
  settle(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startStandalonePushServer(o: StandaloneOptions = {}): Promise<StandalonePushServer> {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  app.setErrorHandler((err: Error, _req, reply) => {
    const status = isSwitchboardError(err)
      ? err.status
      : ((err as { statusCode?: number }).statusCode ?? 500);
    const code = isSwitchboardError(err) ? err.code : 'INTERNAL';
    void reply.code(status).send({ error: { code, message: err.message } });
  });
  let publicUrl = o.publicUrl ?? '';
  const store = new MemoryContentStore();
  const pushed: string[] = [];
  const emitter = localEmitter((e) => {
    if (
      e.type === 'avaya.push' &&
      typeof e.data.contentId === 'string' &&
      (e.data.outcome === 'accepted' || e.data.outcome === 'background')
    ) {
      pushed.push(e.data.contentId);
    }
    o.onEvent?.(e);
  });
  const service = new AvayaService({
    store,
    ...(o.config ? { config: o.config } : {}),
    publicUrl: () => publicUrl,
    bus: emitter,
  });
  registerAvayaRoutes(app, () => service);
  await app.listen({ host: o.host ?? '127.0.0.1', port: o.port ?? 0 });
  const addr = app.server.address() as AddressInfo;
  if (!publicUrl) {
    const h = o.publicHost ?? addr.address;
    publicUrl = `http://${h.includes(':') ? `[${h}]` : h}:${addr.port}`;
  }
  const driver = avayaDriver(() => service);
  const abort = new AbortController();
  const ctx = standaloneContext({ version: 'standalone', publicUrl, bus: emitter, signal: abort.signal });
  const sessions = new Map<string, DeviceSession>();
  return {
    url: publicUrl,
    service,
    async run(address, actionId, params, settings = {}) {
      const action = findAction(driver.spec, actionId);
      if (!action) throw new Error(`unknown action ${actionId}`);
      const valid = validateParams(action, params);
      let s = sessions.get(address);
      if (!s) {
        const device = standaloneDevice<AvayaDeviceSettings>({ kind: 'avaya', address, settings });
        s = driver.open(device, ctx);
        sessions.set(address, s);
      }
      return s.execute(actionId, valid);
    },
    async settle(timeoutMs) {
      const until = Date.now() + timeoutMs;
      let quiet = 0;
      while (Date.now() < until) {
        const items = await Promise.all(pushed.map((id) => store.get(id)));
        const unfetched = items.some((it) => (it?.fetches ?? 1) === 0);
        // Two quiet checks in a row: a stream starts just after its content response is sent.
        quiet = !unfetched && service.audio.activeCount() === 0 ? quiet + 1 : 0;
        if (quiet >= 2) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    },
    async stop() {
      abort.abort();
      await service.close();
      await app.close();
    },
  };
}
