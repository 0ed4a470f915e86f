import { timingSafeEqual } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { charsetOf } from '../core/charset.js';
import { AuthError, ConflictError, errorMessage, NotFoundError, ValidationError } from '../core/errors.js';
import type { HubContext, HubModule } from '../core/module.js';
import { decodeXmlBytes } from '../core/xml-read.js';
import { bearer } from '../server/auth.js';
import { described, errors, Open } from '../server/schemas.js';
import { broadcastRuntime, setIncidentChannels } from './broadcast-module.js';
import { buildCapFeed } from './cap/atom.js';
import { feedItems } from './cap/egress.js';
import { CapIngest } from './cap/ingest.js';
import { CapPoller } from './cap/poller.js';
import type { CapValue } from './cap/types.js';
import type { ChannelLogStore } from './channels/dispatch.js';
import { SlackChannel } from './channels/slack.js';
import { SmsChannel } from './channels/sms.js';
import { TeamsChannel } from './channels/teams.js';
import { ChannelRegistry } from './channels/types.js';
import { answerVoiceCall, VoiceCallBook, VoiceChannel } from './channels/voice.js';

/**
 * The alerting module: CAP 1.2 in (`POST /api/cap`, feed polling → `cap.alert` events) and out
 * (`GET /cap/feed.atom`), and the alerting channels (Teams, Slack, SMS, voice call-out) the 911 incidents
 * are told about. Off unless configured (`cap`, `channels` in the config).
 */
export interface AlertingRuntime {
  /** The configured channels; the broadcast runtime's dispatcher runs them with its own (see broadcast-module.ts). */
  registry: ChannelRegistry;
  voiceBook: VoiceCallBook;
  channelLog: ChannelLogStore;
  ingest: CapIngest;
  poller: CapPoller;
  /** The CAP `sender` of the hub's own messages. */
  sender(): string;
}

const runtimes = new WeakMap<HubContext, AlertingRuntime>();

const voiceUrl = (hub: HubContext) => (token: string) =>
  `${hub.hub.publicUrl.replace(/\/+$/, '')}/alerting/voice?token=${encodeURIComponent(token)}`;

export function alertingRuntime(hub: HubContext): AlertingRuntime {
  const existing = runtimes.get(hub);
  if (existing) return existing;
  const logger = hub.logger.child({ module: 'alerting' });
  const ch = hub.config.channels;
  const cap = hub.config.cap;
  const registry = new ChannelRegistry();
  const voiceBook = new VoiceCallBook(hub.clock);
  const account = ch.cpaas;
  const needsCpaas = ch.sms.length > 0 || ch.voice.length > 0;
  if (needsCpaas && (!account.accountSid || !account.authToken || !account.from))
    throw new ValidationError(
      'CHANNELS_CPAAS_MISSING',
      'channels.cpaas: accountSid, authToken and from are required for SMS and voice channels',
      { field: 'channels.cpaas' },
    );
  if (cap.feed.access === 'token' && cap.feed.token.length < 16)
    throw new ValidationError(
      'CAP_FEED_TOKEN_WEAK',
      'cap.feed.token: access "token" needs a token of at least 16 characters (or tokenFile)',
      { field: 'cap.feed.token' },
    );
  for (const c of ch.teams)
    registry.register(
      new TeamsChannel({ id: `teams:${c.id}`, url: c.url, moments: c.moments, timeoutMs: ch.timeoutMs }),
    );
  for (const c of ch.slack)
    registry.register(
      new SlackChannel({ id: `slack:${c.id}`, url: c.url, moments: c.moments, timeoutMs: ch.timeoutMs }),
    );
  for (const c of ch.sms)
    registry.register(
      new SmsChannel({ id: `sms:${c.id}`, account, to: c.to, moments: c.moments, timeoutMs: ch.timeoutMs }),
    );
  for (const c of ch.voice)
    registry.register(
      new VoiceChannel(
        {
          id: `voice:${c.id}`,
          account,
          to: c.to,
          moments: c.moments,
          timeoutMs: ch.timeoutMs,
          voice: c.voice,
          repeats: c.repeats,
        },
        voiceBook,
        voiceUrl(hub),
      ),
    );
  const channelLog = hub.stores.channelLog;
  const ingest = new CapIngest({
    store: hub.stores.capAlerts,
    bus: hub.bus,
    recall: (id, by) => broadcastRuntime(hub).control.recall(id, by),
    options: {
      site: {
        ...(cap.site.latitude !== undefined ? { latitude: cap.site.latitude } : {}),
        ...(cap.site.longitude !== undefined ? { longitude: cap.site.longitude } : {}),
        geocodes: cap.site.geocodes as CapValue[],
      },
      languages: cap.languages,
      statuses: cap.statuses,
      maxBytes: cap.maxBytes,
      keep: cap.keep,
    },
    clock: hub.clock,
    logger,
  });
  const poller = new CapPoller({
    feeds: cap.feeds,
    ingest,
    maxBytes: cap.maxBytes,
    clock: hub.clock,
    logger,
    signal: hub.signal,
  });
  const rt: AlertingRuntime = {
    registry,
    voiceBook,
    channelLog,
    ingest,
    poller,
    sender: () => {
      if (cap.feed.sender) return cap.feed.sender;
      try {
        return `switchboard@${new URL(hub.hub.publicUrl).hostname}`;
      } catch {
        return 'switchboard@localhost';
      }
    },
  };
  runtimes.set(hub, rt);
  return rt;
}

