import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';

/**
 * Walks every /api operation of /api/docs/json: each documents its request body (POST/PUT/PATCH), its
 * answers with a described schema (no "Default Response"), 400 when it takes input, 401 unless public.
 */

type Op = {
  parameters?: unknown[];
  requestBody?: { content?: Record<string, { schema?: object }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: object }> }>;
  security?: unknown[];
};

/** POST operations that take no body, and why. */
const BODYLESS: Record<string, string> = {
  'POST /api/broadcasts/{id}/cancel': 'the id says what to cancel',
  'POST /api/pubsub/accounts/{sid}/rotate': 'the sid says which token to rotate',
};

let hub: TestHub;
let ops: Array<[string, Op]> = [];

beforeAll(async () => {
  hub = await startTestHub();
  const doc = (await hub.api<{ paths: Record<string, Record<string, Op>> }>('GET', '/api/docs/json')).body;
  ops = Object.entries(doc.paths)
    .filter(([p]) => p.startsWith('/api/'))
    .flatMap(([p, byMethod]) =>
      Object.entries(byMethod).map(([m, op]): [string, Op] => [`${m.toUpperCase()} ${p}`, op]),
    );
});
afterAll(async () => {
  await hub?.close();
});

function problemsOf(name: string, op: Op): string[] {
  const out: string[] = [];
  const [method] = name.split(' ');
  const hasBody = Object.values(op.requestBody?.content ?? {}).some(
    (c) => c.schema && Object.keys(c.schema).length > 0,
  );
  if (['POST', 'PUT', 'PATCH'].includes(method!) && !hasBody && !(name in BODYLESS))
    out.push(`${name}: no request body schema`);
  const responses = op.responses ?? {};
  const statuses = Object.keys(responses);
  // Success is a 2xx, or a redirect for the browser steps of a directory sign-in.
  if (!statuses.some((s) => s.startsWith('2') || s === '302')) out.push(`${name}: no 2xx response`);
  for (const [status, r] of Object.entries(responses)) {
    if (!r.description || r.description === 'Default Response')
      out.push(`${name}: ${status} has no description`);
    const schemas = Object.values(r.content ?? {}).filter(
      (c) => c.schema && Object.keys(c.schema).length > 0,
    );
    if (status !== '204' && schemas.length === 0) out.push(`${name}: ${status} has no schema`);
  }
  const takesInput = hasBody || (op.parameters?.length ?? 0) > 0;
  if (takesInput && !statuses.includes('400')) out.push(`${name}: takes input but documents no 400`);
  const isPublic = Array.isArray(op.security) && op.security.length === 0;
  if (!isPublic && !statuses.includes('401')) out.push(`${name}: needs a key but documents no 401`);
  return out;
}

describe('OpenAPI document completeness', () => {
  it('documents many /api operations (the walk is not vacuous)', () => {
    expect(ops.length).toBeGreaterThan(60);
  });

  it('every /api operation has a body schema, described typed answers, 400 and 401', () => {
    expect(ops.flatMap(([name, op]) => problemsOf(name, op))).toEqual([]);
  });

  it('the walk catches an untyped route', () => {
    const bad: Op = { responses: { '200': { description: 'Default Response' } } };
    expect(problemsOf('POST /api/x/{id}', { ...bad, parameters: [{}] })).toEqual([
      'POST /api/x/{id}: no request body schema',
      'POST /api/x/{id}: 200 has no description',
      'POST /api/x/{id}: 200 has no schema',
      'POST /api/x/{id}: takes input but documents no 400',
      'POST /api/x/{id}: needs a key but documents no 401',
    ]);
  });

  it('the named defects of issue 17 are fixed', () => {
    const op = (name: string) => ops.find(([n]) => n === name)?.[1];
    const body = (name: string) =>
      op(name)?.requestBody?.content?.['application/json']?.schema as
        | { properties?: Record<string, unknown>; required?: string[] }
        | undefined;
    expect(body('POST /api/devices')?.required).toEqual(expect.arrayContaining(['kind', 'address']));
    expect(Object.keys(body('PATCH /api/devices/{id}')?.properties ?? {})).toEqual(
      expect.arrayContaining(['name', 'address', 'groups', 'location', 'settings']),
    );
    expect(body('PUT /api/rules/{id}')?.required).toEqual(expect.arrayContaining(['event', 'actions']));
    expect(body('PUT /api/templates/{id}')?.required).toEqual(expect.arrayContaining(['title', 'text']));
    expect(Object.keys(op('POST /api/locations/import')?.requestBody?.content ?? {})).toEqual(
      expect.arrayContaining(['text/csv', 'application/json']),
    );
    expect(Object.keys(op('POST /api/broadcasts')?.responses ?? {})).toContain('201');
    expect(Object.keys(op('POST /api/broadcasts')?.responses ?? {})).not.toContain('200');
    expect(Object.keys(op('POST /api/incidents/{id}/ack')?.responses ?? {})).toContain('404');
  });
});
