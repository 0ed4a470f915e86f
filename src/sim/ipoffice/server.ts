import { randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { encodeFrame, FrameDecoder } from '../../drivers/ipoffice/frame.js';
import {
  cmExtnExtendedTuple,
  decodePacket,
  encodePacket,
  KNOWN_FLAGS,
  type Packet,
  paddedPassword,
  Result,
  sha1ChallengeResponse,
  splitFlags,
  type Tuple,
  TupleCode,
  unicodeTuple,
  utf8Tuple,
} from '../../drivers/ipoffice/packets.js';
import { type Delta3Record, parseDelta3 } from '../../drivers/ipoffice/records.js';
import { formatUserList } from '../../drivers/ipoffice/users.js';
import { renderStep, type Scenario, type ScenarioStep, type TemplateContext } from './scenario.js';
import { SimSmdr, type SimSmdrOptions } from './smdr.js';

/**
 * An IP Office DevLink3 simulator: a real TCP (and optionally TLS) server speaking the protocol byte for
 * byte (seed 004): Test replies, SHA1 (or PLAIN over TLS) authentication with random challenges and a
 * lockout after repeated failures, the 3-connection limit, event flags with partial success, a snapshot
 * of calls in progress after the event request, a per-node event counter, ReadFile with a generated user
 * list, scripted scenarios and fault injection.
 */
export interface SimUser {
  name: string;
  extension: string;
  fullName: string;
}

export interface SimFaults {
  /** Write every frame in chunks of at most this many octets (separate socket writes). */
  splitWrites?: number;
  /** Hold frames and write them together (coalesced) every `coalesceMs`. */
  coalesceMs?: number;
  /** Add a 33 KB unknown tuple to every event so frames use the 3-octet length form. */
  largeFrames?: boolean;
  /** Corrupt the length of the next frame written (the client must drop the link). */
  wrongLengthOnce?: boolean;
  /** Delay every response (not events) by this many ms. */
  slowMs?: number;
  /** Answer the next Test with STREAM_INTEGRITY_LOST. */
  streamErrorOnce?: boolean;
  /** Skip this many counter values once (a gap the client must detect). */
  skipCounter?: number;
}

export interface SimulatorOptions {
  host?: string;
  /** TCP port (50797 on a real IP Office); 0 = ephemeral; null = no TCP listener. */
  port?: number | null;
  /** TLS port (50796 on a real IP Office); needs `tls`. */
  tlsPort?: number;
  tls?: tls.TlsOptions;
  /** Service users: name → password. */
  credentials?: Record<string, string>;
  /** Originating PBX address (node id = its hex form). */
  pbxIp?: string;
  pbxType?: string;
  variant?: string;
  maxConnections?: number;
  /** Failed authentications (per user name) before lockout. */
  lockoutThreshold?: number;
  lockoutMs?: number;
  /** Over TLS, send a PLAIN challenge instead of SHA1. */
  plainChallengeOnTls?: boolean;
  /** LICENCE MISSING for every authentication. */
  licenceMissing?: boolean;
  /** Refuse the -SCN flag (1 CTI-PRO licence). Default true. */
  scnLicensed?: boolean;
  users?: SimUser[];
  files?: Record<string, string | Buffer>;
  faults?: SimFaults;
  now?: () => number;
  /** Send SMDR records of the calls played to this collector (IP Office "send mode"). */
  smdr?: Omit<SimSmdrOptions, 'pbxIp' | 'names' | 'now'>;
}

interface Conn {
  socket: net.Socket;
  decoder: FrameDecoder;
  tls: boolean;
  authenticated: boolean;
  authFailed: boolean;
  username: string | undefined;
  challenge: Buffer | undefined;
  plain: boolean;
  subscribed: boolean;
  /** An event request was accepted and its snapshot is on the way (the slow fault delays it). */
  subscribing: boolean;
  flags: Set<string>;
  counters: Map<string, number>;
  queue: Buffer[];
  pumping: boolean;
}

interface LiveCall {
  text: string;
  ends: Set<string>;
  connected: boolean;
}

export const DEFAULT_USERS: SimUser[] = [
  { name: 'Alice', extension: '4001', fullName: 'Alice Able' },
  { name: 'Bob', extension: '4002', fullName: 'Bob Baker' },
  { name: 'Carol', extension: '4003', fullName: 'Carol Clark' },
  { name: 'Dan', extension: '4004', fullName: 'Dan Dunn' },
  { name: 'Erin', extension: '4005', fullName: 'Erin Evans' },
];

export class Devlink3Simulator {
  readonly opts: Required<Omit<SimulatorOptions, 'tls' | 'tlsPort' | 'port' | 'smdr'>> &
    Pick<SimulatorOptions, 'tls' | 'tlsPort' | 'port'>;
  private tcpServer: net.Server | undefined;
  private tlsServer: tls.Server | undefined;
  private readonly conns = new Set<Conn>();
  private readonly failures = new Map<string, { count: number; until: number }>();
  private readonly calls = new Map<string, LiveCall>();
  private readonly endIndex = new Map<string, string>();
  private nextCallId = 1000;
  private nextEnd = 0x1000;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private stopped = false;
  /** Counts for tests and the CLI. */
  readonly stats = {
    connections: 0,
    authFailures: 0,
    eventsSent: 0,
    refusedConnections: 0,
    /** Date.now() when the last bytes were handed to a socket (what a bench measures from). */
    lastWriteAt: 0,
  };
  faults: SimFaults;
  /** The SMDR output (when `smdr` is configured). */
  smdr: SimSmdr | undefined;

  /** Sends SMDR records of the calls played from now on to `o.host:o.port` (replaces an earlier target). */
  enableSmdr(o: Omit<SimSmdrOptions, 'pbxIp' | 'names' | 'now'>): SimSmdr {
    this.smdr?.stop();
    this.smdr = new SimSmdr({
      ...o,
      pbxIp: this.opts.pbxIp,
      names: new Map(this.opts.users.map((u) => [u.extension, u.fullName])),
      now: () => this.opts.now(),
    });
    return this.smdr;
  }

  constructor(opts: SimulatorOptions = {}) {
    this.opts = {
      host: opts.host ?? '127.0.0.1',
      port: opts.port === undefined ? 0 : opts.port,
      tlsPort: opts.tlsPort,
      tls: opts.tls,
      credentials: opts.credentials ?? { devlink: 'devlink' },
      pbxIp: opts.pbxIp ?? '192.168.42.3',
      pbxType: opts.pbxType ?? 'Avaya IP500v2 12.3.0.0.0 build 1 (Switchboard simulator)',
      variant: opts.variant ?? 'Standard 1.0',
      maxConnections: opts.maxConnections ?? 3,
      lockoutThreshold: opts.lockoutThreshold ?? 3,
      lockoutMs: opts.lockoutMs ?? 60_000,
      plainChallengeOnTls: opts.plainChallengeOnTls ?? false,
      licenceMissing: opts.licenceMissing ?? false,
      scnLicensed: opts.scnLicensed ?? true,
      users: opts.users ?? DEFAULT_USERS,
      files: opts.files ?? {},
      faults: opts.faults ?? {},
      now: opts.now ?? Date.now,
    };
    this.faults = { ...this.opts.faults };
    if (opts.smdr) this.enableSmdr(opts.smdr);
  }

  /** Node id as it appears in Delta3 records: the PBX address in hex. */
  get nodeId(): string {
    return this.opts.pbxIp
      .split('.')
      .map((x) => Number(x).toString(16).padStart(2, '0'))
      .join('');
  }

  get port(): number {
    const a = this.tcpServer?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }
  get tlsPort(): number {
    const a = this.tlsServer?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }
  get connectionCount(): number {
    return this.conns.size;
  }
  get subscriberCount(): number {
    return [...this.conns].filter((c) => c.subscribed).length;
  }
  get liveCallCount(): number {
    return this.calls.size;
  }

  async start(): Promise<this> {
    if (this.opts.port !== null) {
      this.tcpServer = net.createServer((s) => this.accept(s, false));
      await listen(this.tcpServer, this.opts.port ?? 0, this.opts.host);
    }
    if (this.opts.tls && this.opts.tlsPort !== undefined) {
      this.tlsServer = tls.createServer(this.opts.tls, (s) => this.accept(s, true));
      this.tlsServer.on('tlsClientError', () => {});
      await listen(this.tlsServer, this.opts.tlsPort, this.opts.host);
    }
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.smdr?.stop();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.dropAll();
    await Promise.all([close(this.tcpServer), close(this.tlsServer)]);
  }

  /** Abruptly closes every connection (fault: link dropped). */
  dropAll(): void {
    for (const c of this.conns) c.socket.destroy();
    this.conns.clear();
  }

  /** Clears the lockout state. */
  resetLockout(): void {
    this.failures.clear();
  }

  setFaults(f: SimFaults): void {
    this.faults = { ...this.faults, ...f };
  }

  // -------------------------------------------------------------------------------------------------------
  // Events

  /** Sends one scenario step (already rendered) to every subscribed connection. */
  emitStep(step: ScenarioStep): void {
    if (step.delta3 !== undefined) this.emitDelta3(step.delta3);
    else if (step.delta2 !== undefined)
      this.broadcast((c) =>
        c.flags.has('-CD2') ? [this.unicode(c, TupleCode.CallDelta2, step.delta2!)] : null,
      );
    else if (step.siptrack !== undefined)
      this.broadcast((c) =>
        c.flags.has('-SIPTrack') ? [this.unicode(c, TupleCode.SipTrack, step.siptrack!)] : null,
      );
    else if (step.cmextn !== undefined)
      this.broadcast((c) =>
        c.flags.has('-CMExtn') ? [this.unicode(c, TupleCode.CmExtn, step.cmextn!)] : null,
      );
    else if (step.cmextn_state !== undefined) {
      const s = step.cmextn_state;
      this.broadcast((c) =>
        c.flags.has('-CMExtn') ? [cmExtnExtendedTuple(s.v, s.p1, s.p2, s.text, c.flags.has('-TEXT'))] : null,
      );
    }
  }

  /** Sends a Delta3 record and updates the calls-in-progress model used for snapshots. */
  emitDelta3(text: string): void {
    let rec: Delta3Record | undefined;
    try {
      rec = parseDelta3(text);
    } catch {
      rec = undefined; // malformed on purpose (fault scenario): still sent, not modelled
    }
    if (rec) this.smdr?.observe(rec);
    let key: string | undefined;
    let wasConnected = false;
    if (rec?.type === 'Detail') {
      key = `${rec.call.nodeId}:${rec.call.callId}`;
      const prev = this.calls.get(key);
      wasConnected = prev?.connected ?? false;
      const ends = new Set([rec.partyA.endId, ...(rec.partyB ? [rec.partyB.endId] : [])]);
      for (const e of prev?.ends ?? [])
        if (!ends.has(e) && this.endIndex.get(e) === key) this.endIndex.delete(e);
      for (const e of ends) {
        const other = this.endIndex.get(e);
        if (other && other !== key) {
          const oc = this.calls.get(other);
          oc?.ends.delete(e);
          if (oc && oc.ends.size === 0) this.calls.delete(other);
        }
        this.endIndex.set(e, key);
      }
      const connected = wasConnected || rec.partyB?.state === 2;
      this.calls.set(key, { text, ends, connected });
      wasConnected = connected;
    } else if (rec?.type === 'CallLost' || rec?.type === 'LinkLost') {
      key = this.endIndex.get(rec.endId);
      this.endIndex.delete(rec.endId);
      const c = key === undefined ? undefined : this.calls.get(key);
      wasConnected = c?.connected ?? false;
      if (c) {
        c.ends.delete(rec.endId);
        if (c.ends.size === 0) this.calls.delete(key!);
      }
    } else wasConnected = true;
    this.broadcast((c) => {
      if (c.flags.has('-CD2')) return null;
      if (c.flags.has('-CONN') && !wasConnected) return null;
      return [utf8Tuple(TupleCode.CallDelta3, text)];
    });
  }

  private unicode(c: Conn, code: number, s: string): Tuple {
    return c.flags.has('-TEXT') ? utf8Tuple(code, s) : unicodeTuple(code, s);
  }

  private broadcast(build: (c: Conn) => Tuple[] | null): void {
    for (const c of this.conns) {
      if (!c.subscribed) continue;
      const t = build(c);
      if (t) this.sendEvent(c, t);
    }
  }

  private sendEvent(c: Conn, tuples: Tuple[]): void {
    const node = this.opts.pbxIp;
    let n = ((c.counters.get(node) ?? 0) + 1) >>> 0;
    if (this.faults.skipCounter) {
      n = (n + this.faults.skipCounter) >>> 0;
      this.faults.skipCounter = 0;
    }
    c.counters.set(node, n);
    const all = this.faults.largeFrames
      ? [...tuples, { code: 0x00769999, data: Buffer.alloc(33 * 1024, 0x20) }]
      : tuples;
    this.stats.eventsSent++;
    this.write(c, { type: 'event', pbxIp: node, counter: n, tuples: all });
  }

  // -------------------------------------------------------------------------------------------------------
  // Scenarios

  private ctx(vars: Record<string, string>): TemplateContext {
    return {
      node: this.nodeId,
      vars,
      newCallId: () => this.nextCallId++,
      newEndSuffix: () => this.nextEnd++,
      now: this.opts.now,
    };
  }

  /** Plays a scenario (placeholders filled with fresh ids); resolves after the last step. */
  async play(
    s: Scenario,
    vars: Record<string, string> = {},
    opts: { speed?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const ctx = this.ctx({ ...(s.vars ?? {}), ...vars });
    const ids = new Map<string, string>();
    const speed = opts.speed ?? 1;
    for (const step of s.steps) {
      if (this.stopped || opts.signal?.aborted) return;
      const d = Math.round((step.delay_ms ?? 0) / speed);
      if (d > 0) await this.sleep(d);
      this.emitStep(render(step, ctx, ids));
    }
  }

  /** Sends every step of a scenario at once (no delays): for benchmarks and snapshots. */
  playSync(s: Scenario, vars: Record<string, string> = {}): void {
    const ctx = this.ctx({ ...(s.vars ?? {}), ...vars });
    const ids = new Map<string, string>();
    for (const step of s.steps) this.emitStep(render(step, ctx, ids));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // Connections

  private accept(socket: net.Socket, isTls: boolean): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    this.stats.connections++;
    const c: Conn = {
      socket,
      decoder: new FrameDecoder({ maxFrame: 64 * 1024 }),
      tls: isTls,
      authenticated: false,
      authFailed: false,
      username: undefined,
      challenge: undefined,
      plain: false,
      subscribed: false,
      subscribing: false,
      flags: new Set(),
      counters: new Map(),
      queue: [],
      pumping: false,
    };
    this.conns.add(c);
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      let frames: Buffer[];
      try {
        frames = c.decoder.push(chunk);
      } catch {
        socket.destroy(); // bad framing: IP Office drops the stream
        return;
      }
      for (const f of frames) {
        let p: Packet;
        try {
          p = decodePacket(f);
        } catch {
          socket.destroy();
          return;
        }
        this.handle(c, p);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => this.conns.delete(c));
  }

  private reply(c: Conn, p: Packet): void {
    const slow = this.faults.slowMs ?? 0;
    if (slow > 0) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.write(c, p);
      }, slow);
      this.timers.add(t);
    } else this.write(c, p);
  }

  private write(c: Conn, p: Packet): void {
    if (c.socket.destroyed) return;
    let frame = encodeFrame(encodePacket(p));
    if (this.faults.wrongLengthOnce) {
      this.faults.wrongLengthOnce = false;
      frame = Buffer.from(frame);
      frame[1] = 0;
      frame[2] = 1; // impossible length (1 < header)
    }
    const split = this.faults.splitWrites;
    if (split && split > 0)
      for (let i = 0; i < frame.length; i += split) c.queue.push(frame.subarray(i, i + split));
    else c.queue.push(frame);
    this.pump(c);
  }

  private pump(c: Conn): void {
    if (c.pumping) return;
    c.pumping = true;
    const delay = this.faults.coalesceMs ?? 0;
    const run = () => {
      c.pumping = false;
      if (c.socket.destroyed || c.queue.length === 0) return;
      if (this.faults.splitWrites) {
        c.socket.write(c.queue.shift()!);
        if (c.queue.length > 0) {
          c.pumping = true;
          const t = setTimeout(() => {
            this.timers.delete(t);
            run();
          }, 1);
          this.timers.add(t);
        }
        return;
      }
      const all = c.queue.length === 1 ? c.queue[0]! : Buffer.concat(c.queue);
      c.queue = [];
      this.stats.lastWriteAt = Date.now();
      c.socket.write(all);
    };
    if (delay > 0) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        run();
      }, delay);
      this.timers.add(t);
    } else setImmediate(run);
  }

  /** Connections monitoring events (subscribed, or with an event request being answered). */
  private monitoringCount(): number {
    let n = 0;
    for (const c of this.conns) if (c.subscribed || c.subscribing) n++;
    return n;
  }

  private handle(c: Conn, p: Packet): void {
    switch (p.type) {
      case 'test': {
        if (p.requestId === 0) return;
        let result: number = Result.SUCCESS;
        if (this.faults.streamErrorOnce) {
          this.faults.streamErrorOnce = false;
          result = Result.STREAM_INTEGRITY_LOST;
        } else if (c.authFailed) result = Result.STREAM_AUTHENTICATION_FAILED;
        else if (p.payload.length > 1000) result = Result.PAYLOAD_TOO_LONG;
        this.reply(c, {
          type: 'testResponse',
          requestId: p.requestId,
          result,
          payload: result === Result.SUCCESS ? p.payload : Buffer.alloc(0),
        });
        return;
      }
      case 'authRequest': {
        c.username = p.username;
        if (c.tls && this.opts.plainChallengeOnTls) {
          c.plain = true;
          this.reply(c, { type: 'authPlainChallenge', requestId: p.requestId });
          return;
        }
        c.challenge = randomBytes(16);
        this.reply(c, { type: 'authChallenge', requestId: p.requestId, challenge: c.challenge });
        return;
      }
      case 'authChallengeResponse':
      case 'authPlainResponse': {
        const user = c.username ?? '';
        const pw = this.opts.credentials[user];
        let ok = false;
        if (pw !== undefined) {
          if (p.type === 'authChallengeResponse' && c.challenge) {
            const want = sha1ChallengeResponse(c.challenge, pw);
            ok = p.response.length === want.length && timingSafeEqual(p.response, want);
          } else if (p.type === 'authPlainResponse' && c.plain && c.tls) {
            const want = paddedPassword(pw, 32);
            ok = p.password.length === 32 && timingSafeEqual(p.password, want);
          }
        }
        c.challenge = undefined;
        const now = this.opts.now();
        const f = this.failures.get(user);
        const locked = f !== undefined && f.count >= this.opts.lockoutThreshold && now < f.until;
        if (!ok || locked) {
          this.stats.authFailures++;
          const cur = f && now < f.until ? f : { count: 0, until: 0 };
          cur.count++;
          cur.until = now + this.opts.lockoutMs;
          this.failures.set(user, cur);
          c.authFailed = true;
          this.reply(c, {
            type: 'authResult',
            requestId: p.requestId,
            result: Result.AUTHENTICATION_FAILED,
            tuples: [],
          });
          return;
        }
        this.failures.delete(user);
        if (this.opts.licenceMissing) {
          this.reply(c, {
            type: 'authResult',
            requestId: p.requestId,
            result: Result.LICENCE_MISSING,
            tuples: [],
          });
          return;
        }
        c.authenticated = true;
        this.reply(c, {
          type: 'authResult',
          requestId: p.requestId,
          result: Result.SUCCESS,
          tuples: [
            utf8Tuple(TupleCode.PbxTypeVersion, this.opts.pbxType),
            utf8Tuple(TupleCode.DevlinkVariant, this.opts.variant),
          ],
        });
        return;
      }
      case 'eventRequest': {
        if (!c.authenticated) {
          c.socket.destroy();
          return;
        }
        // Seed 004 §7: "When monitoring events, a maximum of 3xDevLink3 connections are allowed": the
        // limit applies here, not at authentication, so file-reading connections are not counted.
        if (!c.subscribed && this.monitoringCount() >= this.opts.maxConnections) {
          this.stats.refusedConnections++;
          this.reply(c, {
            type: 'eventResponse',
            requestId: p.requestId,
            result: Result.LIMITS_EXCEEDED,
            flags: '',
          });
          return;
        }
        const asked = splitFlags(p.flags);
        const accepted: string[] = [];
        for (const f of asked) {
          if (!(KNOWN_FLAGS as readonly string[]).includes(f)) continue;
          if (f === '-SCN' && (!this.opts.scnLicensed || asked.includes('-CD2'))) continue;
          accepted.push(f);
        }
        let result: number = Result.SUCCESS;
        if (asked.length > 0 && accepted.length === 0) {
          result = asked.some((f) => !(KNOWN_FLAGS as readonly string[]).includes(f))
            ? Result.UNKNOWN_FLAG
            : Result.INSUFFICIENT_LICENCE;
        } else if (accepted.length < asked.length) result = Result.PARTIAL_SUCCESS;
        this.reply(c, { type: 'eventResponse', requestId: p.requestId, result, flags: accepted.join(' ') });
        if (result !== Result.SUCCESS && result !== Result.PARTIAL_SUCCESS) return;
        c.subscribing = true;
        const start = () => {
          c.subscribing = false;
          c.flags = new Set(accepted);
          c.subscribed = true;
          // Snapshot: a Delta3 record for each eligible call in progress (seed §6.4.2).
          if (!c.flags.has('-CD2')) {
            for (const call of this.calls.values()) {
              if (c.flags.has('-CONN') && !call.connected) continue;
              this.sendEvent(c, [utf8Tuple(TupleCode.CallDelta3, call.text)]);
            }
          }
        };
        const slow = this.faults.slowMs ?? 0;
        if (slow > 0) {
          const t = setTimeout(() => {
            this.timers.delete(t);
            start();
          }, slow);
          this.timers.add(t);
        } else start();
        return;
      }
      case 'readFile': {
        if (!c.authenticated) {
          c.socket.destroy();
          return;
        }
        const name = p.filename;
        let content: Buffer | undefined;
        if (name === 'nasystem/user_list') {
          content = Buffer.from(
            formatUserList(this.opts.users.map((u, i) => ({ ...u, userId: String(i + 1) }))),
            'utf8',
          );
        } else if (name in this.opts.files) {
          const v = this.opts.files[name]!;
          content = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
        }
        this.reply(c, {
          type: 'readFileResponse',
          requestId: p.requestId,
          result: content ? Result.SUCCESS : Result.NOT_FOUND,
          contents: content ?? Buffer.alloc(0),
        });
        return;
      }
      default:
        // Responses and events are never sent by a client: the stream is broken.
        c.socket.destroy();
    }
  }
}

function render(step: ScenarioStep, ctx: TemplateContext, ids: Map<string, string>): ScenarioStep {
  const r = (s: string) => renderStep(s, ctx, ids);
  if (step.delta3 !== undefined) return { delta3: r(step.delta3) };
  if (step.delta2 !== undefined) return { delta2: r(step.delta2) };
  if (step.siptrack !== undefined) return { siptrack: r(step.siptrack) };
  if (step.cmextn !== undefined) return { cmextn: r(step.cmextn) };
  if (step.cmextn_state !== undefined)
    return { cmextn_state: { ...step.cmextn_state, text: r(step.cmextn_state.text) } };
  return {};
}

function listen(s: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, host, () => {
      s.off('error', reject);
      resolve();
    });
  });
}

function close(s: net.Server | undefined): Promise<void> {
  if (!s) return Promise.resolve();
  return new Promise((resolve) => s.close(() => resolve()));
}
