import { fileURLToPath } from 'node:url';
import { type Static, Type } from 'typebox';
import type { Device } from '../../core/devices.js';
import type { ActionResult, Driver, DriverContext } from '../../core/driver.js';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import { loadSpecFile } from '../../core/spec.js';
import { PACKAGE_ROOT } from '../../version.js';
import type { ClientOptions } from './client.js';
import type { Devlink3TlsOptions } from './connection.js';
import { Devlink3ElsewhereError } from './errors.js';
import { LinkGate } from './link-gate.js';
import { LinkLease } from './link-lease.js';
import { Devlink3Monitor } from './monitor.js';
import { KNOWN_FLAGS } from './packets.js';
import { DEFAULT_EMERGENCY_NUMBERS, DEFAULT_TEST_NUMBERS } from './tracker.js';
import { decodeFileText } from './users.js';

export const IPOFFICE_SPEC_URL = new URL('specs/ipoffice.yaml', PACKAGE_ROOT);

const Digits = Type.String({ pattern: '^[0-9*#+ -]{1,32}$' });

export const IpofficeSettingsSchema = Type.Object(
  {
    port: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 65535, description: 'Default 50797 (TCP) or 50796 (TLS).' }),
    ),
    user: Type.String({ minLength: 1, maxLength: 64, description: 'DevLink3 service user.' }),
    password: Type.String({ maxLength: 128 }),
    tls: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean({ default: false })),
          ca: Type.Optional(
            Type.String({ maxLength: 65536, description: 'PEM CA bundle that signed the PBX certificate.' }),
          ),
          cert: Type.Optional(
            Type.String({ maxLength: 65536, description: 'PEM client certificate (mutual TLS).' }),
          ),
          key: Type.Optional(Type.String({ maxLength: 65536, description: 'PEM client key (mutual TLS).' })),
          passphrase: Type.Optional(Type.String({ maxLength: 256 })),
          allowSelfSigned: Type.Optional(
            Type.Boolean({
              default: false,
              description: 'Accept an unverifiable (self-signed) PBX certificate.',
            }),
          ),
          servername: Type.Optional(Type.String({ maxLength: 255 })),
        },
        { additionalProperties: false },
      ),
    ),
    flags: Type.Optional(
      Type.Array(Type.Union(KNOWN_FLAGS.map((f) => Type.Literal(f))), { maxItems: 6, default: ['-CMExtn'] }),
    ),
    applicationName: Type.Optional(Type.String({ maxLength: 100, default: 'Switchboard' })),
    emergencyNumbers: Type.Optional(Type.Array(Digits, { maxItems: 32 })),
    testNumbers: Type.Optional(Type.Array(Digits, { maxItems: 32 })),
    keepaliveMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000, default: 5_000 })),
    requestTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 })),
    reconnectInitialMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 600_000, default: 1000 })),
    reconnectMaxMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 3_600_000, default: 60_000 })),
    loadUsers: Type.Optional(Type.Boolean({ default: true })),
    resyncQuietMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 60_000, default: 1500 })),
    spaces: Type.Optional(
      Type.Object(
        {
          name: Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: 14,
              description:
                'Spaces Calling profile Name (seed 002: maximum 14 characters); default: the device name.',
            }),
          ),
          address: Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: 253,
              pattern: '^[A-Za-z0-9.-]+$',
              description:
                'Spaces Calling profile Address: the FQDN clients reach this IP Office at; default: the host of the device address.',
            }),
          ),
        },
        {
          additionalProperties: false,
          description: 'Spaces Calling profile of this system (docs/spaces-profile.md).',
        },
      ),
    ),
    smdr: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(
            Type.Boolean({
              default: false,
              description:
                "Listen for this IP Office's SMDR call records (System → SMDR: IP Address = the hub).",
            }),
          ),
          port: Type.Integer({
            minimum: 0,
            maximum: 65535,
            description:
              'TCP port the hub listens on for this IP Office (its SMDR "TCP Port"); 0 = any (tests).',
          }),
          listenHost: Type.Optional(
            Type.String({ maxLength: 255, default: '0.0.0.0', description: 'Interface to listen on.' }),
          ),
          allowFrom: Type.Optional(
            Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
              maxItems: 16,
              description:
                'Peer addresses allowed to send records (default: the device address host; "*" = any).',
            }),
          ),
          maxLineBytes: Type.Optional(
            Type.Integer({
              minimum: 256,
              maximum: 65_536,
              default: 4096,
              description: 'Longest record line.',
            }),
          ),
          maxConnections: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 64, default: 4, description: 'Simultaneous connections.' }),
          ),
          maxRecordsPerSecond: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 10_000,
              default: 200,
              description: 'Above this rate reading pauses (IP Office buffers), nothing is dropped.',
            }),
          ),
          idleTimeoutMs: Type.Optional(
            Type.Integer({
              minimum: 1000,
              maximum: 3_600_000,
              default: 120_000,
              description: 'Idle connection timeout.',
            }),
          ),
          timeZone: Type.Optional(
            Type.String({
              maxLength: 64,
              description: "IANA time zone of the IP Office clock (SMDR times are local); default the hub's.",
            }),
          ),
          matchWindowMs: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: 600_000,
              default: 10_000,
              description: 'How far apart SMDR Call Start and the DevLink3 call start may be to reconcile.',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type IpofficeSettings = Static<typeof IpofficeSettingsSchema>;

