import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { ApiKeyService, VerifiedKey } from '../core/apikeys.js';

/**
 * Who made an authenticated `/api` request: an API key (`kind: 'key'`, `name` = the key's name, `id` =
 * its id, `config` for `auth.apiKeys`) or a session token from `POST /api/session` (`kind: 'session'`,
 * `name` = the user name, `id` = the token's key id).
 */
export interface Principal {
  kind: 'key' | 'session';
  name: string;
  id: string;
}

/** How a route is protected, decided once when the route is registered (never from the URL text). */
export type RouteAuth = 'key' | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `public` lets an `/api` route answer without a key (sign-in, docs); everything else under /api is `key`. */
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    /** Set by the auth hook on every route whose config says `auth: 'key'`; undefined on public routes. */
    principal: Principal | undefined;
    /** The verified key itself (`name` is `session:<user>` for sessions); prefer `principal`. */
    apiKey: VerifiedKey | undefined;
  }
  interface FastifyInstance {
    /** Every registered route (method, URL pattern, auth), for the route-walk tests and docs. */
    routeTable: RouteEntry[];
  }
}

export interface RouteEntry {
  method: string;
  url: string;
  auth: RouteAuth;
}

/** The principal of a verified key: `session:<user>` keys are sessions of that user. */
export function principalOf(who: { id: string; name: string }): Principal {
  return who.name.startsWith('session:')
    ? { kind: 'session', name: who.name.slice('session:'.length), id: who.id }
    : { kind: 'key', name: who.name, id: who.id };
}

/** True for a route URL pattern the API-key rule covers: `/api` and everything below it. */
export function isApiRoute(url: string): boolean {
  return url === '/api' || url.startsWith('/api/');
}

function isDocsRoute(url: string): boolean {
  return url === '/api/docs' || url.startsWith('/api/docs/');
}

/**
 * Installs API-key auth. Must be called before any route is registered: the `onRoute` hook stamps every
 * route with its `auth` policy (`key` for `/api` patterns unless the route says `public`), and the
 * `onRequest` hook (which runs after the router matched) reads the matched route's policy. So however a
 * path is spelled (`/%61pi/keys`, `/api/./keys`), the decision follows the handler that would run.
 */
export function installAuth(app: FastifyInstance, keys: ApiKeyService): void {
  const table: RouteEntry[] = [];
  app.decorate('routeTable', table);
  app.decorateRequest('principal', undefined);
  app.decorateRequest('apiKey', undefined);
  app.addHook('onRoute', (route: RouteOptions) => {
    const declared = route.config?.auth;
    const auth: RouteAuth = declared ?? (isApiRoute(route.url) && !isDocsRoute(route.url) ? 'key' : 'public');
    route.config = { ...(route.config ?? {}), auth };
    for (const m of Array.isArray(route.method) ? route.method : [route.method])
      table.push({ method: m, url: route.url, auth });
  });
  app.addHook('onRequest', async (req: FastifyRequest) => {
    if (req.routeOptions.config?.auth !== 'key') return;
    const who = keys.verify(bearer(req));
    req.apiKey = who;
    req.principal = principalOf(who);
  });
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive). */
export function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m?.[1];
}

/** The local user a key created by this request acts for: the signed-in user, or the key's own creator. */
export function creatorOf(req: FastifyRequest): string | null {
  if (req.principal?.kind === 'session') return req.principal.name;
  return req.apiKey?.createdBy ?? null;
}
