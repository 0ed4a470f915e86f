import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import { Type } from 'typebox';
import { charsetOf, decodeBytes, formToUtf8, knownCharset } from '../core/charset.js';
import type { Clock } from '../core/clock.js';
import { isSwitchboardError } from '../core/errors.js';
import { AttemptLimiter, reserveAll, SlowDown } from '../core/limiter.js';
import type { Logger } from '../core/logger.js';
import type { HubContext, HubModule } from '../core/module.js';
import { decodeXmlBytes, withUtf8Declaration } from '../core/xml-read.js';
import { described, errors, noContent, sendNoContent } from '../server/schemas.js';
import { Accounts, rateLimited, Sessions } from './accounts.js';
import {
  callSidOf,
  isReplyQueue,
  keepAliveXml,
  replyQueue,
  validateCallXml,
  verifySignature,
} from './callxml.js';
import { type PubSubSettings, resolvePubSubSettings } from './config.js';
import { PubSubAuthError, PubSubNotFoundError, PubSubValidationError } from './errors.js';
import {
  ACCOUNT_SID_ROUTE_RE,
  isAccountSid,
  type JsonValue,
  LIST_CLOSE,
  LIST_OPEN,
  listItem,
  messageUrl,
  parseBoundedDuration,
  parseFormParams,
  parseJsonParams,
  parseQueueName,
  setParam,
} from './protocol.js';
import { internalSession, PubSubService } from './service.js';
import type { PubSubStore } from './store.js';

/** Everything the relay needs at run time; one per hub. */
export interface PubSubRuntime {
  settings: PubSubSettings;
  store: PubSubStore;
  service: PubSubService;
  accounts: Accounts;
  sessions: Sessions;
  authFailuresByAddress: AttemptLimiter;
  /** Per (client address, AccountSid): an attacker elsewhere cannot lock an account out. */
  authFailuresByAccount: AttemptLimiter;
  authSlowDown: SlowDown;
  clock: Clock;
  logger: Logger;
}

export function createPubSubRuntime(opts: {
  store: PubSubStore;
  settings: PubSubSettings;
  clock: Clock;
  logger: Logger;
}): PubSubRuntime {
  const store = opts.store;
  const s = opts.settings;
  const service = new PubSubService({
    store,
    clock: opts.clock,
    logger: opts.logger,
    hostname: s.hostname,
    retentionMs: s.retentionMs,
    leaseMs: s.leaseMs,
    dedupWindowMs: s.dedupWindowMs,
    idempotencyWindowMs: s.idempotencyWindowMs,
    maxMessageBytes: s.maxMessageBytes,
    maxQueueLength: s.maxQueueLength,
    maxQueuesPerAccount: s.maxQueuesPerAccount,
    maxPollsPerSession: s.maxPollsPerSession,
    // Call XML requests poll internally up to callXmlTimeout even when maxTimeout is smaller.
    maxTimeoutMs: Math.max(s.maxTimeoutMs, s.callXmlTimeoutMs),
    lingerMs: s.lingerMs,
  });
  return {
    settings: s,
    store,
    service,
    accounts: new Accounts(store, opts.clock),
    sessions: new Sessions(store, {
      clock: opts.clock,
      defaultTtlMs: s.sessionTtlMs,
      maxTtlMs: s.maxSessionTtlMs,
      maxPerAccount: s.maxSessionsPerAccount,
    }),
    authFailuresByAddress: new AttemptLimiter({
      windowMs: s.authRateLimit.windowMs,
      max: s.authRateLimit.maxFailuresPerAddress,
      now: () => opts.clock.now(),
    }),
    authFailuresByAccount: new AttemptLimiter({
      windowMs: s.authRateLimit.windowMs,
      max: s.authRateLimit.maxFailuresPerAccount,
      now: () => opts.clock.now(),
    }),
    authSlowDown: new SlowDown({
      after: s.authRateLimit.slowDownAfterFailures,
      delayMs: s.authRateLimit.slowDownMs,
      windowMs: s.authRateLimit.windowMs,
      now: () => opts.clock.now(),
    }),
    clock: opts.clock,
    logger: opts.logger,
  };
}

