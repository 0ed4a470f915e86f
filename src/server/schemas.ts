import { Type } from 'typebox';

/**
 * Response schemas shared by the core routes and every module's routes (they become the OpenAPI
 * document). One definition each, so the documented error body and action result cannot drift apart.
 */

/** The body of every API error: `{ error: { code, message, field? } }` (see `src/core/errors.ts`). */
export const ErrorSchema = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), field: Type.Optional(Type.String()) }),
});

/** The usual error responses of a route, for `response: { 200: …, ...errorResponses }`. */
export const errorResponses = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema };

/** An `ActionResult` (`src/core/driver.ts`) as the API returns it. */
export const ActionResultSchema = Type.Object({
  ok: Type.Boolean(),
  outcome: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  data: Type.Optional(Type.Unknown()),
  retryable: Type.Optional(Type.Boolean()),
});
