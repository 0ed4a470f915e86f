import { randomUUID } from 'node:crypto';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { SwitchboardError, ValidationError } from '../core/errors.js';
import { parseJsonBody } from '../core/json.js';
import { VERSION } from '../version.js';
import { installAuth } from './auth.js';
import type { Hub } from './compose.js';
import { limitConnectionsPerAddress, serverTimeouts } from './connections.js';
import { attachLazySchemas, lazySchemas } from './lazy-schemas.js';
import { installListenerSurfaces } from './listeners.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerCoreRoutes } from './routes/core.js';
import { registerEventRoutes } from './routes/events.js';
import { registerHealthRoutes, setupMetrics } from './routes/health.js';
import { registerOidcRoutes } from './routes/oidc.js';
import { registerSessionRoutes } from './routes/session.js';
import { registerUserRoutes } from './routes/users.js';
import type { PemPair } from './tls.js';

export interface BuildAppOptions {
  /** Serve the web console's static files from this directory when it exists. */
  consoleDir?: string;
  /** Serve HTTPS with this key pair (`http.tls`, read by loadTlsPair). */
  tls?: PemPair;
}

/**
 * Builds the Fastify app over a hub: core surfaces (health, metrics, OpenAPI, events, devices, groups,
 * actions, keys) and every module's routes, each as its own plugin. Every route whose pattern is under
 * `/api` requires an API key unless it is declared `config: { auth: 'public' }` (auth.ts).
 */
export async function buildApp(hub: Hub, opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { config } = hub;
  const timeouts = serverTimeouts(config.http);
  // Route schemas compile on first use or in the background once the hub listens (lazy-schemas.ts).
  const schemas = lazySchemas();
  const app = Fastify({
    loggerInstance: hub.logger as unknown as FastifyBaseLogger,
    bodyLimit: config.http.bodyLimit,
    trustProxy: config.http.trustProxy,
    requestTimeout: timeouts.requestTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    // The header timeout and how often Node checks them (serverTimeouts): on the server itself.
    ...(opts.tls
      ? {
          https: {
            ...opts.tls,
            headersTimeout: timeouts.headersTimeout,
            connectionsCheckingInterval: timeouts.connectionsCheckingInterval,
          },
        }
      : {
          http: {
            headersTimeout: timeouts.headersTimeout,
            connectionsCheckingInterval: timeouts.connectionsCheckingInterval,
          },
        }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    schemaController: { compilersFactory: schemas.compilersFactory },
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: 'array',
        useDefaults: true,
        allErrors: false,
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  attachLazySchemas(app, schemas);

  limitConnectionsPerAddress(app.server, config.http.maxConnectionsPerAddress);

  // Before any route is registered: every route is stamped with its listener (listeners.ts), checked
  // before its auth policy and access table (auth.ts, access.ts).
  installListenerSurfaces(app, config);
  installAuth(app, hub.apiKeys, {
    users: hub.stores.users,
    access: { senderGroups: hub.config.auth.senderGroups },
    audit: hub.audit,
  });

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });

  await app.register(formbody, { bodyLimit: config.http.bodyLimit });
  // JSON bodies: nesting is bounded before parsing (a body nested 100,000 deep answered 500).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(
        null,
        parseJsonBody(String(body), { maxDepth: config.http.maxJsonDepth, code: 'REQUEST_INVALID_JSON' }),
      );
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  // Plain-text and XML bodies arrive as strings (Call XML answers, phone callbacks).
  app.addContentTypeParser(
    ['text/plain', 'text/xml', 'application/xml'],
    { parseAs: 'string' },
    (_req, body, done) => done(null, body),
  );

  // Ajv coerces `?after=1e400` to Infinity and lets it through `maximum`: refuse numbers that overflow.
  app.addHook('preValidation', async (req) => {
    const q = req.query;
    if (!q || typeof q !== 'object') return;
    for (const [k, v] of Object.entries(q as Record<string, unknown>)) {
      for (const one of Array.isArray(v) ? v : [v]) {
        if (typeof one === 'string' && /^\s*[+-]?(\d|\.\d)/.test(one) && /e|\d{309}/i.test(one)) {
          const n = Number(one);
          if (!Number.isNaN(n) && !Number.isFinite(n))
            throw new ValidationError('REQUEST_INVALID', `querystring.${k}: number out of range`, {
              field: `querystring.${k}`,
            });
        }
      }
    }
  });

  app.setErrorHandler((err: FastifyError | SwitchboardError, req, reply) => {
    if (err instanceof SwitchboardError) {
      if (err.status >= 500) req.log.warn({ err }, 'request failed');
      return reply.status(err.status).send({ error: err.toJSON() });
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const v = fe.validation[0];
      const field = [fe.validationContext, ...(v?.instancePath ?? '').split('/').filter(Boolean)]
        .filter(Boolean)
        .join('.');
      return reply.status(400).send({
        error: {
          code: 'REQUEST_INVALID',
          message: `${field || 'request'}: ${v?.message ?? fe.message}`,
          field,
        },
      });
    }
    if (fe.statusCode && fe.statusCode < 500) {
      return reply
        .status(fe.statusCode)
        .send({ error: { code: fe.code ?? 'REQUEST_INVALID', message: fe.message } });
    }
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
  app.setNotFoundHandler((req, reply) => {
    reply
      .status(404)
      .send({ error: { code: 'NOT_FOUND', message: `no route for ${req.method} ${req.url.split('?')[0]}` } });
  });

  setupMetrics(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Switchboard API',
        version: VERSION,
        description: 'Devices, actions, events, broadcasts and more. Send `Authorization: Bearer <API key>`.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
    hideUntagged: false,
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: true });

  registerHealthRoutes(app, hub);
  await app.register(async (scope) => {
    registerEventRoutes(scope, hub);
    registerCoreRoutes(scope, hub);
    registerSessionRoutes(scope, hub);
    registerUserRoutes(scope, hub);
    registerOidcRoutes(scope, hub);
    registerAuditRoutes(scope, hub);
  });
  for (const m of hub.modules) {
    if (!m.routes) continue;
    await app.register(async (scope) => {
      await m.routes!(scope, hub);
    });
  }
  if (opts.consoleDir) {
    const { registerConsole } = await import('./routes/console.js');
    await registerConsole(app, opts.consoleDir);
  }
  return app;
}
