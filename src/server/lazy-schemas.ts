import AjvCompiler from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';
import { errorMessage, SwitchboardError } from '../core/errors.js';

/**
 * Route schemas compiled when first used instead of while the app starts.
 *
 * Fastify compiles every route's validator (Ajv) and response serializer (fast-json-stringify) before it
 * listens: ≈ 150 ms of a cold start on a quiet machine (issue 16) for a few hundred routes, most of which
 * (OpenAPI pages, audit, reports) a hub never serves in its first seconds. These factories wrap Fastify's
 * own (the same Ajv options and external schemas): each route part gets a stub that compiles on its first
 * request, and `warm()` compiles the rest in the background after the hub listens, one schema per
 * event-loop turn, so that a schema error still shows up right after start and the first request to each
 * route does not pay for it.
 *
 * Header schemas are given to the compiler with their property names in lower case, as Fastify does for its
 * default compiler (a compiler factory counts as "custom" to Fastify, which then passes them as written).
 */

type Validate = ((data: unknown, ctx?: unknown) => unknown) & { errors?: unknown; schemaEnv?: unknown };
type Serialize = (doc: unknown) => string;
interface ValidatorRoute {
  schema?: unknown;
  method: string;
  url: string;
  httpPart?: string;
}
interface SerializerRoute {
  schema?: unknown;
  method: string;
  url: string;
  httpStatus: string;
}
type ValidatorBuilder = (externalSchemas: unknown, options?: unknown) => (route: ValidatorRoute) => Validate;
type SerializerBuilder = (
  externalSchemas: unknown,
  options?: unknown,
) => (route: SerializerRoute) => Serialize;

type CompilersFactory = NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>;

/** Compilers to hand Fastify as `schemaController.compilersFactory`, and the background warm-up. */
export interface LazySchemas {
  compilersFactory: CompilersFactory;
  /** Number of route schemas not compiled yet. */
  pending(): number;
  /**
   * Compiles every schema not compiled yet, one per event-loop turn (`setImmediate`), until done or
   * `signal` aborts. Rejects with the first compile error (named by method, URL and part).
   */
  warm(signal?: AbortSignal): Promise<void>;
}

/** Lower-cases the property names of a header schema (HTTP header names are case-insensitive). */
function lowerCaseHeaders(schema: unknown): unknown {
  if (!schema || typeof schema !== 'object' || Object.getPrototypeOf(schema) !== Object.prototype)
    return schema;
  const s = schema as { properties?: Record<string, unknown>; required?: unknown };
  if (!s.properties) return schema;
  const out: Record<string, unknown> = { ...s };
  out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k.toLowerCase(), v]));
  if (Array.isArray(s.required)) out.required = s.required.map((r) => String(r).toLowerCase());
  return out;
}

/** A route schema that does not compile (a bug in the route's declaration: HTTP 500 if a request meets it). */
function schemaError(what: string, method: string, url: string, e: unknown): SwitchboardError {
  return new SwitchboardError('ROUTE_SCHEMA_INVALID', `${method} ${url} ${what}: ${errorMessage(e)}`, {
    details: { method, url, part: what },
    cause: e,
  });
}

/** Runs `compile` once; a failure is thrown (again at every call) as ROUTE_SCHEMA_INVALID. */
function once<T>(compile: () => T, what: string, method: string, url: string): () => T {
  let real: T | undefined;
  return () => {
    if (real === undefined) {
      try {
        real = compile();
      } catch (e) {
        throw schemaError(what, method, url, e);
      }
    }
    return real;
  };
}

export function lazySchemas(): LazySchemas {
  const defaultValidator = AjvCompiler() as unknown as ValidatorBuilder;
  const defaultSerializer = SerializerSelector() as unknown as SerializerBuilder;
  /** Compile thunks not run yet (a thunk removes itself when it runs). */
  const todo = new Set<() => void>();

  const buildValidator: ValidatorBuilder = (externalSchemas, options) => {
    const compile = defaultValidator(externalSchemas, options);
    return (route) => {
      const r = route.httpPart === 'headers' ? { ...route, schema: lowerCaseHeaders(route.schema) } : route;
      let real: Validate | undefined;
      const get = once(() => compile(r), route.httpPart ?? 'request', route.method, route.url);
      const thunk = () => {
        todo.delete(thunk);
        real = get();
      };
      todo.add(thunk);
      const lazy: Validate = (data, ctx) => {
        if (!real) thunk();
        return (real as Validate)(data, ctx);
      };
      // Fastify reads `errors` after a failed call, and passes the parent object (so that Ajv can coerce a
      // root value) only to functions that have `schemaEnv`.
      Object.defineProperty(lazy, 'errors', { get: () => real?.errors });
      lazy.schemaEnv = true;
      return lazy;
    };
  };

  const buildSerializer: SerializerBuilder = (externalSchemas, options) => {
    const compile = defaultSerializer(externalSchemas, options);
    return (route) => {
      let real: Serialize | undefined;
      const get = once(() => compile(route), `response ${route.httpStatus}`, route.method, route.url);
      const thunk = () => {
        todo.delete(thunk);
        real = get();
      };
      todo.add(thunk);
      return (doc) => {
        if (!real) thunk();
        return (real as Serialize)(doc);
      };
    };
  };

  return {
    // Fastify's types describe Ajv's and fast-json-stringify's own signatures; these are call-compatible.
    compilersFactory: { buildValidator, buildSerializer } as unknown as CompilersFactory,
    pending: () => todo.size,
    async warm(signal) {
      while (todo.size > 0 && !signal?.aborted) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        const next = todo.values().next().value;
        next?.();
      }
    },
  };
}

const byApp = new WeakMap<object, LazySchemas>();

/** Remembers the lazy compilers of an app (buildApp), for warmRouteSchemas. */
export function attachLazySchemas(app: object, lazy: LazySchemas): void {
  byApp.set(app, lazy);
}

/** The app's route schemas not compiled yet (0 for an app built without lazy compilers). */
export function pendingRouteSchemas(app: object): number {
  return byApp.get(app)?.pending() ?? 0;
}

/** Compiles the app's remaining route schemas in the background (see LazySchemas.warm). */
export function warmRouteSchemas(app: object, signal?: AbortSignal): Promise<void> {
  return byApp.get(app)?.warm(signal) ?? Promise.resolve();
}
