import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { charsetOf } from '../../core/charset.js';
import { type Clock, systemClock } from '../../core/clock.js';
import { isSwitchboardError } from '../../core/errors.js';
import { escapeXml } from '../../core/xml.js';
import { encodePushBody, parseFormBytes, transliterateLatin1 } from '../../drivers/cisco/encoding.js';
import { buildInfoHtml, buildInfoXml, type InfoFields, type InfoPage } from '../../drivers/cisco/info.js';
import {
  displayHeader,
  type ModelProfile,
  modelProfile,
  type ObjectType,
  objectUnsupportedReason,
  uriUnsupportedReason,
} from '../../drivers/cisco/models.js';
import {
  buildErrorObject,
  type CiscoObject,
  objectFromXml,
  telephoneDialString,
  validateObject,
} from '../../drivers/cisco/objects.js';
import {
  buildApplicationEvent,
  buildDeviceCapsResponse,
  buildMediaError,
  buildMediaEvent,
  buildMediaStreamResponse,
  buildResponse,
  type MediaErrorName,
  type ResponseItem,
} from '../../drivers/cisco/response.js';
import { isIpv4, isMulticast, parseUri, RTP_PORT_MAX, RTP_PORT_MIN } from '../../drivers/cisco/uri.js';
import { decodeXmlBytes, readXml } from '../../drivers/cisco/xml-read.js';
import { verifyDigest } from '../../net/digest.js';
import { httpRequest } from '../../net/http-client.js';
import { RtpReceiver, type RtpReceiveStats, RtpSender } from './rtp.js';
import { renderScreen, type ScreenView, screenText } from './screen.js';

/**
 * One simulated Cisco IP phone: a real HTTP server on 127.0.0.x with the seed's admin endpoints
 * (/CGI/Execute, /CGI/Screenshot, /DeviceInformationX …), per-model behaviour from the model profiles,
 * a screen state, URI execution, RTP receive/transmit on real UDP sockets, and `/sim/state` (JSON) for
 * tests and the console. Choices the seed leaves open are marked "inferred".
 */
export interface SimPhoneOptions {
  model?: string;
  host?: string;
  port?: number;
  mac?: string;
  dn?: string;
  /** Authentication URL (real phones ask it to check push credentials). Without it: local credentials. */
  authUrl?: string;
  username?: string;
  password?: string;
  /** Services URL (Key:Services); `#DEVICENAME#` is substituted. */
  servicesUrl?: string;
  /** Where notifyApplicationEvent posts go (inferred delivery: one URL per phone). */
  appEventUrl?: string;
  clock?: Clock;
  /** How long Device:GeneratePRT takes (8821). */
  prtDelayMs?: number;
  fetchTimeoutMs?: number;
  /** Applications known to the phone (App:* URIs with other ids answer "Unknown Application ID"). */
  applications?: string[];
  /** Serve HTTPS with this key and certificate (PEM), as a phone with Web Access set to HTTPS only. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /**
   * Check push credentials with HTTP Digest against the local user and password, as a Multiplatform phone
   * with "CISCO XML EXE Auth Mode" set to Local Credential does (no authentication URL then).
   */
  digest?: boolean;
  /**
   * Keep the connection open after an answer when the client asks for it (HTTP/1.1 keep-alive, idle for at
   * most 5 s). Off by default: the simulated phone answers `Connection: close`, as the references describe.
   */
  keepAlive?: boolean;
  /** A slow phone: every push (`/CGI/Execute`) is answered this many ms late, after it was counted. */
  executeDelayMs?: number;
}

interface Screen {
  kind: string;
  object?: CiscoObject;
  title: string;
  prompt: string;
  lines: string[];
  items: Array<{ name: string; url?: string }>;
  entries?: Array<{ name: string; telephone: string }>;
  softkeys: Array<{ name: string; url: string; position: number }>;
  selected: number;
  input?: {
    url: string;
    method: 'get' | 'post';
    fields: Array<{ name: string; param: string; value: string; flags: string }>;
    focus: number;
  };
  url?: string;
}

interface Call {
  state: 'idle' | 'offhook' | 'dialing' | 'connected';
  number: string;
  digits: string;
  hold: boolean;
  startedAt: number | null;
}

interface MediaStream {
  id: string;
  spec: Extract<CiscoObject, { type: 'startMedia' }>['stream'];
  rx?: RtpReceiver;
  tx?: RtpSender;
}

const DEFAULT_SOFTKEYS: Record<string, string[]> = {
  CiscoIPPhoneMenu: ['Select', 'Exit'],
  CiscoIPPhoneText: ['Update', 'Exit'],
  CiscoIPPhoneInput: ['Submit', '<<', 'Cancel'],
  CiscoIPPhoneDirectory: ['Dial', 'EditDial', 'Exit'],
  CiscoIPPhoneIconMenu: ['Select', 'Exit'],
  CiscoIPPhoneIconFileMenu: ['Select', 'Exit'],
  CiscoIPPhoneGraphicMenu: ['Select', 'Exit'],
  CiscoIPPhoneGraphicFileMenu: ['Select', 'Exit'],
};

const idle = (): Screen => ({
  kind: 'Idle',
  title: '',
  prompt: '',
  lines: [],
  items: [],
  softkeys: [],
  selected: 0,
});

export class SimPhone {
  readonly profile: ModelProfile;
  readonly mac: string;
  readonly dn: string;
  readonly host: string;
  private server: http.Server | undefined;
  private _port = 0;
  private readonly clock: Clock;
  private screen: Screen = idle();
  private stack: Screen[] = [];
  private status: { text: string; timer: number; shownAt: number; object: CiscoObject } | undefined;
  private display: { on: boolean; until: number | null; mode: 'default' | 'on' | 'off' } = {
    on: true,
    until: null,
    mode: 'default',
  };
  private call: Call = { state: 'idle', number: '', digits: '', hold: false, startedAt: null };
  private history = { placed: [] as string[], received: [] as string[], missed: [] as string[] };
  private played: Array<{ file: string; at: number }> = [];
  private uriLog: Array<{ uri: string; status: number; at: number }> = [];
  private keyLog: string[] = [];
  private locked = true;
  private muted = false;
  private volume = 50;
  private line = 1;
  private prt: { state: 'none' | 'generating' | 'generated'; readyAt: number; file: string } = {
    state: 'none',
    readyAt: 0,
    file: '',
  };
  private apps = new Map<string, { state: 'focused' | 'background' | 'minimized' | 'closed' }>();
  private settings: { path: string[]; entry: string; values: Record<string, string> } = {
    path: [],
    entry: '',
    values: {},
  };
  private rtpRx: RtpReceiver | undefined;
  private rtpTx: { sender: RtpSender; address: string; port: number; multicast: boolean } | undefined;
  private media = new Map<string, MediaStream>();
  private queued: string[] = [];
  private lastQueryString = '';
  private counters = {
    execute: 0,
    executeOk: 0,
    authFailures: 0,
    screenshots: 0,
    infoRequests: 0,
    fetches: 0,
    /** TCP connections the phone accepted (a client that keeps its connection alive opens fewer). */
    connections: 0,
  };
  private bytesReceived = 0;
  private readonly credentials: { username: string; password: string };