/** OpenAPI description of a relay route (no body or query validation: the handlers parse the seed's formats). */
const doc = (description: string) => ({ tags: ['pubsub relay (seed 001)'], description, security: [] });

/**
 * The relay's URL parameters. No limits here: the route's pattern bounds the AccountSid and the queue name
 * is checked by parseQueueName, each answering the relay's own errors (PUBSUB_UNKNOWN_ACCOUNT, …).
 */
const RelaySid = { sid: Type.String({ description: 'The AccountSid.' }) };
const RelayParams = Type.Object({
  ...RelaySid,
  '*': Type.String({ description: 'The queue name (a path; `.xml` for call control).' }),
});

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, Idempotency-Key',
  'Access-Control-Expose-Headers': 'Content-Type',
} as const;

const STREAM_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'Content-Type': 'application/json',
} as const;

function errorBody(e: unknown): {
  status: number;
  body: { error: { code: string; message: string; field?: string } };
} {
  if (isSwitchboardError(e)) {
    return {
      status: e.status,
      body: { error: { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) } },
    };
  }
  const fe = e as FastifyError;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return {
      status: fe.statusCode,
      body: { error: { code: fe.code ?? 'BAD_REQUEST', message: fe.message } },
    };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } };
}

function firstQuery(q: unknown, name: string): string | undefined {
  const v = (q as Record<string, unknown> | undefined)?.[name];
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

/** Session token from `Authorization` (raw token, `Bearer`, or `Token`) or the `session` query parameter. */
export function tokenOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string' && h.trim() !== '') {
    const m = /^(?:Bearer|Token|Session)\s+(.+)$/i.exec(h.trim());
    if (!/^Basic\s/i.test(h)) return (m ? m[1]! : h).trim();
  }
  return firstQuery(req.query, 'session');
}

function basicAuth(req: FastifyRequest): { user: string; pass: string } | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]{1,1024})\s*$/i.exec(h);
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return undefined;
  return { user: text.slice(0, i), pass: text.slice(i + 1) };
}

function mediaType(req: FastifyRequest): string {
  const ct = req.headers['content-type'];
  return typeof ct === 'string' ? ct.split(';')[0]!.trim().toLowerCase() : '';
}

