import type { FastifyRequest } from 'fastify';
import { AuthError } from '../core/errors.js';
import type { Permission } from '../core/roles.js';

/**
 * Who may call which `/api` route: ONE table, keyed by the route's method and URL *pattern* as
 * registered (so the decision follows the matched handler, never the URL text). Each route needs any one
 * of its permissions (roles are bundles of permissions, core/roles.ts; scoped keys hold permissions
 * directly). `signed-in`: any valid credential. `public`: no credential (sign-in itself). `admin`: the
 * admin role only (not a scoped key, whatever its scopes).
 *
 * `audit` names the audit-trail action a route records when it answers 2xx (every change and send);
 * reads record nothing. A route missing from this table answers 403 to everyone but admins, and the
 * route-walk test (test/security/roles.test.ts) fails until it is added here.
 */
export interface RoutePolicy {
  /** Any one of these permissions; `signed-in`: any credential; `admin`: the admin role only. */
  allow: readonly Permission[] | 'signed-in' | 'admin' | 'public';
  audit?: string;
  /** Refuses a request the permission alone does not settle (e.g. a sender's broadcast), after validation. */
  check?: (req: FastifyRequest, held: ReadonlySet<Permission>, ctx: AccessContext) => void;
}

export interface AccessContext {
  /** `auth.senderGroups`: the groups a `sender` may broadcast to (empty: any group). */
  senderGroups: readonly string[];
}

const read = (p: Permission): RoutePolicy => ({ allow: [p] });
const change = (p: Permission, audit: string): RoutePolicy => ({ allow: [p], audit });

/** Throws 403 `FORBIDDEN_*` naming what is not allowed. */
export function forbidden(code: string, message: string, field?: string): AuthError {
  return new AuthError(code, message, { status: 403, ...(field ? { field } : {}) });
}

/**
 * `POST /api/broadcasts` by an operator or a sender: only from a template (no free text), and a sender
 * only to groups (those in `auth.senderGroups` when set): never `all`, devices or labels.
 */
function checkBroadcastSend(req: FastifyRequest, held: ReadonlySet<Permission>, ctx: AccessContext): void {
  if (held.has('broadcasts:send')) return;
  const body = (req.body ?? {}) as {
    template?: unknown;
    title?: unknown;
    text?: unknown;
    targets?: { all?: unknown; devices?: unknown[]; labels?: unknown[]; groups?: unknown[] };
  };
  if (typeof body.template !== 'string' || body.title !== undefined || body.text !== undefined)
    throw forbidden(
      'FORBIDDEN_FREE_TEXT',
      'your role sends broadcasts from templates only: name a template (and its vars), not title/text',
      'template',
    );
  if (held.has('broadcasts:send-template')) return;
  const t = body.targets ?? {};
  if (t.all || (t.devices?.length ?? 0) > 0 || (t.labels?.length ?? 0) > 0)
    throw forbidden(
      'FORBIDDEN_TARGET',
      'your role sends to groups only (not all, devices or labels)',
      'targets',
    );
  const allowed = ctx.senderGroups;
  const bad = (t.groups ?? []).find((g) => allowed.length > 0 && !allowed.includes(String(g)));
  if (bad !== undefined)
    throw forbidden(
      'FORBIDDEN_TARGET',
      `your role may not send to group ${JSON.stringify(bad)}`,
      'targets.groups',
    );
}

