import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { type Clock, systemClock, type TimerHandle } from '../../core/clock.js';
import { errorMessage } from '../../core/errors.js';
import {
  decodePushContentBody,
  MAX_TOPLINE_CHARS,
  type ParsedContent,
  type ParsedRtpUrl,
  parsePushContent,
  truncateChars,
} from '../../drivers/avaya/content.js';
import { modelSupports, type PushCapabilityName } from '../../drivers/avaya/models.js';
import {
  decodePushForm,
  MAX_PUSH_MESSAGE_BYTES,
  type PushMessage,
  PushMessageParseError,
  parsePushMessage,
} from '../../drivers/avaya/push-message.js';
import { PUSH_STATUS_CODES } from '../../drivers/avaya/push-status.js';
import { buildSubscriptionQuery } from '../../drivers/avaya/subscription.js';
import { pcmToRtpPackets } from '../../media/audio.js';
import { decodeG711 } from '../../media/g711.js';
import { parseRtp } from '../../media/rtp.js';
import { isMulticast, sendRtpStream } from '../../media/sender.js';
import { namedTone } from '../../media/tone.js';
import { httpRequest } from '../../net/http-client.js';
import {
  type CallState,
  capabilityOf,
  isTrusted,
  type PhoneActivity,
  pushCapDigit,
  pushCapRefusal,
  stateVerdict,
} from './pushcap.js';

/**
 * A simulated Avaya 96x1/J100 deskphone Push Agent: a real HTTP server on 127.0.0.1 that accepts
 * `POST /forms/push` (form field `XMLData`), answers with an HTTP status and the push-status header,
 * then fetches the Push Content from the Trusted Push Server and "shows" it (screen state), receiving and
 * decoding RTP for audio pushes. It subscribes to SUBSCRIBELIST on start.
 */
export interface SimPhoneOptions {
  id?: string;
  model?: string;
  extension: string;
  mac: string;
  host?: string;
  /** Push port (PUSHPORT); 0 = ephemeral. */
  port?: number;
  registered?: boolean;
  tpsList?: string[];
  subscribeList?: string[];
  pushCap?: string;
  /** SetID sent when subscribing (default `<model>D01A` [inferred]). */
  setId?: string;
  /** Which push-status header to send (the guides use both names). */
  statusHeader?: 'x-Push-Status' | 'x-Avaya-Push-Status' | 'both';
  /** Boot subscription retries: 20 minutes × 5 as documented; tests shorten them. */
  subscribeRetry?: { intervalMs: number; attempts: number };
  subscribeSeparator?: '&' | '+';
  /** Adds `PushPort=<port>` to the subscription (simulator extension; real phones do not send it). */
  reportPushPort?: boolean;
  clock?: Clock;
  /** Overrides the content's AudioTimer (ms) so tests need not wait 5–30 s for a stream to end. */
  audioTimerMs?: number;
  /** Seconds of tone an Audio Transmit push sends ([inferred]: the user would speak). */
  transmitSeconds?: number;
  /** Interface for joining multicast groups. */
  multicastInterface?: string;
  fetchTimeoutMs?: number;
  /**
   * Fetch the Push Content after accepting a push (default true). `false`: a phone that acknowledges pushes
   * and never fetches what they name (a broken HTTP stack, a firewall between the phone and the hub's
   * content URL); its pushes stay in the history with no `fetch` record.
   */
  fetchContent?: boolean;
}

export interface AudioState {
  id: number;
  kind: 'unicast' | 'multicast' | 'transmit';
  codec: 'PCMU' | 'PCMA';
  packetSizeMs: number;
  audioTimerS: number;
  rtpLPort: number;
  url: string;
  promptline?: string;
  mode: 'normal' | 'barge';
  status: 'waiting' | 'playing' | 'ended';
  endReason?: 'timeout' | 'stopped' | 'replaced' | 'transmitted';
  packets: number;
  payloadBytes: number;
  samples: number;
  firstSequence?: number;
  lastSequence?: number;
  sequenceErrors: number;
  timestampErrors: number;
  payloadTypeErrors: number;
  markers: number;
  ssrc?: number;
  peak: number;
  /** RFC 3550 interarrival jitter estimate (ms). */
  jitterMs: number;
  /** Largest gap between two packets (ms). */
  maxGapMs: number;
  /** A barge audio push arrived during a call: the far end was put on hold (LAN46, Appendix E). */
  farEndHeld: boolean;
  sentPackets?: number;
}