function publicUrlOf(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}${req.url}`;
}

/**
 * The seed 001 relay routes at the root: `/auth` and `/<AccountSid>/<queue…>`. Only paths whose first
 * segment has the AccountSid shape (`AC` + 32 hex) are routed here, so `/api`, `/avaya`, `/cisco`,
 * `/healthz`, `/metrics`, `/46xx…` and the console stay reachable.
 */
export async function registerRelayRoutes(root: FastifyInstance, rt: PubSubRuntime): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const s = rt.settings;
  app.removeAllContentTypeParsers();
  // Bodies arrive as bytes and are decoded by their declared charset: an XML body by its own declaration,
  // else the Content-Type charset (Call XML posted as ISO-8859-1 is common), else UTF-8. Decoded XML is
  // stored and served as UTF-8, so its declaration is rewritten to say so.
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: s.maxMessageBytes + 4096 },
    (req, body, done) => {
      const buf = body as Buffer;
      const charset = charsetOf(req.headers['content-type']);
      const xml =
        /xml/i.test(req.headers['content-type'] ?? '') ||
        /^\s*</.test(buf.subarray(0, 64).toString('latin1'));
      if (xml) return done(null, withUtf8Declaration(decodeXmlBytes(buf, { charset })));
      // A form whose escapes are ISO-8859-1 bytes (platforms that declare it) is re-encoded as UTF-8.
      const form = /^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '');
      if (form && charset && charset !== 'utf-8' && charset !== 'utf8' && knownCharset(charset))
        return done(null, formToUtf8(buf.toString('latin1'), charset));
      done(null, decodeBytes(buf, charset));
    },
  );
  app.setErrorHandler((err, req, reply) => {
    const { status, body } = errorBody(err);
    if (status >= 500) req.log.error({ err }, 'pubsub request failed');
    if (status === 401) reply.header('WWW-Authenticate', 'Basic realm="Switchboard PubSub"');
    const retry = isSwitchboardError(err)
      ? (err.details?.retryAfterSeconds as number | undefined)
      : undefined;
    if (retry !== undefined) reply.header('Retry-After', String(retry));
    reply.headers(CORS).code(status).send(body);
  });

  // Async handlers that send return the reply (Fastify: otherwise, with async onSend hooks still running,
  // the resolved `undefined` is sent a second time: "Reply was already sent", a 500 in the log).
  const options = async (_req: FastifyRequest, reply: FastifyReply) => {
    return reply
      .headers({ ...CORS, 'Access-Control-Max-Age': '600' })
      .code(204)
      .send();
  };

  const auth = async (req: FastifyRequest, reply: FastifyReply) => {
    const ip = req.ip;
    const creds = basicAuth(req);
    // Reserved before the token is checked, so parallel guesses are counted; given back on success.
    const pairKey = creds ? `${ip}\u0000${creds.user.slice(0, 64)}` : undefined;
    const wait = reserveAll([
      [rt.authFailuresByAddress, ip],
      ...(pairKey ? [[rt.authFailuresByAccount, pairKey] as [AttemptLimiter, string]] : []),
    ]);
    if (wait > 0) throw rateLimited(wait, 'from this address');
    const delay = rt.authSlowDown.delayMs();
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (creds && (await rt.accounts.verify(creds.user, creds.pass))) {
      rt.authFailuresByAddress.release(ip);
      if (pairKey) rt.authFailuresByAccount.release(pairKey);
    } else {
      rt.authSlowDown.fail();
      throw new PubSubAuthError(
        'PUBSUB_BAD_CREDENTIALS',
        'check the Account Sid and Auth Token (HTTP Basic AccountSid:AuthToken)',
      );
    }
    let ttlText = firstQuery(req.query, 'ttl');
    if (
      ttlText === undefined &&
      typeof req.body === 'string' &&
      req.body.length > 0 &&
      mediaType(req) === 'application/x-www-form-urlencoded'
    ) {
      ttlText = new URLSearchParams(req.body).get('ttl') ?? undefined;
    }
    const ttlMs =
      ttlText === undefined ? undefined : parseBoundedDuration(ttlText, 'ttl', 1000, s.maxSessionTtlMs);
    const { token } = await rt.sessions.create(creds.user, ttlMs);
    return reply
      .headers({ 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-store' })
      .type('text/plain; charset=utf-8')
      .send(token);
  };
  app.route({
    method: ['GET', 'POST'],
    url: '/auth',
    schema: doc(
      'Get a session token (HTTP Basic AccountSid:AuthToken; optional ttl such as 10m, 2h). Answers the token as raw text.',
    ),
    handler: auth,
  });
  app.options('/auth', options);

  const sidRoute = `/:sid(${ACCOUNT_SID_ROUTE_RE})`;
  const checkAccount = async (sid: string) => {
    if (!isAccountSid(sid) || !(await rt.accounts.exists(sid))) {
      throw new PubSubNotFoundError('PUBSUB_UNKNOWN_ACCOUNT', `no PubSub account ${sid}`, {
        field: 'accountSid',
      });
    }
  };
  const noQueue = async (sid: string) => {
    await checkAccount(sid);
    parseQueueName('');
  };
  // `/<AccountSid>` alone is left to the settings server's root file route (find-my-way allows one regex
  // parameter per position); `/<AccountSid>/` with an empty queue name answers the helpful error.
  app.route({
    method: ['GET', 'POST'],
    url: `${sidRoute}/`,
    schema: { hide: true, params: Type.Object(RelaySid) },
    handler: (req) => noQueue(req.params.sid),
  });
  app.options(`${sidRoute}/*`, options);

  app.get(
    `${sidRoute}/*`,
    {
      schema: {
        ...doc(
          'Subscribe: long-poll a queue (timeout=5s; session token in Authorization or session). Streams a JSON list of up to 10 messages.',
        ),
        params: RelayParams,
      },
    },
    async (req, reply) => {
      const { sid } = req.params;
      const token = tokenOf(req);
      if (!token)
        throw new PubSubAuthError(
          'PUBSUB_SESSION_REQUIRED',
          'a session token is required: get one from /auth and pass it in the Authorization header or the session parameter',
        );
      const session = await rt.sessions.authorize(token, sid);
      const queue = parseQueueName(req.params['*']);
      const timeoutText = firstQuery(req.query, 'timeout');
      const timeoutMs =
        timeoutText === undefined
          ? s.defaultTimeoutMs
          : parseBoundedDuration(timeoutText, 'timeout', 0, s.maxTimeoutMs);

      const raw = reply.raw;
      // Messages handed over before the head is written, or within one event-loop turn, are gathered here
      // and written together: one chunk per hand-off, and the last ones go out with the closing `]` in
      // `end()`. (Not `cork()`: on Node 22+ an `end()` on a corked response writes the chunked terminator
      // before the corked data, which broke the framing.)
      let pending: string[] = [];
      let open = false;
      let flushScheduled = false;
      const flush = (): void => {
        flushScheduled = false;
        if (pending.length === 0 || raw.writableEnded || raw.destroyed) return;
        raw.write(pending.join(''));
        pending = [];
      };
      const poll = await rt.service.poll({
        accountSid: sid,
        queue,
        session: session.id,
        timeoutMs,
        onMessage: (m, i) => {
          pending.push(listItem(m, i));
          if (open && !flushScheduled) {
            flushScheduled = true;
            setImmediate(flush);
          }
        },
      });
      reply.hijack();
      raw.on('close', () => {
        if (!raw.writableFinished) poll.cancel();
      });
      if (raw.destroyed) poll.cancel();
      raw.writeHead(200, STREAM_HEADERS);
      if (poll.settled()) {
        // Messages were ready (or timeout=0): the whole list in one write.
        raw.end(LIST_OPEN + pending.join('') + LIST_CLOSE, () => poll.delivered());
        return;
      }
      raw.write(LIST_OPEN + pending.join(''));
      pending = [];
      open = true;
      await poll.result;
      if (raw.destroyed) {
        poll.cancel();
        return;
      }
      const rest = pending.join('');
      pending = [];
      raw.end(rest + LIST_CLOSE, () => poll.delivered());
    },
  );

  app.post(
    `${sidRoute}/*`,
    {
      schema: {
        ...doc(
          'Publish form parameters, JSON or Call XML to a queue. A POST to a .xml queue with CallSid is a call-control request answered with the application XML.',
        ),
        params: RelayParams,
      },
    },
    async (req, reply) => {
      const { sid } = req.params;
      await checkAccount(sid);
      const queue = parseQueueName(req.params['*']);
      const qi = req.url.indexOf('?');
      const query = new URLSearchParams(qi >= 0 ? req.url.slice(qi + 1) : '');
      const rawBody = typeof req.body === 'string' ? req.body : '';
      const type = mediaType(req);
      const params: Record<string, JsonValue> = {};
      for (const [k, v] of query)
        if (k !== 'session') parseFormParams(new URLSearchParams([[k, v]]).toString(), params);
      let body: string | undefined;
      const looksXml = rawBody.trimStart().startsWith('<');
      if (type === 'application/json' || type.endsWith('+json')) {
        if (rawBody.trim() !== '')
          for (const [k, v] of Object.entries(parseJsonParams(rawBody))) setParam(params, k, v);
      } else if (
        (type === 'application/x-www-form-urlencoded' || type === '') &&
        !(looksXml && isReplyQueue(queue))
      ) {
        parseFormParams(rawBody, params);
      } else if (rawBody !== '') body = rawBody;
      if (isReplyQueue(queue)) {
        if (body === undefined) {
          throw new PubSubValidationError(
            'PUBSUB_BAD_CALL_XML',
            `queue ${queue} answers a call: POST an InboundXML document (Content-Type: application/xml), e.g. <Response><Say>Hello</Say></Response>`,
            { field: 'body' },
          );
        }
        validateCallXml(body);
      }

      // Who may publish: a session of this account; or (when enabled) a correctly signed platform webhook;
      // or anyone who knows the AccountSid when requirePublishAuth is off (the seed's scripts).
      const token = tokenOf(req);
      if (token) await rt.sessions.authorize(token, sid);
      else {
        const sigKey = s.signature.keys[sid] ?? s.signature.key;
        const sigHeader = req.headers[s.signature.header.toLowerCase()];
        const signed =
          s.signature.enabled &&
          typeof sigHeader === 'string' &&
          verifySignature(sigKey, publicUrlOf(req), params, sigHeader);
        if (s.signature.enabled && body === undefined && !signed) {
          throw new PubSubAuthError(
            'PUBSUB_SIGNATURE_INVALID',
            `missing or wrong ${s.signature.header} signature on this webhook`,
            {
              field: s.signature.header,
            },
          );
        }
        if ((s.requirePublishAuth || (s.signature.enabled && body !== undefined)) && !signed) {
          throw new PubSubAuthError(
            'PUBSUB_SESSION_REQUIRED',
            'publishing here needs a session token (Authorization header or session parameter)',
          );
        }
      }

      const idem = req.headers['idempotency-key'];
      const published = await rt.service.publish({
        accountSid: sid,
        queue,
        url: messageUrl(sid, queue, query),
        formParams: params,
        body,
        dedupContent: `${type}\n${body ?? JSON.stringify(params)}`,
        idempotencyKey: typeof idem === 'string' ? idem : undefined,
      });

      const callSid = callSidOf(queue, params);
      if (!callSid) {
        reply.headers(CORS).code(200).send({
          Id: published.id,
          Queue: queue,
          Delivered: published.delivered,
          Duplicate: published.duplicate,
        });
        return reply;
      }
      return callControl(req, reply, rt, sid, replyQueue(queue, callSid), published.id);
    },
  );
}

/** Long-polls `<queue>/<CallSid>` and answers the platform with the application's XML (or keep-alive). */
async function callControl(
  req: FastifyRequest,
  reply: FastifyReply,
  rt: PubSubRuntime,
  sid: string,
  queue: string,
  eventId: string,
): Promise<FastifyReply> {
  const poll = await rt.service.poll({
    accountSid: sid,
    queue,
    session: internalSession('callxml'),
    timeoutMs: rt.settings.callXmlTimeoutMs,
    onMessage: () => {},
    ackPrevious: false,
    maxMessages: 1,
  });
  const raw = reply.raw;
  const onClose = () => {
    if (!raw.writableFinished) poll.cancel();
  };
  raw.on('close', onClose);
  const msgs = await poll.result;
  if (raw.destroyed) {
    poll.cancel();
    return reply;
  }
  const xml = msgs[0]?.Body ?? keepAliveXml(publicUrlOf(req), rt.settings.keepAlivePause);
  const answered = msgs.length > 0;
  raw.once('finish', () => {
    raw.off('close', onClose);
    // The application answered the call: its XML is consumed, and so is the call event it answered
    // (a call event is only redelivered while the call still waits for an answer).
    void poll
      .ack()
      .then(() => (answered ? rt.store.ack([eventId]) : 0))
      .catch((e) => rt.logger.warn({ err: e }, 'pubsub call xml ack failed'));
  });
  reply
    .headers({ 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-cache' })
    .type('application/xml; charset=utf-8')
    .send(xml);
  return reply;
}

const AccountInfoSchema = Type.Object({
  accountSid: Type.String(),
  name: Type.String(),
  createdAt: Type.String(),
  rotatedAt: Type.Union([Type.String(), Type.Null()]),
});
const NewAccountSchema = Type.Object({
  accountSid: Type.String(),
  authToken: Type.String({ description: 'Shown once; only its hash is stored.' }),
  name: Type.String(),
  createdAt: Type.String(),
  rotatedAt: Type.Union([Type.String(), Type.Null()]),
});
const SidParams = Type.Object({ sid: Type.String({ pattern: '^AC[0-9a-f]{32}$' }) });

/** Admin API for the console under /api/pubsub (API-key auth comes from the app). */
export async function registerAdminRoutes(root: FastifyInstance, rt: PubSubRuntime): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/pubsub/accounts',
    {
      schema: {
        tags: ['pubsub'],
        summary: 'List PubSub accounts',
        response: {
          200: described(
            Type.Object({ accounts: Type.Array(AccountInfoSchema) }),
            'Every account (never a token)',
          ),
          ...errors(401),
        },
      },
    },
    async () => ({ accounts: await rt.accounts.list() }),
  );
  app.post(
    '/api/pubsub/accounts',
    {
      schema: {
        tags: ['pubsub'],
        summary: 'Create a PubSub account (AccountSid + AuthToken)',
        body: Type.Optional(
          Type.Object(
            { name: Type.Optional(Type.String({ maxLength: 200 })) },
            { additionalProperties: false },
          ),
        ),
        response: {
          201: described(NewAccountSchema, 'The new account with its AuthToken (shown once)'),
          ...errors(400, 401),
        },
      },
    },
    async (req, reply) => {
      const name = req.body?.name ?? '';
      reply.code(201);
      return rt.accounts.create(name);
    },
  );
  app.post(
    '/api/pubsub/accounts/:sid/rotate',
    {
      schema: {
        tags: ['pubsub'],
        summary: 'Rotate the AuthToken (ends existing sessions)',
        params: SidParams,
        response: {
          200: described(NewAccountSchema, 'The account with its new AuthToken (shown once)'),
          ...errors(400, 401, 404),
        },
      },
    },
    async (req) => rt.accounts.rotate(req.params.sid),
  );
  app.delete(
    '/api/pubsub/accounts/:sid',
    {
      schema: {
        tags: ['pubsub'],
        summary: 'Delete an account with its sessions and queued messages',
        params: SidParams,
        response: { 204: noContent('Deleted'), ...errors(400, 401, 404) },
      },
    },
    async (req, reply) => {
      await rt.accounts.remove(req.params.sid);
      return sendNoContent(reply);
    },
  );
  const QueueSchema = Type.Object({
    accountSid: Type.String(),
    queue: Type.String(),
    depth: Type.Integer(),
    leased: Type.Integer(),
    waiting: Type.Integer({ description: 'Subscribers long-polling this queue now.' }),
    oldestAgeMs: Type.Union([Type.Integer(), Type.Null()]),
  });
  app.get(
    '/api/pubsub/queues',
    {
      schema: {
        tags: ['pubsub'],
        summary: 'Queues holding messages, with depth and oldest message age',
        querystring: Type.Object({ accountSid: Type.Optional(Type.String()) }),
        response: {
          200: described(Type.Object({ queues: Type.Array(QueueSchema) }), 'Queues holding messages'),
          ...errors(400, 401),
        },
      },
    },
    async (req) => {
      const q = await rt.service.queueStats(req.query.accountSid);
      return {
        queues: q.map((x) => ({
          accountSid: x.accountSid,
          queue: x.queue,
          depth: x.depth,
          leased: x.leased,
          waiting: x.waiting,
          oldestAgeMs: x.oldestAgeMs,
        })),
      };
    },
  );
  app.get(
    '/api/pubsub/publishes',
    {
      schema: {
        tags: ['pubsub'],
        summary: 'Recent publishes (this process, newest first)',
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
        }),
        response: {
          200: Type.Object(
            {
              publishes: Type.Array(
                Type.Object({
                  id: Type.String(),
                  accountSid: Type.String(),
                  queue: Type.String(),
                  at: Type.String(),
                  bytes: Type.Integer(),
                  delivered: Type.Boolean(),
                  duplicate: Type.Boolean(),
                }),
              ),
            },
            { description: 'Recent publishes, newest first' },
          ),
          ...errors(400, 401),
        },
      },
    },
    async (req) => ({
      publishes: rt.service
        .recentPublishes(req.query.limit ?? 50)
        .map((p) => ({ ...p, at: new Date(p.at).toISOString() })),
    }),
  );
}