export const ACCESS: Readonly<Record<string, RoutePolicy>> = {
  // session and identity
  'POST /api/session': { allow: 'public', audit: 'signin' },
  'GET /api/session': { allow: 'signed-in' },
  'GET /api/session/methods': { allow: 'public' },
  'GET /api/session/oidc/start': { allow: 'public' },
  'GET /api/session/oidc/callback': { allow: 'public' },
  'POST /api/session/oidc/exchange': { allow: 'public' },
  'DELETE /api/session': { allow: 'signed-in', audit: 'signout' },
  // events
  'GET /api/events': read('events:read'),
  'GET /api/events/stream': read('events:read'),
  // devices, kinds, groups
  'GET /api/devices': read('devices:read'),
  'POST /api/devices': change('devices:write', 'device.added'),
  'GET /api/devices/:id': read('devices:read'),
  'PATCH /api/devices/:id': change('devices:write', 'device.changed'),
  'DELETE /api/devices/:id': change('devices:write', 'device.removed'),
  'GET /api/devices/:id/variables': read('devices:read'),
  'POST /api/devices/:id/actions/:actionId': change('devices:control', 'device.action'),
  'POST /api/devices/:id/macros/:macroId': change('devices:control', 'device.macro'),
  // click-to-dial and call control (docs/click-to-dial.md)
  'POST /api/devices/:id/dial': change('devices:dial', 'device.dialled'),
  'POST /api/devices/:id/keys': change('devices:dial', 'device.key'),
  'GET /api/dial/desk-phone': read('devices:read'),
  'POST /api/incidents/:id/callback': change('devices:dial', 'incident.callback'),
  'GET /api/kinds': read('devices:read'),
  'GET /api/kinds/:kind/spec': read('devices:read'),
  'GET /api/groups': read('groups:read'),
  'GET /api/groups/:id': read('groups:read'),
  'PUT /api/groups/:id': change('devices:write', 'group.changed'),
  'DELETE /api/groups/:id': change('devices:write', 'group.removed'),
  // keys, users, system, audit
  'GET /api/keys': read('keys:manage'),
  'POST /api/keys': change('keys:manage', 'key.created'),
  'DELETE /api/keys/:id': change('keys:manage', 'key.revoked'),
  'GET /api/users': read('users:manage'),
  'POST /api/users': change('users:manage', 'user.created'),
  'PATCH /api/users/:name': change('users:manage', 'user.changed'),
  'GET /api/system': read('system:read'),
  'GET /api/audit': read('audit:read'),
  'GET /api/audit.csv': read('audit:read'),
  // settings files (46xxsettings)
  'GET /api/settings/eval': read('settings:read'),
  'GET /api/settings/files/:name': read('settings:read'),
  'POST /api/settings/lint': read('settings:read'),
  'POST /api/settings/lint/bytes': read('settings:read'),
  'GET /api/settings/clients': read('settings:read'),
  'GET /api/settings/spaces-profile': read('settings:read'),
  'POST /api/settings/spaces-profile/validate': read('settings:read'),
  // phone control
  'POST /api/cisco/:id/text': change('devices:control', 'device.text'),
  'POST /api/cisco/:id/execute': change('devices:control', 'device.execute'),
  // PubSub relay administration
  'GET /api/pubsub/accounts': read('pubsub:read'),
  'POST /api/pubsub/accounts': change('pubsub:admin', 'pubsub.account-created'),
  'POST /api/pubsub/accounts/:sid/rotate': change('pubsub:admin', 'pubsub.account-rotated'),
  'DELETE /api/pubsub/accounts/:sid': change('pubsub:admin', 'pubsub.account-removed'),
  'GET /api/pubsub/queues': read('pubsub:read'),
  'GET /api/pubsub/publishes': read('pubsub:read'),
  // broadcasts and templates
  'POST /api/broadcasts': {
    allow: ['broadcasts:send', 'broadcasts:send-template', 'broadcasts:send-template-groups'],
    audit: 'broadcast.sent',
    check: checkBroadcastSend,
  },
  'GET /api/broadcasts': read('broadcasts:read'),
  'GET /api/broadcasts/:id': read('broadcasts:read'),
  'POST /api/broadcasts/:id/cancel': change('broadcasts:cancel', 'broadcast.cancelled'),
  // Recall clears phones (a safety action, like cancel); retry re-sends content, and schedules send later
  // whatever their body says: full sending rights (the operator's template-only rule cannot be checked on
  // a stored broadcast or a future run here).
  'POST /api/broadcasts/:id/recall': change('broadcasts:cancel', 'broadcast.recalled'),
  'POST /api/broadcasts/:id/retry': change('broadcasts:send', 'broadcast.retried'),
  'GET /api/schedules': read('broadcasts:read'),
  'GET /api/schedules/:id': read('broadcasts:read'),
  'POST /api/schedules': change('broadcasts:send', 'schedule.created'),
  'PATCH /api/schedules/:id': change('broadcasts:send', 'schedule.changed'),
  'POST /api/schedules/:id/pause': change('broadcasts:send', 'schedule.paused'),
  'POST /api/schedules/:id/resume': change('broadcasts:send', 'schedule.resumed'),
  'DELETE /api/schedules/:id': change('broadcasts:send', 'schedule.removed'),
  'GET /api/templates': read('templates:read'),
  'GET /api/templates/:id': read('templates:read'),
  'PUT /api/templates/:id': change('templates:write', 'template.changed'),
  'DELETE /api/templates/:id': change('templates:write', 'template.removed'),
  'POST /api/templates/:id/render': read('templates:read'),
  // rules and webhooks
  'GET /api/rules': read('rules:read'),
  'GET /api/rules/:id': read('rules:read'),
  'PUT /api/rules/:id': change('rules:write', 'rule.changed'),
  'POST /api/rules/validate': read('rules:read'),
  'DELETE /api/rules/:id': change('rules:write', 'rule.removed'),
  'GET /api/webhooks/deliveries': read('rules:read'),
  // 911: locations, incidents
  'GET /api/locations': read('locations:read'),
  'GET /api/locations/:extension': read('locations:read'),
  'PUT /api/locations/:extension': change('locations:write', 'location.changed'),
  'DELETE /api/locations/:extension': change('locations:write', 'location.removed'),
  'POST /api/locations/import': change('locations:write', 'location.imported'),
  'GET /api/incidents': read('incidents:read'),
  'GET /api/incidents/:id': read('incidents:read'),
  'POST /api/incidents/:id/ack': change('incidents:ack', 'incident.acknowledged'),
  'GET /api/emergency': read('incidents:read'),
  // CAP 1.2 ingest (a CAP message can start broadcasts through rules) and the alerting channels
  'POST /api/cap': change('broadcasts:send', 'cap.received'),
  'GET /api/cap': read('rules:read'),
  'GET /api/channels': read('incidents:read'),
  // IP Office calls
  'GET /api/ipoffice/:id/calls': read('calls:read'),
  'GET /api/ipoffice/:id/smdr': read('calls:read'),
  'GET /api/ipoffice/:id/smdr/status': read('calls:read'),
  'GET /api/ipoffice/:id/users': read('calls:read'),
};

/** Fallback for a route missing from the table: admins only (safe), and the route-walk test fails. */
export const UNLISTED: RoutePolicy = { allow: 'admin', audit: 'unlisted-route' };

/** The policy of a registered route (HEAD follows GET), or undefined when the table lacks it. */
export function policyOf(method: string, url: string): RoutePolicy | undefined {
  return ACCESS[`${method === 'HEAD' ? 'GET' : method} ${url}`];
}
