import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { type ApiKeyService, isSessionName, type VerifiedKey } from '../core/apikeys.js';
import type { AuditLog } from '../core/audit.js';
import { AuthError } from '../core/errors.js';
import {
  type Grant,
  type Permission,
  permissionsOf,
  ROLE_PERMISSIONS,
  ROLES,
  type Role,
} from '../core/roles.js';
import type { UserStore } from '../core/store.js';
import { type AccessContext, forbidden, policyOf, type RoutePolicy, UNLISTED } from './access.js';

/**
 * Who made an authenticated `/api` request: an API key (`kind: 'key'`, `name` = the key's name, `id` =
 * its id, `config` for `auth.apiKeys`) or a session token from `POST /api/session` (`kind: 'session'`,
 * `name` = the user name, `id` = the token's key id).
 */
export interface Principal {
  kind: 'key' | 'session';
  name: string;
  id: string;
  /** The role it acts with (a session: its user's current role), or null for a scoped key. */
  role: Role | null;
  /** A scoped key's permissions; null otherwise. */
  scopes: Permission[] | null;
  /** Everything it may do. */
  permissions: ReadonlySet<Permission>;
  /** Sessions: the sliding expiry after this request, and its absolute cap. */
  expiresAt?: string;
  absoluteExpiresAt?: string;
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
    /** The access policy of the matched `/api` route (server/access.ts); undefined elsewhere. */
    accessPolicy: RoutePolicy | undefined;
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

/**
 * The principal of a verified key: `session:<user>` keys are sessions of that user, who must still exist
 * and be enabled (their role is read now, so a role change applies to open sessions at once).
 */
export async function principalOf(who: VerifiedKey, users: Pick<UserStore, 'get'>): Promise<Principal> {
  const times = {
    ...(who.expiresAt ? { expiresAt: who.expiresAt } : {}),
    ...(who.absoluteExpiresAt ? { absoluteExpiresAt: who.absoluteExpiresAt } : {}),
  };
  if (isSessionName(who.name)) {
    const name = who.name.slice('session:'.length);
    const u = await users.get(name);
    if (!u || u.disabledAt)
      throw new AuthError('SESSION_REVOKED', `session of ${name} was ended (user-disabled); sign in again`, {
        details: { reason: 'user-disabled' },
      });
    const grant: Grant = { role: u.role, scopes: null };
    return { kind: 'session', name, id: who.id, ...grant, permissions: permissionsOf(grant), ...times };
  }
  const grant: Grant = { role: who.role, scopes: who.scopes };
  return { kind: 'key', name: who.name, id: who.id, ...grant, permissions: permissionsOf(grant), ...times };
}

/** "Allowed: admin, operator (permission `incidents:ack`)." for the OpenAPI description of a route. */
export function accessNote(policy: RoutePolicy): string {
  if (policy.allow === 'public') return 'No credential needed.';
  if (policy.allow === 'signed-in') return 'Allowed: any API key or session.';
  if (policy.allow === 'admin') return 'Allowed: admin.';
  const perms = policy.allow;
  const roles = ROLES.filter((r) => perms.some((p) => ROLE_PERMISSIONS[r].includes(p)));
  return `Allowed: ${roles.join(', ')} (permission ${perms.map((p) => `\`${p}\``).join(' or ')}; also keys with that scope).`;
}

/** Whether a principal passes a route's `allow` (not its body check). */
export function allows(policy: RoutePolicy, who: Principal | undefined): boolean {
  if (policy.allow === 'public') return true;
  if (!who) return false;
  if (policy.allow === 'signed-in') return true;
  if (policy.allow === 'admin') return who.role === 'admin' && who.scopes === null;
  return policy.allow.some((p) => who.permissions.has(p));
}

/**
 * Refuses (403 `FORBIDDEN_ESCALATION`) handing out more than the caller holds: a key or user role whose
 * permissions are not all the caller's, or the admin role by anyone but an admin (not a scoped key).
 */
export function assertMayGrant(caller: Principal | undefined, grant: Grant): void {
  const wanted = permissionsOf(grant);
  const ok =
    caller !== undefined &&
    (grant.role !== 'admin' || (caller.role === 'admin' && caller.scopes === null)) &&
    [...wanted].every((p) => caller.permissions.has(p));
  if (!ok)
    throw forbidden(
      'FORBIDDEN_ESCALATION',
      'you may not grant a role or scope with more permissions than your own',
      grant.scopes ? 'scopes' : 'role',
    );
}

export interface AuthOptions {
  users: Pick<UserStore, 'get'>;
  access: AccessContext;
  audit: AuditLog;
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
export function installAuth(app: FastifyInstance, keys: ApiKeyService, opts: AuthOptions): void {
  const table: RouteEntry[] = [];
  app.decorate('routeTable', table);
  app.decorateRequest('principal', undefined);
  app.decorateRequest('apiKey', undefined);
  app.decorateRequest('accessPolicy', undefined);
  app.addHook('onRoute', (route: RouteOptions) => {
    const declared = route.config?.auth;
    const auth: RouteAuth = declared ?? (isApiRoute(route.url) && !isDocsRoute(route.url) ? 'key' : 'public');
    route.config = { ...(route.config ?? {}), auth };
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) table.push({ method: m, url: route.url, auth });
    // The OpenAPI document says who may call the route (from the access table).
    const policy = isApiRoute(route.url) ? policyOf(String(methods[0]), route.url) : undefined;
    if (policy && route.schema && auth === 'key') {
      const note = accessNote(policy);
      const d = route.schema.description;
      route.schema = { ...route.schema, description: d ? `${d}\n\n${note}` : note };
    }
  });
  // Authentication, then the route's access policy (roles and scopes): both on the matched route.
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const url = req.routeOptions.url;
    if (url !== undefined && isApiRoute(url) && !isDocsRoute(url))
      req.accessPolicy = policyOf(req.method, url) ?? UNLISTED;
    if (req.routeOptions.config?.auth !== 'key') return;
    const who = await keys.verify(bearer(req), { renew: req.headers[BACKGROUND_HEADER] === undefined });
    req.apiKey = who;
    req.principal = await principalOf(who, opts.users);
    const policy = req.accessPolicy ?? UNLISTED;
    if (!allows(policy, req.principal))
      throw forbidden(
        'FORBIDDEN',
        `${req.principal.role ? `role ${req.principal.role}` : 'this scoped key'} may not ${req.method} ${url}`,
      );
  });
  // Checks that need the (validated) body, such as what a sender may broadcast.
  app.addHook('preHandler', async (req: FastifyRequest) => {
    const check = req.accessPolicy?.check;
    if (check && req.principal) check(req, req.principal.permissions, opts.access);
  });
  app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (req.accessPolicy) auditRequest(opts.audit, req, reply.statusCode, payload);
    return payload;
  });
}

const BODY_FACTS = [
  'role',
  'disabled',
  'priority',
  'template',
  'kind',
  'name',
  'title',
  'scopes',
  // click-to-dial: which number and key, from which phone (docs/click-to-dial.md)
  'number',
  'key',
  'deviceId',
] as const;

/** Small non-secret facts of a request for the audit trail (never passwords, keys or message text). */
function factsOf(req: FastifyRequest, status: number, payload: unknown): Record<string, unknown> {
  const facts: Record<string, unknown> = { status, route: `${req.method} ${req.routeOptions.url}` };
  const body = req.body;
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as Record<string, unknown>;
    for (const k of BODY_FACTS) {
      const v = b[k];
      if (typeof v === 'string') facts[k] = v.slice(0, 200);
      else if (typeof v === 'boolean') facts[k] = v;
      else if (Array.isArray(v) && k === 'scopes') facts[k] = v.slice(0, 32).map(String);
    }
    const t = b.targets as
      | { all?: unknown; groups?: unknown; labels?: unknown; devices?: unknown }
      | undefined;
    if (t && typeof t === 'object')
      facts.targets = {
        ...(t.all === true ? { all: true } : {}),
        ...(Array.isArray(t.groups) ? { groups: t.groups.slice(0, 32).map(String) } : {}),
        ...(Array.isArray(t.labels) ? { labels: t.labels.slice(0, 32).map(String) } : {}),
        ...(Array.isArray(t.devices) ? { devices: t.devices.length } : {}),
      };
  }
  if (status < 300) {
    const out = parseObject(payload);
    if (typeof out.id === 'string' || typeof out.id === 'number') facts.id = out.id;
  }
  return facts;
}

/** A JSON object answer (small ones only), or {} for anything else. */
function parseObject(payload: unknown): Record<string, unknown> {
  if (typeof payload !== 'string' || payload.length > 65_536 || !payload.startsWith('{')) return {};
  try {
    return JSON.parse(payload) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** What a route acted on: its URL parameters (`id=x1`), else the id it answered. */
function targetOf(req: FastifyRequest, facts: Record<string, unknown>): string | null {
  const params = typeof req.params === 'object' && req.params !== null ? req.params : {};
  const parts = Object.entries(params).map(([k, v]) => `${k}=${String(v).slice(0, 100)}`);
  if (parts.length) return parts.join(' ');
  return facts.id !== undefined ? `id=${String(facts.id)}` : null;
}

/**
 * Records an `/api` request in the audit trail: a change or send that succeeded (`audit` of its
 * policy), every refusal by the access policy (403), and every sign-in, successful or not.
 */
function auditRequest(audit: AuditLog, req: FastifyRequest, status: number, payload: unknown): void {
  const policy = req.accessPolicy;
  if (!policy) return;
  const who = req.principal;
  const actor = who
    ? { actorKind: who.kind, actorId: who.id, actorName: who.name }
    : { actorKind: 'anonymous', actorId: null, actorName: null };
  const base = { ...actor, address: req.ip };
  if (policy.audit === 'signin') {
    const body = req.body;
    const user = typeof body === 'object' && body !== null && 'username' in body ? body.username : undefined;
    const name = typeof user === 'string' ? user.slice(0, 64) : null;
    if (status === 201) {
      const out = parseObject(payload) as { id?: string; role?: string };
      void audit.record({
        ...base,
        actorKind: 'session',
        actorId: out.id ?? null,
        actorName: name,
        action: 'signin.succeeded',
        target: name ? `user=${name}` : null,
        detail: { status, ...(out.role ? { role: out.role } : {}) },
      });
    } else if (status === 401 || status === 429)
      void audit.record({
        ...base,
        actorName: name,
        action: 'signin.failed',
        target: name ? `user=${name}` : null,
        outcome: 'failed',
        detail: { status },
      });
    return;
  }
  if (status === 403 && who) {
    void audit.record({
      ...base,
      action: 'access.denied',
      target: `${req.method} ${req.routeOptions.url}`,
      outcome: 'denied',
      detail: { status, ...(who.role ? { role: who.role } : { scopes: who.scopes }) },
    });
    return;
  }
  if (!policy.audit || status < 200 || status >= 300) return;
  const facts = factsOf(req, status, payload);
  void audit.record({ ...base, action: policy.audit, target: targetOf(req, facts), detail: facts });
}

/**
 * A request the console makes on its own (polls, refreshes), not because someone used the page: it does
 * not slide the session's expiry, so an unattended desk is signed out after its idle time.
 */
export const BACKGROUND_HEADER = 'x-switchboard-background';

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