/** Prometheus metrics of the relay on the app's registry (`/metrics`). */
export function registerPubSubMetrics(registry: Registry, rt: PubSubRuntime): void {
  const c = rt.service.counters;
  const counter = (name: string, help: string, read: () => number) => {
    let last = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const v = read();
        if (v > last) this.inc(v - last);
        last = v;
      },
    });
  };
  counter('switchboard_pubsub_published_total', 'Publishes stored', () => c.published);
  counter(
    'switchboard_pubsub_duplicates_total',
    'Publishes recognised as duplicates (stored once)',
    () => c.duplicates,
  );
  counter(
    'switchboard_pubsub_delivered_total',
    'Messages handed to subscribers (redeliveries included)',
    () => c.delivered,
  );
  counter(
    'switchboard_pubsub_returned_total',
    'Messages returned to their queue by a client disconnect',
    () => c.returned,
  );
  new Gauge({
    name: 'switchboard_pubsub_waiting_subscribers',
    help: 'Long-polls waiting for a message',
    registers: [registry],
    collect() {
      this.set(rt.service.waiting());
    },
  });
  new Gauge({
    name: 'switchboard_pubsub_stored_messages',
    help: 'Messages stored in queues (ready + leased)',
    registers: [registry],
    async collect() {
      this.set((await rt.store.queueStats(undefined, 100_000)).reduce((n, q) => n + q.depth, 0));
    },
  });
}

