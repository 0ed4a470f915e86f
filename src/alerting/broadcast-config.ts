import { type Static, Type } from 'typebox';

/** `broadcast:` section of switchboard.yaml. */
const Policy = (d: 'whisper' | 'suppress' | 'retry') =>
  Type.Union([Type.Literal('whisper'), Type.Literal('suppress'), Type.Literal('retry')], { default: d });

export const BroadcastConfigSchema = Type.Object(
  {
    concurrency: Type.Integer({
      minimum: 1,
      maximum: 2000,
      default: 128,
      description: 'Phones served at once.',
    }),
    attempts: Type.Integer({
      minimum: 1,
      maximum: 10,
      default: 3,
      description: 'Attempts per phone for transient failures.',
    }),
    backoffMs: Type.Integer({
      minimum: 10,
      maximum: 60_000,
      default: 200,
      description: 'First retry delay (doubles, jittered).',
    }),
    backoffMaxMs: Type.Integer({ minimum: 10, maximum: 300_000, default: 5000 }),
    actionTimeoutMs: Type.Integer({
      minimum: 100,
      maximum: 60_000,
      default: 5000,
      description: 'Timeout of one request to a phone.',
    }),
    busyPolicy: Type.Object(
      { normal: Policy('retry'), urgent: Policy('whisper'), emergency: Policy('whisper') },
      {
        additionalProperties: false,
        default: {},
        description: 'What to do with phones on a call, per priority.',
      },
    ),
    busyRetryAttempts: Type.Integer({ minimum: 1, maximum: 50, default: 6 }),
    busyRetryMs: Type.Integer({ minimum: 100, maximum: 300_000, default: 2000 }),
    multicast: Type.Object(
      {
        baseAddress: Type.String({
          default: '239.255.40.1',
          pattern: '^239\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}$',
        }),
        basePort: Type.Integer({ minimum: 20480, maximum: 32000, default: 24000, multipleOf: 2 }),
        leadMs: Type.Integer({
          minimum: 0,
          maximum: 10_000,
          default: 300,
          description: "A group's stream starts this long after its last phone was told to join.",
        }),
        joinTimeoutMs: Type.Integer({
          minimum: 0,
          maximum: 120_000,
          default: 10_000,
          description: 'The stream starts at the latest this long after the broadcast, joined or not.',
        }),
        interface: Type.String({
          default: '',
          description: 'Outgoing interface address for multicast audio (default: the system route).',
        }),
        ttl: Type.Integer({ minimum: 1, maximum: 255, default: 8 }),
        liveBindAddress: Type.String({
          default: '',
          maxLength: 45,
          description: 'Local address live audio (audio.source live) is received on (default: all).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    ciscoTones: Type.Record(Type.String(), Type.String({ pattern: '^[A-Za-z0-9._-]{1,128}$' }), {
      default: {},
      description: 'Cisco raw ring file per tone name (chime, alert, beep, attention, urgent).',
    }),
    templates: Type.Array(Type.Record(Type.String(), Type.Unknown()), {
      default: [],
      description: 'Templates created or updated at start-up (same fields as PUT /api/templates/:id).',
    }),
    webhook: Type.Object(
      {
        attempts: Type.Integer({ minimum: 1, maximum: 20, default: 5 }),
        backoffMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 500 }),
        timeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000 }),
        logKeep: Type.Integer({ minimum: 10, maximum: 1_000_000, default: 5000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    schedules: Type.Object(
      {
        catchUpMinutes: Type.Integer({
          minimum: 0,
          maximum: 1440,
          default: 10,
          description:
            'A scheduled run missed (the hub was down) by at most this many minutes is sent once, late; older missed runs are skipped and reported (schedule.missed). Per schedule: catchUpMinutes.',
        }),
        timeZone: Type.String({
          minLength: 1,
          maxLength: 64,
          default: 'UTC',
          description: 'Time zone of cron rules created without one (IANA name, e.g. Europe/Berlin).',
        }),
        maxSchedules: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

/** A header value from the config: one line (no CR/LF), so it cannot add headers. */
const HeaderLine = (d: string, description: string) =>
  Type.String({ default: d, maxLength: 320, pattern: '^[^\\r\\n]*$', description });

/** `emergency.email:` the SMTP relay the 911 incident mails go to. */
export const EmergencyEmailSchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description: 'Mail 911 incidents (opened, escalated, acknowledged).',
    }),
    host: Type.String({
      default: '',
      maxLength: 255,
      description: 'SMTP relay host (required when enabled).',
    }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 25 }),
    secure: Type.Boolean({
      default: false,
      description: 'Implicit TLS from the first byte (usually port 465).',
    }),
    requireTls: Type.Boolean({
      default: false,
      description:
        'Refuse to send unless the relay offers STARTTLS (otherwise STARTTLS is used when offered).',
    }),
    rejectUnauthorized: Type.Boolean({
      default: true,
      description:
        "Verify the relay's TLS certificate (false only for a relay with a self-signed certificate).",
    }),
    username: Type.String({
      default: '',
      maxLength: 255,
      description: "SMTP AUTH user ('' = no authentication).",
    }),
    password: Type.String({
      default: '',
      maxLength: 1024,
      description: 'SMTP AUTH password (or passwordFile).',
    }),
    from: HeaderLine(
      '',
      'Sender address, e.g. "Switchboard <switchboard@example.com>" (required when enabled).',
    ),
    to: Type.Array(Type.String({ minLength: 3, maxLength: 320, pattern: '^[^\\r\\n,;]+$' }), {
      default: [],
      maxItems: 100,
      description: 'Recipients (required when enabled).',
    }),
    subjectPrefix: HeaderLine('[911]', 'Start of every subject line.'),
    timeoutMs: Type.Integer({
      minimum: 100,
      maximum: 120_000,
      default: 10_000,
      description: 'Connection, greeting and socket timeout of one attempt.',
    }),
    attempts: Type.Integer({ minimum: 1, maximum: 10, default: 4, description: 'Attempts per mail.' }),
    backoffMs: Type.Integer({
      minimum: 10,
      maximum: 60_000,
      default: 1000,
      description: 'First retry delay (doubles, jittered).',
    }),
  },
  { additionalProperties: false, default: {} },
);

/** `emergency:` section: the built-in on-site 911 notification. */
export const EmergencyConfigSchema = Type.Object(
  {
    enabled: Type.Union([Type.Literal('auto'), Type.Literal('on'), Type.Literal('off')], {
      default: 'auto',
      description: 'auto: on once the notify group has phones.',
    }),
    group: Type.String({ default: 'security', minLength: 1, description: 'Group whose phones are alerted.' }),
    escalationGroup: Type.String({
      default: '',
      description: 'Second group added when nobody acknowledges.',
    }),
    escalateAfterSeconds: Type.Integer({
      minimum: 0,
      maximum: 3600,
      default: 60,
      description: '0 = never escalate.',
    }),
    maxEscalations: Type.Integer({ minimum: 0, maximum: 20, default: 3 }),
    template: Type.String({ default: 'emergency-911' }),
    includeTests: Type.Boolean({ default: true, description: 'Alert (marked TEST) for 933 test calls too.' }),
    queue: Type.String({
      default: 'emergency',
      description:
        "PubSub queue for incidents ('' = none). Published only when a PubSub account exists (see `account`).",
    }),
    account: Type.String({
      default: '',
      maxLength: 64,
      description:
        "PubSub account whose queue gets the incidents ('' = the relay's first account; with no account at all nothing is published).",
    }),
    webhooks: Type.Array(
      Type.Object(
        { url: Type.String({ pattern: '^https?://' }), secret: Type.Optional(Type.String({ minLength: 8 })) },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    email: EmergencyEmailSchema,
    timeZone: Type.String({
      default: '',
      maxLength: 64,
      description:
        "IANA time zone of alert times on phones, mails and the console (e.g. America/New_York; '' = the hub's zone). A location-table row's timeZone wins. Stored times stay UTC.",
    }),
    callbackNumber: Type.String({
      default: '',
      maxLength: 32,
      pattern: '^[0-9 ()+.-]*$',
      description:
        "The site's main number: the callback number of extensions that have none in the location table (and no external CLI from the PBX).",
    }),
    callbackDial: Type.Union([Type.Literal('extension'), Type.Literal('external')], {
      default: 'extension',
      description:
        "What the security phones' Call back key dials: the caller's extension or the external callback number.",
    }),
    dialPrefix: Type.String({
      default: '',
      maxLength: 8,
      pattern: '^[0-9*#]*$',
      description: 'Outside-line prefix put before the external callback number (callbackDial: external).',
    }),
    repeatSeconds: Type.Integer({
      minimum: 0,
      maximum: 600,
      default: 20,
      description:
        'Until someone acknowledges: re-show the alert (Cisco: when idle; Avaya: Top Line barge + page) and repeat its tone this often. 0 = never. Keep it under 30 on Avaya (a pushed Top Line expires after 30 s).',
    }),
    degradedNoticeSeconds: Type.Integer({
      minimum: 0,
      maximum: 86_400,
      default: 60,
      description:
        'Seconds 911 notification must stay degraded (PBX link down, no reachable security phone…) before a notice goes to the security phones and the email relay (0 = no notice).',
    }),
    probeIntervalSeconds: Type.Integer({
      minimum: 0,
      maximum: 3600,
      default: 5,
      description:
        'Seconds between probes of the security and escalation phones (Cisco: one DeviceInformationX GET; Avaya: one TCP connect to the push port). 0 = no probing.',
    }),
    probeTimeoutMs: Type.Integer({
      minimum: 100,
      maximum: 60_000,
      default: 3000,
      description: 'Timeout of one phone probe (a phone that does not answer within it is unreachable).',
    }),
    probeConcurrency: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 32,
      description:
        'Probes in flight at once in a round (a site with hundreds of security phones is probed a few at a time, not all at once). A phone that answered an alert delivery within the last interval is not probed in that round.',
    }),
    probeRatePerSecond: Type.Integer({
      minimum: 0,
      maximum: 10_000,
      default: 50,
      description:
        'Probes started per second at most (0 = no limit). A round over N phones takes at least N / this seconds, so the next probe of a phone comes after max(probeIntervalSeconds, that) plus the interval: 1,000 security phones are each probed about every 25 s, 10 phones every 5 s.',
    }),
    linkStartGraceMs: Type.Integer({
      minimum: 0,
      maximum: 600_000,
      default: 10_000,
      description: 'A PBX link not up this long after the hub started (or the PBX was added) counts as down.',
    }),
    storageCheckSeconds: Type.Integer({
      minimum: 0,
      maximum: 3600,
      default: 30,
      description:
        "Seconds between checks of the data directory's free space: below events.minFreeDiskMb, 911 notification is not ready (DISK_FULL). 0 = checked only when something else changes.",
    }),
    maxCallSeconds: Type.Integer({
      minimum: 60,
      maximum: 7 * 86_400,
      default: 4 * 3600,
      description:
        'Longest call: an incident older than this is never "the same call" as a new 911 event with its callKey.',
    }),
    reannounceGraceMs: Type.Integer({
      minimum: 100,
      maximum: 600_000,
      default: 10_000,
      description:
        "After a PBX link comes back, an open incident's call that the PBX does not re-announce within this long is over.",
    }),
    resumeWithinSeconds: Type.Integer({
      minimum: 0,
      maximum: 30 * 86_400,
      default: 3600,
      description:
        'On start, incidents not acknowledged and younger than this are resumed (alert resent, escalation re-armed). 0 = none.',
    }),
  },
  { additionalProperties: false, default: {} },
);

/** `rules:` section: rules defined in the config file (read-only through the API). */
export const RulesConfigSchema = Type.Array(Type.Record(Type.String(), Type.Unknown()), {
  default: [],
  description: 'Rules: { id, event, where, actions } (see docs/broadcasts.md).',
});

export type BroadcastConfig = Static<typeof BroadcastConfigSchema>;
export type EmergencyConfig = Static<typeof EmergencyConfigSchema>;
export type EmergencyEmailConfig = Static<typeof EmergencyEmailSchema>;

/**
 * What is wrong with an enabled `emergency.email` relay, every problem at once (checked with the rest of
 * the configuration, before the hub touches its data directory).
 */
export function emailConfigProblems(c: EmergencyEmailConfig): string[] {
  if (!c.enabled) return [];
  const problems = (['host', 'from'] as const)
    .filter((k) => c[k].trim() === '')
    .map((k) => `emergency.email.${k}: required when emergency.email.enabled is true`);
  if (c.to.length === 0)
    problems.push('emergency.email.to: needs at least one recipient when emergency.email.enabled is true');
  if (c.password && !c.username) problems.push('emergency.email.username: required when a password is set');
  return problems;
}
