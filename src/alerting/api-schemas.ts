import { Type } from 'typebox';
import { described, Nullable, Open } from '../server/schemas.js';
import { TemplateInputSchema } from './broadcast/schema.js';
import { RuleInputSchema } from './rules/engine.js';

/**
 * Response (and documented request) schemas of the broadcast module's routes: broadcasts, templates,
 * rules, locations, incidents, the 911 state. Records are `Open` (see src/server/schemas.ts): the listed
 * fields are the contract, fields added later pass through. Checked on real answers by
 * test/server/openapi-contract.test.ts.
 */

const Time = Type.String({ format: 'date-time' });
const Counts = Type.Record(Type.String(), Type.Integer(), {
  description:
    'Deliveries per state (queued, sent, accepted, displayed, acknowledged, failed, cancelled, recalled).',
});

export const BroadcastSchema = Open({
  id: Type.String(),
  title: Type.String(),
  text: Type.String(),
  priority: Type.String({ description: 'normal, urgent or emergency' }),
  tones: Type.String(),
  ack: Type.Boolean(),
  expiresAt: Nullable(Time),
  targets: Open({}),
  state: Type.String({ description: 'planning, delivering, done, cancelled, expired or recalled' }),
  createdAt: Time,
  createdBy: Type.String(),
  finishedAt: Nullable(Time),
  report: Nullable(
    Open({
      total: Type.Integer(),
      duplicates: Type.Optional(
        Type.Integer({
          description:
            'Several hubs: phones pushed by more than one hub (a hub died with the push in flight; at most the concurrency limit per takeover).',
        }),
      ),
      deliveredBy: Type.Optional(
        Type.Record(Type.String(), Type.Integer(), {
          description: 'Several hubs: phones that have it, by the hub (instance) that delivered them.',
        }),
      ),
    }),
  ),
  owners: Type.Optional(
    Type.Array(Open({ instance: Type.String(), token: Type.Integer(), at: Time }), {
      description:
        'Several hubs: the hubs that delivered it, in order, with their lease token (a later one resumed it after the one before died).',
    }),
  ),
});

export const DeliverySchema = Open({
  id: Type.String(),
  broadcastId: Type.String(),
  deviceId: Type.String(),
  kind: Type.String(),
  state: Type.String(),
  reason: Nullable(Type.String()),
  message: Nullable(Type.String()),
  attempts: Type.Integer(),
  ackRequested: Type.Boolean(),
  acknowledgedAt: Nullable(Time),
  acknowledgedBy: Nullable(Type.String()),
  owners: Type.Optional(
    Type.Array(Type.String(), {
      description: 'Several hubs: the hubs that pushed it to this phone (two: a possible duplicate).',
    }),
  ),
});

export const BroadcastStartedSchema = described(
  Type.Object({
    broadcast: BroadcastSchema,
    total: Type.Integer({ description: 'Phones it is being delivered to.' }),
  }),
  'Started: follow it on GET /api/broadcasts/{id} or the event stream',
);
/** `next` and `total` of a cursor-paged list (docs/broadcasts.md, "Paging, sorting and search"). */
export const PageFields = {
  next: Nullable(
    Type.String({ description: 'Cursor of the next page (pass as `cursor`); null on the last page.' }),
  ),
  total: Type.Integer({ description: 'Rows matching the filters and search (all pages).' }),
};
export const BroadcastListSchema = described(
  Type.Object({
    broadcasts: Type.Array(Open({ ...BroadcastSchema.properties, counts: Counts })),
    ...PageFields,
  }),
  'Broadcasts, newest first, with their delivery counts (one page)',
);
export const BroadcastShowSchema = described(
  Type.Object({
    broadcast: BroadcastSchema,
    counts: Counts,
    running: Type.Boolean(),
    deliveries: Type.Array(DeliverySchema),
  }),
  'The broadcast, its delivery records and counts',
);
export const BroadcastCancelledSchema = described(
  Type.Object({
    broadcast: BroadcastSchema,
    report: Nullable(Open({ total: Type.Integer() })),
    cancelled: Type.Integer({ description: 'Phones not yet served, now `cancelled`.' }),
  }),
  'Cancelled; the final report',
);
export const BroadcastRecalledSchema = described(
  Type.Object({
    broadcast: BroadcastSchema,
    phones: Type.Integer({ description: 'Phones a clear was sent to.' }),
    cleared: Type.Integer(),
    failed: Type.Integer({ description: 'Phones that could not be cleared (recall again to retry them).' }),
    counts: Counts,
  }),
  'Recalled: cancelled if it was delivering, cleared from the phones that showed it',
);
export const BroadcastRetriedSchema = described(
  Type.Object({
    broadcast: BroadcastSchema,
    phones: Type.Integer({ description: 'Failed phones being sent it again.' }),
  }),
  'Retrying the failed phones: follow it as a new broadcast',
);
export const ScheduleSchema = Open({
  id: Type.String(),
  name: Type.String(),
  broadcast: Open({}),
  at: Nullable(Time),
  cron: Nullable(Type.String()),
  timeZone: Type.String(),
  paused: Type.Boolean(),
  catchUpMinutes: Nullable(Type.Integer()),
  nextRunAt: Nullable(Time),
  lastRunAt: Nullable(Time),
  lastBroadcastId: Nullable(Type.String()),
  lastError: Nullable(Type.String()),
  runs: Type.Integer(),
  missed: Type.Integer(),
  createdAt: Time,
  updatedAt: Time,
  createdBy: Type.String(),
});
export const ScheduleListSchema = described(
  Type.Object({ schedules: Type.Array(ScheduleSchema) }),
  'Schedules, next run first',
);