const runtimes = new WeakMap<HubContext, PubSubRuntime>();

/** The relay's runtime for a hub (created on first use). */
export function pubsubRuntime(hub: HubContext): PubSubRuntime {
  let rt = runtimes.get(hub);
  if (!rt) {
    const logger = hub.logger.child({ module: 'pubsub' });
    rt = createPubSubRuntime({
      store: hub.stores.pubsub,
      settings: resolvePubSubSettings(hub.config.pubsub),
      clock: hub.clock,
      logger,
    });
    runtimes.set(hub, rt);
  }
  return rt;
}

export const pubsubModule: HubModule = {
  name: 'pubsub',
  async routes(app, hub) {
    if (!hub.config.pubsub.enabled) return;
    const rt = pubsubRuntime(hub);
    // Shutdown: answer every waiting long-poll at once so that the server can close.
    hub.signal.addEventListener('abort', () => rt.service.stop(), { once: true });
    await registerAdminRoutes(app, rt);
    await app.register(async (relay) => registerRelayRoutes(relay, rt));
    const registry = (app as FastifyInstance & { metrics?: Registry }).metrics;
    if (registry) registerPubSubMetrics(registry, rt);
  },
  async start(hub) {
    if (!hub.config.pubsub.enabled) return;
    const rt = pubsubRuntime(hub);
    rt.service.start();
  },
  async stop(hub) {
    if (!hub.config.pubsub.enabled) return;
    const rt = pubsubRuntime(hub);
    rt.service.stop();
  },
};
