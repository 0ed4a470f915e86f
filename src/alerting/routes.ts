import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { type Static, Type } from 'typebox';
import { AuthError, NotFoundError, ValidationError } from '../core/errors.js';
import type { HubContext } from '../core/module.js';
import { compareSort, PageQueryFields } from '../core/paging.js';
import { bodyWithId, errors, noContent, sendNoContent, serviceValidatedBody } from '../server/schemas.js';
import {
  BroadcastCancelledSchema,
  BroadcastListSchema,
  BroadcastRecalledSchema,
  BroadcastRetriedSchema,
  BroadcastShowSchema,
  BroadcastStartedSchema,
  EmergencySchema,
  IncidentAckedSchema,
  IncidentListSchema,
  IncidentShowSchema,
  LocationImportBody,
  LocationImportedSchema,
  LocationListSchema,
  LocationLookupSchema,
  LocationSetSchema,
  PhoneNotFoundSchema,
  PhonePageSchema,
  RenderBody,
  RenderedSchema,
  RuleListSchema,
  RuleOneSchema,
  RulePutBody,
  RuleValidateBody,
  RuleValidSchema,
  TemplateBody,
  TemplateListSchema,
  TemplateOneSchema,
  WebhookDeliveriesSchema,
} from './api-schemas.js';
import { broadcastFromBody } from './broadcast/body.js';
import { countStates, fullCounts } from './broadcast/report.js';
import { BroadcastInputSchema } from './broadcast/schema.js';
import { templateVariables } from './broadcast/template.js';
import { assertTemplateInput } from './broadcast/templates.js';
import type { Broadcast, Delivery, Template } from './broadcast/types.js';
import type { BroadcastRuntime } from './broadcast-module.js';
import { coverageReport, isValidTimeZone } from './emergency/alert-text.js';
import { incidentsCsv, parseLocationsCsv } from './emergency/service.js';
import type { LocationEntry } from './emergency/types.js';