export interface PushRecord {
  at: number;
  type: string;
  mode: string;
  alert: number;
  href: string;
  pushStatus: number;
  httpStatus: number;
  fetch?: { status: 'ok' | 'failed' | 'aborted'; detail?: string };
}

export interface PhoneScreen {
  topline?: { text: string; mode: string; shownAt: number; expiresAt: number };
  display?: {
    title?: string;
    text: string;
    softkeys: Array<{ label: string; href: string }>;
    links: Array<{ label: string; href: string }>;
    background: boolean;
    mode: string;
  };
  phonexml?: { root: string; text: string };
  promptline?: string;
}

export interface PhoneStateJson {
  id: string;
  model: string;
  extension: string;
  mac: string;
  address: string;
  listening: boolean;
  registered: boolean;
  activity: PhoneActivity;
  screen: PhoneScreen;
  audio?: AudioState;
  alerts: number;
  pushes: { total: number; byStatus: Record<string, number> };
  subscriptions: Array<{
    url: string;
    ok: boolean;
    attempts: number;
    lastStatus?: number;
    lastError?: string;
  }>;
  connections: { total: number; maxConcurrent: number };
}

const TOPLINE_TTL_MS = 30_000;

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
const SUBSCRIBE_WINDOW_MS = 60_000;
const MAX_BODY = 32 * 1024;
const MAX_QUEUED_CONNECTIONS = 256;

export class SimPhone extends EventEmitter {
  readonly id: string;
  readonly model: string;
  readonly extension: string;
  readonly mac: string;
  readonly host: string;
  readonly setId: string;
  tpsList: string[];
  subscribeList: string[];
  pushCap: string;
  activity: PhoneActivity = { call: 'idle', textEdit: false, localProcedure: false, audioPlaying: false };
  readonly screen: PhoneScreen = {};
  audio: AudioState | undefined;
  alerts = 0;
  readonly history: PushRecord[] = [];
  readonly subscriptions = new Map<
    string,
    { ok: boolean; attempts: number; lastStatus?: number; lastError?: string }
  >();

  private readonly clock: Clock;
  private readonly o: SimPhoneOptions;
  private registered: boolean;
  private port: number;
  private netServer: net.Server | undefined;
  private readonly httpServer: http.Server;
  private queue: net.Socket[] = [];
  private active: net.Socket | undefined;
  private connTotal = 0;
  private concurrent = 0;
  private maxConcurrent = 0;
  private toplineTimer: TimerHandle | undefined;
  private lastSubscribePush: number | undefined;
  private audioSocket: dgram.Socket | undefined;
  private audioTimer: TimerHandle | undefined;
  private audioSeq = 0;
  private transmitAbort: AbortController | undefined;
  private retryTimers = new Set<TimerHandle>();
  private stopped = false;
  private pending = new Set<Promise<unknown>>();
  private injected: number[] = [];

  constructor(opts: SimPhoneOptions) {
    super();
    this.o = opts;
    this.model = opts.model ?? 'J179';
    this.extension = opts.extension;
    this.mac = opts.mac;
    this.id = opts.id ?? `avaya-${opts.mac.replace(/[^0-9a-fA-F]/g, '').toLowerCase()}`;
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? 0;
    this.registered = opts.registered ?? true;
    this.tpsList = opts.tpsList ?? ['/'];
    this.subscribeList = opts.subscribeList ?? [];
    this.pushCap = opts.pushCap ?? '22222';
    this.setId = opts.setId ?? `${this.model}D01A`;
    this.clock = opts.clock ?? systemClock;
    this.httpServer = http.createServer((req, res) => this.handle(req, res));
    this.httpServer.headersTimeout = 10_000;
    this.httpServer.requestTimeout = 10_000;
  }

