import type { SwaggerTransform } from '@fastify/swagger';
import type { FastifyReply, FastifySchema } from 'fastify';
import { type Static, type TSchema, type TUnsafe, Type } from 'typebox';

/**
 * Response schemas shared by the core routes and every module's routes (they become the OpenAPI
 * document). One definition each, so the documented error body and action result cannot drift apart.
 *
 * Response schemas are also Fastify's serializers: an object schema without `additionalProperties: true`
 * drops every property it does not name. Records the hub may grow (devices, broadcasts, incidents) are
 * therefore documented with `Open(...)`, so a new field reaches the client before its documentation does;
 * test/server/openapi-contract.test.ts checks that serialization changes nothing.
 */

const ErrorBody = {
  error: Type.Object({
    code: Type.String({ description: 'Stable machine-readable code (`DEVICE_NOT_FOUND`).' }),
    message: Type.String({ description: 'What is wrong, naming the field; never a secret.' }),
    field: Type.Optional(Type.String({ description: 'Dotted path of the offending field.' })),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
};

/** The body of every API error: `{ error: { code, message, field?, details? } }` (see `src/core/errors.ts`). */
export const ErrorSchema = Type.Object(ErrorBody, {
  examples: [{ error: { code: 'DEVICE_NOT_FOUND', message: 'no device "lobby"', field: 'id' } }],
});

/** What each error status means on this API (the response's description in the OpenAPI document). */
const ERROR_STATUS = {
  400: 'Invalid request: the error names the bad field',
  401: 'No API key or session token, or one that is invalid, revoked or expired',
  403: 'The credential may not do this',
  404: 'Nothing with this id (or no such route)',
  409: 'Conflicts with the current state',
  413: 'Body larger than http.bodyLimit',
  415: 'Unsupported content type',
  429: 'Too many attempts: retry after the Retry-After header',
  502: 'The device or peer refused or failed',
  503: 'Not ready, or the hub is shutting down',
  504: 'The device or peer did not answer in time',
} as const;
export type ErrorStatus = keyof typeof ERROR_STATUS;

/** Error responses for the given statuses, each the project error body with its own description. */
export function errors<S extends ErrorStatus>(...statuses: S[]): { [K in S]: typeof ErrorSchema } {
  return Object.fromEntries(
    statuses.map((s) => [s, Type.Object(ErrorBody, { description: ERROR_STATUS[s] })]),
  ) as { [K in S]: typeof ErrorSchema };
}

/** The usual error responses of a route, for `response: { 200: …, ...errorResponses }`. */
export const errorResponses = errors(400, 401, 404, 409);

/** A response schema with its description (else the document says "Default Response"). */
export function described<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description } as T;
}

/** `204 No Content`. */
export function noContent(description: string): ReturnType<typeof Type.Null> {
  return Type.Null({ description });
}

/**
 * Answers `204 No Content` without a body. A route typed by its schemas (TypeBox type provider) sees the
 * `noContent` schema as `null` and would demand `send(null)`, which serializes `"null"` before Fastify drops
 * it; this sends nothing, as `reply.status(204).send()` always did.
 */
export function sendNoContent(reply: FastifyReply): FastifyReply {
  return reply.status(204).send();
}

/**
 * An object whose listed properties are documented and whose other properties are passed through
 * (a response record; see the note at the top).
 */
export function Open<P extends Parameters<typeof Type.Object>[0]>(
  properties: P,
  options: { description?: string } = {},
): ReturnType<typeof Type.Object<P>> {
  return Type.Object(properties, { ...options, additionalProperties: true });
}

/**
 * `T | null`. A schema with a single `type` gets OpenAPI 3.0's `nullable: true` (the document is 3.0.3,
 * where `{ type: 'null' }` does not exist; Ajv and fast-json-stringify both read it). Not `anyOf`:
 * fast-json-stringify serializes an `anyOf` by running an Ajv validator on every value, compiled on the
 * first response that reaches it (≈ 18 ms each: the first incident list after a start paid 135 ms of them
 * while the 911 alert was going out). Other schemas (a union) stay `anyOf [T, null]`.
 */
export function Nullable<T extends TSchema>(schema: T): TUnsafe<Static<T> | null> {
  if (typeof (schema as { type?: unknown }).type === 'string')
    return Type.Unsafe<Static<T> | null>({ ...schema, nullable: true });
  return Type.Unsafe<Static<T> | null>(Type.Union([schema, Type.Null()]));
}

/**
 * Route config that documents `schema` as the request body while leaving validation to the route's
 * service, which checks the same schema object and answers with its own error codes (`DEVICE_INVALID`,
 * `RULE_INVALID`, …): `config: { ...serviceValidatedBody(DeviceInputSchema) }`.
 */
export function serviceValidatedBody(schema: object): { swaggerTransform: SwaggerTransform<FastifySchema> } {
  return {
    swaggerTransform: ({ schema: routeSchema, url }) => ({ schema: { ...routeSchema, body: schema }, url }),
  };
}

/**
 * A service-validated body (see `serviceValidatedBody`) with the id from the URL: `{ ...body, id }` for
 * whatever the body is, so the service sees and refuses it exactly as before (a text body spreads its
 * characters like `{ ...'ab' }`; null, numbers and booleans spread nothing).
 */
export function bodyWithId(body: unknown, id: string): Record<string, unknown> & { id: string } {
  const fields = typeof body === 'string' ? { ...body.split('') } : typeof body === 'object' ? body : {};
  return { ...fields, id };
}

/** An `ActionResult` (`src/core/driver.ts`) as the API returns it. */
export const ActionResultSchema = Type.Object({
  ok: Type.Boolean(),
  outcome: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  data: Type.Optional(Type.Unknown()),
  retryable: Type.Optional(Type.Boolean()),
});
