import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { ConflictError } from '../../core/errors.js';
import { ROLES, type Role } from '../../core/roles.js';
import { type PublicUser, UserService } from '../../core/users.js';
import { assertMayGrant } from '../auth.js';
import type { Hub } from '../compose.js';
import { described, errors } from '../schemas.js';

const RoleSchema = Type.Union(
  ROLES.map((r) => Type.Literal(r)),
  { description: 'admin, operator, sender or viewer (docs/security.md, Roles).' },
);
const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) });

/**
 * Local users over the API (admins: `users:manage`): list, create with a role, change a role, disable
 * (which ends their sessions and revokes the keys created with them), set a password (ends sessions).
 * The CLI (`switchboard users …`) does the same on the hub's machine and stays the break-glass path.
 */
/** A local user as the API shows it (never its password hash). */
const UserSchema = Type.Object({
  name: Type.String(),
  role: Type.String({ description: 'admin, operator, sender or viewer.' }),
  source: Type.String({ description: '`local` (password) or `oidc` (the directory).' }),
  createdAt: Type.String({ format: 'date-time' }),
  lastLoginAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  disabledAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export function registerUserRoutes(root: FastifyInstance, hub: Hub): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const users = new UserService(hub.stores.users, () => new Date(hub.clock.now()));
  /** Refuses to leave no enabled admin user (the CLI can still make one: break-glass). */
  const keepAnAdmin = async (u: PublicUser, next: { role?: Role; disabled?: boolean }) => {
    const losing =
      u.role === 'admin' && !u.disabledAt && ((next.role && next.role !== 'admin') || next.disabled);
    if (!losing) return;
    const others = (await users.list()).filter(
      (x) => x.name !== u.name && x.role === 'admin' && !x.disabledAt,
    );
    if (others.length === 0)
      throw new ConflictError(
        'USER_LAST_ADMIN',
        `${u.name} is the only enabled admin user; make another admin first (or use the CLI)`,
        { field: next.role ? 'role' : 'disabled' },
      );
  };
  app.get(
    '/api/users',
    {
      schema: {
        tags: ['system'],
        summary: 'Local users (name, role, created, last sign-in, disabled)',
        response: {
          200: described(Type.Object({ users: Type.Array(UserSchema) }), 'Every user'),
          ...errors(401),
        },
      },
    },
    async () => ({ users: await users.list() }),
  );
  app.post(
    '/api/users',
    {
      schema: {
        tags: ['system'],
        summary: 'Create a local user with a role',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 64 }),
            password: Type.String({ minLength: 1, maxLength: 1024 }),
            role: RoleSchema,
          },
          {
            additionalProperties: false,
            examples: [{ name: 'desk1', password: 'correct horse battery', role: 'operator' }],
          },
        ),
        response: { 201: described(UserSchema, 'The new user'), ...errors(400, 401, 403, 409) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      assertMayGrant(req.principal, { role: b.role, scopes: null });
      return reply.status(201).send(await users.create(b.name, b.password, b.role));
    },
  );
  app.patch(
    '/api/users/:name',
    {
      schema: {
        tags: ['system'],
        summary: "Change a user's role, disable or enable them, or set their password",
        description:
          'A new role applies to their open sessions at once. Disabling ends their sessions and revokes the API keys created with them; a new password ends their sessions.',
        params: NameParams,
        body: Type.Object(
          {
            role: Type.Optional(RoleSchema),
            disabled: Type.Optional(Type.Boolean()),
            password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
          },
          {
            additionalProperties: false,
            minProperties: 1,
            examples: [{ role: 'viewer' }, { disabled: true }],
          },
        ),
        response: { 200: described(UserSchema, 'The user as changed'), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => {
      const { name } = req.params;
      const b = req.body;
      let u = await users.get(name);
      await keepAnAdmin(u, b);
      if (b.role !== undefined) assertMayGrant(req.principal, { role: b.role, scopes: null });
      if (b.password !== undefined) {
        u = await users.setPassword(u.name, b.password);
        await hub.apiKeys.revokeSessionsOf(u.name, 'password-changed');
      }
      if (b.role !== undefined) u = await users.setRole(u.name, b.role);
      if (b.disabled !== undefined) {
        u = await users.setDisabled(u.name, b.disabled);
        if (b.disabled) await hub.apiKeys.revokeCreatedBy(u.name, 'user-disabled');
      }
      return u;
    },
  );
}