const Id = Type.Object({ id: Type.String({ maxLength: 100 }) });
const AckBody = Type.Object(
  {
    note: Type.Optional(
      Type.String({ maxLength: 500, description: 'What the desk did (e.g. "officer sent to room 214").' }),
    ),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object({
  ...PageQueryFields,
  before: Type.Optional(
    Type.String({ maxLength: 40, description: 'Only broadcasts created before this ISO time.' }),
  ),
  state: Type.Optional(
    Type.Union(
      ['delivering', 'done', 'cancelled', 'expired', 'recalled'].map((s) => Type.Literal(s)),
      { description: 'Only broadcasts in this state.' },
    ),
  ),
});

/** Delivery records as shown through the API (never the token hash). */
function showDelivery(d: Delivery): Omit<Delivery, 'ackTokenHash'> & { ackRequested: boolean } {
  const { ackTokenHash, ...rest } = d;
  return { ...rest, ackRequested: ackTokenHash !== null };
}

export const CreateBroadcastSchema = Type.Object(
  {
    ...BroadcastInputSchema.properties,
    title: Type.Optional(Type.String({ maxLength: 200 })),
    text: Type.Optional(Type.String({ maxLength: 4000 })),
    template: Type.Optional(
      Type.String({ maxLength: 64, description: 'Template id: title/text rendered with vars.' }),
    ),
    vars: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Template variables.' })),
  },
  {
    additionalProperties: false,
    examples: [
      {
        title: 'Fire drill',
        text: 'Fire drill at 10:00, leave by the stairs.',
        targets: { groups: ['staff'] },
      },
      { template: 'lockdown', vars: { building: 'North' }, targets: { all: true } },
    ],
  },
);

export async function registerBroadcastRoutes(
  root: FastifyInstance,
  hub: HubContext,
  rt: BroadcastRuntime,
): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const { engine, templates, rules, emergency, stores } = rt;
  const who = (req: unknown) => (req as { apiKey?: { name?: string } }).apiKey?.name ?? 'api';
  // The signed-in principal (a session's local user, else the API key's name).
  const by = (req: { principal?: { name?: string } }) => req.principal?.name ?? who(req);

  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const summary = async (b: Broadcast) => ({
    ...b,
    counts: engine.isRunning(b.id)
      ? await engine.counts(b.id)
      : fullCounts(await stores.broadcasts.countDeliveries(b.id)),
  });

  // ------------------------------------------------------------------ broadcasts
  app.post(
    '/api/broadcasts',
    {
      schema: {
        tags: ['broadcasts'],
        summary: 'Send a broadcast (text, priority, tones, audio, ack) to devices, groups, labels or all',
        description:
          'Either title+text or a template id with vars. Returns at once; follow progress on /api/events/stream (broadcast.progress) or GET /api/broadcasts/:id.',
        body: CreateBroadcastSchema,
        response: { 201: BroadcastStartedSchema, ...errors(400, 401, 404, 503) },
      },
    },
    async (req, reply) => {
      const input = broadcastFromBody(req.body, templates);
      const b = engine.start(input, { createdBy: who(req) });
      // 201 once the broadcast and its targets are in the store: an accepted broadcast survives this hub
      // (another hub resumes it). Delivery has started meanwhile; a store error answers that error.
      await engine.durable(b.id);
      return reply.status(201).send({ broadcast: b, total: (await engine.deliveries(b.id)).length });
    },
  );
  app.get(
    '/api/broadcasts',
    {
      schema: {
        tags: ['broadcasts'],
        summary:
          'List broadcasts, newest first (paged: limit, cursor → next; q searches title, text, sender)',
        querystring: ListQuery,
        response: { 200: BroadcastListSchema, ...errors(400, 401) },
      },
    },
    async (req) => {
      const q = req.query;
      const page = await rt.stores.broadcasts.pageBroadcasts(
        { limit: q.limit ?? 50, cursor: q.cursor, sort: 'createdAt', order: q.order ?? 'desc', q: q.q },
        { before: q.before, state: q.state },
      );
      return {
        broadcasts: await Promise.all(
          page.items.map(async (b) => summary(engine.isRunning(b.id) ? await engine.get(b.id) : b)),
        ),
        next: page.next,
        total: page.total,
      };
    },
  );
  app.get(
    '/api/broadcasts/:id',
    {
      schema: {
        tags: ['broadcasts'],
        summary: 'A broadcast with its per-phone delivery records and report',
        description:
          "Each delivery also carries the phone's `deviceName` and `location` (site building floor room; empty once the device is removed). `sort=name` lists them by name, naturally (Phone 9 before Phone 10); `sort=location` by location, then name.",
        params: Id,
        querystring: Type.Object({
          sort: Type.Optional(Type.Union([Type.Literal('name'), Type.Literal('location')])),
        }),
        response: { 200: BroadcastShowSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const { id } = req.params;
      const { sort } = req.query;
      const b = await engine.get(id);
      const ds = await engine.deliveries(id);
      const devices = new Map(hub.devices.list().map((d) => [d.id, d]));
      const view = ds.map((d) => {
        const dev = devices.get(d.deviceId);
        const l = dev?.location ?? {};
        return {
          ...showDelivery(d),
          deviceName: dev ? dev.name || dev.id : d.deviceId,
          location: [l.site, l.building, l.floor, l.room].filter(Boolean).join(' '),
        };
      });
      if (sort)
        view.sort(
          (x, y) =>
            (sort === 'location' ? compareSort(x.location || null, y.location || null) : 0) ||
            compareSort(x.deviceName, y.deviceName) ||
            compareSort(x.deviceId, y.deviceId),
        );
      return { broadcast: b, counts: countStates(ds), running: engine.isRunning(id), deliveries: view };
    },
  );
  app.post(
    '/api/broadcasts/:id/cancel',
    {
      schema: {
        tags: ['broadcasts'],
        summary: 'Cancel a running broadcast (phones not yet served end `cancelled`; 409 once finished)',
        params: Id,
        response: { 200: BroadcastCancelledSchema, ...errors(400, 401, 404, 409) },
      },
    },
    async (req) => {
      const { id } = req.params;
      const r = await rt.control.cancel(id, by(req));
      return { broadcast: r.broadcast, report: r.broadcast.report, cancelled: r.cancelled };
    },
  );
  app.post(
    '/api/broadcasts/:id/recall',
    {
      schema: {
        tags: ['broadcasts'],
        summary:
          'Recall a broadcast: cancel it if still delivering and clear it from the phones that show it',
        description:
          'Cisco phones close the pushed screen (Init:Services); Avaya phones get the card and Top Line replaced by "This message was withdrawn." Phones cleared end `recalled`; `failed` counts phones that could not be cleared (their delivery records carry `recall.outcome`). Recalling again retries those.',
        params: Id,
        response: { 200: BroadcastRecalledSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const { id } = req.params;
      const r = await rt.control.recall(id, by(req));
      return {
        broadcast: r.broadcast,
        phones: r.phones,
        cleared: r.cleared,
        failed: r.failed,
        counts: countStates(await stores.broadcasts.listDeliveries(id)),
      };
    },
  );
  app.post(
    '/api/broadcasts/:id/retry',
    {
      schema: {
        tags: ['broadcasts'],
        summary: 'Send a finished broadcast again to the phones whose delivery failed',
        description:
          'Answers at once (202) with the number of phones retried; follow progress as for a new broadcast. 409 while it is delivering, once recalled or expired, or when no phone failed.',
        params: Id,
        response: { 202: BroadcastRetriedSchema, ...errors(400, 401, 404, 409) },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const r = await rt.control.retry(id, by(req));
      return reply.status(202).send({ broadcast: r.broadcast, phones: r.phones });
    },
  );

  // Phone-facing acknowledgement: no API key; the unguessable per-delivery token authorises. GET (Cisco
  // softkey URL, Avaya WML link) and POST. Answers in the phone's own format.
  const AckParams = Type.Object({
    id: Type.String({ maxLength: 100 }),
    token: Type.String({ maxLength: 100 }),
  });
  const AckQuery = Type.Object({ by: Type.Optional(Type.String({ maxLength: 200 })) });
  const ack = async (
    req: { params: Static<typeof AckParams>; query: Static<typeof AckQuery> },
    reply: FastifyReply,
  ) => {
    const { id, token } = req.params;
    const by = req.query.by;
    try {
      const r = await engine.acknowledge(id, token, by);
      const text = r.first
        ? `Thank you. "${r.broadcast.title}" is acknowledged.`
        : `Already acknowledged (${r.delivery.acknowledgedAt}).`;
      const page = r.planner?.ackPage?.(text, { close: Boolean(r.broadcast.repeatEveryMs) }) ?? {
        contentType: 'text/plain; charset=utf-8',
        body: `${text}\n`,
      };
      return reply
        .status(200)
        .header('content-type', page.contentType)
        .header('cache-control', 'no-store')
        .send(page.body);
    } catch (e) {
      if (e instanceof AuthError) {
        return reply
          .status(404)
          .header('content-type', 'text/plain; charset=utf-8')
          .header('cache-control', 'no-store')
          .send('unknown or invalid acknowledgement link\n');
      }
      throw e;
    }
  };
  app.get(
    '/alerts/ack/:id/:token',
    {
      schema: {
        tags: ['broadcasts'],
        summary: 'Acknowledge an alert (phones; token in the URL, no API key)',
        params: AckParams,
        querystring: AckQuery,
        security: [],
        response: { 200: PhonePageSchema, 404: PhoneNotFoundSchema },
      },
    },
    ack,
  );
  app.post(
    '/alerts/ack/:id/:token',
    {
      schema: {
        tags: ['broadcasts'],
        summary: 'Acknowledge an alert (POST)',
        params: AckParams,
        querystring: AckQuery,
        security: [],
        response: { 200: PhonePageSchema, 404: PhoneNotFoundSchema },
      },
    },
    ack,
  );

  // Phone-facing: the alert again while it is open (the target of a 911 alert's Exit softkey and of its
  // repeats), the closing page once someone acknowledged it. Same token as the acknowledgement link.
  // The reply is untyped: a Latin-1 page is sent as bytes (a Buffer), which the string schema does not name.
  const showAgain = async (req: { params: Static<typeof AckParams> }, reply: FastifyReply) => {
    const { id, token } = req.params;
    const notFound = () =>
      reply
        .status(404)
        .header('content-type', 'text/plain; charset=utf-8')
        .header('cache-control', 'no-store')
        .send('unknown or invalid alert link\n');
    try {
      const r = await engine.showPage(id, token);
      if (!r.page) return notFound();
      const latin1 = /iso-8859-1/i.test(r.page.contentType);
      return reply
        .status(200)
        .header('content-type', r.page.contentType)
        .header('cache-control', 'no-store')
        .send(latin1 ? Buffer.from(r.page.body, 'latin1') : r.page.body);
    } catch (e) {
      if (e instanceof AuthError) return notFound();
      throw e;
    }
  };
  app.get(
    '/alerts/show/:id/:token',
    {
      schema: {
        tags: ['broadcasts'],
        summary: 'Show an alert again (phones; token in the URL, no API key)',
        params: AckParams,
        security: [],
        response: { 200: PhonePageSchema, 404: PhoneNotFoundSchema },
      },
    },
    showAgain,
  );

  // ------------------------------------------------------------------ templates
  // Each template with the variables its title and text use (`{{a.b | fallback}}`), for forms that fill them.
  const withVariables = (t: Template) => ({
    ...t,
    variables: [...templateVariables(t.title, 'title'), ...templateVariables(t.text, 'text')].filter(
      (v, i, all) => all.findIndex((x) => x.path === v.path) === i,
    ),
  });
  app.get(
    '/api/templates',
    {
      schema: {
        tags: ['templates'],
        summary: 'List templates',
        description: 'Each with `variables`: the {{variables}} of its title and text ({ path, fallback }).',
        response: { 200: TemplateListSchema, ...errors(401) },
      },
    },
    async () => ({ templates: templates.list().map(withVariables) }),
  );
  app.get(
    '/api/templates/:id',
    {
      schema: {
        tags: ['templates'],
        summary: 'Get a template (with its variables)',
        params: Id,
        response: { 200: TemplateOneSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => withVariables(templates.require(req.params.id)),
  );
  app.put(
    '/api/templates/:id',
    {
      schema: {
        tags: ['templates'],
        summary: 'Create or replace a template ({{variables}} in title and text)',
        description: 'Errors: TEMPLATE_INVALID (400) names the field.',
        params: Id,
        response: { 200: TemplateOneSchema, ...errors(400, 401) },
      },
      config: serviceValidatedBody(TemplateBody),
    },
    async (req) => {
      const input = bodyWithId(req.body, req.params.id);
      assertTemplateInput(input);
      return await templates.put(input);
    },
  );
  app.delete(
    '/api/templates/:id',
    {
      schema: {
        tags: ['templates'],
        summary: 'Delete a template',
        params: Id,
        response: { 204: noContent('Deleted'), ...errors(400, 401, 404) },
      },
    },
    async (req, reply) => {
      await templates.remove(req.params.id);
      return sendNoContent(reply);
    },
  );
  app.post(
    '/api/templates/:id/render',
    {
      schema: {
        tags: ['templates'],
        summary: 'Preview a template with variables',
        params: Id,
        body: RenderBody,
        response: { 200: RenderedSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const t = templates.render(req.params.id, req.body.vars ?? {});
      return { title: t.title, text: t.text };
    },
  );

  // ------------------------------------------------------------------ rules
  app.get(
    '/api/rules',
    {
      schema: {
        tags: ['rules'],
        summary: 'List rules (API, config file and built-in)',
        response: { 200: RuleListSchema, ...errors(401) },
      },
    },
    async () => ({
      rules: rules.list().map(redactRule),
      builtin: [
        {
          id: 'emergency-911',
          event: 'call.emergency',
          active: emergency.active(),
          group: emergency.options.group,
          escalationGroup: emergency.options.escalationGroup,
          escalateAfterSeconds: emergency.options.escalateAfterSeconds,
        },
      ],
    }),
  );
  app.get(
    '/api/rules/:id',
    {
      schema: {
        tags: ['rules'],
        summary: 'Get a rule',
        params: Id,
        response: { 200: RuleOneSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => redactRule(rules.get(req.params.id)),
  );
  app.put(
    '/api/rules/:id',
    {
      schema: {
        tags: ['rules'],
        summary: 'Create or replace a rule (validated: event type, fields, templates, actions)',
        description:
          'Errors: RULE_INVALID, RULE_UNKNOWN_EVENT, RULE_UNKNOWN_FIELD, RULE_INVALID_ACTION (400).',
        params: Id,
        response: { 200: RuleOneSchema, ...errors(400, 401, 409) },
      },
      config: serviceValidatedBody(RulePutBody),
    },
    async (req) => redactRule(await rules.put(bodyWithId(req.body, req.params.id))),
  );
  app.post(
    '/api/rules/validate',
    {
      schema: {
        tags: ['rules'],
        summary: 'Validate a rule without saving it',
        response: { 200: RuleValidSchema, ...errors(400, 401) },
      },
      config: serviceValidatedBody(RuleValidateBody),
    },
    async (req) => {
      const { validateRule } = await import('./rules/engine.js');
      validateRule(req.body, rt.validation());
      return { ok: true as const };
    },
  );
  app.delete(
    '/api/rules/:id',
    {
      schema: {
        tags: ['rules'],
        summary: 'Delete a rule',
        params: Id,
        response: { 204: noContent('Deleted'), ...errors(400, 401, 404, 409) },
      },
    },
    async (req, reply) => {
      await rules.remove(req.params.id);
      return sendNoContent(reply);
    },
  );
  app.get(
    '/api/webhooks/deliveries',
    {
      schema: {
        tags: ['rules'],
        summary: 'Outgoing webhook delivery log (newest first)',
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
          rule: Type.Optional(Type.String({ maxLength: 64 })),
        }),
        response: { 200: WebhookDeliveriesSchema, ...errors(400, 401) },
      },
    },
    async (req) => {
      const q = req.query;
      return {
        deliveries: await stores.webhooks.list({
          limit: q.limit ?? 100,
          ...(q.rule ? { ruleId: q.rule } : {}),
        }),
      };
    },
  );

  // ------------------------------------------------------------------ locations
  app.get(
    '/api/locations',
    {
      schema: {
        tags: ['emergency'],
        summary: 'The location table (by extension)',
        response: { 200: LocationListSchema, ...errors(401) },
      },
    },
    async () => ({ locations: await rt.locations.list() }),
  );
  app.get(
    '/api/locations/:extension',
    {
      schema: {
        tags: ['emergency'],
        summary: 'Location of an extension (table, else device registry)',
        params: Type.Object({ extension: Type.String({ maxLength: 32 }) }),
        response: { 200: LocationLookupSchema, ...errors(400, 401) },
      },
    },
    async (req) => {
      const { extension } = req.params;
      const r = emergency.locate(extension, '');
      return { extension, entry: r.entry ?? null, location: r.location };
    },
  );
  const LocationBody = Type.Object(
    {
      name: Type.Optional(Type.String({ maxLength: 200 })),
      building: Type.Optional(Type.String({ maxLength: 200 })),
      floor: Type.Optional(Type.String({ maxLength: 200 })),
      room: Type.Optional(Type.String({ maxLength: 200 })),
      site: Type.Optional(Type.String({ maxLength: 200 })),
      description: Type.Optional(Type.String({ maxLength: 1000 })),
      callback: Type.Optional(Type.String({ maxLength: 32, pattern: '^[0-9*#+]*$' })),
      timeZone: Type.Optional(
        Type.String({ maxLength: 64, description: 'IANA time zone of this extension (America/Chicago).' }),
      ),
    },
    { additionalProperties: false },
  );
  app.put(
    '/api/locations/:extension',
    {
      schema: {
        tags: ['emergency'],
        summary: 'Set the location of an extension',
        params: Type.Object({
          extension: Type.String({ minLength: 1, maxLength: 32, pattern: '^[0-9A-Za-z*#+._-]+$' }),
        }),
        body: LocationBody,
        response: { 200: LocationSetSchema, ...errors(400, 401) },
      },
    },
    async (req) => {
      const { extension } = req.params;
      const tz = req.body.timeZone;
      if (tz && !isValidTimeZone(tz))
        throw new ValidationError(
          'LOCATION_TIMEZONE_INVALID',
          `timeZone: ${JSON.stringify(tz)} is not a known time zone (use an IANA name such as America/Chicago)`,
          {
            field: 'timeZone',
          },
        );
      const entry: LocationEntry = {
        ...req.body,
        extension,
        updatedAt: new Date(hub.clock.now()).toISOString(),
      };
      await rt.locations.upsertMany([entry]);
      return entry;
    },
  );
  app.delete(
    '/api/locations/:extension',
    {
      schema: {
        tags: ['emergency'],
        summary: 'Remove an extension from the location table',
        params: Type.Object({ extension: Type.String({ maxLength: 32 }) }),
        response: { 204: noContent('Removed'), ...errors(400, 401, 404) },
      },
    },
    async (req, reply) => {
      if (!(await rt.locations.remove(req.params.extension)))
        throw new NotFoundError('LOCATION_NOT_FOUND', 'no such extension in the location table', {
          field: 'extension',
        });
      return sendNoContent(reply);
    },
  );
  app.post(
    '/api/locations/import',
    {
      schema: {
        tags: ['emergency'],
        summary:
          'Import locations from CSV (header: extension,name,building,floor,room,site,description,callback)',
        description:
          'Body: text/csv (or text/plain), or JSON { "csv": "..." }. Rows replace existing ones with the same extension. Errors: LOCATIONS_CSV_INVALID (400) names the line and column.',
        response: { 200: LocationImportedSchema, ...errors(400, 401, 413, 415) },
      },
      config: serviceValidatedBody(LocationImportBody),
    },
    async (req) => {
      const body = req.body;
      const text =
        typeof body === 'string'
          ? body
          : typeof body === 'object' && body !== null && 'csv' in body && typeof body.csv === 'string'
            ? body.csv
            : undefined;
      if (text === undefined)
        throw new ValidationError('LOCATIONS_CSV_INVALID', 'csv: send text/csv or { "csv": "..." }', {
          field: 'csv',
        });
      const rows = parseLocationsCsv(text, new Date(hub.clock.now()).toISOString());
      await rt.locations.upsertMany(rows);
      return { imported: rows.length };
    },
  );

  // ------------------------------------------------------------------ incidents
  const IncQuery = Type.Object({
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, default: 100 })),
    cursor: PageQueryFields.cursor,
    order: PageQueryFields.order,
    q: Type.Optional(
      Type.String({
        maxLength: 200,
        description: 'Search caller name and extension, location, incident id.',
      }),
    ),
    before: Type.Optional(Type.String({ maxLength: 40 })),
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
    drills: Type.Optional(
      Type.Union([Type.Literal('include'), Type.Literal('exclude'), Type.Literal('only')], {
        description:
          'Drills and 933 test calls: include (default), exclude (the compliance record: real emergencies only) or only.',
      }),
    ),
    open: Type.Optional(Type.Boolean({ description: 'true: only incidents nobody has acknowledged yet.' })),
  });
  app.get(
    '/api/incidents',
    {
      schema: {
        tags: ['emergency'],
        summary: 'Incident log (911 calls), newest first; format=csv exports',
        querystring: IncQuery,
        response: { 200: IncidentListSchema, ...errors(400, 401) },
      },
    },
    async (req, reply) => {
      const q = req.query;
      if (q.format !== 'csv' && (q.cursor || q.q || q.order)) {
        const page = await rt.stores.incidents.page(
          {
            limit: Math.min(q.limit ?? 100, 1000),
            cursor: q.cursor,
            sort: 'createdAt',
            order: q.order ?? 'desc',
            q: q.q,
          },
          q,
        );
        return {
          incidents: page.items.map(({ timeline, ...rest }) => ({ ...rest, events: timeline.length })),
          next: page.next,
          total: page.total,
        };
      }
      const list = await emergency.list({
        limit: q.limit ?? 100,
        ...(q.before ? { before: q.before } : {}),
        ...(q.drills ? { drills: q.drills } : {}),
        ...(q.open ? { open: true } : {}),
      });
      if (q.format === 'csv') {
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="incidents.csv"')
          .send(incidentsCsv(list));
      }
      return { incidents: list.map(({ timeline, ...rest }) => ({ ...rest, events: timeline.length })) };
    },
  );
  app.post(
    '/api/incidents/:id/ack',
    {
      schema: {
        tags: ['emergency'],
        summary: 'Acknowledge an incident as an operator (stops escalation)',
        description:
          "For the security desk: records who acknowledged and when. Who is the signed-in principal, never a name from the body: the local user of a session token (`POST /api/session`), else the API key's name. An optional `note` is stored with the acknowledgement.",
        params: Id,
        body: AckBody,
        response: { 200: IncidentAckedSchema, ...errors(400, 401, 404) },
      },
      // A POST without a body (curl -X POST) is an acknowledgement without a note.
      preValidation: async (req) => {
        req.body ??= {};
      },
    },
    async (req) => {
      // The authenticated principal (auth hook): a session's local user, else the API key's name.
      const by = req.principal?.name;
      if (!by) throw new AuthError('UNAUTHENTICATED', 'acknowledging needs a signed-in user or an API key');
      const note = req.body.note?.trim() ?? '';
      const incident = await emergency.acknowledge(req.params.id, by, note);
      req.log.info({ incident: incident.id, by }, 'incident acknowledged from the API');
      return { incident };
    },
  );
  app.get(
    '/api/incidents/:id',
    {
      schema: {
        tags: ['emergency'],
        summary: 'An incident with its timeline and the delivery outcome per phone',
        params: Id,
        response: { 200: IncidentShowSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const i = await emergency.get(req.params.id);
      const deliveries = (
        await Promise.all(
          i.broadcasts.map(async (b) => {
            try {
              return (await engine.deliveries(b)).map(showDelivery);
            } catch {
              return [];
            }
          }),
        )
      ).flat();
      return { incident: i, deliveries };
    },
  );
  app.get(
    '/api/emergency',
    {
      schema: {
        tags: ['emergency'],
        summary: 'State of the built-in 911 notification',
        response: { 200: EmergencySchema, ...errors(401) },
      },
    },
    async () => {
      const o = emergency.options;
      const reasons = rt.supervisor.reasons();
      return {
        active: emergency.active(),
        // Ready: nothing known to stop a 911 alert now (PBX links up, security phones answering).
        ready: reasons.length === 0,
        reasons,
        enabled: o.enabled,
        group: o.group,
        // The probe results of the security and escalation phones (reachable null: not probed yet).
        phones: rt.supervisor.phoneStatus(),
        phoneCount: hub.devices.list({ group: o.group }).length,
        links: rt.supervisor.linkStatus(),
        escalationGroup: o.escalationGroup,
        escalationPhones: o.escalationGroup ? hub.devices.list({ group: o.escalationGroup }).length : 0,
        escalateAfterSeconds: o.escalateAfterSeconds,
        queue: o.queue,
        publisher: rt.publisher !== undefined,
        webhooks: o.webhooks.length,
        // Before any emergency: which extensions would get an incomplete alert (fix the location table).
        coverage: coverageReport({
          rows: await rt.locations.list(),
          deviceExtensions: hub.devices.list().flatMap((d) => {
            const ext = (d.settings as Record<string, unknown>).extension;
            const fromLabel = d.labels.filter((l) => l.startsWith('ext:')).map((l) => l.slice(4));
            return [...(ext !== undefined && ext !== '' ? [String(ext)] : []), ...fromLabel];
          }),
          locate: (ext) => emergency.locate(ext, '').location,
          siteNumber: hub.config.emergency.callbackNumber,
        }),
        // The relay's address and recipients count, never its credentials.
        email: hub.config.emergency.email.enabled
          ? {
              host: hub.config.emergency.email.host,
              port: hub.config.emergency.email.port,
              recipients: hub.config.emergency.email.to.length,
            }
          : null,
      };
    },
  );
}

/** Webhook secrets are never shown back. */
function redactRule<T extends { actions: Array<{ type: string; secret?: string }> }>(r: T): T {
  return {
    ...r,
    actions: r.actions.map((a) => (a.type === 'webhook' && a.secret ? { ...a, secret: '********' } : a)),
  };
}
