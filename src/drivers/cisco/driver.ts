import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { type Static, Type } from 'typebox';
import type { Device } from '../../core/devices.js';
import type {
  ActionResult,
  DeviceSession,
  Driver,
  DriverContext,
  ExecuteOptions,
} from '../../core/driver.js';
import { DeviceError, errorMessage, ValidationError } from '../../core/errors.js';
import { KeyedSerialQueue } from '../../core/serial.js';
import { findAction } from '../../core/spec.js';
import { DigestCredentials } from '../../net/digest.js';
import { type HttpRequest, httpRequest } from '../../net/http-client.js';
import { type CiscoAlertOptions, ciscoAlertPlanner } from './alert.js';
import { encodePushBody } from './encoding.js';
import {
  parseInfoHtml,
  parseInfoXml,
  toDeviceInformation,
  toNetworkConfiguration,
  toStreamingStatistics,
  toTypedFields,
} from './info.js';
import {
  MODEL_IDS,
  type ModelProfile,
  modelProfile,
  type ObjectType,
  objectUnsupportedReason,
  uriUnsupportedReason,
} from './models.js';
import { buildObject, type CiscoObject, objectFromXml } from './objects.js';
import { planAction, UnsupportedByModelError } from './plan.js';
import {
  ERROR_HINTS,
  type ExecuteAnswer,
  parseExecuteAnswer,
  prtStatusFrom,
  type ResponseItem,
} from './response.js';
import { ciscoSpec } from './spec.js';
import { readXml } from './xml-read.js';

