import type { ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { EventFilter, HubEvent } from '../../core/events.js';
import type { Hub } from '../compose.js';
import { described, errors } from '../schemas.js';

export const HubEventSchema = Type.Object({
  seq: Type.Integer(),
  id: Type.String(),
  time: Type.String(),
  source: Type.String(),
  type: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown()),
});

function parseTypes(t: string | undefined): string[] | undefined {
  const list = t
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list?.length ? list : undefined;
}

/** Max bytes buffered for a slow SSE client before it is disconnected (it can resume with Last-Event-ID). */
const SSE_MAX_BUFFER = 4 * 1024 * 1024;

export function registerEventRoutes(root: FastifyInstance, hub: Hub): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const streams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const s of streams) s.end();
    streams.clear();
  });

  app.get(
    '/api/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Page through stored events',
        description:
          'Stored events of every hub sharing the store, with seq > after, oldest first (one sequence in commit order: paging with `after` never skips an event): pass `next` (the last seq of the page) as `after` for the next page. Newest first (the history view): `order=desc`, then pass `next` (the smallest seq of the page) as `before`. `q` searches type, source and data (case-insensitive).',
        querystring: Type.Object({
          // A maximum, or `?after=1e400` coerces to Infinity and reaches the store (500).
          after: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 }),
          before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
          q: Type.Optional(Type.String({ maxLength: 200 })),
          type: Type.Optional(Type.String({ description: 'Comma-separated types or prefixes (`call.*`).' })),
          source: Type.Optional(Type.String()),
        }),
        response: {
          200: described(
            Type.Object({
              events: Type.Array(HubEventSchema),
              next: Type.Integer({ description: 'Pass as `after` to get the next page.' }),
              last: Type.Integer({ description: 'The newest seq stored.' }),
            }),
            'A page of events, oldest first',
          ),
          ...errors(400, 401),
        },
      },
    },
    async (req) => {
      const q = req.query;
      const types = parseTypes(q.type);
      const filter: EventFilter = { ...(types ? { types } : {}), ...(q.source ? { source: q.source } : {}) };
      const plain = q.order !== 'desc' && q.before === undefined && !q.q;
      const events = await hub.bus.list(
        plain
          ? { after: q.after, limit: q.limit, filter }
          : {
              after: q.after,
              ...(q.before !== undefined ? { before: q.before } : {}),
              limit: q.limit,
              order: q.order ?? 'asc',
              filter,
              q: q.q,
            },
      );
      const next = events.length ? events[events.length - 1]!.seq : q.after;
      return { events, next, last: Math.max(hub.bus.lastSeq, plain ? next : 0) };
    },
  );

  app.get(
    '/api/events/stream',
    {
      schema: {
        tags: ['events'],
        summary: 'Live events as Server-Sent Events',
        description:
          'Each stored event, of every hub sharing the store, in seq order: `id: <seq>` and `event: <type>`. The seq is the stored one, the same on every hub, so reconnecting to any hub with the `Last-Event-ID` header (or `after`) resumes without gaps or duplicates. A comment line is sent every 15 s to keep proxies open.',
        querystring: Type.Object({
          after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
          type: Type.Optional(Type.String()),
          source: Type.Optional(Type.String()),
        }),
        response: {
          200: {
            description: 'An endless text/event-stream: `id: <seq>`, `event: <type>`, `data: <event JSON>`',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
          ...errors(400, 401),
        },
      },
    },
    (req, reply) => {
      const q = req.query;
      const lastId = Number(req.headers['last-event-id']);
      const after = Number.isInteger(lastId) && lastId >= 0 ? lastId : q.after;
      const types = parseTypes(q.type);
      const filter: EventFilter = { ...(types ? { types } : {}), ...(q.source ? { source: q.source } : {}) };
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': req.id,
      });
      res.write(`retry: 2000\n: connected, last seq ${hub.bus.lastSeq}\n\n`);
      streams.add(res);
      const send = (e: HubEvent) => {
        if (res.writableLength > SSE_MAX_BUFFER) {
          req.log.warn('SSE client too slow, disconnecting');
          res.destroy();
          return;
        }
        res.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      };
      // The feed: stored events of every hub sharing the store, with their stored (global) seq as the id.
      const sub = hub.bus.feed(send, { filter, ...(after !== undefined ? { after } : {}) });
      // A replay that failed (store unreachable) would leave a gap: end the stream so the client
      // reconnects with Last-Event-ID and gets the events once the store answers again.
      // Ends the stream once: several reasons can arrive together (a revocation and the periodic check
      // both finding the credential gone), and a second end() would be a 'write after end' error that
      // nothing handles (an uncaught exception in the hub).
      const endStream = (comment: string) => {
        if (res.writableEnded || res.destroyed) return;
        res.end(comment);
      };
      sub.ready.catch((err: unknown) => {
        req.log.warn({ err }, 'event stream replay failed: ending the stream');
        endStream(': replay failed, reconnect\n\n');
      });
      const heartbeat = setInterval(() => {
        if (!res.writableEnded && !res.destroyed) res.write(': keep-alive\n\n');
      }, 15_000);
      heartbeat.unref();
      // The stream lives only as long as its credential: revoked here (at once), or elsewhere (the CLI
      // disabling a user, another process) or expired (within auth.streamRecheckMs).
      const keyId = req.apiKey?.id;
      const recheck = () => {
        if (keyId === undefined) return;
        hub.apiKeys.isLive(keyId).then(
          (live) => {
            if (live) return;
            if (res.writableEnded || res.destroyed) return;
            req.log.info({ key: keyId }, 'credential revoked or expired: ending event stream');
            endStream(': credential revoked\n\n');
          },
          // The store is unreachable: the stream stays; the next check decides.
          (err: unknown) => req.log.warn({ err }, 'event stream credential check failed'),
        );
      };
      const offRevoke = hub.apiKeys.onRevoke(recheck);
      const rechecker = setInterval(recheck, hub.config.auth.streamRecheckMs);
      rechecker.unref();
      res.on('close', () => {
        clearInterval(heartbeat);
        clearInterval(rechecker);
        offRevoke();
        sub.unsubscribe();
        streams.delete(res);
      });
    },
  );
}
