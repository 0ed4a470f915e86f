import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { csvText } from '../../core/csv.js';
import type { Device } from '../../core/devices.js';
import { NotFoundError } from '../../core/errors.js';
import type { HubContext, HubModule } from '../../core/module.js';
import { described, errors } from '../../server/schemas.js';
import { type IpofficeSettings, ipofficeDriver } from './driver.js';
import { parseSmdrRecord, SMDR_FIELDS } from './smdr.js';
import { SmdrService } from './smdr-service.js';
import type { CallSummary } from './tracker.js';

const smdrServices = new WeakMap<HubContext, SmdrService>();

/** The hub's SMDR service (one per hub: a listener per IP Office with SMDR enabled). */
export function smdrService(hub: HubContext): SmdrService {
  let s = smdrServices.get(hub);
  if (!s) {
    s = new SmdrService({
      store: hub.stores.smdr,
      bus: hub.bus,
      clock: hub.clock,
      logger: hub.logger,
    });
    smdrServices.set(hub, s);
  }
  return s;
}

const SmdrQuery = Type.Object({
  from: Type.Optional(
    Type.String({ format: 'date-time', description: 'Call Start at or after (ISO-8601).' }),
  ),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Call Start before (ISO-8601).' })),
  callId: Type.Optional(Type.String({ pattern: '^[0-9A-Za-z]{1,32}$' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 })),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
});

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
  // The 911 rule (broadcast) listens before the first DevLink3 event can arrive.
  after: ['broadcast'],
  drivers: () => [ipofficeDriver()],
  routes(root: FastifyInstance, hub: HubContext) {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/api/ipoffice/:id/calls',
      {
        schema: {
          tags: ['ipoffice'],
          summary: 'Live calls of an IP Office',
          description:
            'Calls in progress as tracked from DevLink3 Delta3 records (flat summaries). With several hubs, a hub that holds neither the active nor the standby link of this IP Office answers 409 DEVLINK3_LINK_ELSEWHERE (it does not know the calls; its event stream still carries them).',
          params: Params,
          response: {
            200: described(Type.Object({ calls: Type.Array(CallSchema) }), 'Calls in progress'),
            ...errors(400, 401, 404, 409, 502, 504),
          },
        },
      },
      async (req) => {
        const { id } = req.params;
        requireIpoffice(hub, id);
        const r = await hub.actions.execute(id, 'list_calls', {});
        // What the driver's list_calls answers (driver.ts: the tracker's summaries).
        return { calls: (r.data as { calls: CallSummary[] }).calls };
      },
    );
    app.get(
      '/api/ipoffice/:id/smdr',
      {
        schema: {
          tags: ['ipoffice'],
          summary: 'SMDR call history of an IP Office (format=csv exports)',
          description:
            "Call-detail records received over SMDR, oldest Call Start first. CSV: the SMDR fields as IP Office wrote them (Avaya field names as the header), then the hub's columns.",
          params: Params,
          querystring: SmdrQuery,
          response: {
            200: {
              description: 'SMDR records (JSON; format=csv: a CSV file)',
              content: {
                'application/json': {
                  schema: Type.Object({
                    records: Type.Array(
                      Type.Object(
                        {
                          id: Type.Union([Type.Integer(), Type.String()]),
                          line: Type.String(),
                          record: Type.Unknown(),
                        },
                        { additionalProperties: true },
                      ),
                    ),
                  }),
                },
                'text/csv': { schema: Type.String() },
              },
            },
            ...errors(400, 401, 404),
          },
        },
      },
      async (req, reply) => {
        const { id } = req.params;
        requireIpoffice(hub, id);
        const q = req.query;
        const rows = await smdrService(hub).store.list({
          deviceId: id,
          limit: q.limit ?? 1000,
          ...(q.from ? { from: new Date(q.from).toISOString() } : {}),
          ...(q.to ? { to: new Date(q.to).toISOString() } : {}),
          ...(q.callId ? { callId: q.callId } : {}),
        });
        if (q.format === 'csv') {
          const header = [
            ...SMDR_FIELDS.map(([, name]) => name),
            'Extra Fields',
            'Call Start (UTC)',
            'Received At',
            'Emergency',
            'DevLink3 Call',
            'Record Id',
          ];
          const body = rows.map((r) => {
            const rec = parseSmdrRecord(r.line);
            return [
              ...SMDR_FIELDS.map(([k]) => rec.fields[k]),
              rec.extra.join(','),
              r.callStart ?? '',
              r.receivedAt,
              r.emergency ? 1 : 0,
              r.devlinkCallKey ?? '',
              r.id,
            ];
          });
          return reply
            .header('content-type', 'text/csv; charset=utf-8')
            .header('content-disposition', `attachment; filename="smdr-${id}.csv"`)
            .send(csvText([header, ...body]));
        }
        return {
          records: rows.map((r) => ({ ...r, record: parseSmdrRecord(r.line) })),
        };
      },
    );
    app.get(
      '/api/ipoffice/:id/smdr/status',
      {
        schema: {
          tags: ['ipoffice'],
          summary: 'SMDR listener of an IP Office: port, counters',
          params: Params,
          response: {
            200: Type.Object(
              {
                deviceId: Type.String(),
                listening: Type.Boolean(),
                port: Type.Union([Type.Integer(), Type.Null()]),
                error: Type.Union([Type.String(), Type.Null()]),
                stats: Type.Unknown(),
              },
              { additionalProperties: true, description: 'The SMDR listener of this IP Office' },
            ),
            ...errors(400, 401, 404),
          },
        },
      },
      async (req) => {
        const { id } = req.params;
        requireIpoffice(hub, id);
        return (
          smdrService(hub).status(id) ?? {
            deviceId: id,
            listening: false,
            port: null,
            error: null,
            stats: null,
          }
        );
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
          response: {
            200: described(Type.Object({ users: Type.Array(UserSchema) }), 'Users of the IP Office'),
            ...errors(400, 401, 404, 502, 504),
          },
        },
      },
      async (req) => {
        const { id } = req.params;
        const q = req.query;
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
    const smdr = smdrService(hub);
    const configure = (id: string, d: Device | undefined) =>
      smdr
        .configure(d as Device<IpofficeSettings> | undefined, id)
        .catch((e) => hub.logger.error({ device: id, err: e }, 'smdr: configure failed'));
    for (const d of hub.devices.list({ kind: 'ipoffice' })) void configure(d.id, d);
    const offSmdr = hub.devices.onChange(({ type, device }) => {
      if (device.kind === 'ipoffice') void configure(device.id, type === 'removed' ? undefined : device);
    });
    hub.signal.addEventListener('abort', offSmdr, { once: true });
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
  async stop(hub: HubContext) {
    await smdrServices.get(hub)?.stop();
  },
};
