import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { SwitchboardError } from '../../src/core/errors.js';
import {
  attachLazySchemas,
  lazySchemas,
  pendingRouteSchemas,
  warmRouteSchemas,
} from '../../src/server/lazy-schemas.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

/** A Fastify app with the lazy compilers and the hub's Ajv options (app.ts). */
function lazyApp() {
  const schemas = lazySchemas();
  const app = Fastify({
    schemaController: { compilersFactory: schemas.compilersFactory },
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
  });
  attachLazySchemas(app, schemas);
  return app;
}

describe('route schemas compiled on first use', () => {
  it('validates, coerces and serializes as Fastify would, compiling each schema once when first needed', async () => {
    const app = lazyApp();
    app.post(
      '/x',
      {
        schema: {
          querystring: {
            type: 'object',
            properties: {
              n: { type: 'integer', maximum: 10 },
              tags: { type: 'array', items: { type: 'string' } },
            },
          },
          headers: {
            type: 'object',
            properties: { 'X-Site': { type: 'string', minLength: 2 } },
            required: ['X-Site'],
          },
          body: {
            type: 'object',
            properties: { a: { type: 'string' }, d: { type: 'integer', default: 7 } },
            required: ['a'],
            additionalProperties: false,
          },
          response: { 200: { type: 'object', properties: { n: { type: 'integer' }, tags: {}, d: {} } } },
        },
      },
      async (req) => {
        const q = req.query as { n: number; tags: string[] };
        return { n: q.n, tags: q.tags, d: (req.body as { d: number }).d, secret: 'not in the schema' };
      },
    );
    await app.ready();
    // querystring, headers, body and one response: nothing compiled before the first request.
    expect(pendingRouteSchemas(app)).toBe(4);

    const post = (url: string, payload: object, headers: Record<string, string> = { 'x-site': 'HQ' }) =>
      app.inject({ method: 'POST', url, headers, payload });
    const ok = await post('/x?n=3&tags=a', { a: 'b' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ n: 3, tags: ['a'], d: 7 });
    expect(pendingRouteSchemas(app)).toBe(0);

    const tooBig = await post('/x?n=11', { a: 'b' });
    expect(tooBig.statusCode).toBe(400);
    expect(tooBig.json().message).toMatch(/querystring\/n must be <= 10/);
    const noHeader = await post('/x', { a: 'b' }, {});
    expect(noHeader.statusCode).toBe(400);
    expect(noHeader.json().message).toMatch(/x-site/);
    const extra = await post('/x', { a: 'b', z: 1 });
    expect(extra.statusCode).toBe(400);
    await app.close();
  });

  it('compiles the rest in the background; a schema that does not compile is reported with its route', async () => {
    const app = lazyApp();
    app.get(
      '/fine',
      { schema: { querystring: { type: 'object', properties: { q: { type: 'string' } } } } },
      async () => 'ok',
    );
    app.get(
      '/broken',
      { schema: { querystring: { type: 'object', properties: { q: { type: 'nonsense' } } } } },
      async () => 'ok',
    );
    await app.ready();
    expect(pendingRouteSchemas(app)).toBe(4); // GET and its HEAD route
    const err = await warmRouteSchemas(app).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SwitchboardError);
    expect((err as SwitchboardError).code).toBe('ROUTE_SCHEMA_INVALID');
    expect((err as SwitchboardError).message).toContain('GET /broken querystring');
    expect((await app.inject({ url: '/fine?q=1' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/broken?q=1' })).statusCode).toBe(500);
    await app.close();
  });

  it('stops warming when aborted', async () => {
    const app = lazyApp();
    for (let i = 0; i < 5; i++)
      app.get(`/r${i}`, { schema: { querystring: { type: 'object' } } }, async () => 'ok');
    await app.ready();
    const abort = new AbortController();
    abort.abort();
    await warmRouteSchemas(app, abort.signal);
    expect(pendingRouteSchemas(app)).toBe(10); // GET and its HEAD route
    await app.close();
  });
});

describe("the hub's routes", () => {
  let hub: TestHub | undefined;
  afterAll(() => hub?.close());

  it('every route schema of the hub compiles (the warm-up after listening finds no error)', async () => {
    hub = await startTestHub();
    await warmRouteSchemas(hub.app);
    expect(pendingRouteSchemas(hub.app)).toBe(0);
    expect((await hub.api('GET', '/api/devices?limit=1')).status).toBe(200);
    expect((await hub.api('GET', '/api/devices?limit=0')).status).toBe(400);
  });
});
