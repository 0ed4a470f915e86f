import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { isSessionName } from '../../core/apikeys.js';
import type { Device } from '../../core/devices.js';
import { assertDeviceInput, assertDevicePatch, redactDevice } from '../../core/devices.js';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import { PageQueryFields, pageOf, type SortValue } from '../../core/paging.js';
import { PERMISSIONS, parseScopes, ROLES } from '../../core/roles.js';
import { paramsSchema } from '../../core/spec.js';
import { assertMayGrant, creatorOf } from '../auth.js';
import type { Hub } from '../compose.js';
import {
  ActionResultSchema,
  described,
  errors,
  noContent,
  sendNoContent,
  serviceValidatedBody,
} from '../schemas.js';
import {
  DeviceCreateBody,
  DeviceListSchema,
  DevicePatchBody,
  DeviceSchema,
  GroupBody,
  GroupListSchema,
  GroupPutSchema,
  GroupShowSchema,
  IdParams,
  KeyCreatedSchema,
  KeyInfoSchema,
  KeyListSchema,
  KindSpecSchema,
  KindsSchema,
  MacroResultSchema,
  SystemSchema,
  VariablesSchema,
} from './core-schemas.js';

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

export function registerCoreRoutes(root: FastifyInstance, hub: Hub): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
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
        response: { 200: DeviceListSchema, ...errors(400, 401) },
      },
    },
    async (req) => {
      const { sort, order, limit, cursor, q, ...filter } = req.query;
      const page = pageOf(
        hub.devices.list(filter),
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
        description:
          "Settings are checked against the kind's settings schema (GET /api/kinds). Errors: DEVICE_INVALID, DEVICE_UNKNOWN_KIND, DEVICE_SETTINGS_INVALID (400), DEVICE_EXISTS (409).",
        response: { 201: described(DeviceSchema, 'The device as stored'), ...errors(400, 401, 409) },
      },
      config: serviceValidatedBody(DeviceCreateBody),
    },
    async (req, reply) => {
      const input = req.body;
      assertDeviceInput(input);
      return reply.status(201).send(show(await hub.devices.add(input)));
    },
  );
  app.get(
    '/api/devices/:id',
    {
      schema: {
        tags: ['devices'],
        summary: 'Get a device',
        params: IdParams,
        response: { 200: described(DeviceSchema, 'The device'), ...errors(400, 401, 404) },
      },
    },
    async (req) => show(hub.devices.require(req.params.id)),
  );
  app.patch(
    '/api/devices/:id',
    {
      schema: {
        tags: ['devices'],
        summary: 'Change a device (settings are merged)',
        params: IdParams,
        response: { 200: described(DeviceSchema, 'The device as changed'), ...errors(400, 401, 404) },
      },
      config: serviceValidatedBody(DevicePatchBody),
    },
    async (req) => {
      const patch = req.body;
      assertDevicePatch(patch);
      return show(await hub.devices.update(req.params.id, patch));
    },
  );
  app.delete(
    '/api/devices/:id',
    {
      schema: {
        tags: ['devices'],
        summary: 'Remove a device',
        params: IdParams,
        response: { 204: noContent('Removed'), ...errors(400, 401, 404) },
      },
    },
    async (req, reply) => {
      await hub.devices.remove(req.params.id);
      return sendNoContent(reply);
    },
  );
  app.get(
    '/api/devices/:id/variables',
    {
      schema: {
        tags: ['devices'],
        summary: "A device's current variable values",
        params: IdParams,
        response: { 200: VariablesSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => ({ variables: hub.actions.variables(req.params.id) }),
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
        body: Type.Optional(
          Type.Record(Type.String(), Type.Unknown(), {
            description: "The action's params (schema: GET /api/kinds/{kind}/spec).",
            examples: [{ text: 'Fire drill at 10:00' }],
          }),
        ),
        response: {
          200: described(ActionResultSchema, 'What the device answered (ok false: it refused)'),
          ...errors(400, 401, 404, 409, 502, 504),
        },
      },
    },
    async (req) => {
      const p = req.params;
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
        body: Type.Optional(
          Type.Record(Type.String(), Type.Unknown(), { description: "The macro's params." }),
        ),
        response: { 200: MacroResultSchema, ...errors(400, 401, 404, 409, 502, 504) },
      },
    },
    async (req) => {
      const p = req.params;
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
    {
      schema: {
        tags: ['devices'],
        summary: 'Device kinds with their drivers',
        response: { 200: KindsSchema, ...errors(401) },
      },
    },
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
        response: { 200: KindSpecSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const kind = req.params.kind;
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
    {
      schema: {
        tags: ['groups'],
        summary: 'List groups with member counts',
        response: { 200: GroupListSchema, ...errors(401) },
      },
    },
    async () => ({ groups: hub.devices.listGroups() }),
  );
  app.put(
    '/api/groups/:id',
    {
      schema: {
        tags: ['groups'],
        summary: 'Create or change a group',
        params: IdParams,
        body: Type.Optional(GroupBody),
        response: { 200: GroupPutSchema, ...errors(400, 401) },
      },
    },
    async (req) => await hub.devices.putGroup({ ...(req.body ?? {}), id: req.params.id }),
  );
  app.get(
    '/api/groups/:id',
    {
      schema: {
        tags: ['groups'],
        summary: 'A group and its member devices',
        params: IdParams,
        response: { 200: GroupShowSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const g = hub.devices.getGroup(req.params.id);
      return { ...g, members: g.members.map(show) };
    },
  );
  app.delete(
    '/api/groups/:id',
    {
      schema: {
        tags: ['groups'],
        summary: 'Remove an empty group',
        params: IdParams,
        response: { 204: noContent('Removed'), ...errors(400, 401, 404, 409) },
      },
    },
    async (req, reply) => {
      await hub.devices.removeGroup(req.params.id);
      return sendNoContent(reply);
    },
  );

  // ---- API keys (the console's System page; creating keys needs a key already)
  app.get(
    '/api/keys',
    {
      schema: {
        tags: ['system'],
        summary: 'List API keys (never the secrets)',
        response: { 200: KeyListSchema, ...errors(401) },
      },
    },
    async () => ({ keys: await hub.apiKeys.list() }),
  );
  app.post(
    '/api/keys',
    {
      schema: {
        tags: ['system'],
        summary: 'Create an API key (the key is shown once) with a role (default admin) or scopes',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 100 }),
            role: Type.Optional(Type.Union(ROLES.map((r) => Type.Literal(r)))),
            scopes: Type.Optional(
              Type.Array(Type.Union(PERMISSIONS.map((p) => Type.Literal(p))), { minItems: 1, maxItems: 64 }),
            ),
          },
          {
            additionalProperties: false,
            examples: [{ name: 'ops' }, { name: 'relay', scopes: ['pubsub:publish'] }],
          },
        ),
        response: { 201: KeyCreatedSchema, ...errors(400, 401, 403) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      if (isSessionName(b.name.trim()))
        throw new ValidationError('APIKEY_NAME_INVALID', 'name: session:… is reserved for sign-in sessions', {
          field: 'name',
        });
      const scopes = b.scopes ? parseScopes(b.scopes) : undefined;
      const role = scopes ? undefined : (b.role ?? 'admin');
      if (scopes && b.role)
        throw new ValidationError('APIKEY_ROLE_AND_SCOPES', 'a key has a role or scopes, not both', {
          field: 'scopes',
        });
      assertMayGrant(req.principal, { role: role ?? null, scopes: scopes ?? null });
      return reply.status(201).send(
        await hub.apiKeys.create(b.name, {
          createdBy: creatorOf(req),
          ...(role ? { role } : {}),
          ...(scopes ? { scopes } : {}),
        }),
      );
    },
  );
  app.delete(
    '/api/keys/:id',
    {
      schema: {
        tags: ['system'],
        summary: 'Revoke an API key',
        params: Type.Object({ id: Type.String({ description: 'Key id or prefix.' }) }),
        response: { 200: KeyInfoSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => await hub.apiKeys.revoke(req.params.id),
  );
  app.get(
    '/api/system',
    {
      schema: {
        tags: ['system'],
        summary: 'Version, store and uptime',
        response: { 200: SystemSchema, ...errors(401) },
      },
    },
    async () => ({
      version: hub.hub.version,
      publicUrl: hub.hub.publicUrl,
      dataDir: hub.config.dataDir,
      store: { kind: hub.storeBackend, ready: hub.stores.ready() },
      cluster: { instance: hub.cluster.instanceId, leases: hub.cluster.status() },
      lastEventSeq: hub.bus.lastSeq,
      uptimeSeconds: Math.round(process.uptime()),
      modules: hub.modules.map((m) => m.name),
      kinds: [...hub.drivers.keys()],
    }),
  );
}
