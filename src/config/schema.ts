import { type Static, type TInteger, type TObject, type TOptional, Type } from 'typebox';
import {
  BroadcastConfigSchema,
  EmergencyConfigSchema,
  RulesConfigSchema,
} from '../alerting/broadcast-config.js';
import { CapConfigSchema, ChannelsConfigSchema } from '../alerting/config.js';
import { ROLES, type Role } from '../core/roles.js';
import { DialConfigSchema } from '../dial/config.js';
import { AvayaConfigSchema } from '../drivers/avaya/config.js';
import { CiscoConfigSchema } from '../drivers/cisco/config.js';
import { ProvisioningSchema } from '../provisioning/config.js';
import { PubSubConfigSchema } from '../pubsub/config.js';
import { DEFAULT_KEEP_BACKUPS } from '../store/sqlite/files.js';

/**
 * The configuration file schema (`switchboard.yaml`). Every key has a default. Modules add their own
 * section here (one line each) so that `switchboard.yaml` stays one validated document.
 * Environment variables override keys: `SWITCHBOARD_HTTP_PORT` → `http.port` (see load.ts).
 * Any key ending in `File` next to a secret key (`passwordFile`) reads that secret from a file.
 */
export const HttpSchema = Type.Object(
  {
    host: Type.String({ default: '0.0.0.0', description: 'Address to listen on.' }),
    port: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8080,
      description: 'TCP port (0 picks a free one).',
    }),
    publicUrl: Type.String({
      default: '',
      description:
        'Base URL phones and platforms use to reach the hub (default: http://<first non-loopback IPv4>:<port>).',
    }),
    trustProxy: Type.Boolean({ default: false, description: 'Trust X-Forwarded-* headers.' }),
    bodyLimit: Type.Integer({
      minimum: 1024,
      maximum: 64 * 1024 * 1024,
      default: 1024 * 1024,
      description: 'Maximum request body in bytes.',
    }),
    maxJsonDepth: Type.Integer({
      minimum: 4,
      maximum: 1000,
      default: 64,
      description: 'Deepest nesting of arrays/objects accepted in a JSON request body (deeper: 400).',
    }),
    requestTimeoutMs: Type.Integer({
      minimum: 1000,
      maximum: 3_600_000,
      default: 30_000,
      description:
        'Time a client has to send a whole request (headers and body); slower ones get 408 and are closed. Long-poll GETs are not affected (their request is complete; they bound their own wait).',
    }),
    headersTimeoutMs: Type.Integer({
      minimum: 1000,
      maximum: 600_000,
      default: 10_000,
      description: 'Time a client has to send the request headers (at most requestTimeoutMs).',
    }),
    maxConnectionsPerAddress: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 512,
      description:
        'Open connections one client address may hold (idle long-polls included); further ones are closed at once. Raise it for a PubSub platform or proxy that polls many queues from one address.',
    }),
    keepAliveTimeoutMs: Type.Integer({
      minimum: 1000,
      default: 65_000,
      description: 'Idle keep-alive timeout.',
    }),
    tls: Type.Object(
      {
        cert: Type.String({
          default: '',
          description:
            'PEM certificate file (chain: server certificate first) for HTTPS on http.port; absolute or relative to dataDir. With http.tls.key set, the API, console, PubSub relay and phone content are served over HTTPS only. Re-read on SIGHUP.',
        }),
        key: Type.String({
          default: '',
          description:
            'PEM private key file of http.tls.cert (keep it 0600, owned by the hub’s user). Re-read on SIGHUP.',
        }),
        redirect: Type.Object(
          {
            enabled: Type.Boolean({
              default: false,
              description:
                'With HTTPS on: also listen for plain HTTP on http.tls.redirect.port and answer every request with 308 to the HTTPS URL (http.publicUrl when it is https, else the requested host on http.port).',
            }),
            port: Type.Integer({
              minimum: 0,
              maximum: 65535,
              default: 80,
              description: 'Port of the plain-HTTP redirect listener (on http.host).',
            }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    phoneListener: Type.Object(
      {
        enabled: Type.Boolean({
          default: false,
          description:
            'Serve the phone-facing routes (Cisco services and callbacks, Avaya push content and subscriptions, settings files, alert acknowledgement links) on a listener of their own; the main listener (host/port) then serves only the API, console, metrics and health. Bind the main one to the management network.',
        }),
        host: Type.String({
          default: '',
          description: 'Address of the phone listener (default: http.host).',
        }),
        port: Type.Integer({
          minimum: 0,
          maximum: 65535,
          default: 8081,
          description: 'TCP port of the phone listener (0 picks a free one).',
        }),
        publicUrl: Type.String({
          default: '',
          description:
            'Base URL phones use to reach the phone listener (default: http://<phone listener host or first non-loopback IPv4>:<its port>); replaces http.publicUrl for everything given to phones.',
        }),
        pubsub: Type.Boolean({
          default: false,
          description: 'Serve the PubSub relay on the phone listener instead of the main one.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

export const LogSchema = Type.Object(
  {
    level: Type.Union(
      [
        Type.Literal('trace'),
        Type.Literal('debug'),
        Type.Literal('info'),
        Type.Literal('warn'),
        Type.Literal('error'),
        Type.Literal('silent'),
      ],
      { default: 'info' },
    ),
    pretty: Type.Boolean({
      default: false,
      description:
        'Readable log lines for a terminal (time, level, message, key=value) instead of JSON lines. Leave it off under systemd, Docker or a log shipper: they want the JSON.',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const ShutdownSchema = Type.Object(
  {
    graceMs: Type.Integer({
      minimum: 0,
      maximum: 600_000,
      default: 10_000,
      description:
        'Longest shutdown after SIGTERM: in-flight requests get half of it, then work in progress is stopped and stored (emergency alerts resume on the next start); the process exits by this time.',
    }),
  },
  { additionalProperties: false, default: {} },
);

const RoleLiteral = Type.Union(
  [Type.Literal('admin'), Type.Literal('operator'), Type.Literal('sender'), Type.Literal('viewer')],
  { description: 'admin, operator, sender or viewer' },
);

/** Sign-in with the organisation's directory (OpenID Connect, authorisation code + PKCE). */
export const OidcSchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description:
        'Offer "Sign in with the directory" (OpenID Connect). Local users stay available (break-glass).',
    }),
    issuer: Type.String({
      default: '',
      description: 'Issuer URL of the OpenID provider (its /.well-known/openid-configuration is read).',
    }),
    clientId: Type.String({ default: '', description: 'Client id registered at the provider.' }),
    clientSecret: Type.String({
      default: '',
      description:
        'Client secret (or clientSecretFile). Empty: a public client (PKCE only, token endpoint auth none).',
    }),
    redirectUrl: Type.String({
      default: '',
      description:
        'Redirect URI registered at the provider (default: <http.publicUrl>/api/session/oidc/callback).',
    }),
    scopes: Type.String({
      default: 'openid profile email groups',
      description: 'Scopes asked for (space-separated; must include openid).',
    }),
    usernameClaim: Type.String({
      default: 'preferred_username',
      description: 'Claim that names the user (falls back to email, then sub).',
    }),
    groupsClaim: Type.String({
      default: 'groups',
      description: "Claim listing the user's groups (from the ID token or the userinfo endpoint).",
    }),
    roleMap: Type.Record(Type.String({ minLength: 1, maxLength: 256 }), RoleLiteral, {
      default: {},
      description:
        'Directory group → role, e.g. `{ "switchboard-admins": admin, "security-desk": operator }`. A user in several mapped groups gets the strongest role; a user in none is refused (unless defaultRole).',
    }),
    defaultRole: Type.Optional(
      Type.Union(RoleLiteral.anyOf, {
        description: 'Role for a directory user in no mapped group (default: refuse the sign-in).',
      }),
    ),
    allowHttp: Type.Boolean({
      default: false,
      description: 'Allow an http:// issuer (tests, labs). Production providers use https.',
    }),
    timeoutMs: Type.Integer({
      minimum: 1000,
      maximum: 120_000,
      default: 10_000,
      description: 'Timeout of each request to the provider (discovery, token, userinfo).',
    }),
    loginTimeoutSeconds: Type.Integer({
      minimum: 30,
      maximum: 3600,
      default: 600,
      description: 'How long a started sign-in may take at the provider before its state is forgotten.',
    }),
    maxPendingLogins: Type.Integer({
      minimum: 10,
      maximum: 100_000,
      default: 1000,
      description: 'Sign-ins in progress kept at once (the oldest is dropped beyond this).',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const AuthSchema = Type.Object(
  {
    /** Extra API keys from config (hashed at start-up, never stored in clear). */
    apiKeys: Type.Array(Type.String({ minLength: 16 }), {
      default: [],
      description: 'Static API keys (prefer `switchboard keys create`).',
    }),
    apiKeysFile: Type.Optional(Type.String({ description: 'File with one API key per line.' })),
    sessionTtlMinutes: Type.Integer({
      minimum: 1,
      maximum: 43_200,
      default: 720,
      description:
        'Absolute cap of a session from `POST /api/session` (sign-in with a local user, `switchboard users create`): however much it is used, it ends this long after sign-in. Per role: `auth.sessionsByRole.<role>.maxMinutes`.',
    }),
    sessionIdleMinutes: Type.Integer({
      minimum: 1,
      maximum: 43_200,
      default: 60,
      description:
        'Sliding expiry of a session: each request moves its end to now + this (never past the absolute cap), so a desk console in use stays signed in. Per role: `auth.sessionsByRole.<role>.idleMinutes`.',
    }),
    sessionsByRole: Type.Object(
      Object.fromEntries(
        ROLES.map((r) => [
          r,
          Type.Optional(
            Type.Object(
              {
                idleMinutes: Type.Optional(
                  Type.Integer({
                    minimum: 1,
                    maximum: 43_200,
                    description: `Sliding expiry of sessions of the ${r} role (default auth.sessionIdleMinutes).`,
                  }),
                ),
                maxMinutes: Type.Optional(
                  Type.Integer({
                    minimum: 1,
                    maximum: 43_200,
                    description: `Absolute cap of sessions of the ${r} role (default auth.sessionTtlMinutes).`,
                  }),
                ),
              },
              { additionalProperties: false },
            ),
          ),
        ]),
      ) as Record<
        Role,
        TOptional<TObject<{ idleMinutes: TOptional<TInteger>; maxMinutes: TOptional<TInteger> }>>
      >,
      {
        additionalProperties: false,
        default: {},
        description:
          'Session expiry per role (`admin`, `operator`, `sender`, `viewer`), e.g. a 24/7 desk: `operator: { idleMinutes: 240, maxMinutes: 720 }`.',
      },
    ),
    oidc: OidcSchema,
    senderGroups: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      default: [],
      description:
        'Groups a `sender` may broadcast to (from a template). Empty: any group (never `all`, devices or labels).',
    }),
    streamRecheckMs: Type.Integer({
      minimum: 100,
      maximum: 300_000,
      default: 5000,
      description:
        'How often a long-lived stream (`/api/events/stream`) re-checks its key or session; the stream ends once it is revoked (in this process it ends at once), expired, or its user disabled.',
    }),
    signIn: Type.Object(
      {
        windowMinutes: Type.Integer({
          minimum: 1,
          maximum: 1440,
          default: 15,
          description: 'Window over which failed sign-ins (`POST /api/session`) are counted.',
        }),
        maxFailuresPerAddressAndUser: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 5,
          description:
            'Sign-in attempts per (client address, username) per window; counted before the password is checked, so parallel guesses count too. Another address cannot lock a user out.',
        }),
        maxFailuresPerAddress: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          default: 20,
          description: 'Sign-in attempts per client address per window, across usernames.',
        }),
        slowDownAfterFailures: Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          default: 50,
          description:
            'Failed sign-ins (from any address) per window after which every sign-in first waits `slowDownMs` (a global slow-down, never a lock-out).',
        }),
        slowDownMs: Type.Integer({
          minimum: 0,
          maximum: 60_000,
          default: 1000,
          description: 'Delay before each sign-in check while the global slow-down is on.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

export const EventsSchema = Type.Object(
  {
    retentionDays: Type.Integer({
      minimum: 1,
      maximum: 3650,
      default: 30,
      description:
        'Events older than this are deleted from the event log (incidents, deliveries and the audit trail keep their own records).',
    }),
    maxEvents: Type.Integer({
      minimum: 1000,
      maximum: 100_000_000,
      default: 1_000_000,
      description: 'Size cap of the event log: only the newest this many events are kept.',
    }),
    pruneIntervalMinutes: Type.Integer({
      minimum: 1,
      maximum: 1440,
      default: 10,
      description: 'How often the event log is pruned (also once at start).',
    }),
    bufferMax: Type.Integer({
      minimum: 1000,
      maximum: 10_000_000,
      default: 100_000,
      description:
        'Most events held in memory while the store does not take them (PostgreSQL unreachable); alerts go on meanwhile. Past it the oldest unwritten events are dropped, with an error in the log.',
    }),
    feedPollMs: Type.Integer({
      minimum: 100,
      maximum: 60_000,
      default: 2000,
      description:
        'Several hubs on PostgreSQL: how often a hub with SSE clients reads the event table for other hubs’ events in case a wake-up (NOTIFY) was lost.',
    }),
    minFreeDiskMb: Type.Integer({
      minimum: 0,
      maximum: 1_000_000,
      default: 100,
      description:
        'Below this much free space on the data directory’s disk /readyz answers 503 (disk full) and 911 notification is not ready (DISK_FULL: the console shows it).',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const SecretsSchema = Type.Object(
  {
    keyFile: Type.String({
      default: '',
      description:
        'File holding the key that encrypts device passwords at rest (base64 of 32 bytes; created with mode 0600 on first start). Empty = secrets.key in dataDir. Back it up with the database: without it the stored passwords cannot be read.',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const BackupsSchema = Type.Object(
  {
    keepBeforeMigration: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: DEFAULT_KEEP_BACKUPS,
      description:
        'Before migrations change the schema of an existing database (an upgrade), a verified copy is written to `<dataDir>/backups/pre-migration-<time>.db`; this many of the newest are kept. If the copy fails (disk full) the hub does not start and nothing is changed.',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const StoreSchema = Type.Object(
  {
    url: Type.String({
      default: '',
      maxLength: 2000,
      description:
        'Where the hub keeps its data. Empty (the default): the embedded SQLite file in `dataDir`, nothing else needed. `postgres://user@host:5432/db`: PostgreSQL, shared by several hubs serving one site (docs/high-availability.md). Put the password in `store.urlFile` (a file holding the whole URL) or `SWITCHBOARD_STORE_URL`, not in the YAML; it is never logged.',
    }),
    poolSize: Type.Integer({
      minimum: 1,
      maximum: 200,
      default: 10,
      description: 'PostgreSQL: connections in the statement pool (one more is kept for LISTEN wake-ups).',
    }),
    connectTimeoutMs: Type.Integer({
      minimum: 100,
      maximum: 120_000,
      default: 5000,
      description:
        'PostgreSQL: longest wait to open a connection; then the operation fails with STORE_UNAVAILABLE (HTTP 503) and is retried by the caller.',
    }),
    statementTimeoutMs: Type.Integer({
      minimum: 100,
      maximum: 600_000,
      default: 15_000,
      description:
        'PostgreSQL: longest a statement may run before the server cancels it (`statement_timeout`).',
    }),
    writeBehindMs: Type.Integer({
      minimum: 0,
      maximum: 1000,
      default: 20,
      description:
        'Events, audit entries, broadcast delivery records and Avaya push content are written behind the work, in batches: one transaction per this many milliseconds (0 = one per event-loop turn). Alerts and API answers never wait for it; a hub killed outright loses at most the records of this window (a broadcast it was delivering is resumed from its stored targets).',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const ClusterSchema = Type.Object(
  {
    instanceName: Type.String({
      maxLength: 100,
      pattern: '^[A-Za-z0-9._:-]*$',
      default: '',
      description:
        "This hub's name among the hubs of one site (shown with the leases it holds); empty: host name, process id and a random suffix (new at every start).",
    }),
    leaseTtlMs: Type.Integer({
      minimum: 500,
      maximum: 600_000,
      default: 3000,
      description:
        'How long a lease of singleton work (the IP Office link, a broadcast, the scheduler) lasts without renewal: a dead holder is replaced within about leaseTtlMs + leaseRenewMs.',
    }),
    leaseRenewMs: Type.Integer({
      minimum: 50,
      maximum: 300_000,
      default: 1000,
      description:
        'How often held leases are renewed and free ones tried; less than half of leaseTtlMs. A holder that cannot renew in time stops the work itself.',
    }),
    configPollMs: Type.Integer({
      minimum: 50,
      maximum: 60_000,
      default: 500,
      description:
        'How often a hub compares the configuration versions in the store (devices, groups, templates, rules, 911 locations, schedules, API keys, users) and reloads what another hub or the CLI changed. A PostgreSQL notification usually applies a change sooner; this bounds the delay when one is lost.',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const AuditSchema = Type.Object(
  {
    retentionDays: Type.Integer({
      minimum: 1,
      maximum: 36_500,
      default: 365,
      description:
        'Audit trail entries (changes, sends, sign-ins) older than this are deleted; the event log retention does not apply to them.',
    }),
    pruneIntervalMinutes: Type.Integer({
      minimum: 1,
      maximum: 1440,
      default: 60,
      description: 'How often the audit trail is pruned (also once at start).',
    }),
    exportMaxRows: Type.Integer({
      minimum: 1,
      maximum: 10_000_000,
      default: 100_000,
      description:
        'Most rows one `GET /api/audit.csv` export answers (newest first; narrow it with since/until).',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const ConfigSchema = Type.Object(
  {
    dataDir: Type.String({
      default: './data',
      description: 'Directory of the SQLite database and settings files.',
    }),
    http: HttpSchema,
    log: LogSchema,
    shutdown: ShutdownSchema,
    auth: AuthSchema,
    events: EventsSchema,
    backups: BackupsSchema,
    store: StoreSchema,
    cluster: ClusterSchema,
    audit: AuditSchema,
    secrets: SecretsSchema,
    avaya: AvayaConfigSchema,
    provisioning: ProvisioningSchema,
    broadcast: BroadcastConfigSchema,
    emergency: EmergencyConfigSchema,
    rules: RulesConfigSchema,
    cisco: CiscoConfigSchema,
    dial: DialConfigSchema,
    pubsub: PubSubConfigSchema,
    cap: CapConfigSchema,
    channels: ChannelsConfigSchema,
  },
  { additionalProperties: false, default: {} },
);

export type Config = Static<typeof ConfigSchema>;
