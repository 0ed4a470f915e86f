import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../../config/schema.js';
import type { SessionExpiry } from '../../core/apikeys.js';
import { LimitError, ValidationError } from '../../core/errors.js';
import type { Role } from '../../core/roles.js';
import { SessionService, UserService } from '../../core/users.js';
import type { Hub } from '../compose.js';
import { described, errors, noContent, sendNoContent } from '../schemas.js';

/** A session's sliding expiry and absolute cap for a role (`auth.sessionsByRole`, else the defaults). */
export function sessionExpiryFor(auth: Config['auth'], role: Role): SessionExpiry {
  const own = auth.sessionsByRole[role];
  const maxMinutes = own?.maxMinutes ?? auth.sessionTtlMinutes;
  const idleMinutes = Math.min(own?.idleMinutes ?? auth.sessionIdleMinutes, maxMinutes);
  return { idleMs: idleMinutes * 60_000, maxMs: maxMinutes * 60_000 };
}

const NullableString = (o: { description?: string; format?: string } = {}) =>
  Type.Union([Type.String(o), Type.Null()]);

/** GET /api/session: who the caller is and what it may do. */
export const WhoAmISchema = described(
  Type.Object({
    kind: Type.String({ description: '`key` or `session`.' }),
    id: Type.String(),
    name: Type.String(),
    user: NullableString({ description: 'The local user it acts for, if any.' }),
    role: NullableString({ description: 'Role (role keys, sessions); null for scoped keys.' }),
    scopes: Type.Union([Type.Array(Type.String()), Type.Null()], {
      description: 'Scoped keys: their permissions.',
    }),
    permissions: Type.Array(Type.String(), { description: 'Everything it may do, sorted.' }),
    expiresAt: NullableString({ format: 'date-time' }),
    absoluteExpiresAt: NullableString({ format: 'date-time' }),
    idleMinutes: Type.Union([Type.Integer(), Type.Null()], { description: 'Sessions: the sliding expiry.' }),
  }),
  'The caller: kind, role or scopes, permissions and (sessions) expiry',
);

/**
 * Sign-in with a local user (`switchboard users create`): `POST /api/session` (no key needed) checks the
 * password and answers a session token, an ordinary API key named `session:<user>` with a sliding expiry
 * (`auth.sessionIdleMinutes`, capped at `auth.sessionTtlMinutes` after sign-in; per role in
 * `auth.sessionsByRole`). `GET /api/session` says who the caller is and what it may do (the console hides
 * the rest); `DELETE /api/session` revokes the token it is called with (sign out).
 */
export function registerSessionRoutes(root: FastifyInstance, hub: Hub): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const now = () => new Date(hub.clock.now());
  const sessions = new SessionService(
    new UserService(hub.stores.users, now),
    hub.apiKeys,
    { expiryFor: (role) => sessionExpiryFor(hub.config.auth, role), ...hub.config.auth.signIn },
    () => hub.clock.now(),
  );
  app.post(
    '/api/session',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['system'],
        summary: 'Sign in with a local user; answers a session token used like an API key',
        security: [],
        body: Type.Object(
          {
            username: Type.String({ minLength: 1, maxLength: 64 }),
            password: Type.String({ minLength: 1, maxLength: 1024 }),
          },
          {
            additionalProperties: false,
            examples: [{ username: 'desk1', password: 'correct horse battery' }],
          },
        ),
        response: {
          201: described(
            Type.Object({
              token: Type.String({ description: 'Send as `Authorization: Bearer <token>`.' }),
              id: Type.String(),
              user: Type.String(),
              role: Type.String({ description: "The user's role (admin, operator, sender, viewer)." }),
              createdAt: Type.String({ format: 'date-time' }),
              expiresAt: Type.String({
                format: 'date-time',
                description: 'When it expires unless used again (sliding).',
              }),
              absoluteExpiresAt: Type.String({
                format: 'date-time',
                description: 'When it expires however it is used.',
              }),
            }),
            'Signed in: the session token (shown once)',
          ),
          ...errors(400, 401, 429),
        },
      },
    },
    async (req, reply) => {
      const { username, password } = req.body;
      const s = await sessions.signIn(username, password, req.ip).catch((e: unknown) => {
        const retry = e instanceof LimitError ? e.details?.retryAfterSeconds : undefined;
        if (typeof retry === 'number') reply.header('Retry-After', String(retry));
        throw e;
      });
      req.log.info({ user: s.user, session: s.prefix }, 'signed in');
      const rec = await hub.stores.apiKeys.get(s.id);
      return reply.status(201).send({
        token: s.key,
        id: s.id,
        user: s.user,
        role: s.role,
        createdAt: s.createdAt,
        expiresAt: s.expiresAt,
        absoluteExpiresAt: rec?.absoluteExpiresAt ?? s.expiresAt,
      });
    },
  );
  app.get(
    '/api/session',
    {
      schema: {
        tags: ['system'],
        summary: 'Who the caller is: role, scopes, permissions and (sessions) when it expires',
        description:
          'Send header `X-Switchboard-Background: 1` on requests the console makes on its own, so they do not renew the session.',
        response: { 200: WhoAmISchema, ...errors(401) },
      },
    },
    async (req) => {
      const who = req.principal!;
      const idleSeconds = who.kind === 'session' ? (await hub.stores.apiKeys.get(who.id))?.idleSeconds : null;
      return {
        kind: who.kind,
        id: who.id,
        name: who.name,
        user: who.kind === 'session' ? who.name : (req.apiKey?.createdBy ?? null),
        role: who.role,
        scopes: who.scopes,
        permissions: [...who.permissions].sort(),
        expiresAt: who.expiresAt ?? null,
        absoluteExpiresAt: who.absoluteExpiresAt ?? null,
        idleMinutes: idleSeconds ? Math.round(idleSeconds / 60) : null,
      };
    },
  );
  app.delete(
    '/api/session',
    {
      schema: {
        tags: ['system'],
        summary: 'Sign out: revoke the session token this request carries',
        response: { 204: noContent('Signed out'), ...errors(400, 401) },
      },
    },
    async (req, reply) => {
      const who = req.principal;
      if (who?.kind !== 'session')
        throw new ValidationError(
          'SESSION_NOT_A_SESSION',
          'this request carries an API key, not a session token; revoke keys with DELETE /api/keys/:id',
        );
      await hub.apiKeys.revoke(who.id, 'signed-out');
      return sendNoContent(reply);
    },
  );
}
