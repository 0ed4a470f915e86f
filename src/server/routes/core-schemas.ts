import { Type } from 'typebox';
import { DeviceInputSchema, GroupInputSchema, LocationSchema } from '../../core/devices.js';
import { described, Nullable, Open } from '../schemas.js';

/**
 * Request and response schemas of the core routes (devices, kinds, groups, keys, system): the OpenAPI
 * document's contract, checked against real answers by test/server/openapi-contract.test.ts.
 */

export const IdParams = Type.Object({
  id: Type.String({ maxLength: 100, description: 'Device or group id.' }),
});

export const DeviceSchema = Open({
  id: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  address: Type.String({ description: 'Host, host:port or URL, as the driver expects.' }),
  labels: Type.Array(Type.String()),
  groups: Type.Array(Type.String()),
  location: LocationSchema,
  settings: Type.Record(Type.String(), Type.Unknown(), {
    description: 'Driver settings; secrets are shown as ********.',
  }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const DeviceBodyExample = {
  id: 'lobby-8861',
  kind: 'cisco',
  name: 'Lobby',
  address: '10.0.20.31',
  groups: ['security'],
  location: { building: 'Main', floor: '1', room: 'Lobby' },
  settings: { username: 'push', password: 'secret' },
};

/** POST /api/devices (validated by the device registry: `DEVICE_INVALID`, `DEVICE_SETTINGS_INVALID`). */
export const DeviceCreateBody = { ...DeviceInputSchema, examples: [DeviceBodyExample] };

/** PATCH /api/devices/{id}: any of the fields; `settings` are merged into the current ones. */
export const DevicePatchBody = Type.Partial(Type.Omit(DeviceInputSchema, ['id', 'kind']), {
  additionalProperties: false,
  examples: [{ groups: ['security', 'lobby'], location: { building: 'Main', room: '214' } }],
});

export const DeviceListSchema = described(
  Type.Object({
    devices: Type.Array(DeviceSchema),
    next: Nullable(
      Type.String({ description: 'Cursor of the next page (pass as `cursor`); null on the last page.' }),
    ),
    total: Type.Integer({ description: 'Devices matching the filters and search (all pages).' }),
  }),
  'The devices matching every filter given (one page with `limit`)',
);

export const VariablesSchema = described(
  Type.Object({ variables: Type.Record(Type.String(), Type.Unknown()) }),
  "The device's variables (from its control spec) as last seen",
);

export const MacroResultSchema = described(
  Open({
    macroId: Type.String(),
    ok: Type.Boolean(),
    steps: Type.Array(Open({})),
    last: Type.Optional(Open({ ok: Type.Boolean() })),
  }),
  'Each step the macro ran, and the last result',
);

export const KindsSchema = described(
  Type.Object({
    kinds: Type.Array(
      Open({
        kind: Type.String(),
        label: Type.String(),
        actions: Type.Integer(),
        queries: Type.Integer(),
        macros: Type.Integer(),
        settingsSchema: Type.Unknown({ description: "JSON schema of the kind's device settings." }),
      }),
    ),
  }),
  'Every device kind the hub has a driver for',
);

export const KindSpecSchema = described(
  Open({
    kind: Type.String(),
    label: Type.String(),
    actions: Type.Array(
      Open({
        id: Type.String(),
        kind: Type.String({ description: 'action or query' }),
        paramsSchema: Type.Unknown({ description: "JSON schema of the action's params." }),
      }),
    ),
  }),
  'The control spec of the kind',
);

const GroupSchema = Open({
  id: Type.String(),
  name: Type.String(),
  description: Type.Optional(Type.String()),
});

export const GroupBody = Type.Omit(GroupInputSchema, ['id'], {
  additionalProperties: false,
  examples: [{ name: 'Security desk', description: 'Phones alerted first on a 911 call' }],
});

export const GroupListSchema = described(
  Type.Object({ groups: Type.Array(Open({ ...GroupSchema.properties, members: Type.Integer() })) }),
  'Every group (declared, or named by a device) with its member count',
);
export const GroupPutSchema = described(GroupSchema, 'The group as stored');
export const GroupShowSchema = described(
  Open({ ...GroupSchema.properties, members: Type.Array(DeviceSchema) }),
  'The group and its member devices',
);

// API keys: closed objects on purpose: a field the list does not name (a hash, a salt) is never serialized.
const KeyInfoProperties = {
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'Non-secret prefix shown in listings.' }),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Nullable(Type.String({ format: 'date-time' })),
  revokedAt: Nullable(Type.String({ format: 'date-time' })),
  expiresAt: Type.Optional(Nullable(Type.String({ format: 'date-time' }))),
  createdBy: Type.Optional(Nullable(Type.String())),
  role: Type.Optional(
    Nullable(Type.String({ description: 'Role of a role key (admin, operator, sender, viewer).' })),
  ),
  scopes: Type.Optional(Nullable(Type.Array(Type.String(), { description: 'Permissions of a scoped key.' }))),
  idleSeconds: Type.Optional(Nullable(Type.Integer({ description: 'Sessions: the sliding expiry.' }))),
  absoluteExpiresAt: Type.Optional(Nullable(Type.String({ format: 'date-time' }))),
  revokedReason: Type.Optional(Nullable(Type.String({ description: 'Why it was revoked.' }))),
};
export const KeyInfoSchema = described(Type.Object(KeyInfoProperties), 'The key (never its secret)');
export const KeyListSchema = described(
  Type.Object({ keys: Type.Array(Type.Object(KeyInfoProperties)) }),
  'Every API key and session token, revoked ones too',
);
export const KeyCreatedSchema = described(
  Type.Object({
    id: Type.String(),
    name: Type.String(),
    key: Type.String({ description: 'The secret: shown this once, store it now.' }),
    prefix: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
    createdBy: Type.Optional(Type.String()),
    role: Type.Optional(Type.String({ description: 'Role of a role key.' })),
    scopes: Type.Optional(Type.Array(Type.String(), { description: 'Permissions of a scoped key.' })),
  }),
  'The new key, with its secret',
);

export const SystemSchema = described(
  Open({
    version: Type.String(),
    publicUrl: Type.String(),
    dataDir: Type.String(),
    store: Open({ kind: Type.String(), ready: Type.Boolean() }),
    cluster: Open({
      instance: Type.String({ description: "This hub's instance id among the hubs of the site" }),
      leases: Type.Array(
        Open({
          name: Type.String(),
          held: Type.Boolean(),
          token: Type.Union([Type.Integer(), Type.Null()]),
          since: Type.Union([Type.String(), Type.Null()]),
          error: Type.Union([Type.String(), Type.Null()]),
        }),
        { description: 'The leases of singleton work this hub tries to hold, and whether it holds them' },
      ),
    }),
    lastEventSeq: Type.Integer(),
    uptimeSeconds: Type.Integer(),
    modules: Type.Array(Type.String()),
    kinds: Type.Array(Type.String()),
  }),
  'Version, store and uptime',
);