/** `host`, `host:port` or `[v6]:port` (a device address, `devlink tail --host`) → host and port. */
export function splitHostPort(address: string): { host: string; port?: number } {
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(address.trim());
  const host = (m?.[1] ?? address).replace(/^\[|\]$/g, '');
  return m?.[2] ? { host, port: Number(m[2]) } : { host };
}

/** `host` or `host:port` (the device address) + settings → client options. */
export function clientOptions(device: Pick<Device<IpofficeSettings>, 'address' | 'settings'>): ClientOptions {
  const s = device.settings;
  const { host, port: addressPort } = splitHostPort(device.address);
  const port = s.port ?? addressPort;
  let tls: Devlink3TlsOptions | undefined;
  if (s.tls?.enabled) {
    tls = {
      ...(s.tls.ca ? { ca: s.tls.ca } : {}),
      ...(s.tls.cert ? { cert: s.tls.cert } : {}),
      ...(s.tls.key ? { key: s.tls.key } : {}),
      ...(s.tls.passphrase ? { passphrase: s.tls.passphrase } : {}),
      ...(s.tls.servername ? { servername: s.tls.servername } : {}),
      allowSelfSigned: s.tls.allowSelfSigned ?? false,
    };
  }
  return {
    host,
    ...(port !== undefined ? { port } : {}),
    ...(tls ? { tls } : {}),
    user: s.user,
    password: s.password,
    flags: s.flags ?? ['-CMExtn'],
    applicationName: s.applicationName ?? 'Switchboard',
    keepaliveMs: s.keepaliveMs ?? 5_000,
    requestTimeoutMs: s.requestTimeoutMs ?? 10_000,
    reconnect: { initialMs: s.reconnectInitialMs ?? 1000, maxMs: s.reconnectMaxMs ?? 60_000 },
  };
}

const MAX_FILE_TEXT = 1024 * 1024;