export const PhonePageSchema = Type.String({
  description: "A page in the phone's own format (Cisco XML, Avaya WML or plain text).",
});
export const PhoneNotFoundSchema = Type.String({
  description: 'Unknown or invalid link (plain text)',
});

// ---- templates
const TemplateSchema = Open({
  id: Type.String(),
  name: Type.String(),
  title: Type.String(),
  text: Type.String(),
  priority: Type.String(),
  tones: Type.String(),
  ack: Type.Boolean(),
  expiresInSeconds: Nullable(Type.Integer()),
  description: Type.String(),
  createdAt: Time,
  updatedAt: Time,
  variables: Type.Optional(
    Type.Array(Open({ path: Type.String(), fallback: Type.Optional(Type.String()) }), {
      description: 'GET: the {{variables}} its title and text use, in order of first use, each once.',
    }),
  ),
});
export const TemplateBody = Type.Omit(TemplateInputSchema, ['id'], {
  additionalProperties: false,
  examples: [
    {
      title: 'Lockdown: {{building}}',
      text: 'Lockdown in {{building}}. Stay in your room.',
      priority: 'emergency',
      tones: 'urgent',
      ack: true,
    },
  ],
});
export const TemplateListSchema = described(
  Type.Object({ templates: Type.Array(TemplateSchema) }),
  'Every template',
);
export const TemplateOneSchema = described(TemplateSchema, 'The template');
export const RenderBody = Type.Object(
  { vars: Type.Optional(Type.Record(Type.String(), Type.Unknown())) },
  { examples: [{ vars: { building: 'North' } }] },
);
export const RenderedSchema = described(
  Type.Object({ title: Type.String(), text: Type.String() }),
  'Title and text with the variables filled in',
);

// ---- rules
const RuleSchema = Open({
  id: Type.String(),
  name: Type.String(),
  enabled: Type.Boolean(),
  event: Type.String(),
  where: Type.Record(Type.String(), Type.Unknown()),
  actions: Type.Array(Open({ type: Type.String() }), {
    description: 'Webhook secrets are shown as ********.',
  }),
  throttleSeconds: Type.Integer(),
  origin: Type.String({ description: 'api, config or builtin' }),
  createdAt: Time,
  updatedAt: Time,
});
const ruleExample = {
  event: 'call.emergency',
  actions: [{ type: 'webhook', url: 'https://example.org/hooks/911', secret: 'a-long-shared-secret' }],
};
/** PUT /api/rules/{id} (validated by the rule engine: RULE_INVALID, RULE_UNKNOWN_EVENT, …). */
export const RulePutBody = Type.Omit(RuleInputSchema, ['id'], {
  additionalProperties: false,
  examples: [ruleExample],
});
/** POST /api/rules/validate: a whole rule, id included. */
export const RuleValidateBody = { ...RuleInputSchema, examples: [{ id: 'hook-911', ...ruleExample }] };
export const RuleListSchema = described(
  Type.Object({
    rules: Type.Array(RuleSchema),
    builtin: Type.Array(Open({ id: Type.String(), event: Type.String(), active: Type.Boolean() })),
  }),
  'Rules from the API and the config file, and the built-in 911 rule',
);
export const RuleOneSchema = described(RuleSchema, 'The rule');
export const RuleValidSchema = described(Type.Object({ ok: Type.Literal(true) }), 'The rule is valid');
export const WebhookDeliveriesSchema = described(
  Type.Object({
    deliveries: Type.Array(Open({ id: Type.Union([Type.String(), Type.Integer()]), url: Type.String() })),
  }),
  'Outgoing webhook deliveries, newest first',
);