  /** `host:port` of the push server (port known once listening). */
  get address(): string {
    return `${this.host}:${this.port}`;
  }
  get pushPort(): number {
    return this.port;
  }
  get listening(): boolean {
    return this.netServer !== undefined;
  }

  /** Starts listening (when registered and TPSLIST is non-empty) and subscribes to SUBSCRIBELIST. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.updateListening();
    if (this.registered) this.subscribeAll('boot');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.retryTimers) this.clock.clearTimeout(t);
    this.retryTimers.clear();
    if (this.toplineTimer) this.clock.clearTimeout(this.toplineTimer);
    this.endAudio('stopped');
    await this.closeServer();
    await Promise.allSettled([...this.pending]);
  }

  async setRegistered(v: boolean): Promise<void> {
    const was = this.registered;
    this.registered = v;
    await this.updateListening();
    if (v && !was) this.subscribeAll('boot');
  }

  async setTpsList(list: string[]): Promise<void> {
    this.tpsList = list;
    await this.updateListening();
  }

  /** Fault injection: answer the next push(es) with these push-status codes (e.g. 202 internal error). */
  injectStatus(...codes: number[]): void {
    this.injected.push(...codes);
  }

  setActivity(patch: Partial<Omit<PhoneActivity, 'audioPlaying'>> & { call?: CallState }): void {
    Object.assign(this.activity, patch);
    this.emit('activity', this.activity);
  }

  private async updateListening(): Promise<void> {
    const should = this.registered && this.tpsList.some((e) => e.trim() !== '') && !this.stopped;
    if (should && !this.netServer) await this.listen();
    else if (!should && this.netServer) await this.closeServer();
  }

