import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Device } from '../../core/devices.js';
import { GroupInputSchema, LocationSchema, redactDevice } from '../../core/devices.js';
import { NotFoundError } from '../../core/errors.js';
import { PageQueryFields, pageOf, type SortValue } from '../../core/paging.js';
import { paramsSchema } from '../../core/spec.js';
import { creatorOf } from '../auth.js';
import type { Hub } from '../compose.js';
import { ActionResultSchema, errorResponses } from '../schemas.js';

const DeviceSchema = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  address: Type.String(),
  labels: Type.Array(Type.String()),
  groups: Type.Array(Type.String()),
  location: LocationSchema,
  settings: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

const DEVICE_SORTS = ['id', 'name', 'kind', 'address', 'location', 'createdAt', 'updatedAt'] as const;

const locationText = (d: Device) =>
  [d.location.site, d.location.building, d.location.floor, d.location.room].filter(Boolean).join(' ');

/** Sort keys and search text of a device for paged lists. */
export const deviceKeys = {
  id: (d: Device) => d.id,
  key: (d: Device, sort: string): SortValue =>
    sort === 'location'
      ? locationText(d) || null
      : sort === 'name'
        ? d.name || d.id
        : ((d as unknown as Record<string, string>)[sort] ?? null),
  text: (d: Device) => {
    const ext = (d.settings as Record<string, unknown>).extension;
    return [
      d.id,
      d.name,
      d.address,
      ...d.labels,
      ...d.groups,
      locationText(d),
      d.location.description ?? '',
      typeof ext === 'string' || typeof ext === 'number' ? String(ext) : '',
    ].join(' ');
  },
};

