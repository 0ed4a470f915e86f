import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { NotFoundError } from '../../core/errors.js';
import type { HubContext, HubModule } from '../../server/hub.js';
import { ipofficeDriver } from './driver.js';

const CallSchema = Type.Object(
  {
    callKey: Type.String(),
    nodeId: Type.String(),
    callId: Type.Integer(),
    state: Type.String(),
    direction: Type.String(),
    from: Type.String(),
    fromName: Type.String(),
    to: Type.String(),
    toName: Type.String(),
    huntGroup: Type.String(),
    trunk: Type.String(),
    extension: Type.String(),
    targets: Type.Array(Type.String()),
    parties: Type.Array(Type.String()),
    startedAt: Type.String(),
    answeredAt: Type.Optional(Type.String()),
    emergency: Type.Boolean(),
  },
  { additionalProperties: true },
);
const UserSchema = Type.Object({
  name: Type.String(),
  extension: Type.String(),
  fullName: Type.String(),
  userId: Type.String(),
});
const Params = Type.Object({ id: Type.String({ maxLength: 64 }) });

function requireIpoffice(hub: HubContext, id: string): void {
  const d = hub.devices.require(id);
  if (d.kind !== 'ipoffice') {
    throw new NotFoundError(
      'DEVICE_NOT_FOUND',
      `device ${JSON.stringify(id)} is not an IP Office (kind ${d.kind})`,
      { field: 'id' },
    );
  }
}

/**
 * The IP Office module: the `ipoffice` driver, its read-only routes, and background sessions (the DevLink3
 * link is opened when the hub starts and whenever an IP Office device is added or changed).
 */
export const ipofficeModule: HubModule = {
  name: 'ipoffice',
  drivers: () => [ipofficeDriver()],
  routes(app: FastifyInstance, hub: HubContext) {
    app.get(
      '/api/ipoffice/:id/calls',
      {
        schema: {
          tags: ['ipoffice'],
          summary: 'Live calls of an IP Office',
          description: 'Calls in progress as tracked from DevLink3 Delta3 records (flat summaries).',
          params: Params,
          response: { 200: Type.Object({ calls: Type.Array(CallSchema) }) },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        requireIpoffice(hub, id);
        const r = await hub.actions.execute(id, 'list_calls', {});
        return { calls: (r.data as { calls: unknown[] }).calls };
      },
    );
    app.get(
      '/api/ipoffice/:id/users',
      {
        schema: {
          tags: ['ipoffice'],
          summary: 'User list of an IP Office',
          description:
            'Users parsed from nasystem/user_list (DevLink3 ReadFile on a short-lived connection).',
          params: Params,
          querystring: Type.Object({ refresh: Type.Optional(Type.Boolean()) }),
          response: { 200: Type.Object({ users: Type.Array(UserSchema) }) },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        const q = req.query as { refresh?: boolean };
        requireIpoffice(hub, id);
        const r = await hub.actions.execute(id, 'list_users', { refresh: q.refresh ?? false });
        const users = (
          r.data as { users: Array<{ name: string; extension: string; fullName: string; userId: string }> }
        ).users;
        return {
          users: users.map((u) => ({
            name: u.name,
            extension: u.extension,
            fullName: u.fullName,
            userId: u.userId,
          })),
        };
      },
    );
  },
  start(hub: HubContext) {
    const open = (id: string) => {
      try {
        hub.actions.session(id);
      } catch (e) {
        hub.logger.warn(
          { device: id, err: (e as Error).message },
          'ipoffice: cannot open the DevLink3 session',
        );
      }
    };
    for (const d of hub.devices.list({ kind: 'ipoffice' })) open(d.id);
    const off = hub.devices.onChange(({ type, device }) => {
      if (device.kind === 'ipoffice' && type !== 'removed') open(device.id);
    });
    hub.signal.addEventListener('abort', off, { once: true });
  },
};