  private listen(): Promise<void> {
    const srv = net.createServer({ pauseOnConnect: true }, (sock) => this.onConnection(sock));
    this.netServer = srv;
    return new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(this.port, this.host, () => {
        srv.off('error', reject);
        this.port = (srv.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  private async closeServer(): Promise<void> {
    const srv = this.netServer;
    this.netServer = undefined;
    if (!srv) return;
    for (const s of this.queue) s.destroy();
    this.queue = [];
    this.active?.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
  }

  /** One connection at a time (GoAhead-style): later connections wait, unread, until the current one closes. */
  private onConnection(sock: net.Socket): void {
    this.connTotal++;
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    sock.once('close', () => {
      this.concurrent--;
    });
    if (this.queue.length >= MAX_QUEUED_CONNECTIONS) {
      sock.destroy();
      return;
    }
    this.queue.push(sock);
    this.pump();
  }

  private pump(): void {
    if (this.active || this.queue.length === 0) return;
    const sock = this.queue.shift()!;
    if (sock.destroyed) {
      this.pump();
      return;
    }
    this.active = sock;
    sock.setTimeout(10_000, () => sock.destroy());
    sock.once('close', () => {
      this.active = undefined;
      this.pump();
    });
    this.httpServer.emit('connection', sock);
    sock.resume();
  }

  private sendStatus(res: http.ServerResponse, pushStatus: number, httpStatus = 200): void {
    const reason = PUSH_STATUS_CODES[pushStatus]?.reason ?? 'Unknown';
    const h = this.o.statusHeader ?? 'x-Push-Status';
    const body = `<html><body>${pushStatus} ${reason}</body></html>`;
    res.setHeader('Connection', 'close');
    res.setHeader('Content-Type', 'text/html');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    if (h === 'x-Push-Status' || h === 'both') res.setHeader('x-Push-Status', String(pushStatus));
    if (h === 'x-Avaya-Push-Status' || h === 'both') res.setHeader('x-Avaya-Push-Status', String(pushStatus));
    res.writeHead(httpStatus);
    res.end(body);
  }

  private forbidden(res: http.ServerResponse): void {
    const body = '<html><body>403 Forbidden</body></html>';
    res.writeHead(403, {
      Connection: 'close',
      'Content-Type': 'text/html',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || path !== '/forms/push') {
      req.resume();
      this.forbidden(res);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) tooBig = true;
      else chunks.push(c);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (tooBig) {
        this.record(undefined, 307, 200);
        this.sendStatus(res, 307);
        return;
      }
      this.onPush(Buffer.concat(chunks).toString('utf8'), res);
    });
  }

  private record(m: PushMessage | undefined, pushStatus: number, httpStatus: number): PushRecord {
    const r: PushRecord = {
      at: this.clock.now(),
      type: m?.type ?? '?',
      mode: m?.mode ?? 'normal',
      alert: m?.alert ?? 0,
      href: m?.href ?? '',
      pushStatus,
      httpStatus,
    };
    this.history.push(r);
    if (this.history.length > 200) this.history.shift();
    this.emit('push', r);
    return r;
  }

  private onPush(body: string, res: http.ServerResponse): void {
    const injected = this.injected.shift();
    if (injected !== undefined) {
      this.record(undefined, injected, injected === 402 ? 403 : 200);
      this.sendStatus(res, injected, injected === 402 ? 403 : 200);
      return;
    }
    const xml = decodePushForm(body);
    if (xml === undefined) {
      this.record(undefined, 303, 200);
      this.sendStatus(res, 303);
      return;
    }
    if (Buffer.byteLength(xml) >= MAX_PUSH_MESSAGE_BYTES) {
      this.record(undefined, 307, 200);
      this.sendStatus(res, 307);
      return;
    }
    let m: PushMessage;
    try {
      m = parsePushMessage(xml);
    } catch (e) {
      const code = e instanceof PushMessageParseError ? e.pushStatus : 302;
      const httpStatus = code === 402 ? 403 : 200;
      this.record(undefined, code, httpStatus);
      this.sendStatus(res, code, httpStatus);
      return;
    }
    const mode = m.mode ?? 'normal';
    if (!isTrusted(m.href, this.tpsList)) {
      this.record(m, 402, 403);
      this.sendStatus(res, 402, 403);
      return;
    }
    if (m.type === 'subscribe') {
      const now = this.clock.now();
      if (
        this.subscribeList.length === 0 ||
        (this.lastSubscribePush !== undefined && now - this.lastSubscribePush < SUBSCRIBE_WINDOW_MS)
      ) {
        this.record(m, 503, 200);
        this.sendStatus(res, 503);
        return;
      }
      this.lastSubscribePush = now;
    }
    // A push type the model does not have (J139: no WML browser) is refused like a PUSHCAP 0 [inferred: 201].
    if (!modelSupports(this.model, m.type)) {
      this.record(m, 201, 200);
      this.sendStatus(res, 201);
      return;
    }
    const capRefusal = pushCapRefusal(this.pushCap, capabilityOf(m.type), mode);
    if (capRefusal) {
      this.record(m, capRefusal, 200);
      this.sendStatus(res, capRefusal);
      return;
    }
    const verdict = stateVerdict(m.type, mode, this.activity);
    const rec = this.record(m, verdict, 200);
    this.sendStatus(res, verdict);
    if (verdict !== 200 && verdict !== 204) return;
    this.alerts += m.alert ?? 0;
    if (this.o.fetchContent === false) return;
    const job = this.fetchAndShow(m, mode, verdict === 204, rec).catch((e: unknown) => {
      rec.fetch = { status: 'failed', detail: errorMessage(e) };
      this.emit('fetch', rec);
    });
    this.pending.add(job);
    void job.finally(() => this.pending.delete(job));
  }

  private async fetchAndShow(
    m: PushMessage,
    mode: 'normal' | 'barge',
    background: boolean,
    rec: PushRecord,
  ): Promise<void> {
    let rtpSock: dgram.Socket | undefined;
    let url = m.href;
    const fields = new URLSearchParams();
    for (const p of m.postfields) fields.append(p.name, p.value);
    if (m.type === 'audio') {
      rtpSock = dgram.createSocket('udp4');
      await new Promise<void>((r) => rtpSock!.bind(0, this.host, r));
      const rtpLPort = rtpSock.address().port;
      url += `${url.includes('?') ? '&' : '?'}rtpLPort=${rtpLPort}`;
    }
    let content: ParsedContent;
    try {
      const res = await httpRequest({
        url,
        method: m.method === 'post' ? 'POST' : 'GET',
        headers: {
          'User-Agent': `AVAYA/${this.model} (Switchboard simulator)`,
          ...(m.method === 'post' ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(m.method === 'post' ? { body: fields.toString() } : {}),
        timeoutMs: this.o.fetchTimeoutMs ?? 5000,
        maxResponseBytes: 64 * 1024,
      });
      if (res.status !== 200) throw new Error(`content server answered HTTP ${res.status}`);
      content = parsePushContent(decodePushContentBody(res.body, headerValue(res.headers['content-type'])));
    } catch (e) {
      rtpSock?.close();
      throw e;
    }
    if (this.stopped) {
      rtpSock?.close();
      return;
    }
    this.apply(m, mode, background, content, rtpSock, rec);
    rec.fetch = rec.fetch ?? { status: 'ok' };
    this.emit('fetch', rec);
    this.emit('screen', this.screen);
  }

  private apply(
    m: PushMessage,
    mode: 'normal' | 'barge',
    background: boolean,
    c: ParsedContent,
    rtpSock: dgram.Socket | undefined,
    rec: PushRecord,
  ): void {
    switch (m.type) {
      case 'topline': {
        if (c.kind !== 'topline') throw new Error(`top line push fetched ${c.kind} content`);
        if (this.toplineTimer) this.clock.clearTimeout(this.toplineTimer);
        const now = this.clock.now();
        this.screen.topline = {
          // 312 characters (code points, as the hub counts them): never half an emoji.
          text: truncateChars(c.text, MAX_TOPLINE_CHARS),
          mode,
          shownAt: now,
          expiresAt: now + TOPLINE_TTL_MS,
        };
        this.toplineTimer = this.clock.setTimeout(() => {
          this.screen.topline = undefined;
          this.toplineTimer = undefined;
          this.emit('screen', this.screen);
        }, TOPLINE_TTL_MS);
        this.toplineTimer.unref?.();
        return;
      }
      case 'display': {
        if (c.kind !== 'wml') throw new Error(`display push fetched ${c.kind} content`);
        this.screen.display = {
          ...(c.title !== undefined ? { title: c.title } : {}),
          text: c.text,
          softkeys: c.softkeys,
          links: c.links,
          background,
          mode,
        };
        return;
      }
      case 'phonexml': {
        if (c.kind !== 'phonexml') throw new Error(`phonexml push fetched ${c.kind} content`);
        this.screen.phonexml = { root: c.root, text: c.text };
        return;
      }
      case 'subscribe': {
        if (c.kind !== 'subscribe') throw new Error(`subscribe push fetched ${c.kind} content`);
        if (c.type === 'all') this.subscribeAll('push');
        else if (c.href !== undefined && this.subscribeList.includes(c.href)) void this.subscribeOnce(c.href);
        else rec.fetch = { status: 'aborted', detail: 'subscribe "me" URL is not in SUBSCRIBELIST' };
        return;
      }
      case 'audio': {
        if (c.kind !== 'audio') {
          rtpSock?.close();
          throw new Error(`audio push fetched ${c.kind} content`);
        }
        this.startAudio(c, mode, rtpSock!, rec);
      }
    }
  }

  private startAudio(
    c: Extract<ParsedContent, { kind: 'audio' }>,
    mode: 'normal' | 'barge',
    rtpSock: dgram.Socket,
    rec: PushRecord,
  ): void {
    const url: ParsedRtpUrl = c.url;
    if (url.stop) {
      rtpSock.close();
      if (mode !== 'barge') {
        rec.fetch = { status: 'aborted', detail: 'RTPRx://STOP needs a barge push' };
        return;
      }
      this.endAudio('stopped');
      return;
    }
    const needs: PushCapabilityName =
      url.direction === 'tx' ? 'audio_transmit' : isMulticast(url.host) ? 'audio_multicast' : 'audio';
    if (!modelSupports(this.model, needs)) {
      rtpSock.close();
      rec.fetch = { status: 'aborted', detail: `an Avaya ${this.model} does not support ${needs}` };
      return;
    }
    if (url.direction === 'tx' && pushCapDigit(this.pushCap, 'transmit') < (mode === 'normal' ? 2 : 1)) {
      rtpSock.close();
      rec.fetch = { status: 'aborted', detail: 'PUSHCAP does not allow audio transmit' };
      return;
    }
    if (this.audio && this.audio.status !== 'ended') this.endAudio('replaced');
    const rtpLPort = rtpSock.address().port;
    const st: AudioState = {
      id: ++this.audioSeq,
      kind: url.direction === 'tx' ? 'transmit' : isMulticast(url.host) ? 'multicast' : 'unicast',
      codec: c.codec,
      packetSizeMs: c.packetSizeMs,
      audioTimerS: c.audioTimerS,
      rtpLPort,
      url: `RTP${url.direction === 'tx' ? 'Tx' : 'Rx'}://${url.host}:${url.port}`,
      ...(c.promptline !== undefined ? { promptline: c.promptline } : {}),
      mode,
      status: 'waiting',
      packets: 0,
      payloadBytes: 0,
      samples: 0,
      sequenceErrors: 0,
      timestampErrors: 0,
      payloadTypeErrors: 0,
      markers: 0,
      peak: 0,
      jitterMs: 0,
      maxGapMs: 0,
      farEndHeld: url.direction === 'rx' && this.activity.call === 'in_call',
    };
    this.audio = st;
    this.activity.audioPlaying = true;
    if (c.promptline !== undefined) this.screen.promptline = c.promptline;
    if (st.kind === 'transmit') {
      rtpSock.close();
      this.transmit(st, url.host, url.port);
      return;
    }
    let sock = rtpSock;
    if (st.kind === 'multicast') {
      rtpSock.close();
      sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
      sock.bind(url.port, url.host, () => {
        try {
          sock.addMembership(url.host, this.o.multicastInterface ?? '127.0.0.1');
        } catch (e) {
          this.emit('warning', `cannot join ${url.host}: ${errorMessage(e)}`);
        }
      });
    }
    this.audioSocket = sock;
    sock.on('error', () => {});
    const expectedPt = c.codec === 'PCMU' ? 0 : 8;
    const step = c.packetSizeMs * 8;
    let lastArrival: number | undefined;
    let lastRtpTs: number | undefined;
    sock.on('message', (msg) => {
      if (this.audio !== st || st.status === 'ended') return;
      let p: ReturnType<typeof parseRtp>;
      try {
        p = parseRtp(msg);
      } catch {
        return;
      }
      if (p.payloadType !== expectedPt) {
        st.payloadTypeErrors++;
        return;
      }
      if (st.lastSequence !== undefined) {
        if (p.sequence !== ((st.lastSequence + 1) & 0xffff)) st.sequenceErrors++;
      } else st.firstSequence = p.sequence;
      if (lastRtpTs !== undefined && (p.timestamp - lastRtpTs) >>> 0 !== step) st.timestampErrors++;
      const arrival = performance.now();
      if (lastArrival !== undefined && lastRtpTs !== undefined) {
        const gap = arrival - lastArrival;
        st.maxGapMs = Math.max(st.maxGapMs, gap);
        const d = Math.abs(gap - ((p.timestamp - lastRtpTs) >>> 0) / 8);
        st.jitterMs += (d - st.jitterMs) / 16;
      }
      lastArrival = arrival;
      lastRtpTs = p.timestamp;
      st.ssrc = p.ssrc;
      st.lastSequence = p.sequence;
      if (p.marker) st.markers++;
      st.packets++;
      st.payloadBytes += p.payload.length;
      const pcm = decodeG711(p.payload, c.codec);
      st.samples += pcm.length;
      for (const v of pcm) if (Math.abs(v) > st.peak) st.peak = Math.abs(v);
      st.status = 'playing';
      this.armAudioTimer(st);
      this.emit('rtp', st);
    });
    this.armAudioTimer(st);
  }

  private armAudioTimer(st: AudioState): void {
    if (this.audioTimer) this.clock.clearTimeout(this.audioTimer);
    this.audioTimer = this.clock.setTimeout(
      () => {
        if (this.audio === st) this.endAudio('timeout');
      },
      this.o.audioTimerMs ?? st.audioTimerS * 1000,
    );
    this.audioTimer.unref?.();
  }

  private transmit(st: AudioState, host: string, port: number): void {
    const ac = new AbortController();
    this.transmitAbort = ac;
    const seconds = this.o.transmitSeconds ?? 3;
    const tone = namedTone('beep', Math.max(1, Math.round(seconds / 0.3)));
    const packets = pcmToRtpPackets(tone, st.codec, st.packetSizeMs);
    st.status = 'playing';
    const job = sendRtpStream({
      host,
      port,
      packets,
      ptimeMs: st.packetSizeMs,
      bindAddress: this.host,
      signal: ac.signal,
    })
      .then((r) => {
        st.sentPackets = r.sent;
        if (this.audio === st) this.endAudio(r.aborted ? 'stopped' : 'transmitted');
      })
      .catch((e: unknown) => this.emit('warning', errorMessage(e)));
    this.pending.add(job);
    void job.finally(() => this.pending.delete(job));
  }

  private endAudio(reason: NonNullable<AudioState['endReason']>): void {
    if (this.audioTimer) this.clock.clearTimeout(this.audioTimer);
    this.audioTimer = undefined;
    this.transmitAbort?.abort();
    this.transmitAbort = undefined;
    const s = this.audioSocket;
    this.audioSocket = undefined;
    if (s) {
      try {
        s.close();
      } catch {
        /* already closed */
      }
    }
    if (this.audio && this.audio.status !== 'ended') {
      this.audio.status = 'ended';
      this.audio.endReason = reason;
      this.emit('audio-ended', this.audio);
    }
    this.activity.audioPlaying = false;
    this.screen.promptline = undefined;
  }

  // ---- subscription ----------------------------------------------------------------------------

  private subscribeAll(why: 'boot' | 'push'): void {
    for (const url of this.subscribeList) {
      const attempt = (n: number) => {
        const job = this.subscribeOnce(url).then((ok) => {
          if (ok || why !== 'boot' || this.stopped) return;
          const r = this.o.subscribeRetry ?? { intervalMs: 20 * 60_000, attempts: 5 };
          if (n >= r.attempts) return;
          const t = this.clock.setTimeout(() => {
            this.retryTimers.delete(t);
            attempt(n + 1);
          }, r.intervalMs);
          t.unref?.();
          this.retryTimers.add(t);
        });
        this.pending.add(job);
        void job.finally(() => this.pending.delete(job));
      };
      attempt(0);
    }
  }

  private async subscribeOnce(url: string): Promise<boolean> {
    const s = this.subscriptions.get(url) ?? { ok: false, attempts: 0 };
    this.subscriptions.set(url, s);
    s.attempts++;
    const q = buildSubscriptionQuery(
      {
        mac: this.mac,
        extension: this.extension,
        ip: this.host,
        setId: this.setId,
        ...((this.o.reportPushPort ?? true) ? { pushPort: this.port } : {}),
      },
      this.o.subscribeSeparator ?? '&',
    );
    try {
      const res = await httpRequest({
        url: `${url}${url.includes('?') ? '&' : '?'}${q}`,
        timeoutMs: this.o.fetchTimeoutMs ?? 5000,
        maxResponseBytes: 16 * 1024,
      });
      s.lastStatus = res.status;
      s.ok = res.status === 200;
      delete s.lastError;
    } catch (e) {
      s.ok = false;
      s.lastError = errorMessage(e);
    }
    this.emit('subscription', { url, ...s });
    return s.ok;
  }

  // ---- the user ------------------------------------------------------------------------------------

  /** Numbers the user called from the phone (a click-to-dial softkey or link). */
  readonly dialled: string[] = [];

  /**
   * The user presses a softkey of the page on screen (by label): a WTAI `wtai://wp/mc;<n>` key places a call
   * (recorded in `dialled`, the phone goes in call); an http(s) key is fetched by the browser and its WML
   * replaces the page. Resolves with what happened.
   */
  async pressSoftkey(label: string): Promise<'dialled' | 'shown' | 'failed'> {
    const key = this.screen.display?.softkeys.find((k) => k.label.toLowerCase() === label.toLowerCase());
    if (!key) throw new Error(`phone ${this.id}: no softkey ${JSON.stringify(label)} on screen`);
    const dial = /^wtai:\/\/wp\/mc;([0-9*#+]{1,32})$/i.exec(key.href);
    if (dial) {
      this.dialled.push(dial[1]!);
      if (this.dialled.length > 100) this.dialled.shift();
      this.setActivity({ call: 'in_call' });
      this.emit('screen', this.screen);
      return 'dialled';
    }
    try {
      const res = await httpRequest({
        url: key.href,
        headers: { 'User-Agent': `AVAYA/${this.model} (Switchboard simulator)` },
        timeoutMs: this.o.fetchTimeoutMs ?? 5000,
        maxResponseBytes: 64 * 1024,
      });
      if (res.status !== 200) return 'failed';
      const c = parsePushContent(res.text());
      if (c.kind !== 'wml') return 'failed';
      this.screen.display = {
        ...(c.title !== undefined ? { title: c.title } : {}),
        text: c.text,
        softkeys: c.softkeys,
        links: c.links,
        background: false,
        mode: 'normal',
      };
      this.emit('screen', this.screen);
      return 'shown';
    } catch {
      return 'failed';
    }
  }

  /** The user leaves the browser (Exit / Home key): the page is gone from the screen, the top line stays. */
  exitBrowser(): void {
    this.screen.display = undefined;
    this.emit('screen', this.screen);
  }

  /**
   * What the screen shows, as text: the top line (long text in the parts it alternates between, [inferred]
   * `topLineChars` per part), then the browser page (title, text, soft keys as `[Ack] [Call back]`).
   */
  screenText(topLineChars = 40): string {
    const rows: string[] = [];
    const t = this.screen.topline;
    if (t) {
      const parts: string[] = [];
      for (let i = 0; i < t.text.length; i += topLineChars) parts.push(t.text.slice(i, i + topLineChars));
      for (const [i, p] of parts.entries()) rows.push(`top line ${i + 1}/${parts.length}: ${p}`);
    } else rows.push('top line: (none)');
    const d = this.screen.display;
    if (d) {
      rows.push(`== ${d.title ?? ''} ==`, ...d.text.split('\n'));
      if (d.links.length) rows.push(...d.links.map((l) => `<${l.label}>`));
      rows.push(d.softkeys.map((k) => `[${k.label}]`).join(' '));
    } else rows.push('(idle screen)');
    return rows.join('\n');
  }

  // ---- inspection ------------------------------------------------------------------------------

  state(): PhoneStateJson {
    const byStatus: Record<string, number> = {};
    for (const h of this.history) byStatus[h.pushStatus] = (byStatus[h.pushStatus] ?? 0) + 1;
    return {
      id: this.id,
      model: this.model,
      extension: this.extension,
      mac: this.mac,
      address: this.address,
      listening: this.listening,
      registered: this.registered,
      activity: { ...this.activity },
      screen: structuredClone(this.screen),
      ...(this.audio ? { audio: { ...this.audio } } : {}),
      alerts: this.alerts,
      pushes: { total: this.history.length, byStatus },
      subscriptions: [...this.subscriptions].map(([url, s]) => ({ url, ...s })),
      connections: { total: this.connTotal, maxConcurrent: this.maxConcurrent },
    };
  }

  /** Resolves when `pred` holds after one of the phone's events (or now); rejects after `timeoutMs`. */
  waitFor(pred: (p: SimPhone) => boolean, timeoutMs = 5000): Promise<void> {
    if (pred(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const events = ['push', 'fetch', 'screen', 'rtp', 'audio-ended', 'subscription'];
      const check = () => {
        if (pred(this)) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`phone ${this.id}: condition not met within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        for (const e of events) this.off(e, check);
      };
      for (const e of events) this.on(e, check);
    });
  }
}
