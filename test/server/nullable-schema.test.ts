import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { Nullable } from '../../src/server/schemas.js';

/**
 * `Nullable` is OpenAPI 3.0's `nullable: true` for a schema with one type: valid in the 3.0.3 document,
 * read by Ajv (requests, the contract test) and by fast-json-stringify (responses) without the per-value
 * Ajv validation an `anyOf` costs; a union stays `anyOf [T, null]`.
 */
describe('Nullable', () => {
  const record = Type.Object({
    at: Nullable(Type.String({ format: 'date-time' })),
    by: Nullable(Type.Object({ name: Type.String() })),
    either: Nullable(Type.Union([Type.String(), Type.Integer()])),
  });

  it('is nullable: true for one type, anyOf for a union', () => {
    expect(record.properties.at).toMatchObject({ type: 'string', format: 'date-time', nullable: true });
    expect(record.properties.at).not.toHaveProperty('anyOf');
    expect(record.properties.by).toMatchObject({ type: 'object', nullable: true });
    expect(record.properties.either).toMatchObject({
      anyOf: [{ anyOf: expect.any(Array) }, { type: 'null' }],
    });
  });

  it('Ajv accepts null and the type, and refuses anything else', () => {
    const ajv = new Ajv({ strict: false });
    addFormats.default(ajv);
    const check = ajv.compile(record);
    expect(check({ at: null, by: null, either: null })).toBe(true);
    expect(check({ at: '2026-12-03T08:00:00Z', by: { name: 'x' }, either: 3 })).toBe(true);
    expect(check({ at: 5, by: null, either: null })).toBe(false);
    expect(check({ at: null, by: 'x', either: null })).toBe(false);
    expect(check({ at: null, by: null, either: true })).toBe(false);
  });

  it('fast-json-stringify writes null and values unchanged', () => {
    // Fastify's own serializer compiler, as the hub's routes use it.
    const write = SerializerSelector()()({ schema: record, method: 'GET', url: '/x', httpStatus: '200' });
    for (const v of [
      { at: null, by: null, either: null },
      { at: '2026-12-03T08:00:00.000Z', by: { name: 'Ann "A"' }, either: 'x' },
      { at: '2026-12-03T08:00:00.000Z', by: { name: 'B' }, either: 7 },
    ])
      expect(JSON.parse(write(v))).toEqual(v);
  });
});