/** Per-device settings of a Cisco phone. */
export const CiscoSettingsSchema = Type.Object(
  {
    model: Type.Optional(
      Type.String({
        enum: MODEL_IDS,
        default: '8845',
        description: 'Model profile (decides charset, supported objects/URIs, soft keys).',
      }),
    ),
    username: Type.Optional(
      Type.String({
        default: '',
        maxLength: 128,
        description: 'Push user (a directory user associated with the phone).',
      }),
    ),
    password: Type.Optional(
      Type.String({ default: '', maxLength: 128, description: 'Push password (never shown).' }),
    ),
    deviceName: Type.Optional(
      Type.String({
        pattern: '^SEP[0-9A-Fa-f]{12}$',
        description: 'SEP+MAC, used by the authentication URL and services.',
      }),
    ),
    extension: Type.Optional(
      Type.String({
        maxLength: 32,
        pattern: '^[0-9#*+]*$',
        description: 'Directory number (services directory).',
      }),
    ),
    timeoutMs: Type.Optional(
      Type.Integer({
        minimum: 100,
        maximum: 120_000,
        default: 8000,
        description: 'Whole-request timeout per push/query.',
      }),
    ),
    screenshotTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 120_000, default: 15_000 })),
    keepAlive: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'Reuse one HTTP connection to this phone (keep-alive) instead of one per push. Off by default: the ' +
          "Cisco references describe one POST per connection and say nothing of the phones' keep-alive, so " +
          'turn it on per phone (or model) once tested; it saves a TCP (and TLS) handshake per push.',
      }),
    ),
    keepAliveIdleMs: Type.Optional(
      Type.Integer({
        minimum: 100,
        maximum: 60_000,
        default: 500,
        description:
          'With keepAlive: an idle connection is closed after this long (keep it below the time the phone ' +
          'keeps an idle connection open, so that a push never goes out on a connection the phone is closing).',
      }),
    ),
    maxResponseBytes: Type.Optional(
      Type.Integer({
        minimum: 1024,
        maximum: 16 * 1024 * 1024,
        default: 4 * 1024 * 1024,
        description: 'Cap on what a phone may answer (screenshots are the largest).',
      }),
    ),
    authScheme: Type.Optional(
      Type.String({
        enum: ['auto', 'basic', 'digest'],
        default: 'auto',
        description:
          'Push credentials as HTTP Basic (CUCM phones) or Digest (Multiplatform phones with XML EXE Auth Mode ' +
          'Local/Remote Credential); auto: Digest for Multiplatform models, else Basic.',
      }),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(
            Type.Boolean({
              default: false,
              description:
                'Push and read over HTTPS (phones whose Web Access is HTTPS only); address port default 443.',
            }),
          ),
          ca: Type.Optional(
            Type.String({
              maxLength: 65536,
              description: "PEM CA bundle that signed the phone's certificate (or the certificate itself).",
            }),
          ),
          allowSelfSigned: Type.Optional(
            Type.Boolean({
              default: false,
              description:
                'Accept a certificate that cannot be verified (encrypted, but the phone is not authenticated).',
            }),
          ),
          servername: Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: 255,
              description:
                "The name the phone's certificate carries when it is not the address host (e.g. SEP…).",
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type CiscoSettings = Required<
  Pick<
    Static<typeof CiscoSettingsSchema>,
    'model' | 'username' | 'password' | 'timeoutMs' | 'screenshotTimeoutMs' | 'maxResponseBytes'
  >
> &
  Pick<
    Static<typeof CiscoSettingsSchema>,
    'deviceName' | 'extension' | 'tls' | 'authScheme' | 'keepAlive' | 'keepAliveIdleMs'
  >;

const DEFAULTS = {
  model: '8845',
  username: '',
  password: '',
  timeoutMs: 8000,
  screenshotTimeoutMs: 15_000,
  maxResponseBytes: 4 * 1024 * 1024,
};

export function resolveSettings(s: Partial<CiscoSettings> | undefined): CiscoSettings {
  return { ...DEFAULTS, ...(s ?? {}) } as CiscoSettings;
}

/** The PRT URIs answer Status 6 as a normal outcome (seed generate_prt_response / prt_status_response). */
function itemOk(i: ResponseItem): boolean {
  return (
    i.status === 0 || (i.status === 6 && (i.url === 'Device:GeneratePRT' || i.url === 'Device:PRTStatus'))
  );
}

/** Maps a phone's answer to an ActionResult (pure). */
export function resultFromAnswer(answer: ExecuteAnswer): ActionResult {
  switch (answer.kind) {
    case 'response': {
      const ok = answer.items.every(itemOk);
      const bad = answer.items.find((i) => !itemOk(i));
      const data: Record<string, unknown> = { items: answer.items };
      let outcome = ok ? 'success' : `status_${bad!.status}`;
      const prt = answer.items.find((i) => i.url === 'Device:PRTStatus');
      if (prt) {
        const st = prtStatusFrom(prt);
        data.prt = st;
        outcome = st.state;
      }
      const gen = answer.items.find((i) => i.url === 'Device:GeneratePRT');
      if (gen && gen.status === 6) outcome = 'pending_prt';
      return {
        ok,
        outcome,
        message: ok
          ? `phone executed ${answer.items.length} item(s)`
          : `phone answered Status=${bad!.status} "${bad!.data}" for ${bad!.url || 'the object'}`,
        data,
        retryable: false,
      };
    }
    case 'error':
      return {
        ok: false,
        outcome: `CISCO_ERROR_${answer.number}`,
        message: `CiscoIPPhoneError Number=${answer.number} (${answer.meaning}): ${ERROR_HINTS[answer.number] ?? 'undocumented error number'}`,
        data: { error: answer.number, meaning: answer.meaning },
        retryable: false,
      };
    case 'mediaStream':
      return {
        ok: true,
        outcome: 'media_started',
        message: `media stream ${answer.id}`,
        data: { streamId: answer.id },
      };
    case 'deviceCaps':
      return { ok: true, outcome: 'success', data: answer.caps };
    case 'mediaError':
      return {
        ok: false,
        outcome: `CISCO_MEDIA_${answer.error}`,
        message: `the phone refused the media request: ${answer.error}`,
        data: { error: answer.error },
        retryable: answer.error === 'UnavailableResource',
      };
  }
}

/** PNG width/height from the IHDR chunk (undefined for other formats). */
export function pngSize(b: Buffer): { width: number; height: number } | undefined {
  if (b.length < 24 || b.readUInt32BE(0) !== 0x89504e47 || b.toString('latin1', 12, 16) !== 'IHDR')
    return undefined;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** Checks a PNG icon for CiscoIPPhoneIconFileMenu (seed: max 18x18 px). */
export function checkIconPng(b: Buffer, max = { width: 18, height: 18 }): void {
  const s = pngSize(b);
  if (!s)
    throw new ValidationError(
      'CISCO_ICON_NOT_PNG',
      'icon: not a PNG image (IconFileMenu icons must be served as image/png)',
      { field: 'icon' },
    );
  if (s.width > max.width || s.height > max.height) {
    throw new ValidationError(
      'CISCO_ICON_TOO_LARGE',
      `icon: ${s.width}x${s.height} px; at most ${max.width}x${max.height} px`,
      { field: 'icon' },
    );
  }
}

interface Stats {
  pushes: number;
  failures: number;
  lastOutcome: string | null;
  lastAt: string | null;
  lastMs: number | null;
  lastError: string | null;
}

export class CiscoSession implements DeviceSession {
  readonly settings: CiscoSettings;
  readonly profile: ModelProfile;
  private stats: Stats = {
    pushes: 0,
    failures: 0,
    lastOutcome: null,
    lastAt: null,
    lastMs: null,
    lastError: null,
  };
  private lastHeaders: Record<string, string | undefined> = {};

  constructor(
    private readonly device: Device<Partial<CiscoSettings>>,
    private readonly ctx: DriverContext,
    private readonly queue: KeyedSerialQueue,
  ) {
    this.settings = resolveSettings(device.settings);
    this.tls = this.tlsOptionsOf();
    const p = modelProfile(this.settings.model);
    if (!p)
      throw new ValidationError(
        'CISCO_MODEL_UNKNOWN',
        `settings.model: ${JSON.stringify(this.settings.model)} is not a known model`,
        { field: 'settings.model' },
      );
    this.profile = p;
    const ca = this.settings.tls?.enabled ? this.settings.tls.ca : undefined;
    if (ca) {
      try {
        const blocks = ca.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
        if (!blocks) throw new Error('no -----BEGIN CERTIFICATE----- block');
        for (const b of blocks) new X509Certificate(b);
      } catch (e) {
        throw new ValidationError(
          'CISCO_TLS_CA_INVALID',
          `settings.tls.ca: not a PEM certificate bundle (${errorMessage(e)})`,
          { field: 'settings.tls.ca' },
        );
      }
    }
    if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:]+\](:\d{1,5})?$/.test(device.address)) {
      throw new ValidationError(
        'CISCO_ADDRESS_INVALID',
        `address: ${JSON.stringify(device.address)} is not host[:port]`,
        { field: 'address' },
      );
    }
  }

  /** TLS options of every request (the settings of a session do not change). */
  private readonly tls: HttpRequest['tls'];
  /** settings.keepAlive: one connection to the phone, reused (requests are one at a time per phone anyway). */
  private agent: http.Agent | undefined;

  private keepAliveAgent(): http.Agent | undefined {
    if (this.settings.keepAlive !== true) return undefined;
    const o = { keepAlive: true, maxSockets: 1, timeout: this.settings.keepAliveIdleMs ?? 500 };
    this.agent ??= this.settings.tls?.enabled ? new https.Agent(o) : new http.Agent(o);
    return this.agent;
  }
  /** Digest state of this phone (its last challenge), when it is pushed to with Digest. */
  private digest: DigestCredentials | undefined;
  /** What `authScheme: auto` learnt a Multiplatform phone wants (it asked for Digest, or took Basic). */
  private learnt: 'basic' | 'digest' | undefined;

  /** The scheme to use now: the setting, else Basic for CUCM phones, else what the phone showed it wants. */
  private scheme(): 'basic' | 'digest' | 'probe' {
    const s = this.settings.authScheme;
    if (s === 'basic' || s === 'digest') return s;
    if (this.profile.firmware !== 'multiplatform') return 'basic';
    return this.learnt ?? 'probe';
  }

  private credentials(scheme = this.scheme()): Pick<HttpRequest, 'basicAuth' | 'digest'> {
    const { username, password } = this.settings;
    if (!username) return {};
    if (scheme === 'basic') return { basicAuth: { username, password } };
    // 'probe' sends no credentials until the phone challenges: a Digest phone never sees them in clear.
    this.digest ??= new DigestCredentials(username, password);
    return { digest: this.digest };
  }

  private get base(): string {
    return `${this.settings.tls?.enabled ? 'https' : 'http'}://${this.device.address}`;
  }

  /** TLS options for an HTTPS phone (verified against tls.ca, or the system CAs, unless allowSelfSigned). */
  private tlsOptionsOf(): HttpRequest['tls'] {
    const t = this.settings.tls;
    if (!t?.enabled) return undefined;
    return {
      rejectUnauthorized: t.allowSelfSigned !== true,
      ...(t.ca ? { ca: t.ca } : {}),
      ...(t.servername ? { servername: t.servername } : {}),
    };
  }

  private mediaNotifyUrl(): string | undefined {
    const pub = this.ctx.hub.publicUrl;
    return pub
      ? `${pub.replace(/\/$/, '')}/cisco/events/media?device=${encodeURIComponent(this.device.id)}`
      : undefined;
  }

  async execute(
    actionId: string,
    params: Record<string, unknown>,
    opts: ExecuteOptions = {},
  ): Promise<ActionResult> {
    const action = findAction(ciscoSpec(), actionId);
    if (!action)
      throw new ValidationError(
        'ACTION_NOT_FOUND',
        `cisco devices have no action ${JSON.stringify(actionId)}`,
        { field: 'actionId' },
      );
    const notify = this.mediaNotifyUrl();
    const plan = planAction(action, params, {
      profile: this.profile,
      ...(notify ? { mediaNotifyUrl: notify } : {}),
    });
    switch (plan.kind) {
      case 'render':
        return {
          ok: true,
          outcome: 'rendered',
          message: 'rendered locally; not sent to the phone',
          data: { text: plan.text },
        };
      case 'uri':
        return this.pushObject(
          { type: 'CiscoIPPhoneExecute', items: [{ url: plan.uri, priority: 0 }] },
          opts,
        );
      case 'object':
        return this.pushObject(plan.object, opts);
      case 'get':
        return this.get(plan.path, plan.format, opts);
    }
  }

  query(queryId: string, params: Record<string, unknown>, opts: ExecuteOptions = {}): Promise<ActionResult> {
    return this.execute(queryId, params, opts);
  }

  /**
   * Raw push for macro steps: a full XML object, a bare `<ExecuteItem …/>`, `URL="<uri>"`, or a URI/URL.
   * Model support is checked before sending.
   */
  async push(command: string, opts: ExecuteOptions = {}): Promise<ActionResult> {
    const c = command.trim();
    let obj: CiscoObject | undefined;
    if (c.startsWith('<ExecuteItem')) {
      obj = objectFromXml(
        readXml(`<CiscoIPPhoneExecute>${c}</CiscoIPPhoneExecute>`, {
          code: 'CISCO_PUSH_INVALID',
          what: 'push step',
        }),
      );
    } else if (c.startsWith('<')) {
      obj = objectFromXml(readXml(c, { code: 'CISCO_PUSH_INVALID', what: 'push step', maxBytes: 64 * 1024 }));
      if (!obj)
        throw new ValidationError('CISCO_PUSH_INVALID', 'push step: not a Cisco XML object', {
          field: 'push',
        });
    } else {
      const m = /^URL="([^"]*)"$/.exec(c);
      const uri = m ? m[1]! : c;
      if (!/^[A-Za-z]+:\S+$/.test(uri))
        throw new ValidationError(
          'CISCO_PUSH_INVALID',
          `push step: ${JSON.stringify(c.slice(0, 80))} is not a URI, URL="…" or XML object`,
          { field: 'push' },
        );
      obj = { type: 'CiscoIPPhoneExecute', items: [{ url: uri, priority: 0 }] };
    }
    const why = objectUnsupportedReason(this.profile, obj!.type as ObjectType);
    if (why) throw new UnsupportedByModelError('push', why, this.profile.id);
    if (obj!.type === 'CiscoIPPhoneExecute') {
      for (const it of obj!.items) {
        const w = uriUnsupportedReason(this.profile, it.url);
        if (w) throw new UnsupportedByModelError('push', w, this.profile.id);
      }
    }
    return this.pushObject(obj!, opts);
  }

  /** POST /CGI/Execute with form field XML, Basic auth, one request at a time per phone. */
  async pushObject(obj: CiscoObject, opts: ExecuteOptions = {}): Promise<ActionResult> {
    const xml = buildObject(obj, { charset: this.profile.charset, inputPost: this.profile.inputPost });
    const { body } = encodePushBody(xml, this.profile.charset);
    const res = await this.request({
      path: '/CGI/Execute',
      method: 'POST',
      body,
      auth: true,
      timeoutMs: opts.timeoutMs ?? this.settings.timeoutMs,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    let result: ActionResult;
    if (!this.profile.xmlResponses) {
      // Seed: Multiplatform phones do not answer CiscoIPPhoneResponse; the HTTP status is all there is.
      result =
        res.status >= 200 && res.status < 300
          ? {
              ok: true,
              outcome: 'accepted',
              message: 'accepted (Multiplatform phones send no CiscoIPPhoneResponse)',
              data: { items: [] },
            }
          : res.status === 401
            ? {
                ok: false,
                outcome: 'CISCO_AUTH_FAILED',
                message: `the phone refused the credentials (HTTP 401)`,
                retryable: false,
              }
            : {
                ok: false,
                outcome: 'CISCO_REJECTED',
                message: `the phone answered HTTP ${res.status}`,
                retryable: res.status >= 500,
              };
    } else if (res.status === 401) {
      result = {
        ok: false,
        outcome: 'CISCO_AUTH_REQUIRED',
        message: 'the phone asked for credentials (HTTP 401): set settings.username/password',
        retryable: false,
      };
    } else if (res.status !== 200 && res.status !== 400) {
      result = {
        ok: false,
        outcome: `HTTP_${res.status}`,
        message: `the phone answered HTTP ${res.status}`,
        retryable: res.status >= 500,
      };
    } else {
      result = resultFromAnswer(parseExecuteAnswer(res.body));
    }
    this.stats.pushes++;
    if (!result.ok) this.stats.failures++;
    this.stats.lastOutcome = result.outcome ?? null;
    return result;
  }

  private async get(
    path: string,
    format: 'xml' | 'html' | 'image',
    opts: ExecuteOptions,
  ): Promise<ActionResult> {
    const image = format === 'image';
    const res = await this.request({
      path,
      method: 'GET',
      auth: image,
      timeoutMs: opts.timeoutMs ?? (image ? this.settings.screenshotTimeoutMs : this.settings.timeoutMs),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (res.status === 401)
      return {
        ok: false,
        outcome: 'CISCO_AUTH_FAILED',
        message: `${path}: the phone refused the credentials (HTTP 401)`,
        retryable: false,
      };
    if (res.status === 404)
      return {
        ok: false,
        outcome: 'not_found',
        message: `${path}: the phone has no such page (HTTP 404)`,
        retryable: false,
      };
    if (res.status !== 200)
      return {
        ok: false,
        outcome: `HTTP_${res.status}`,
        message: `${path}: HTTP ${res.status}`,
        retryable: res.status >= 500,
      };
    const contentType = String(res.headers['content-type'] ?? '');
    if (image) {
      const size = pngSize(res.body);
      return {
        ok: true,
        outcome: 'success',
        data: { contentType, bytes: res.body.length, ...(size ?? {}), base64: res.body.toString('base64') },
      };
    }
    if (format === 'html')
      return { ok: true, outcome: 'success', data: parseInfoHtml(res.body.toString('utf8')) };
    const rec = parseInfoXml(res.body);
    const typed =
      rec.page === 'DeviceInformation'
        ? toDeviceInformation(rec)
        : rec.page === 'NetworkConfiguration'
          ? toNetworkConfiguration(rec)
          : rec.page === 'StreamingStatistics'
            ? toStreamingStatistics(rec)
            : { fields: toTypedFields(rec) };
    return { ok: true, outcome: 'success', data: { page: rec.page, ...typed } };
  }

  private request(r: {
    path: string;
    method: 'GET' | 'POST';
    body?: string;
    auth: boolean;
    timeoutMs: number;
    signal?: AbortSignal;
  }) {
    return this.queue.run(this.device.address, async () => {
      const t0 = performance.now();
      const agent = this.keepAliveAgent();
      try {
        const send = (creds: Pick<HttpRequest, 'basicAuth' | 'digest'>) =>
          httpRequest({
            url: `${this.base}${r.path}`,
            method: r.method,
            ...(r.body !== undefined
              ? { body: r.body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }
              : {}),
            ...creds,
            timeoutMs: r.timeoutMs,
            maxResponseBytes: this.settings.maxResponseBytes,
            ...(r.signal ? { signal: r.signal } : {}),
            ...(this.tls ? { tls: this.tls } : {}),
            ...(agent ? { agent } : {}),
          });
        const scheme = r.auth && this.settings.username ? this.scheme() : undefined;
        let res = await send(scheme ? this.credentials(scheme) : {});
        if (scheme === 'probe') {
          if (res.status !== 401) this.learnt = 'digest';
          else if (!/digest/i.test(String(res.headers['www-authenticate'] ?? ''))) {
            // A Multiplatform phone that did not ask for Digest: it takes Basic (or nothing).
            res = await send(this.credentials('basic'));
            if (res.status !== 401) this.learnt = 'basic';
          }
        }
        this.stats.lastMs = Math.round(performance.now() - t0);
        this.stats.lastAt = new Date(this.ctx.clock.now()).toISOString();
        this.stats.lastError = null;
        const h = (k: string) => {
          const v = res.headers[k];
          return Array.isArray(v) ? v.join('; ') : v;
        };
        this.lastHeaders = {
          refresh: h('refresh'),
          'content-type': h('content-type'),
          expires: h('expires'),
          'set-cookie': h('set-cookie'),
        };
        return res;
      } catch (e) {
        this.stats.failures++;
        this.stats.lastError = e instanceof Error ? e.message : String(e);
        if (e instanceof DeviceError || (e as { code?: string }).code) throw e;
        throw new DeviceError('CISCO_REQUEST_FAILED', `${this.device.id}: ${String(e)}`, { cause: e });
      }
    });
  }

  /** The spec's variables (HTTP-level values of the last exchange) plus push statistics. */
  variables(): Record<string, unknown> {
    return {
      refresh_url: this.lastHeaders.refresh ?? null,
      content_type: this.lastHeaders['content-type'] ?? null,
      expires: this.lastHeaders.expires ?? null,
      cookie_session: this.lastHeaders['set-cookie'] ?? null,
      device_name_substitution: this.settings.deviceName ?? null,
      model: this.profile.id,
      modelNumber: this.profile.modelNumber,
      charset: this.profile.charset,
      ...this.stats,
    };
  }

  async close(): Promise<void> {
    this.agent?.destroy();
    this.agent = undefined;
  }
}

/**
 * The Cisco driver (kind `cisco`). One serial queue per driver instance: one request at a time per phone.
 * `alert` configures its alert planner (the ring files of `broadcast.ciscoTones`).
 */
export function createCiscoDriver(alert: Partial<CiscoAlertOptions> = {}): Driver<Partial<CiscoSettings>> {
  const queue = new KeyedSerialQueue();
  return {
    kind: 'cisco',
    spec: ciscoSpec(),
    configSchema: CiscoSettingsSchema,
    secretKeys: ['password'],
    alertPlanner: ciscoAlertPlanner(alert),
    open: (device, ctx) => new CiscoSession(device, ctx, queue),
  };
}