const CapResultSchema = Type.Object({
  key: Type.String({ description: '`sender|identifier`: what messages are deduplicated and referenced by.' }),
  identifier: Type.String(),
  msgType: Type.String(),
  outcome: Type.Union([
    Type.Literal('emitted'),
    Type.Literal('duplicate'),
    Type.Literal('ignored'),
    Type.Literal('expired'),
  ]),
  eventId: Type.Union([Type.String(), Type.Null()], {
    description: 'The cap.alert event (null: not emitted).',
  }),
  recalled: Type.Array(Type.String(), { description: 'Broadcasts recalled by this Update/Cancel.' }),
  warnings: Type.Array(Type.String()),
});

const CapRecordSchema = Open({
  key: Type.String(),
  sender: Type.String(),
  identifier: Type.String(),
  sent: Type.String(),
  msgType: Type.String(),
  status: Type.String(),
  origin: Type.String(),
  receivedAt: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  eventId: Type.Union([Type.String(), Type.Null()]),
  broadcasts: Type.Array(Type.String()),
  state: Type.String(),
  references: Type.Array(Type.String()),
  event: Type.String(),
  severity: Type.String(),
  inArea: Type.Boolean(),
});

const FeedStatusSchema = Type.Object({
  name: Type.String(),
  host: Type.String(),
  lastPollAt: Type.Union([Type.String(), Type.Null()]),
  lastOkAt: Type.Union([Type.String(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  entries: Type.Integer(),
  emitted: Type.Integer(),
});

const ChannelLogSchema = Open({
  id: Type.String(),
  channelId: Type.String(),
  kind: Type.String(),
  incidentId: Type.String(),
  moment: Type.String(),
  createdAt: Type.String(),
  state: Type.String(),
  attempts: Type.Array(
    Type.Object({ at: Type.String(), ms: Type.Number(), error: Type.Union([Type.String(), Type.Null()]) }),
  ),
  receipt: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});

const XML_TYPES = ['application/cap+xml', 'application/xml', 'text/xml'];

/** Same length and bytes, in constant time. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function registerAlertingRoutes(
  root: FastifyInstance,
  hub: HubContext,
  rt: AlertingRuntime,
): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const cap = hub.config.cap;
  // CAP bodies arrive as bytes and are decoded by their own XML declaration (else the Content-Type
  // charset, else UTF-8), so an ISO-8859-1 alert reads right. Bounded: a little above cap.maxBytes (the
  // codec answers CAP_TOO_LARGE with the sizes); beyond that Fastify answers 413 before reading it all.
  app.removeContentTypeParser(['application/xml', 'text/xml']);
  app.addContentTypeParser(
    XML_TYPES,
    { parseAs: 'buffer', bodyLimit: cap.maxBytes + 64 * 1024 },
    (req, body, done) => {
      done(null, decodeXmlBytes(body as Buffer, { charset: charsetOf(req.headers['content-type']) }));
    },
  );

  app.post(
    '/api/cap',
    {
      schema: {
        tags: ['cap'],
        summary: 'Accept a CAP 1.2 alert (emitted as a cap.alert event)',
        description:
          'Body: one CAP 1.2 `<alert>` (application/cap+xml, application/xml or text/xml). Deduplicated by sender and identifier; an Update or Cancel recalls the broadcasts of the messages it references. Answers what became of it.',
        body: Type.String({ description: 'The CAP document.', maxLength: 4 * 1024 * 1024 }),
        response: {
          200: described(CapResultSchema, 'What became of the message'),
          ...errors(400, 401, 403, 409, 413, 415),
        },
      },
    },
    async (req) => {
      if (!cap.enabled)
        throw new ConflictError('CAP_DISABLED', 'CAP ingest is off: set cap.enabled to true', {
          field: 'cap.enabled',
        });
      return rt.ingest.acceptDocument(req.body, 'api');
    },
  );

  app.get(
    '/api/cap',
    {
      schema: {
        tags: ['cap'],
        summary: 'CAP ingest: feeds and the messages received (newest first)',
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        }),
        response: {
          200: described(
            Type.Object({
              enabled: Type.Boolean(),
              feeds: Type.Array(FeedStatusSchema),
              alerts: Type.Array(CapRecordSchema),
            }),
            'Feeds and messages',
          ),
          ...errors(400, 401, 403),
        },
      },
    },
    async (req) => {
      const q = req.query;
      return { enabled: cap.enabled, feeds: rt.poller.feeds(), alerts: await rt.ingest.list(q.limit ?? 100) };
    },
  );

  app.get(
    '/api/channels',
    {
      schema: {
        tags: ['channels'],
        summary: 'The alerting channels (no secrets) and their delivery log (newest first)',
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
          incidentId: Type.Optional(Type.String({ maxLength: 100 })),
        }),
        response: {
          200: described(
            Type.Object({
              channels: Type.Array(Open({ id: Type.String(), kind: Type.String() })),
              log: Type.Array(ChannelLogSchema),
            }),
            'Channels and log',
          ),
          ...errors(400, 401, 403),
        },
      },
    },
    async (req) => {
      const q = req.query;
      return {
        channels: rt.registry.list().map((c) => ({ ...c.describe(), id: c.id, kind: c.kind })),
        log: await rt.channelLog.list({
          limit: q.limit ?? 100,
          ...(q.incidentId ? { incidentId: q.incidentId } : {}),
        }),
      };
    },
  );

  app.get(
    '/cap/feed.atom',
    {
      schema: {
        tags: ['cap'],
        summary: "The hub's incidents and broadcasts as a CAP 1.2 Atom feed (access: cap.feed.access)",
        querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 256 })) }),
        security: [],
        response: {
          200: described(Type.String(), 'Atom feed, each entry a CAP 1.2 alert inline'),
          ...errors(401, 404),
        },
      },
    },
    async (req, reply) => {
      const f = cap.feed;
      if (f.access === 'off')
        throw new NotFoundError('CAP_FEED_OFF', 'the CAP feed is off (cap.feed.access)');
      if (f.access === 'token') {
        const given = bearer(req) ?? req.query.token ?? '';
        if (!sameSecret(given, f.token))
          throw new AuthError(
            'CAP_FEED_TOKEN',
            'the CAP feed needs its token (Authorization: Bearer, or ?token=)',
          );
      }
      const bt = broadcastRuntime(hub);
      const max = f.maxEntries;
      const incidents = await bt.stores.incidents.list({ limit: max });
      const broadcasts = await bt.stores.broadcasts.listBroadcasts({ limit: max });
      const items = feedItems(
        incidents,
        broadcasts,
        { sender: rt.sender(), publicUrl: hub.hub.publicUrl, includeTests: f.includeTests },
        max,
      );
      const base = hub.hub.publicUrl.replace(/\/+$/, '');
      reply.header('Content-Type', 'application/atom+xml; charset=utf-8');
      reply.header('Cache-Control', 'no-cache');
      return buildCapFeed({
        id: `${base}/cap/feed.atom`,
        title: 'Switchboard alerts',
        self: `${base}/cap/feed.atom`,
        updated: items[0]?.updated ?? new Date(hub.clock.now()).toISOString(),
        items,
      });
    },
  );

  // The CPaaS platform's requests for a voice call-out (token in the query: redacted from logs).
  app.post(
    '/alerting/voice',
    {
      schema: {
        tags: ['channels'],
        summary: 'InboundXML of a voice call-out (the CPaaS platform; token in the URL, no API key)',
        querystring: Type.Object({ token: Type.String({ maxLength: 64 }) }),
        body: Type.Object(
          { Digits: Type.Optional(Type.String({ maxLength: 32 })) },
          { additionalProperties: true },
        ),
        security: [],
        response: { 200: described(Type.String(), 'InboundXML'), ...errors(400) },
      },
    },
    async (req, reply) => {
      const token = req.query.token;
      const digits = req.body?.Digits ?? '';
      // The acknowledgement never fails the platform's request (the callee hears "Acknowledged" once the
      // key is taken); a failure (the incident gone) is logged. Works whether the store is sync or async.
      const r = answerVoiceCall(rt.voiceBook, token, digits, voiceUrl(hub), (incidentId, by) => {
        Promise.resolve()
          .then(() => broadcastRuntime(hub).emergency.acknowledge(incidentId, by))
          .catch((e: unknown) =>
            hub.logger.warn({ incidentId, err: errorMessage(e) }, 'voice acknowledgement failed'),
          );
      });
      reply.header('Content-Type', 'application/xml; charset=utf-8');
      return r.xml;
    },
  );
}

export const alertingModule: HubModule = {
  name: 'alerting',
  // It hands its channels to the 911 service and recalls broadcasts: broadcast is composed first.
  after: ['broadcast'],
  async routes(app, hub) {
    const rt = alertingRuntime(hub);
    setIncidentChannels(hub, rt.registry);
    await registerAlertingRoutes(app, hub, rt);
  },
  start(hub) {
    const rt = alertingRuntime(hub);
    setIncidentChannels(hub, rt.registry);
    if (!hub.config.cap.enabled) return;
    rt.ingest.start();
    rt.poller.start();
  },
  async stop(hub) {
    const rt = runtimes.get(hub);
    if (!rt) return;
    await rt.poller.stop();
    await rt.ingest.stop();
  },
};
