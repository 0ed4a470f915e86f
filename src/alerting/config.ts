import { type Static, Type } from 'typebox';

/**
 * Config sections of the alerting module: `cap` (CAP 1.2 in and out) and `channels` (Teams, Slack, SMS,
 * voice call-out). Everything is off by default.
 */
const Moment = Type.Union(
  [
    Type.Literal('opened'),
    Type.Literal('escalated'),
    Type.Literal('acknowledged'),
    Type.Literal('unnotified'),
  ],
  { description: 'A moment of a 911 incident.' },
);
const Moments = Type.Array(Moment, {
  default: ['opened', 'escalated', 'acknowledged', 'unnotified'],
  maxItems: 4,
  uniqueItems: true,
  description: 'The moments this channel is told about.',
});
const ChannelId = Type.String({
  pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$',
  description: 'Name of the channel (unique per kind; shown in the incident timeline).',
});
const Phone = Type.String({ pattern: '^\\+?[0-9]{3,20}$', description: 'E.164 number.' });

const Geocode = Type.Object(
  {
    valueName: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'Geocode system: SAME, UGC, FIPS6 …',
    }),
    value: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);

export const CapConfigSchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description:
        'Accept CAP 1.2 alerts (POST /api/cap and the feeds below) and emit them as cap.alert events.',
    }),
    site: Type.Object(
      {
        latitude: Type.Optional(Type.Number({ minimum: -90, maximum: 90, description: 'WGS 84 degrees.' })),
        longitude: Type.Optional(
          Type.Number({ minimum: -180, maximum: 180, description: 'WGS 84 degrees.' }),
        ),
        geocodes: Type.Array(Geocode, {
          default: [],
          maxItems: 64,
          description:
            "The site's geocodes (e.g. SAME 017031, UGC ILZ014): an alert area with an equal pair covers the site.",
        }),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'Where the site is: the `inArea` of a cap.alert event tests the alert areas against it.',
      },
    ),
    languages: Type.Array(Type.String({ minLength: 2, maxLength: 35 }), {
      default: ['en-US'],
      maxItems: 16,
      description: 'Preferred languages: the info block of a multilingual alert that the event carries.',
    }),
    statuses: Type.Array(
      Type.Union([
        Type.Literal('Actual'),
        Type.Literal('Exercise'),
        Type.Literal('System'),
        Type.Literal('Test'),
        Type.Literal('Draft'),
      ]),
      {
        default: ['Actual'],
        description: 'Alert statuses emitted as cap.alert events; others are recorded as ignored.',
      },
    ),
    maxBytes: Type.Integer({
      minimum: 4096,
      maximum: 4 * 1024 * 1024,
      default: 512 * 1024,
      description: 'Largest CAP document accepted (bytes); larger: CAP_TOO_LARGE (413).',
    }),
    keep: Type.Integer({
      minimum: 100,
      maximum: 1_000_000,
      default: 10_000,
      description: 'CAP messages remembered (dedupe).',
    }),
    feeds: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' }),
          url: Type.String({ pattern: '^https?://', maxLength: 2000 }),
          intervalSeconds: Type.Integer({
            minimum: 10,
            maximum: 86_400,
            default: 60,
            description: 'Poll interval.',
          }),
          timeoutMs: Type.Integer({
            minimum: 1000,
            maximum: 120_000,
            default: 15_000,
            description: 'Timeout of one request (the feed, or one linked alert).',
          }),
          maxLinked: Type.Integer({
            minimum: 0,
            maximum: 500,
            default: 50,
            description: 'Most linked (not inline) alerts fetched per poll.',
          }),
        },
        { additionalProperties: false },
      ),
      { default: [], maxItems: 32, description: 'Atom feeds (or single CAP documents) polled for alerts.' },
    ),
    feed: Type.Object(
      {
        access: Type.Union([Type.Literal('off'), Type.Literal('public'), Type.Literal('token')], {
          default: 'off',
          description:
            "GET /cap/feed.atom: 'off' (404), 'public' (anyone who reaches the hub), 'token' (Bearer token or ?token= equal to `token`).",
        }),
        token: Type.String({
          default: '',
          maxLength: 256,
          description: "Secret of access 'token' (at least 16 characters; or tokenFile).",
        }),
        sender: Type.String({
          default: '',
          maxLength: 200,
          pattern: '^[^\\s,<&]*$',
          description: "CAP sender of the hub's alerts ('' = switchboard@<publicUrl host>).",
        }),
        maxEntries: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 100,
          description: 'Entries in the feed.',
        }),
        includeTests: Type.Boolean({
          default: false,
          description: 'Publish test (933) and drill incidents too (as status Test / Exercise).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

const Webhook = Type.Object(
  {
    id: ChannelId,
    url: Type.String({
      pattern: '^https?://',
      maxLength: 2000,
      description: 'Webhook URL (a secret: it carries the token).',
    }),
    moments: Moments,
  },
  { additionalProperties: false },
);

export const ChannelsConfigSchema = Type.Object(
  {
    attempts: Type.Integer({
      minimum: 1,
      maximum: 20,
      default: 4,
      description: 'Attempts per channel and moment.',
    }),
    backoffMs: Type.Integer({
      minimum: 10,
      maximum: 60_000,
      default: 1000,
      description: 'First retry delay (doubles).',
    }),
    timeoutMs: Type.Integer({
      minimum: 1000,
      maximum: 120_000,
      default: 10_000,
      description: 'Timeout of one attempt.',
    }),
    logKeep: Type.Integer({
      minimum: 100,
      maximum: 1_000_000,
      default: 10_000,
      description: 'Channel log rows kept.',
    }),
    teams: Type.Array(Webhook, {
      default: [],
      maxItems: 32,
      description: 'Microsoft Teams Workflows webhooks.',
    }),
    slack: Type.Array(Webhook, { default: [], maxItems: 32, description: 'Slack incoming webhooks.' }),
    cpaas: Type.Object(
      {
        apiUrl: Type.String({ default: 'https://api.zang.io/v2', pattern: '^https?://', maxLength: 500 }),
        accountSid: Type.String({ default: '', maxLength: 64 }),
        authToken: Type.String({ default: '', maxLength: 256, description: 'Secret (or authTokenFile).' }),
        from: Type.String({
          default: '',
          pattern: '^(\\+?[0-9]{3,20})?$',
          description: 'Number SMS and calls come from.',
        }),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'The CPaaS account SMS and voice call-out use.',
      },
    ),
    sms: Type.Array(
      Type.Object(
        { id: ChannelId, to: Type.Array(Phone, { minItems: 1, maxItems: 50 }), moments: Moments },
        { additionalProperties: false },
      ),
      { default: [], maxItems: 16 },
    ),
    voice: Type.Array(
      Type.Object(
        {
          id: ChannelId,
          to: Type.Array(Phone, { minItems: 1, maxItems: 20 }),
          moments: Type.Array(Moment, {
            default: ['opened', 'escalated', 'unnotified'],
            maxItems: 4,
            uniqueItems: true,
          }),
          voice: Type.String({ default: 'woman', maxLength: 32 }),
          repeats: Type.Integer({
            minimum: 1,
            maximum: 10,
            default: 3,
            description: 'Times the alert is read.',
          }),
        },
        { additionalProperties: false },
      ),
      { default: [], maxItems: 16 },
    ),
  },
  { additionalProperties: false, default: {} },
);

export type CapConfig = Static<typeof CapConfigSchema>;
export type ChannelsConfig = Static<typeof ChannelsConfigSchema>;
