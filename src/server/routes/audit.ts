import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { AUDIT_PAGE_MAX, type AuditOutcome } from '../../core/audit.js';
import { ValidationError } from '../../core/errors.js';
import type { Hub } from '../compose.js';
import { described, errors } from '../schemas.js';

const Filters = {
  actor: Type.Optional(
    Type.String({ minLength: 1, maxLength: 100, description: 'Actor name or id, exactly.' }),
  ),
  action: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: '^[a-z][a-z0-9.-]*(\\.\\*)?$',
      description: 'An action (`key.created`) or a prefix with `.*` (`device.*`).',
    }),
  ),
  outcome: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('denied'), Type.Literal('failed')])),
  address: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, description: 'Client address (IP), exactly.' }),
  ),
  since: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601 time, inclusive.' })),
  until: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601 time, exclusive.' })),
};

/** The page size when `limit` is not given (Ajv fills it in; the type still says optional). */
const PAGE_DEFAULT = 100;

interface FilterQuery {
  actor?: string;
  action?: string;
  outcome?: AuditOutcome;
  address?: string;
  since?: string;
  until?: string;
}

/** Only the filters that are set (exactOptionalPropertyTypes). */
function filters(q: FilterQuery): FilterQuery {
  return Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) as FilterQuery;
}

/**
 * The audit trail (admins: `audit:read`): `GET /api/audit` pages newest first with a cursor (`next` →
 * `?cursor=`), `GET /api/audit.csv` exports the same filters (at most `audit.exportMaxRows` rows).
 */
export function registerAuditRoutes(root: FastifyInstance, hub: Hub): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/audit',
    {
      schema: {
        tags: ['system'],
        summary: 'Audit trail: changes, sends and sign-ins, newest first, filtered, with cursor paging',
        querystring: Type.Object(
          {
            ...Filters,
            limit: Type.Optional(
              Type.Integer({ minimum: 1, maximum: AUDIT_PAGE_MAX, default: PAGE_DEFAULT }),
            ),
            cursor: Type.Optional(
              Type.String({ pattern: '^[0-9]{1,15}$', description: 'The `next` of the previous page.' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: described(
            Type.Object({
              entries: Type.Array(
                Type.Object({
                  seq: Type.Integer(),
                  time: Type.String({ format: 'date-time' }),
                  actorKind: Type.String({ description: 'key, session, cli, system, phone or anonymous.' }),
                  actorId: Type.Union([Type.String(), Type.Null()]),
                  actorName: Type.Union([Type.String(), Type.Null()]),
                  address: Type.Union([Type.String(), Type.Null()]),
                  action: Type.String(),
                  target: Type.Union([Type.String(), Type.Null()]),
                  outcome: Type.String({ description: 'ok, denied or failed.' }),
                  detail: Type.Record(Type.String(), Type.Unknown()),
                }),
              ),
              next: Type.Union([Type.String(), Type.Null()], {
                description: 'Cursor of the next page; null at the end.',
              }),
            }),
            'A page of the audit trail, newest first',
          ),
          ...errors(400, 401, 403),
        },
      },
    },
    async (req) => {
      const { limit, cursor, ...rest } = req.query;
      return await hub.audit.page({
        ...filters(rest),
        limit: limit ?? PAGE_DEFAULT,
        ...(cursor ? { before: Number(cursor) } : {}),
      });
    },
  );
  app.get(
    '/api/audit.csv',
    {
      schema: {
        tags: ['system'],
        summary: 'Audit trail as CSV (same filters as /api/audit), newest first',
        querystring: Type.Object(Filters, { additionalProperties: false }),
        response: {
          200: {
            description:
              'CSV with a header line (seq, time, actor, address, action, target, outcome, detail)',
            content: { 'text/csv': { schema: Type.String() } },
          },
          ...errors(400, 401, 403),
        },
      },
    },
    async (req, reply) => {
      const q = filters(req.query);
      if (q.since && q.until && Date.parse(q.since) >= Date.parse(q.until))
        throw new ValidationError('AUDIT_QUERY_INVALID', 'until: must be after since', { field: 'until' });
      const text = await hub.audit.csv({ ...q, max: hub.config.audit.exportMaxRows });
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="audit.csv"')
        .send(text);
    },
  );
}
