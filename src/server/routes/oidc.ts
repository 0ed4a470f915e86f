import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { isSwitchboardError, ValidationError } from '../../core/errors.js';
import { UserService } from '../../core/users.js';
import type { Hub } from '../compose.js';
import { OidcSignIn } from '../oidc.js';
import { described, errors } from '../schemas.js';
import { sessionExpiryFor } from './session.js';

const SessionAnswerSchema = described(
  Type.Object({
    token: Type.String(),
    id: Type.String(),
    user: Type.String(),
    role: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.String({ format: 'date-time' }),
    absoluteExpiresAt: Type.String({ format: 'date-time' }),
  }),
  'Signed in with the directory: the session token (shown once)',
);

interface SessionAnswer {
  token: string;
  id: string;
  user: string;
  role: string;
  createdAt: string;
  expiresAt: string;
  absoluteExpiresAt: string;
}

/**
 * Sign-in with the directory (server/oidc.ts): `GET /api/session/methods` tells the console which
 * sign-ins exist; `/api/session/oidc/start` and `/callback` run the authorisation code flow (browser
 * redirects); `POST /api/session/oidc/exchange` trades the one-time code for the session token. All four
 * are public (they are the sign-in); the session they make is checked like any other.
 */
export function registerOidcRoutes(root: FastifyInstance, hub: Hub): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const cfg = hub.config.auth.oidc;
  // hub.hub.publicUrl is what phones are given (the phone listener's URL when there is one): the
  // callback is on the management listener, so then it needs http.publicUrl or auth.oidc.redirectUrl.
  if (cfg.enabled && !cfg.redirectUrl && !hub.config.http.publicUrl && hub.config.http.phoneListener.enabled)
    throw new ValidationError(
      'CONFIG_INVALID',
      'auth.oidc.redirectUrl: set it (or http.publicUrl) when http.phoneListener is on: the sign-in callback is on the management listener',
      { field: 'auth.oidc.redirectUrl' },
    );
  const redirectUrl = () =>
    cfg.redirectUrl ||
    `${(hub.config.http.publicUrl || hub.hub.publicUrl).replace(/\/+$/, '')}/api/session/oidc/callback`;
  const oidc = new OidcSignIn(cfg, redirectUrl, () => hub.clock.now());
  const users = new UserService(hub.stores.users, () => new Date(hub.clock.now()));
  const pub = { auth: 'public' as const };

  app.get(
    '/api/session/methods',
    {
      config: pub,
      schema: {
        tags: ['system'],
        summary: 'Which sign-ins this hub offers (local users, the directory)',
        security: [],
        response: {
          200: described(
            Type.Object({ local: Type.Boolean(), oidc: Type.Boolean() }),
            'The sign-in methods: local users always, the directory when auth.oidc is on',
          ),
        },
      },
    },
    async () => ({ local: true, oidc: oidc.enabled }),
  );
  app.get(
    '/api/session/oidc/start',
    {
      config: pub,
      schema: {
        tags: ['system'],
        summary: 'Start signing in with the directory (redirects to the OpenID provider)',
        security: [],
        querystring: Type.Object(
          {
            return: Type.Optional(
              Type.String({ maxLength: 512, description: 'Path of this hub to come back to.' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          302: {
            description: 'Redirect to the OpenID provider (Location header)',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...errors(400, 404),
        },
      },
    },
    async (req, reply) => {
      const url = await oidc.start(req.query.return);
      return reply.header('cache-control', 'no-store').redirect(url.href, 302);
    },
  );
  app.get(
    '/api/session/oidc/callback',
    {
      config: pub,
      schema: {
        tags: ['system'],
        summary: 'Where the OpenID provider sends the browser back (code, state); redirects to the console',
        security: [],
        querystring: Type.Record(Type.String(), Type.String({ maxLength: 4096 })),
        response: {
          302: {
            description:
              'Redirect to the console with a one-time code (#oidc=…) or the refusal (#oidc_error=CODE)',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...errors(400, 404),
        },
      },
    },
    async (req, reply) => {
      const callback = new URL(req.url, 'http://callback.invalid');
      const address = req.ip;
      try {
        const { user: who, returnTo } = await oidc.finish(callback);
        const u = await users.signInFromDirectory(who.name, who.role);
        const k = await hub.apiKeys.create(`session:${u.name}`, {
          createdBy: u.name,
          session: sessionExpiryFor(hub.config.auth, u.role),
        });
        const rec = await hub.stores.apiKeys.get(k.id);
        const answer: SessionAnswer = {
          token: k.key,
          id: k.id,
          user: u.name,
          role: u.role,
          createdAt: k.createdAt,
          expiresAt: k.expiresAt ?? '',
          absoluteExpiresAt: rec?.absoluteExpiresAt ?? k.expiresAt ?? '',
        };
        void hub.audit.record({
          actorKind: 'session',
          actorId: k.id,
          actorName: u.name,
          address,
          action: 'signin.succeeded',
          target: `user=${u.name}`,
          detail: { method: 'oidc', role: u.role, groups: who.groups.slice(0, 32) },
        });
        req.log.info({ user: u.name, session: k.prefix, method: 'oidc' }, 'signed in');
        const code = oidc.issueCode(answer);
        return reply.header('cache-control', 'no-store').redirect(`${returnTo}#oidc=${code}`, 302);
      } catch (e) {
        if (!isSwitchboardError(e)) throw e;
        void hub.audit.record({
          actorKind: 'anonymous',
          actorId: null,
          actorName: null,
          address,
          action: 'signin.failed',
          target: null,
          outcome: 'failed',
          detail: { method: 'oidc', code: e.code },
        });
        req.log.info({ code: e.code }, 'directory sign-in refused');
        return reply
          .header('cache-control', 'no-store')
          .redirect(`/#oidc_error=${encodeURIComponent(e.code)}`, 302);
      }
    },
  );
  app.post(
    '/api/session/oidc/exchange',
    {
      config: pub,
      schema: {
        tags: ['system'],
        summary: 'Trade the one-time code of a directory sign-in (#oidc=…) for the session token',
        security: [],
        body: Type.Object(
          { code: Type.String({ minLength: 1, maxLength: 128 }) },
          { additionalProperties: false, examples: [{ code: 'f3a9c2…' }] },
        ),
        response: { 201: SessionAnswerSchema, ...errors(400, 401, 404) },
      },
    },
    async (req, reply) => reply.status(201).send(oidc.redeem(req.body.code) as SessionAnswer),
  );
}
