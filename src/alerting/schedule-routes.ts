import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { described, errors, noContent, sendNoContent } from '../server/schemas.js';
import { ScheduleListSchema, ScheduleSchema } from './api-schemas.js';
import { ScheduleInputSchema, SchedulePatchSchema, type Scheduler } from './broadcast/schedules.js';

const Id = Type.Object({ id: Type.String({ maxLength: 100 }) });

/** `/api/schedules`: scheduled (one-off) and recurring (cron) broadcasts; see docs/broadcasts.md. */
export function registerScheduleRoutes(root: FastifyInstance, scheduler: Scheduler): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const by = (req: { principal?: { name?: string } }) => req.principal?.name ?? 'api';
  app.get(
    '/api/schedules',
    {
      schema: {
        tags: ['schedules'],
        summary: 'List scheduled and recurring broadcasts (next run first)',
        response: { 200: ScheduleListSchema, ...errors(401) },
      },
    },
    async () => ({
      schedules: (await scheduler.list()).sort(
        (a, b) => (a.nextRunAt ?? '~').localeCompare(b.nextRunAt ?? '~') || a.id.localeCompare(b.id),
      ),
    }),
  );
  app.post(
    '/api/schedules',
    {
      schema: {
        tags: ['schedules'],
        summary: 'Schedule a broadcast: at a time (at) or recurring (cron + timeZone)',
        description:
          '`broadcast` is the body of POST /api/broadcasts (checked now). A cron rule has 5 fields (minute hour day-of-month month day-of-week) and runs in `timeZone` (IANA).',
        body: ScheduleInputSchema,
        response: { 201: described(ScheduleSchema, 'The new schedule'), ...errors(400, 401, 409) },
      },
    },
    async (req, reply) => reply.status(201).send(await scheduler.create(req.body, by(req))),
  );
  app.get(
    '/api/schedules/:id',
    {
      schema: {
        tags: ['schedules'],
        summary: 'A schedule with its next and last run',
        params: Id,
        response: { 200: described(ScheduleSchema, 'The schedule'), ...errors(400, 401, 404) },
      },
    },
    async (req) => await scheduler.get(req.params.id),
  );
  app.patch(
    '/api/schedules/:id',
    {
      schema: {
        tags: ['schedules'],
        summary: 'Edit a schedule (also { "paused": true|false }); the next run is computed again',
        params: Id,
        body: SchedulePatchSchema,
        response: { 200: described(ScheduleSchema, 'The schedule'), ...errors(400, 401, 404) },
      },
    },
    async (req) => await scheduler.update(req.params.id, req.body),
  );
  for (const [verb, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const)
    app.post(
      `/api/schedules/:id/${verb}`,
      {
        schema: {
          tags: ['schedules'],
          summary: paused ? 'Pause a schedule' : 'Resume a schedule (from the next run after now)',
          params: Id,
          response: { 200: described(ScheduleSchema, 'The schedule'), ...errors(400, 401, 404) },
        },
      },
      async (req) => await scheduler.update(req.params.id, { paused }),
    );
  app.delete(
    '/api/schedules/:id',
    {
      schema: {
        tags: ['schedules'],
        summary: 'Delete a schedule',
        params: Id,
        response: { 204: noContent('Deleted'), ...errors(400, 401, 404) },
      },
    },
    async (req, reply) => {
      await scheduler.remove(req.params.id);
      return sendNoContent(reply);
    },
  );
}
