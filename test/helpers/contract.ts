import { isDeepStrictEqual } from 'node:util';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** One answer of a real hub, as the client got it, and the value the route returned before serialization. */
export interface ResponseSample {
  method: string;
  /** The matched route pattern (`/api/devices/:id`). */
  route: string;
  url: string;
  status: number;
  contentType: string;
  body: string;
  /** The route's return value as JSON (`undefined` when it sent a string, a buffer or nothing). */
  returned?: string;
}

/**
 * `prepareApp` for startTestHub that records every answer (all routes, all statuses) into `samples`:
 * the API contract test checks them against the OpenAPI document.
 */
export function recordResponses(samples: ResponseSample[]): (app: FastifyInstance) => void {
  const returned = new WeakMap<FastifyRequest, string>();
  return (app) => {
    app.addHook('preSerialization', async (req, _reply, payload) => {
      returned.set(req, JSON.stringify(payload));
      return payload;
    });
    app.addHook('onSend', async (req, reply, payload) => {
      const route = req.routeOptions.url;
      if (route === undefined) return payload;
      samples.push({
        method: req.method,
        route,
        url: req.url,
        status: reply.statusCode,
        contentType: String(reply.getHeader('content-type') ?? ''),
        body: typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString() : '',
        ...(returned.has(req) ? { returned: returned.get(req)! } : {}),
      });
      return payload;
    });
  };
}

/** `/api/devices/:id` → `/api/devices/{id}` (the document's path). */
export function openapiPath(route: string): string {
  return route.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{*}');
}

type Operation = {
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  requestBody?: unknown;
};
export type OpenApiDoc = { paths: Record<string, Record<string, Operation>> };

const pointer = (...parts: string[]) =>
  parts.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

/**
 * Checks recorded answers against an OpenAPI document: the route and its status are documented, a JSON
 * answer validates against the documented schema (ajv), and serialization changed nothing (a response
 * schema that drops or coerces a field the route returned is a contract bug too). Returns the problems.
 */
export function checkSamples(doc: OpenApiDoc, samples: ResponseSample[]): string[] {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(doc, 'openapi');
  const cache = new Map<string, ValidateFunction | undefined>();
  const problems = new Set<string>();
  for (const s of samples) {
    const path = openapiPath(s.route);
    const op = doc.paths[path]?.[s.method.toLowerCase()];
    const what = `${s.method} ${s.url} → ${s.status}`;
    if (!op) {
      problems.add(`${s.method} ${path}: not in the document (${what})`);
      continue;
    }
    const responses = op.responses ?? {};
    const status = String(s.status);
    const documented = responses[status] ?? responses[`${status[0]}XX`] ?? responses.default;
    if (!documented) {
      problems.add(`${s.method} ${path}: status ${status} not documented (${what})`);
      continue;
    }
    if (!/json/.test(s.contentType) || s.body === '') continue;
    const key = `${path} ${s.method} ${status}`;
    if (!cache.has(key)) {
      const st = responses[status] ? status : responses[`${status[0]}XX`] ? `${status[0]}XX` : 'default';
      const hasSchema = documented.content?.['application/json']?.schema !== undefined;
      cache.set(
        key,
        hasSchema
          ? ajv.getSchema(
              `openapi#/${pointer('paths', path, s.method.toLowerCase(), 'responses', st, 'content', 'application/json', 'schema')}`,
            )
          : undefined,
      );
    }
    const validate = cache.get(key);
    if (!validate) {
      problems.add(`${s.method} ${path}: ${status} answers JSON but documents no JSON schema`);
      continue;
    }
    const body: unknown = JSON.parse(s.body);
    if (!validate(body)) {
      problems.add(
        `${what}: answer does not match the document: ${ajv.errorsText(validate.errors)} in ${s.body.slice(0, 300)}`,
      );
    }
    if (s.returned !== undefined && !isDeepStrictEqual(JSON.parse(s.returned), body)) {
      problems.add(
        `${what}: the response schema changed the answer (dropped or coerced a field): returned ${s.returned.slice(0, 300)}, sent ${s.body.slice(0, 300)}`,
      );
    }
  }
  return [...problems];
}

/** A document path template (`/api/devices/{id}`) as a regular expression over concrete paths. */
function templateRegex(template: string): RegExp {
  const parts = template.split(/\{[^}]+\}/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[^/]+')}$`);
}

/**
 * The calls a browser page made to the hub's API, as ResponseSamples for checkSamples: the route pattern
 * is the document's path the URL matches (the most literal one when several match), so a call the document
 * does not describe is reported as "not in the document".
 */
export function samplesFromCalls(
  doc: OpenApiDoc,
  calls: Array<{ method: string; url: string; status: number; contentType: string; body: string }>,
): ResponseSample[] {
  const templates = Object.keys(doc.paths)
    .map((t) => ({ t, re: templateRegex(t), literal: t.replace(/\{[^}]+\}/g, '').length }))
    .sort((a, b) => b.literal - a.literal);
  return calls.map((c) => {
    const path = new URL(c.url).pathname;
    const hit = templates.find((x) => x.re.test(path) && doc.paths[x.t]?.[c.method.toLowerCase()]);
    const route = (hit?.t ?? path).replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
    return { method: c.method, route, url: path, status: c.status, contentType: c.contentType, body: c.body };
  });
}