export function registerCoreRoutes(app: FastifyInstance, hub: Hub): void {
  const show = (d: Device) => redactDevice(d, hub.devices.kindInfo(d.kind));

  // ---- devices
  app.get(
    '/api/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'List devices',
        description:
          'Without `limit`: every matching device. With `limit`: one page, and `next` is the cursor of the next one (docs/broadcasts.md, "Paging"). `q` searches id, name, address, labels, groups, location and extension; `sort` is natural (phone-9 before phone-10).',
        querystring: Type.Object({
          kind: Type.Optional(Type.String()),
          group: Type.Optional(Type.String()),
          label: Type.Optional(Type.String()),
          site: Type.Optional(Type.String()),
          sort: Type.Optional(
            Type.Union(
              DEVICE_SORTS.map((s) => Type.Literal(s)),
              { description: 'Default: id.' },
            ),
          ),
          ...PageQueryFields,
        }),
        response: {
          200: Type.Object({
            devices: Type.Array(DeviceSchema),
            next: Type.Union([Type.String(), Type.Null()]),
            total: Type.Integer(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { sort, order, limit, cursor, q, ...filter } = req.query as Record<string, string | undefined> & {
        limit?: number;
      };
      const page = pageOf(
        hub.devices.list(filter as Record<string, string>),
        {
          sort: sort ?? 'id',
          order: order === 'desc' ? 'desc' : 'asc',
          limit: limit ?? Number.POSITIVE_INFINITY,
          cursor,
          q,
        },
        deviceKeys,
      );
      return { devices: page.items.map(show), next: page.next, total: page.total };
    },
  );
  app.post(
    '/api/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'Add a device',
        body: Type.Unknown(),
        response: { 201: DeviceSchema, ...errorResponses },
      },
    },
    async (req, reply) => reply.status(201).send(show(hub.devices.add(req.body as never))),
  );
  app.get(
    '/api/devices/:id',
    {
      schema: {
        tags: ['devices'],
        summary: 'Get a device',
        params: Type.Object({ id: Type.String() }),
        response: { 200: DeviceSchema, ...errorResponses },
      },
    },
    async (req) => show(hub.devices.require((req.params as { id: string }).id)),
  );
  app.patch(
    '/api/devices/:id',
    {
      schema: {
        tags: ['devices'],
        summary: 'Change a device (settings are merged)',
        params: Type.Object({ id: Type.String() }),
        body: Type.Unknown(),
        response: { 200: DeviceSchema, ...errorResponses },
      },
    },
    async (req) => show(hub.devices.update((req.params as { id: string }).id, req.body as never)),
  );
  app.delete(
    '/api/devices/:id',
    {
      schema: {
        tags: ['devices'],
        summary: 'Remove a device',
        params: Type.Object({ id: Type.String() }),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      hub.devices.remove((req.params as { id: string }).id);
      return reply.status(204).send();
    },
  );
  app.get(
    '/api/devices/:id/variables',
    {
      schema: {
        tags: ['devices'],
        summary: "A device's current variable values",
        params: Type.Object({ id: Type.String() }),
      },
    },
    async (req) => ({ variables: hub.actions.variables((req.params as { id: string }).id) }),
  );
  app.post(
    '/api/devices/:id/actions/:actionId',
    {
      schema: {
        tags: ['actions'],
        summary: 'Run an action or query of the device’s control spec',
        description:
          'Params are validated against the spec before the driver is called. See GET /api/kinds/{kind}/spec.',
        params: Type.Object({ id: Type.String(), actionId: Type.String() }),
        body: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
        response: { 200: ActionResultSchema, ...errorResponses },
      },
    },
    async (req) => {
      const p = req.params as { id: string; actionId: string };
      return hub.actions.execute(p.id, p.actionId, req.body ?? {});
    },
  );
  app.post(
    '/api/devices/:id/macros/:macroId',
    {
      schema: {
        tags: ['actions'],
        summary: 'Run a macro of the device’s control spec',
        params: Type.Object({ id: Type.String(), macroId: Type.String() }),
        body: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      },
    },
    async (req) => {
      const p = req.params as { id: string; macroId: string };
      return hub.actions.runMacro(p.id, p.macroId, req.body ?? {}, {
        subscribe: (f, handler) => {
          const sub = hub.bus.subscribe((e) => handler(e.data), {
            filter: { types: [f.type], source: f.source },
          });
          return () => sub.unsubscribe();
        },
      });
    },
  );

  // ---- device kinds and their control specs
  app.get(
    '/api/kinds',
    { schema: { tags: ['devices'], summary: 'Device kinds with their drivers' } },
    async () => ({
      kinds: [...hub.drivers.values()].map((d) => ({
        kind: d.kind,
        label: d.spec.label,
        actions: d.spec.actions.filter((a) => a.kind === 'action').length,
        queries: d.spec.actions.filter((a) => a.kind === 'query').length,
        macros: d.spec.macros?.length ?? 0,
        settingsSchema: d.configSchema,
      })),
    }),
  );
  app.get(
    '/api/kinds/:kind/spec',
    {
      schema: {
        tags: ['devices'],
        summary: 'The control spec of a device kind, with a JSON schema per action',
        params: Type.Object({ kind: Type.String() }),
      },
    },
    async (req) => {
      const kind = (req.params as { kind: string }).kind;
      const d = hub.drivers.get(kind);
      if (!d)
        throw new NotFoundError('DRIVER_NOT_FOUND', `no driver for device kind ${JSON.stringify(kind)}`, {
          field: 'kind',
        });
      return {
        ...d.spec,
        actions: d.spec.actions.map((a) => ({ ...a, paramsSchema: paramsSchema(a.params) })),
      };
    },
  );

  // ---- groups
  app.get(
    '/api/groups',
    { schema: { tags: ['groups'], summary: 'List groups with member counts' } },
    async () => ({ groups: hub.devices.listGroups() }),
  );
  app.put(
    '/api/groups/:id',
    {
      schema: {
        tags: ['groups'],
        summary: 'Create or change a group',
        params: Type.Object({ id: Type.String() }),
        body: Type.Optional(Type.Omit(GroupInputSchema, ['id'])),
      },
    },
    async (req) =>
      hub.devices.putGroup({ ...((req.body as object) ?? {}), id: (req.params as { id: string }).id }),
  );
  app.get(
    '/api/groups/:id',
    {
      schema: {
        tags: ['groups'],
        summary: 'A group and its member devices',
        params: Type.Object({ id: Type.String() }),
      },
    },
    async (req) => {
      const g = hub.devices.getGroup((req.params as { id: string }).id);
      return { ...g, members: g.members.map(show) };
    },
  );
  app.delete(
    '/api/groups/:id',
    {
      schema: {
        tags: ['groups'],
        summary: 'Remove an empty group',
        params: Type.Object({ id: Type.String() }),
      },
    },
    async (req, reply) => {
      hub.devices.removeGroup((req.params as { id: string }).id);
      return reply.status(204).send();
    },
  );

  // ---- API keys (the console's System page; creating keys needs a key already)
  app.get(
    '/api/keys',
    { schema: { tags: ['system'], summary: 'List API keys (never the secrets)' } },
    async () => ({ keys: hub.apiKeys.list() }),
  );
  app.post(
    '/api/keys',
    {
      schema: {
        tags: ['system'],
        summary: 'Create an API key (the key is shown once)',
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }),
      },
    },
    async (req, reply) =>
      reply
        .status(201)
        .send(hub.apiKeys.create((req.body as { name: string }).name, { createdBy: creatorOf(req) })),
  );
  app.delete(
    '/api/keys/:id',
    {
      schema: { tags: ['system'], summary: 'Revoke an API key', params: Type.Object({ id: Type.String() }) },
    },
    async (req) => hub.apiKeys.revoke((req.params as { id: string }).id),
  );
  app.get(
    '/api/system',
    { schema: { tags: ['system'], summary: 'Version, store and uptime' } },
    async () => ({
      version: hub.hub.version,
      publicUrl: hub.hub.publicUrl,
      dataDir: hub.config.dataDir,
      store: { kind: 'sqlite', ready: hub.stores.ready() },
      lastEventSeq: hub.bus.lastSeq,
      uptimeSeconds: Math.round(process.uptime()),
      modules: hub.modules.map((m) => m.name),
      kinds: [...hub.drivers.keys()],
    }),
  );
}