// ---- locations
export const LocationEntrySchema = Open({
  extension: Type.String(),
  name: Type.Optional(Type.String()),
  building: Type.Optional(Type.String()),
  floor: Type.Optional(Type.String()),
  room: Type.Optional(Type.String()),
  site: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  callback: Type.Optional(Type.String()),
  timeZone: Type.Optional(Type.String()),
  updatedAt: Time,
});
export const LocationListSchema = described(
  Type.Object({ locations: Type.Array(LocationEntrySchema) }),
  'The location table',
);
export const LocationLookupSchema = described(
  Type.Object({
    extension: Type.String(),
    entry: Nullable(LocationEntrySchema),
    location: Open({ from: Type.String({ description: 'table, device, pbx or none' }) }),
  }),
  'The table row (null when none) and the location an alert would show',
);
export const LocationSetSchema = described(LocationEntrySchema, 'The row as stored');
const CSV_EXAMPLE = 'extension,name,building,floor,room\n214,Front desk,Main,2,214\n';
/** POST /api/locations/import: text/csv, text/plain or JSON `{ "csv": "…" }` (checked by the route). */
export const LocationImportBody = {
  content: {
    'text/csv': { schema: { type: 'string', example: CSV_EXAMPLE } },
    'text/plain': { schema: { type: 'string' } },
    'application/json': {
      schema: {
        type: 'object',
        required: ['csv'],
        properties: { csv: { type: 'string', description: 'The CSV text.' } },
        example: { csv: CSV_EXAMPLE },
      },
    },
  },
};
export const LocationImportedSchema = described(
  Type.Object({ imported: Type.Integer() }),
  'How many rows were stored',
);

// ---- incidents and the 911 notification
export const IncidentSchema = Open({
  id: Type.String(),
  createdAt: Time,
  test: Type.Boolean(),
  pbx: Type.String(),
  caller: Open({ extension: Type.String(), name: Type.String(), callbackNumber: Type.String() }),
  location: Open({ from: Type.String() }),
  state: Type.String(),
  broadcasts: Type.Array(Type.String()),
  acknowledgedAt: Nullable(Time),
  acknowledgedBy: Nullable(Type.String()),
});
export const IncidentListSchema = {
  description: 'Incidents, newest first (JSON; format=csv: a CSV file)',
  content: {
    'application/json': {
      schema: Type.Object({
        incidents: Type.Array(
          Open({ ...IncidentSchema.properties, events: Type.Integer({ description: 'Timeline length.' }) }),
        ),
        next: Type.Optional(PageFields.next),
        total: Type.Optional(PageFields.total),
      }),
    },
    'text/csv': { schema: Type.String() },
  },
};
export const IncidentShowSchema = described(
  Type.Object({ incident: IncidentSchema, deliveries: Type.Array(DeliverySchema) }),
  'The incident with its timeline, and the delivery outcome per phone',
);
export const IncidentAckedSchema = described(
  Type.Object({ incident: IncidentSchema }),
  'Acknowledged (a second acknowledgement keeps the first one)',
);
export const EmergencySchema = described(
  Open({
    active: Type.Boolean(),
    ready: Type.Boolean(),
    reasons: Type.Array(Type.Unknown()),
    enabled: Type.Union([Type.Literal('auto'), Type.Literal('on'), Type.Literal('off')]),
    group: Type.String(),
    phoneCount: Type.Integer(),
  }),
  'State and readiness of the built-in 911 notification',
);