  constructor(readonly opts: SimPhoneOptions = {}) {
    const p = modelProfile(opts.model ?? '8845');
    if (!p) throw new Error(`unknown Cisco model ${opts.model}`);
    this.profile = p;
    this.mac = (opts.mac ?? randomBytes(6).toString('hex')).toUpperCase();
    this.dn = opts.dn ?? '1000';
    this.host = opts.host ?? '127.0.0.1';
    this.clock = opts.clock ?? systemClock;
    this.credentials = { username: opts.username ?? 'admin', password: opts.password ?? 'cisco' };
    for (const a of opts.applications ?? []) this.apps.set(a, { state: 'closed' });
  }

  get deviceName(): string {
    return `SEP${this.mac}`;
  }
  get port(): number {
    return this._port;
  }
  get address(): string {
    return `${this.host}:${this._port}`;
  }
  get url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://${this.address}`;
  }

  async start(): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'Content-Length': 0, Connection: 'close' });
        res.end();
      });
    };
    const server = this.opts.tls
      ? https.createServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, handler)
      : http.createServer(handler);
    // With keepAlive the phone keeps an idle connection 5 s (it says so: `Keep-Alive: timeout=5`; a client
    // does not reuse a connection the server announces it will drop within a second).
    server.keepAliveTimeout = this.opts.keepAlive ? 5000 : 1000;
    server.on(this.opts.tls ? 'secureConnection' : 'connection', () => {
      this.counters.connections++;
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this._port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await this.rtpRx?.close();
    this.rtpRx = undefined;
    await this.rtpTx?.sender.close();
    this.rtpTx = undefined;
    for (const m of this.media.values()) await this.closeMedia(m);
    this.media.clear();
    const s = this.server;
    this.server = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }

  // ------------------------------------------------------------------------------------------- HTTP

  private send(
    res: http.ServerResponse,
    status: number,
    body: string | Buffer,
    type = 'text/xml',
    extra: Record<string, string> = {},
  ): void {
    const buf =
      typeof body === 'string'
        ? this.profile.charset === 'iso-8859-1'
          ? Buffer.from(body, 'latin1')
          : Buffer.from(body, 'utf8')
        : body;
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': String(buf.length),
      Server: this.profile.serverHeader,
      ...(this.opts.keepAlive ? {} : { Connection: 'close' }),
      ...extra,
    });
    res.end(buf);
  }

  private sendXml(res: http.ServerResponse, xml: string, status = 200): void {
    this.send(
      res,
      status,
      xml,
      this.profile.charset === 'iso-8859-1' ? 'text/xml; charset=ISO-8859-1' : 'text/xml; charset=utf-8',
    );
  }

  /**
   * The request body (undefined beyond `max`). Read with data/end events: `for await` over the request
   * destroys it at the end, which closes the connection and so defeats a client's keep-alive.
   */
  private readBody(req: http.IncomingMessage, max: number): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= max) chunks.push(c);
      });
      req.on('end', () => resolve(size > max ? undefined : Buffer.concat(chunks)));
      req.on('error', reject);
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://phone');
    const path = url.pathname;
    if (req.headers.expect) {
      // Research A2/A12: some stacks send Expect: 100-continue; phones answer an undocumented error 6.
      return this.sendXml(
        res,
        `<?xml version="1.0" encoding="${this.profile.charset === 'utf-8' ? 'UTF-8' : 'ISO-8859-1'}"?>\n<CiscoIPPhoneError Number="6"/>\n`,
      );
    }
    if (path === '/CGI/Execute') return this.handleExecute(req, res);
    if (path === '/CGI/Screenshot') return this.handleScreenshot(req, res);
    if (path === '/sim/state') return this.send(res, 200, JSON.stringify(this.state()), 'application/json');
    if (path === '/sim/media-stop' && req.method === 'POST') {
      const id = url.searchParams.get('id') ?? '';
      const ok = await this.userStopsMedia(id);
      return this.send(res, ok ? 200 : 404, JSON.stringify({ ok }), 'application/json');
    }
    if (path === '/')
      return this.send(
        res,
        200,
        `<html><head><title>Cisco ${escapeXml(this.profile.modelNumber)}</title></head><body><h1>${escapeXml(this.deviceName)}</h1></body></html>`,
        'text/html',
      );
    const page =
      /^\/(DeviceInformation|NetworkConfiguration|EthernetInformation|PortInformation|DeviceLog|StreamingStatistics)(X?)$/.exec(
        path,
      );
    if (page && req.method === 'GET') {
      this.counters.infoRequests++;
      const n = url.search.length > 1 ? Number(url.search.slice(1)) : undefined;
      const fields = this.infoFields(page[1] as InfoPage, n);
      if (!fields) return this.send(res, 404, '<html><body>Not Found</body></html>', 'text/html');
      if (page[2] === 'X')
        return this.sendXml(res, buildInfoXml(page[1] as InfoPage, fields, this.profile.charset));
      return this.send(
        res,
        200,
        buildInfoHtml(page[1] as InfoPage, `${page[1]} - ${this.deviceName}`, fields),
        'text/html',
      );
    }
    this.send(res, 404, '<html><body>Not Found</body></html>', 'text/html');
  }

  /** Nonces this phone issued in Digest challenges (the last 64). */
  private readonly nonces: string[] = [];

  /** The WWW-Authenticate challenge for a request without (usable) credentials. */
  private challenge(): string {
    if (!this.opts.digest) return `Basic realm="${this.profile.modelNumber}"`;
    const nonce = randomBytes(16).toString('hex');
    this.nonces.push(nonce);
    if (this.nonces.length > 64) this.nonces.shift();
    return `Digest realm="${this.profile.modelNumber}", qop="auth", algorithm=MD5, nonce="${nonce}"`;
  }

  /**
   * Checks push credentials: Digest against the local credentials (option `digest`), or Basic via the
   * authentication URL (AUTHORIZED exactly), else Basic against the local credentials.
   */
  private async authorized(req: http.IncomingMessage): Promise<'ok' | 'missing' | 'denied'> {
    const h = req.headers.authorization;
    if (this.opts.digest) {
      if (!h || !/^Digest /i.test(h)) return 'missing';
      let issued = true;
      const ok = verifyDigest(h, {
        username: this.credentials.username,
        password: this.credentials.password,
        realm: this.profile.modelNumber,
        method: req.method ?? 'GET',
        nonceValid: (n) => (issued = this.nonces.includes(n)),
      });
      // A nonce this phone did not issue (or no longer knows) gets a fresh challenge, not a refusal.
      return ok ? 'ok' : issued ? 'denied' : 'missing';
    }
    if (!h || !/^Basic /i.test(h)) return 'missing';
    const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return 'denied';
    const user = decoded.slice(0, i);
    const pass = decoded.slice(i + 1);
    if (!this.opts.authUrl)
      return user === this.credentials.username && pass === this.credentials.password ? 'ok' : 'denied';
    try {
      const u = new URL(this.opts.authUrl);
      u.searchParams.set('UserID', user);
      u.searchParams.set('Password', pass);
      u.searchParams.set('devicename', this.deviceName);
      const r = await httpRequest({
        url: u.toString(),
        timeoutMs: this.opts.fetchTimeoutMs ?? 5000,
        maxResponseBytes: 1024,
        headers: this.clientHeaders(),
      });
      // Exactly AUTHORIZED: any extra byte (newline, whitespace) fails, as on real phones.
      return r.status === 200 && r.body.toString('latin1') === 'AUTHORIZED' ? 'ok' : 'denied';
    } catch {
      return 'denied';
    }
  }

  private async handleExecute(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const mpp = !this.profile.xmlResponses;
    if (req.method !== 'POST') return this.send(res, 405, '', 'text/plain', { Allow: 'POST' });
    const body = await this.readBody(req, 256 * 1024);
    if (!body)
      return mpp
        ? this.send(res, 413, '', 'text/plain')
        : this.sendXml(res, buildErrorObject(1, this.profile.charset));
    this.bytesReceived += body.length;
    this.counters.execute++;
    if (this.opts.executeDelayMs) await new Promise((r) => setTimeout(r, this.opts.executeDelayMs));
    const auth = await this.authorized(req);
    if (auth === 'missing')
      return this.send(res, 401, '', 'text/plain', { 'WWW-Authenticate': this.challenge() });
    if (auth === 'denied') {
      this.counters.authFailures++;
      return mpp
        ? this.send(res, 401, '', 'text/plain')
        : this.sendXml(res, buildErrorObject(4, this.profile.charset));
    }
    const fail = (prompt: string) => {
      this.screen.prompt = prompt;
      return mpp
        ? this.send(res, 400, '', 'text/plain')
        : this.sendXml(res, buildErrorObject(1, this.profile.charset));
    };
    // Form field name is case-sensitive (`XML`).
    const xmlBytes = parseFormBytes(body.toString('latin1')).get('XML');
    if (!xmlBytes) return fail('XML Error [4]: Parse Error');
    if (xmlBytes.length > 40960) return fail('Data too large!');
    // The XML declaration, else the Content-Type charset, else the phone's locale charset (research A5).
    let text = decodeXmlBytes(xmlBytes, {
      charset: charsetOf(req.headers['content-type']),
      fallback: this.profile.charset,
    });
    // A Latin-1 phone renders only what its locale charset can show.
    if (this.profile.charset === 'iso-8859-1') text = text.replace(/[^\u0000-\u00ff]/gu, '?');
    let obj: CiscoObject | undefined;
    try {
      obj = objectFromXml(readXml(text, { maxBytes: 64 * 1024, code: 'SIM_PARSE' }));
    } catch {
      return fail('XML Error [4]: Parse Error');
    }
    if (!obj) return fail('XML Error[5] = Unsupported XML Object');
    if (objectUnsupportedReason(this.profile, obj.type as ObjectType))
      return fail('XML Error[5] = Unsupported XML Object');
    try {
      validateObject(obj, { inputPost: this.profile.inputPost });
    } catch (e) {
      // Notify inside Execute and other limit violations: the phone rejects the object.
      if (
        isSwitchboardError(e) &&
        e.code === 'CISCO_NOTIFY_IN_EXECUTE' &&
        obj.type === 'CiscoIPPhoneExecute'
      ) {
        const items = obj.items.map((it) =>
          /^Notify:/i.test(it.url) ? { status: 1, data: 'Invalid URI', url: it.url } : undefined,
        );
        if (items.every((x) => x)) {
          this.counters.executeOk++;
          return mpp
            ? this.send(res, 400, '', 'text/plain')
            : this.sendXml(res, buildResponse(items as ResponseItem[], this.profile.charset));
        }
      }
      return fail('XML Error [4]: Parse Error');
    }
    this.counters.executeOk++;
    switch (obj.type) {
      case 'CiscoIPPhoneExecute': {
        const items: ResponseItem[] = [];
        for (const it of obj.items) items.push(await this.execute(it.url, it.priority ?? 0));
        return mpp
          ? this.send(res, 200, '', 'text/plain')
          : this.sendXml(res, buildResponse(items, this.profile.charset));
      }
      case 'startMedia':
        return this.startMedia(obj, res);
      case 'stopMedia': {
        const m = this.media.get(obj.id);
        if (!m) return this.sendXml(res, buildMediaError('InvalidResourceID', this.profile.charset), 400);
        await this.closeMedia(m);
        this.media.delete(obj.id);
        return this.sendXml(res, buildMediaStreamResponse(obj.id, this.profile.charset));
      }
      case 'getDeviceCaps':
        return this.sendXml(
          res,
          buildDeviceCapsResponse(
            {
              modelNumber: this.profile.modelNumber,
              display: {
                width: this.profile.display.width,
                height: this.profile.display.height,
                bitDepth: this.profile.display.depth,
                isColor: this.profile.display.color,
              },
              sdkVersion: this.profile.sdkVersion,
              browser: { charset: this.profile.acceptCharset, softKeys: String(this.profile.softKeys) },
            },
            this.profile.charset,
          ),
        );
      default:
        this.show(obj);
        return mpp
          ? this.send(res, 200, '', 'text/plain')
          : this.sendXml(res, buildResponse([{ status: 0, data: 'Success', url: '' }], this.profile.charset));
    }
  }

  private async handleScreenshot(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const auth = await this.authorized(req);
    if (auth !== 'ok') {
      this.counters.authFailures += auth === 'denied' ? 1 : 0;
      return this.send(res, 401, '', 'text/plain', { 'WWW-Authenticate': this.challenge() });
    }
    this.counters.screenshots++;
    this.send(res, 200, renderScreen(this.view(), this.profile.display), 'image/png');
  }

  // ------------------------------------------------------------------------------------- screen

  private softkeysFor(
    kind: string,
    given?: Array<{ name: string; url: string; position?: number }>,
  ): Screen['softkeys'] {
    if (given && given.length > 0)
      return given.map((k, i) => ({ name: k.name, url: k.url, position: k.position ?? i + 1 }));
    return (DEFAULT_SOFTKEYS[kind] ?? []).map((n, i) => ({ name: n, url: `SoftKey:${n}`, position: i + 1 }));
  }

  private show(o: CiscoObject, url?: string): void {
    if (o.type === 'CiscoIPPhoneStatus' || o.type === 'CiscoIPPhoneStatusFile') {
      this.status = { text: o.text, timer: o.timer, shownAt: this.clock.now(), object: o };
      return;
    }
    const s: Screen = { ...idle(), kind: o.type, object: o };
    if (url) s.url = url;
    if ('title' in o && o.title !== undefined) s.title = o.title;
    else s.title = this.screen.items[this.screen.selected]?.name ?? this.screen.title;
    if ('prompt' in o && o.prompt !== undefined) s.prompt = o.prompt;
    if (o.type === 'CiscoIPPhoneText') s.lines = o.text.split(/\r\n|\r|\n/);
    if ('items' in o && o.type !== 'CiscoIPPhoneExecute' && o.type !== 'CiscoIPPhoneInput')
      s.items = o.items.map((i) => ({ name: i.name, ...(i.url !== undefined ? { url: i.url } : {}) }));
    if (o.type === 'CiscoIPPhoneDirectory') {
      s.entries = o.entries;
      s.items = o.entries.map((e) => ({ name: `${e.name} ${e.telephone}` }));
    }
    if (o.type === 'CiscoIPPhoneInput') {
      s.input = {
        url: o.url,
        method: o.method ?? 'get',
        focus: 0,
        fields: o.items.map((i) => ({
          name: i.displayName,
          param: i.queryStringParam,
          value: i.defaultValue ?? '',
          flags: i.inputFlags ?? 'A',
        })),
      };
      s.items = o.items.map((i) => ({ name: i.displayName }));
    }
    if (
      o.type === 'CiscoIPPhoneImage' ||
      o.type === 'CiscoIPPhoneImageFile' ||
      o.type === 'CiscoIPPhoneGraphicMenu' ||
      o.type === 'CiscoIPPhoneGraphicFileMenu'
    ) {
      s.lines = [
        o.type === 'CiscoIPPhoneImage' || o.type === 'CiscoIPPhoneGraphicMenu'
          ? `[image ${o.width}x${o.height}x${o.depth}]`
          : `[image ${o.url}]`,
      ];
    }
    s.softkeys = this.softkeysFor(o.type, 'softkeys' in o ? o.softkeys : undefined);
    if (this.screen.kind !== 'Idle') this.stack.push(this.screen);
    if (this.stack.length > 16) this.stack.shift();
    this.screen = s;
  }

  private builtin(kind: string, title: string, items: string[] = [], lines: string[] = []): void {
    if (this.screen.kind !== 'Idle') this.stack.push(this.screen);
    this.screen = {
      kind,
      title,
      prompt: '',
      lines,
      items: items.map((n) => ({ name: n })),
      softkeys: this.softkeysFor('CiscoIPPhoneMenu'),
      selected: 0,
    };
  }

  private back(): void {
    this.screen = this.stack.pop() ?? idle();
  }

  private refreshTimers(): void {
    const now = this.clock.now();
    if (this.status && this.status.timer > 0 && now >= this.status.shownAt + this.status.timer * 1000)
      this.status = undefined;
    // A timed Display:Off/On ends: back to the default behaviour (display on).
    if (this.display.until !== null && now >= this.display.until)
      this.display = { on: true, until: null, mode: 'default' };
  }

  private view(): ScreenView {
    this.refreshTimers();
    const s = this.screen;
    const lines = [...s.lines];
    for (const [i, f] of (s.input?.fields ?? []).entries()) {
      lines.push(
        `${i === s.input!.focus ? '>' : ' '}${f.name}: ${f.flags.includes('P') ? '*'.repeat(f.value.length) : f.value}`,
      );
    }
    return {
      displayOn: this.display.on,
      title: s.kind === 'Idle' ? `${this.dn}  ${this.profile.modelNumber}` : s.title,
      prompt: s.prompt,
      lines,
      items: s.input ? [] : s.items.map((i) => i.name),
      selected: s.selected,
      softkeys: s.softkeys.sort((a, b) => a.position - b.position).map((k) => k.name),
      status: this.status ? { text: this.status.text } : undefined,
      call:
        this.call.state === 'idle'
          ? undefined
          : `${this.call.state}${this.call.hold ? ' (hold)' : ''} ${this.call.number || this.call.digits}`,
    };
  }

  /** Everything tests and the console want to know (JSON). */
  state(): Record<string, unknown> {
    const v = this.view();
    return {
      deviceName: this.deviceName,
      model: this.profile.id,
      modelNumber: this.profile.modelNumber,
      address: this.address,
      screen: {
        object: this.screen.kind,
        title: this.screen.title,
        prompt: this.screen.prompt,
        text: this.screen.lines.join('\n'),
        items: this.screen.items,
        selected: this.screen.selected,
        softkeys: v.softkeys,
        url: this.screen.url ?? null,
        input: this.screen.input ?? null,
        depth: this.stack.length,
      },
      status: this.status
        ? { text: this.status.text, timer: this.status.timer, shownAt: this.status.shownAt }
        : null,
      display: this.display,
      call: this.call,
      history: this.history,
      played: this.played,
      keys: this.keyLog.slice(-50),
      uris: this.uriLog.slice(-50),
      locked: this.locked,
      muted: this.muted,
      volume: this.volume,
      line: this.line,
      prt: this.prt,
      apps: Object.fromEntries(this.apps),
      settings: this.settings,
      rtp: {
        rx: this.rtpRx ? { ...this.rtpRx.stats } : null,
        tx: this.rtpTx
          ? {
              address: this.rtpTx.address,
              port: this.rtpTx.port,
              multicast: this.rtpTx.multicast,
              packets: this.rtpTx.sender.packets,
            }
          : null,
      },
      media: [...this.media.values()].map((m) => ({
        id: m.id,
        ...m.spec,
        rx: m.rx ? { ...m.rx.stats } : null,
        txPackets: m.tx?.packets ?? null,
      })),
      queued: this.queued,
      lastQueryString: this.lastQueryString,
      counters: this.counters,
      bytesReceived: this.bytesReceived,
    };
  }

  // -------------------------------------------------------------------------------- URI execution

  private ok(uri: string, data = 'Success'): ResponseItem {
    return { status: 0, data, url: uri };
  }
  private invalid(uri: string): ResponseItem {
    return { status: 1, data: 'Invalid URI', url: uri };
  }
  private notFound(uri: string, data = 'URI not found'): ResponseItem {
    return { status: 6, data, url: uri };
  }

  private isIdle(): boolean {
    return this.call.state === 'idle';
  }

  /** Executes one ExecuteItem URL (internal URI or HTTP URL) and returns its ResponseItem. */
  async execute(uri: string, priority: number = 0): Promise<ResponseItem> {
    const r = await this.executeInner(uri, priority);
    this.uriLog.push({ uri, status: r.status, at: this.clock.now() });
    if (this.uriLog.length > 200) this.uriLog.shift();
    return r;
  }

  private async executeInner(uri: string, priority: number): Promise<ResponseItem> {
    const u = parseUri(uri);
    if (u.family === 'http') {
      // Priority applies to HTTP URLs only: 1 = when idle (queued), 2 = only if idle.
      if (priority === 1 && !this.isIdle()) {
        this.queued.push(uri);
        return this.ok(uri);
      }
      if (priority === 2 && !this.isIdle()) return this.notFound(uri, 'Phone is not idle');
      return this.fetchAndShow(uri);
    }
    if (uriUnsupportedReason(this.profile, uri)) return this.notFound(uri);
    const a = u.args;
    switch (u.family) {
      case 'Key':
        return this.key(uri, a[0] ?? '');
      case 'SoftKey':
        return this.softKey(uri, a.join(':'));
      case 'Display': {
        if (a[0] === 'Default' && a.length === 1) {
          this.display = { on: true, until: null, mode: 'default' };
          return this.ok(uri);
        }
        const n = Number(a[1]);
        if ((a[0] !== 'On' && a[0] !== 'Off') || a.length !== 2 || !Number.isInteger(n) || n < 0 || n > 1440)
          return this.invalid(uri);
        const until = n === 0 ? null : this.clock.now() + n * 60_000;
        this.display = a[0] === 'Off' ? { on: false, until, mode: 'off' } : { on: true, until, mode: 'on' };
        return this.ok(uri);
      }
      case 'Init':
        switch (a[0]) {
          case 'CallHistory':
            this.history = { placed: [], received: [], missed: [] };
            return this.ok(uri);
          case 'AppStatus':
            this.status = undefined;
            return this.ok(uri);
          case 'Services':
          case 'Messages':
          case 'Directories':
            if (
              this.screen.kind === a[0] ||
              this.stack.some((s) => s.kind === a[0]) ||
              (a[0] === 'Services' && this.screen.kind.startsWith('CiscoIPPhone'))
            ) {
              this.screen = idle();
              this.stack = [];
            }
            return this.ok(uri);
          default:
            return this.invalid(uri);
        }
      case 'Device':
        return this.device(uri, a[0] ?? '');
      case 'Dial': {
        if (!a[0] || !/^[0-9#*ABCD,]+$/.test(a[0])) return this.invalid(uri);
        this.endCall();
        this.call = {
          state: 'connected',
          number: a[0],
          digits: '',
          hold: false,
          startedAt: this.clock.now(),
        };
        this.history.placed.push(a[0]);
        if (this.history.placed.length > 100) this.history.placed.shift();
        return this.ok(uri);
      }
      case 'EditDial':
        if (!a[0] || !/^[0-9#*ABCD,+]+$/.test(a[0])) return this.invalid(uri);
        this.call = { state: 'dialing', number: '', digits: a[0], hold: false, startedAt: null };
        this.builtin('EditDial', 'Dial', [], [a[0]]);
        return this.ok(uri);
      case 'SendDigits':
        if (!a[0] || !/^[0-9#*ABCD,]+$/.test(a[0])) return this.invalid(uri);
        if (this.call.state !== 'connected') return this.notFound(uri, 'No Active Call');
        this.call.digits += a[0];
        return this.ok(uri);
      case 'Play':
        if (!a[0] || a.length !== 1) return this.invalid(uri);
        this.played.push({ file: a[0], at: this.clock.now() });
        if (this.played.length > 100) this.played.shift();
        return this.ok(uri);
      case 'RTPRx':
      case 'RTPMRx':
        return this.rtpReceive(uri, u.family === 'RTPMRx', a);
      case 'RTPTx':
      case 'RTPMTx':
        return this.rtpSend(uri, u.family === 'RTPMTx', a);
      case 'App':
        return this.app(uri, a);
      case 'QueryStringParam':
        this.lastQueryString = a.join(':');
        return this.ok(uri);
      case 'SettingsMenu':
        return this.settingsMenu(uri, a.join(':'));
      case 'Button':
        return this.button(uri, a[0] ?? '');
      case 'Notify':
      case 'Resource':
        return this.invalid(uri);
      default:
        return this.notFound(uri);
    }
  }

  private fetchDepth = 0;

  private async fetchAndShow(url: string): Promise<ResponseItem> {
    // An Execute fetched from a server may point at another URL: bound the chain.
    if (this.fetchDepth >= 3) return this.notFound(url, 'HTTP connection failed');
    this.fetchDepth++;
    try {
      return await this.fetchAndShowInner(url);
    } finally {
      this.fetchDepth--;
    }
  }

  private async fetchAndShowInner(url: string): Promise<ResponseItem> {
    this.counters.fetches++;
    let target: URL;
    try {
      target = new URL(url.replace(/#DEVICENAME#/g, this.deviceName));
    } catch {
      return this.invalid(url);
    }
    if (!/^127\./.test(target.hostname) && target.hostname !== 'localhost')
      return this.notFound(url, 'Host Not Found');
    try {
      const r = await httpRequest({
        url: target.toString(),
        timeoutMs: this.opts.fetchTimeoutMs ?? 5000,
        maxResponseBytes: 64 * 1024,
        headers: this.clientHeaders(),
      });
      if (r.status !== 200) {
        this.screen.prompt = `HTTP Error[${r.status === 404 ? 'File Not Found' : 8}]`;
        return this.notFound(url, 'HTTP connection failed');
      }
      const obj = objectFromXml(readXml(decodeXmlBytes(r.body), { maxBytes: 64 * 1024, code: 'SIM_PARSE' }));
      if (!obj) {
        this.screen.prompt = 'XML Error[5] = Unsupported XML Object';
        return this.notFound(url, 'Unsupported XML Object');
      }
      validateObject(obj, { inputPost: this.profile.inputPost });
      if (obj.type === 'CiscoIPPhoneExecute') {
        for (const it of obj.items) await this.execute(it.url, it.priority ?? 0);
        return this.ok(url);
      }
      if (obj.type === 'CiscoIPPhoneStatus' || obj.type === 'CiscoIPPhoneStatusFile')
        return this.notFound(url, 'Unsupported XML Object'); // push-only
      this.show(obj, url);
      return this.ok(url);
    } catch {
      this.screen.prompt = 'HTTP connection failed';
      return this.notFound(url, 'HTTP connection failed');
    }
  }

  /** Headers a phone sends when it fetches (seed client_capability_headers). */
  clientHeaders(): Record<string, string> {
    return {
      'User-Agent': 'Allegro-Software-WebClient/4.34',
      'x-CiscoIPPhoneModelName': this.profile.modelNumber,
      'x-CiscoIPPhoneDisplay': displayHeader(this.profile),
      'x-CiscoIPPhoneSDKVersion': this.profile.sdkVersion,
      Accept: `x-CiscoIPPhone/*;version=${this.profile.sdkVersion}`,
      'Accept-Language': 'en-US',
      'Accept-Charset': this.profile.acceptCharset,
    };
  }

  private async key(uri: string, name: string): Promise<ResponseItem> {
    this.keyLog.push(name);
    if (this.keyLog.length > 200) this.keyLog.shift();
    const s = this.screen;
    const pad = /^KeyPad([0-9])$/.exec(name);
    if (pad || name === 'KeyPadStar' || name === 'KeyPadPound') {
      const d = pad ? pad[1]! : name === 'KeyPadStar' ? '*' : '#';
      if (s.input) {
        const f = s.input.fields[s.input.focus];
        if (f) f.value += d;
      } else if (this.call.state === 'connected') this.call.digits += d;
      else {
        if (this.call.state === 'idle')
          this.call = { state: 'dialing', number: '', digits: '', hold: false, startedAt: null };
        this.call.digits += d;
      }
      return this.ok(uri);
    }
    const soft = /^Soft([0-9])$/.exec(name);
    if (soft) {
      const sk = s.softkeys.find((k) => k.position === Number(soft[1]));
      if (!sk) return this.ok(uri);
      return this.runSoftkeyUrl(sk.url, uri);
    }
    const line = /^Line([0-9]+)$/.exec(name);
    if (line) {
      const n = Number(line[1]);
      if (n < 1 || n > 120) return this.invalid(uri);
      this.line = n;
      return this.ok(uri);
    }
    const feat = /^(Feature|Session|FixedFeature)([0-9]+)$/.exec(name);
    if (feat) {
      const n = Number(feat[2]);
      const max = feat[1] === 'Feature' ? 120 : feat[1] === 'Session' ? 6 : 3;
      return n >= 1 && n <= max ? this.ok(uri) : this.invalid(uri);
    }
    const k8875 = /^Key_([0-9]|Asterisk|Period|NumberSign)$/.exec(name);
    if (k8875) {
      const ch =
        k8875[1] === 'Asterisk'
          ? '*'
          : k8875[1] === 'Period'
            ? '.'
            : k8875[1] === 'NumberSign'
              ? '#'
              : k8875[1]!;
      if (this.settings.path.length === 0) return this.notFound(uri);
      this.settings.entry += ch;
      return this.ok(uri);
    }
    switch (name) {
      case 'NavUp':
        if (s.input) s.input.focus = Math.max(0, s.input.focus - 1);
        else s.selected = Math.max(0, s.selected - 1);
        return this.ok(uri);
      case 'NavDwn':
      case 'NavDown':
        if (s.input) s.input.focus = Math.min(s.input.fields.length - 1, s.input.focus + 1);
        else s.selected = Math.min(Math.max(0, s.items.length - 1), s.selected + 1);
        return this.ok(uri);
      case 'NavLeft':
      case 'NavRight':
        return this.ok(uri);
      case 'NavSelect':
        return this.selectItem(uri);
      case 'NavBack':
        this.back();
        return this.ok(uri);
      case 'Services':
        if (!this.opts.servicesUrl) {
          this.builtin('Services', 'Services', [], []);
          this.screen.prompt = 'No services configured';
          return this.ok(uri);
        }
        this.builtin('Services', 'Services');
        await this.fetchAndShow(this.opts.servicesUrl);
        return this.ok(uri);
      case 'Directories':
      case 'Contacts':
        this.builtin('Directories', 'Directories', [
          'Missed calls',
          'Received calls',
          'Placed calls',
          'Corporate directory',
        ]);
        return this.ok(uri);
      case 'Messages':
        this.builtin('Messages', 'Messages', ['Voicemail']);
        return this.ok(uri);
      case 'Settings':
      case 'Applications':
      case 'AppMenu':
        this.builtin('Applications', this.profile.series === '8875' ? 'Settings' : 'Applications', [
          'Network connection',
          'Bluetooth',
          'About this device',
        ]);
        this.settings.path =
          this.profile.series === '8875' && name === 'Applications' ? ['applications'] : this.settings.path;
        this.settings.entry = '';
        return this.ok(uri);
      case 'Info':
        this.builtin('Info', 'Info', [], [`${this.profile.modelNumber} ${this.deviceName}`]);
        return this.ok(uri);
      case 'Offhook':
      case 'NavOffhook':
      case 'Speaker':
      case 'Headset':
        if (this.call.state === 'idle')
          this.call = { state: 'offhook', number: '', digits: '', hold: false, startedAt: null };
        else if (name === 'Speaker' || name === 'Headset') this.endCall();
        return this.ok(uri);
      case 'Onhook':
      case 'NavOnhook':
      case 'Release':
        this.endCall();
        return this.ok(uri);
      case 'Hold':
        if (this.call.state === 'connected') this.call.hold = !this.call.hold;
        return this.ok(uri);
      case 'Mute':
        this.muted = !this.muted;
        return this.ok(uri);
      case 'VolUp':
        this.volume = Math.min(100, this.volume + 10);
        return this.ok(uri);
      case 'VolDwn':
      case 'VolDown':
        this.volume = Math.max(0, this.volume - 10);
        return this.ok(uri);
      case 'Conference':
      case 'Transfer':
      case 'KEMPage':
      case 'KemPage':
      case 'PTT':
        return this.ok(uri);
      default:
        return this.notFound(uri);
    }
  }

  private async runSoftkeyUrl(url: string, uri: string): Promise<ResponseItem> {
    if (/^Notify:/i.test(url)) {
      await this.notify(url);
      return this.ok(uri);
    }
    if (/^SoftKey:/.test(url)) return this.softKey(uri, url.slice(8));
    if (/^QueryStringParam:/.test(url) && this.screen.url) {
      const target = `${this.screen.url}${this.screen.url.includes('?') ? '&' : '?'}${url.slice(17)}`;
      await this.fetchAndShow(target);
      return this.ok(uri);
    }
    const r = await this.execute(url);
    return r.status === 0 ? this.ok(uri) : { ...r, url: uri };
  }

  /** Performs a Notify URI (from a softkey): HTTP POST of the data to host:port/path (inferred format). */
  private async notify(url: string): Promise<void> {
    const [, , host, port, path, cred, ...rest] = url.split(':');
    const data = rest.join(':');
    if (!host || !/^127\.|^localhost$/.test(host)) return;
    const headers: Record<string, string> = {
      ...this.clientHeaders(),
      'Content-Type': 'application/x-www-form-urlencoded',
    };
    if (cred) headers.Authorization = `Basic ${cred}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const r = await httpRequest({
          url: `http://${host}:${port}${path?.startsWith('/') ? path : `/${path}`}`,
          method: 'POST',
          body: data,
          headers,
          timeoutMs: 3000,
        });
        if (r.status < 500) return;
      } catch {
        // The seed: Notify retries 3 times before failing.
      }
    }
  }

  private async selectItem(uri: string): Promise<ResponseItem> {
    const s = this.screen;
    const it = s.items[s.selected];
    if (!it) return this.ok(uri);
    if (s.kind === 'Applications' && this.profile.series === '8875') return this.settingsMenu(uri, it.name);
    if (it.url) {
      const r = /^https?:/i.test(it.url) ? await this.fetchAndShow(it.url) : await this.execute(it.url);
      return r.status === 0 ? this.ok(uri) : { ...r, url: uri };
    }
    return this.ok(uri);
  }

  private async softKey(uri: string, name: string): Promise<ResponseItem> {
    const s = this.screen;
    switch (name) {
      case 'Select':
        return this.selectItem(uri);
      case 'Exit':
      case 'Back':
      case 'Cancel':
        this.back();
        return this.ok(uri);
      case 'Next':
        s.selected = Math.min(Math.max(0, s.items.length - 1), s.selected + 1);
        return this.ok(uri);
      case 'Search':
        return this.ok(uri);
      case 'Update':
        if (s.url) await this.fetchAndShow(s.url);
        return this.ok(uri);
      case 'Submit': {
        if (!s.input) return this.notFound(uri);
        const q = new URLSearchParams(
          s.input.fields.map((f): [string, string] => [f.param, f.value]),
        ).toString();
        const target =
          s.input.method === 'post'
            ? s.input.url
            : `${s.input.url}${s.input.url.includes('?') ? '&' : '?'}${q}`;
        if (s.input.method === 'post') {
          try {
            await httpRequest({
              url: target,
              method: 'POST',
              body: q,
              headers: { ...this.clientHeaders(), 'Content-Type': 'application/x-www-form-urlencoded' },
              timeoutMs: 5000,
            });
          } catch {
            return this.notFound(uri, 'HTTP connection failed');
          }
          return this.ok(uri);
        }
        return this.fetchAndShow(target).then((r) => ({ ...r, url: uri }));
      }
      case '<<': {
        const f = s.input?.fields[s.input.focus];
        if (!f) return this.notFound(uri);
        f.value = f.value.slice(0, -1);
        return this.ok(uri);
      }
      case 'Dial':
      case 'EditDial': {
        // Seed: Directory objects only.
        const e = s.entries?.[s.selected];
        if (!e) return this.notFound(uri);
        return name === 'Dial'
          ? this.execute(`Dial:${telephoneDialString(e.telephone)}`).then((r) => ({ ...r, url: uri }))
          : this.execute(`EditDial:${telephoneDialString(e.telephone)}`).then((r) => ({ ...r, url: uri }));
      }
      default:
        return this.notFound(uri);
    }
  }

  private device(uri: string, name: string): ResponseItem {
    switch (name) {
      case 'Unlock':
        this.locked = false;
        return this.ok(uri);
      case 'GeneratePRT':
        this.refreshPrt();
        if (this.prt.state === 'generating') return this.notFound(uri, 'There is pending PRT');
        {
          const d = new Date(this.clock.now());
          const p2 = (n: number) => String(n).padStart(2, '0');
          const stamp = `${d.getUTCFullYear()}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}-${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}`;
          this.prt = {
            state: 'generating',
            readyAt: this.clock.now() + (this.opts.prtDelayMs ?? 3000),
            file: `prt-${stamp}-${this.mac}.tar.gz`,
          };
        }
        return this.ok(uri);
      case 'PRTStatus':
        this.refreshPrt();
        if (this.prt.state === 'none') return this.notFound(uri, 'There is no pending PRT invoked from XSI');
        if (this.prt.state === 'generating') return this.ok(uri, 'Generating PRT');
        return this.ok(uri, `Generated PRT at https://${this.host}/FS/${this.prt.file}`);
      default:
        return this.notFound(uri);
    }
  }

  private refreshPrt(): void {
    if (this.prt.state === 'generating' && this.clock.now() >= this.prt.readyAt) this.prt.state = 'generated';
  }

  private endCall(): void {
    if (this.call.state === 'idle') return;
    this.call = { state: 'idle', number: '', digits: '', hold: false, startedAt: null };
    // Research A7: existing streams end when the user hangs up; startMedia streams notify onStopped.
    for (const m of [...this.media.values()]) void this.userStopsMedia(m.id);
    const q = this.queued.splice(0);
    for (const u of q) void this.execute(u, 0);
  }

  private async rtpReceive(uri: string, multicast: boolean, a: string[]): Promise<ResponseItem> {
    if (a[0] === 'Stop' && a.length === 1) {
      await this.rtpRx?.close();
      this.rtpRx = undefined;
      return this.ok(uri);
    }
    const [ip, p, v, s] = a;
    const port = Number(p);
    if (!ip || !isIpv4(ip) || multicast !== isMulticast(ip)) return this.invalid(uri);
    if (!Number.isInteger(port) || port < RTP_PORT_MIN || port > RTP_PORT_MAX || port % 2 !== 0)
      return this.invalid(uri);
    if (v !== undefined && v !== '' && !(Number(v) >= 0 && Number(v) <= 100)) return this.invalid(uri);
    if (s !== undefined && s !== '' && !['0', '1', '2'].includes(s)) return this.invalid(uri);
    await this.rtpRx?.close();
    const rx = new RtpReceiver({
      bindAddress: this.host,
      port,
      ...(multicast ? { group: ip } : { source: ip }),
      now: () => this.clock.now(),
    });
    try {
      await rx.start();
    } catch {
      this.rtpRx = undefined;
      return this.notFound(uri, 'UnavailableResource');
    }
    this.rtpRx = rx;
    if (v !== undefined && v !== '' && this.call.state === 'idle') this.volume = Number(v);
    return this.ok(uri);
  }

  private async rtpSend(uri: string, multicast: boolean, a: string[]): Promise<ResponseItem> {
    if (a[0] === 'Stop' && a.length === 1) {
      await this.rtpTx?.sender.close();
      this.rtpTx = undefined;
      return this.ok(uri);
    }
    const [ip, p] = a;
    const port = Number(p);
    if (!ip || !isIpv4(ip) || multicast !== isMulticast(ip) || a.length !== 2) return this.invalid(uri);
    if (!Number.isInteger(port) || port < RTP_PORT_MIN || port > RTP_PORT_MAX || port % 2 !== 0)
      return this.invalid(uri);
    if (!multicast && !/^127\./.test(ip)) return this.notFound(uri, 'UnavailableResource');
    await this.rtpTx?.sender.close();
    const sender = new RtpSender({ address: ip, port, bindAddress: this.host, multicast });
    await sender.start();
    this.rtpTx = { sender, address: ip, port, multicast };
    return this.ok(uri);
  }

  private async app(uri: string, a: string[]): Promise<ResponseItem> {
    const [verb, pr, idleTimer, ...rest] = a;
    const id = rest.join(':');
    if (!verb || !['RequestFocus', 'ReleaseFocus', 'Minimize', 'Close'].includes(verb))
      return this.invalid(uri);
    if (
      !['0', '1', '2'].includes(pr ?? '') ||
      !(Number(idleTimer) >= 10 && Number(idleTimer) <= 86400) ||
      id === '' ||
      id.length > 64
    )
      return this.invalid(uri);
    const app = this.apps.get(id);
    if (!app) {
      if (verb !== 'RequestFocus') return this.notFound(uri, 'Unknown Application ID');
      this.apps.set(id, { state: 'closed' });
    }
    const cur = this.apps.get(id)!;
    if (verb === 'RequestFocus') {
      for (const [other, st] of this.apps) {
        if (other !== id && st.state === 'focused') {
          st.state = 'background';
          await this.appEvent(other, 'focusLost');
        }
      }
      cur.state = 'focused';
      await this.appEvent(id, 'focusGained');
      return this.ok(uri);
    }
    if (cur.state === 'closed') return this.notFound(uri, 'Application is not Active');
    if (verb === 'ReleaseFocus') {
      cur.state = 'background';
      await this.appEvent(id, 'focusLost');
    } else if (verb === 'Minimize') {
      cur.state = 'minimized';
      await this.appEvent(id, 'minimized');
    } else {
      cur.state = 'closed';
      await this.appEvent(id, 'closed');
    }
    return this.ok(uri);
  }

  private async appEvent(
    appId: string,
    type: 'focusLost' | 'focusGained' | 'minimized' | 'closed',
  ): Promise<void> {
    if (!this.opts.appEventUrl) return;
    try {
      await httpRequest({
        url: this.opts.appEventUrl,
        method: 'POST',
        body: encodePushBody(buildApplicationEvent(appId, type), 'utf-8').body,
        headers: { ...this.clientHeaders(), 'Content-Type': 'application/x-www-form-urlencoded' },
        timeoutMs: 3000,
      });
    } catch {
      // fire and forget
    }
  }

  private settingsMenu(uri: string, name: string): ResponseItem {
    // Seed: Key:Applications must precede SettingsMenu URIs.
    if (this.settings.path.length === 0) return this.notFound(uri);
    const norm = name.replace(/\s+/g, '').toLowerCase();
    if (norm === '') return this.invalid(uri);
    this.settings.path.push(norm);
    this.settings.entry = '';
    this.builtin('Settings', name, [], []);
    return this.ok(uri);
  }

  private button(uri: string, name: string): ResponseItem {
    if (this.settings.path.length === 0) return this.notFound(uri);
    switch (name) {
      case 'Back':
        this.settings.path.pop();
        this.back();
        return this.ok(uri);
      case 'Backspace':
        this.settings.entry = this.settings.entry.slice(0, -1);
        return this.ok(uri);
      case 'Apply': {
        const key = this.settings.path[this.settings.path.length - 1]!;
        this.settings.values[key] = this.settings.entry;
        return this.ok(uri);
      }
      default:
        return this.notFound(uri);
    }
  }

  // ----------------------------------------------------------------------------------- RTP streaming API

  private async startMedia(
    obj: Extract<CiscoObject, { type: 'startMedia' }>,
    res: http.ServerResponse,
  ): Promise<void> {
    const s = obj.stream;
    const err = (e: MediaErrorName) => this.sendXml(res, buildMediaError(e, this.profile.charset), 400);
    if (s.type !== 'audio' || !['sendReceive', 'sendOnly', 'receiveOnly'].includes(s.mode))
      return err('InvalidResource');
    if (!isIpv4(s.address) || !(s.port >= 1 && s.port <= 65535)) return err('InvalidURL');
    if (this.media.size >= 2) return err('UnavailableResource');
    const id = randomBytes(3).toString('hex');
    const m: MediaStream = { id, spec: s };
    try {
      if (s.mode !== 'sendOnly') {
        m.rx = new RtpReceiver({
          bindAddress: this.host,
          port: s.port,
          ...(isMulticast(s.address) ? { group: s.address } : { source: s.address }),
          now: () => this.clock.now(),
        });
        await m.rx.start();
      }
      if (s.mode !== 'receiveOnly') {
        m.tx = new RtpSender({
          address: s.address,
          port: s.port,
          bindAddress: this.host,
          multicast: isMulticast(s.address),
        });
        await m.tx.start();
      }
    } catch {
      await this.closeMedia(m);
      return err('UnavailableResource');
    }
    this.media.set(id, m);
    this.sendXml(res, buildMediaStreamResponse(id, this.profile.charset));
  }

  private async closeMedia(m: MediaStream): Promise<void> {
    await m.rx?.close();
    await m.tx?.close();
  }

  /** The user ends the audio path: stop the stream and POST notifyMediaEvent to onStopped (seed Feedbacks). */
  async userStopsMedia(id: string): Promise<boolean> {
    const m = this.media.get(id);
    if (!m) return false;
    this.media.delete(id);
    await this.closeMedia(m);
    if (m.spec.onStopped && /^https?:\/\/(127\.|localhost)/.test(m.spec.onStopped)) {
      try {
        await httpRequest({
          url: m.spec.onStopped,
          method: 'POST',
          body: `DATA=${encodeURIComponent(buildMediaEvent(id))}`,
          headers: { ...this.clientHeaders(), 'Content-Type': 'application/x-www-form-urlencoded' },
          timeoutMs: 3000,
        });
      } catch {
        // nothing to do
      }
    }
    return true;
  }

  // ---------------------------------------------------------------------------------- info pages

  private rxStats(): RtpReceiveStats | undefined {
    return this.rtpRx?.stats ?? [...this.media.values()].find((m) => m.rx)?.rx?.stats;
  }

  private infoFields(page: InfoPage, n: number | undefined): InfoFields | undefined {
    const p = this.profile;
    const ip = this.host;
    switch (page) {
      case 'DeviceInformation':
        return [
          ['MACAddress', this.mac],
          ['HostName', this.deviceName],
          ['phoneDN', this.dn],
          ['appLoadID', `sip${p.series.slice(0, 2)}xx.${p.sdkVersion.replace(/\./g, '-')}-1`],
          ['bootLoadID', 'boot-sim'],
          ['versionID', p.sdkVersion],
          ['addonModule1', ''],
          ['addonModule2', ''],
          ['hardwareRevision', '1.0'],
          ['serialNumber', `FCH${this.mac.slice(-8)}`],
          ['modelNumber', p.modelNumber],
          ['MessageWaiting', 'No'],
          ['udi', `phone ${p.modelNumber} V01 FCH${this.mac.slice(-8)}`],
          ['time', new Date(this.clock.now()).toISOString().slice(11, 19)],
        ];
      case 'NetworkConfiguration':
        return [
          ['DHCPServer', '127.0.0.1'],
          ['MACAddress', this.mac],
          ['HostName', this.deviceName],
          ['DomainName', 'sim.local'],
          ['IPAddress', ip],
          ['SubNetMask', '255.0.0.0'],
          ['TFTPServer1', this.settings.values.tftpserver1 ?? '127.0.0.1'],
          ['DefaultRouter1', '127.0.0.1'],
          ['DNSServer1', '127.0.0.1'],
          ['OperationalVLANId', '100'],
          ['CallManager1', '127.0.0.1 Active'],
          ['ServicesURL', this.opts.servicesUrl ?? ''],
          ['AuthenticationURL', this.opts.authUrl ?? ''],
          ['DHCPEnabled', 'Yes'],
          ['TFTPServer2', ''],
          ['AltTFTP', this.settings.values.tftpserver1 ? 'Yes' : 'No'],
        ];
      case 'EthernetInformation':
        return [
          ['TxFrames', String(this.counters.execute * 2)],
          ['TxBroadcasts', '0'],
          ['TxMulticasts', '0'],
          ['RxFrames', String(this.counters.execute * 3)],
          ['RxBroadcasts', '0'],
          ['RxMulticasts', String(this.rxStats()?.multicast ? this.rxStats()!.packets : 0)],
          ['RxUnknown', '0'],
          ['RxBytes', String(this.bytesReceived)],
        ];
      case 'PortInformation': {
        const max = Math.max(1, p.ethernetPorts);
        if (n === undefined || !Number.isInteger(n) || n < 1 || n > Math.min(3, max)) return undefined;
        return [
          ['PortName', n === 1 ? 'Network' : 'Access'],
          ['PortSpeed', n === 1 ? '1000 Full' : 'Down'],
          ['PortStatus', n === 1 ? 'Up' : 'Down'],
          ['LLDPNeighborDeviceId', n === 1 ? 'sim-switch' : ''],
        ];
      }
      case 'DeviceLog': {
        if (n === undefined || !Number.isInteger(n) || n < 0 || n > 2) return undefined;
        const lines: InfoFields = this.uriLog
          .slice(-20)
          .map((u) => ['LogMessage', `${new Date(u.at).toISOString()} XSI ${u.uri} status=${u.status}`]);
        return lines.length
          ? lines
          : [['LogMessage', `${new Date(this.clock.now()).toISOString()} log ${n} empty`]];
      }
      case 'StreamingStatistics': {
        if (n === undefined || !Number.isInteger(n) || n < 1 || n > 3) return undefined;
        const rx = n === 1 ? this.rxStats() : undefined;
        const tx = n === 2 ? this.rtpTx : undefined;
        return [
          ['RemoteAddr', rx?.remote ? `${rx.remote}/${rx.port}` : tx ? `${tx.address}/${tx.port}` : ''],
          ['LocalAddr', rx ? `${rx.address}/${rx.port}` : `${ip}/0`],
          ['StartTime', rx?.firstAt ? new Date(rx.firstAt).toISOString() : ''],
          ['StreamStatus', rx || tx ? 'Active' : 'Not Ready'],
          ['Name', this.deviceName],
          ['SenderPackets', String(tx?.sender.packets ?? 0)],
          ['SenderOctets', String((tx?.sender.packets ?? 0) * 160)],
          ['SenderCodec', tx ? 'G.711 u-law' : ''],
          ['RcvrPackets', String(rx?.packets ?? 0)],
          ['RcvrOctets', String(rx?.octets ?? 0)],
          ['RcvrLostPackets', String(rx?.lost ?? 0)],
          ['RcvrCodec', rx?.codec ?? ''],
          ['AvgJitter', '0'],
        ];
      }
    }
  }

  /** The text the current screenshot shows, row by row (for golden tests of each display size). */
  screenText(): string {
    return screenText(this.view(), this.profile.display);
  }

  /** Renders the current screen (what /CGI/Screenshot returns). */
  screenshot(): Buffer {
    return renderScreen(this.view(), this.profile.display);
  }

  /** Text the phone shows, with characters it cannot render replaced (Latin-1 phones). */
  visibleText(s: string): string {
    return this.profile.charset === 'iso-8859-1' ? transliterateLatin1(s) : s;
  }
}