export function ipofficeDriver(): Driver<IpofficeSettings> {
  const spec = loadSpecFile(fileURLToPath(IPOFFICE_SPEC_URL));
  return {
    kind: 'ipoffice',
    spec,
    configSchema: IpofficeSettingsSchema,
    secretKeys: ['password'],
    open(device, ctx: DriverContext) {
      const opts = clientOptions(device);
      const post = (type: string, data: Record<string, unknown>) => {
        try {
          ctx.bus.emit({ source: device.id, type, data });
        } catch (e) {
          // Only after the hub closed its bus (a late socket event during shutdown).
          ctx.logger.debug({ type, err: e }, 'ipoffice: event dropped');
        }
      };
      // Several hubs: only the holder of the link lease passes call events on (link-lease.ts); a standby
      // keeps the emergency calls it sees, to re-drive them if it takes over while they are in progress.
      const gate = new LinkGate(post);
      const monitor = new Devlink3Monitor({
        client: { ...opts, clock: ctx.clock },
        emit: (type, data) => {
          // Kari's Law: the alert needs the PBX site too (the dispatchable location comes from the device).
          if (type === 'call.emergency')
            data.pbx = { deviceId: device.id, name: device.name, location: device.location };
          gate.emit(type, data);
        },
        emergencyNumbers: device.settings.emergencyNumbers ?? DEFAULT_EMERGENCY_NUMBERS,
        testNumbers: device.settings.testNumbers ?? DEFAULT_TEST_NUMBERS,
        resyncQuietMs: device.settings.resyncQuietMs ?? 1500,
        loadUsers: device.settings.loadUsers ?? true,
        clock: ctx.clock,
        logger: ctx.logger,
      });
      let link: LinkLease | undefined;
      if (ctx.cluster) {
        link = new LinkLease({
          cluster: ctx.cluster,
          deviceId: device.id,
          logger: ctx.logger,
          onRole: (role) => {
            gate.setRole(
              role,
              monitor.tracker.list().map((c) => c.callKey),
            );
            if (role === 'none') void monitor.stop().then(() => gate.elsewhere());
            else monitor.start();
          },
        });
        link.start();
      } else {
        gate.setRole('active', []);
        monitor.start();
      }
      const onAbort = () => {
        void link?.stop();
        void monitor.stop();
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });

      const run = async (id: string, params: Record<string, unknown>): Promise<ActionResult> => {
        switch (id) {
          case 'list_calls':
            // Without a link (another hub holds it) the tracker is stale or empty: say so, not "no calls".
            if (gate.role === 'none') throw new Devlink3ElsewhereError(device.id);
            return { ok: true, outcome: 'calls', data: { calls: monitor.tracker.list() } };
          case 'list_users': {
            const users =
              params.refresh || monitor.userList.length === 0 ? await monitor.loadUsers() : monitor.userList;
            return { ok: true, outcome: 'users', data: { users } };
          }
          case 'link_status':
            return {
              ok: true,
              outcome: monitor.link.state,
              data: { ...monitor.link, role: gate.role, stats: { ...monitor.stats } },
            };
          case 'read_file': {
            const name = String(params.filename);
            if (name.includes('..'))
              throw new ValidationError('DEVLINK3_BAD_FILENAME', 'filename: must not contain ".."', {
                field: 'params.filename',
              });
            const buf = await monitor.client.readFile(name);
            const text = decodeFileText(buf.subarray(0, MAX_FILE_TEXT));
            return {
              ok: true,
              outcome: 'read',
              data: { filename: name, size: buf.length, truncated: buf.length > MAX_FILE_TEXT, text },
            };
          }
          case 'reconnect':
            await monitor.client.reconfigure({ ...opts, clock: ctx.clock });
            return { ok: true, outcome: 'reconnecting' };
          default:
            throw new NotFoundError('ACTION_NOT_FOUND', `ipoffice has no action ${JSON.stringify(id)}`, {
              field: 'actionId',
            });
        }
      };
      return {
        execute: run,
        query: run,
        variables: () => ({
          link_state: monitor.link.state,
          link_role: gate.role,
          active_calls: monitor.tracker.size,
          pbx_type: monitor.link.pbxType ?? null,
          accepted_flags: monitor.link.acceptedFlags ?? [],
          refused_flags: monitor.link.refusedFlags ?? [],
          users_loaded: monitor.userList.length,
          records_received: monitor.stats.records,
          invalid_records: monitor.stats.invalid,
          counter_gaps: monitor.stats.gaps,
        }),
        async close() {
          ctx.signal.removeEventListener('abort', onAbort);
          await link?.stop();
          await monitor.stop();
        },
      };
    },
  };
}
