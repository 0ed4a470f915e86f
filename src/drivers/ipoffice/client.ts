import { type Clock, sleep, systemClock, type TimerHandle } from '../../core/clock.js';
import { errorMessage, isSwitchboardError } from '../../core/errors.js';
import { backoffDelay } from '../../core/retry.js';
import {
  type AuthOutcome,
  type ConnectionOptions,
  Devlink3Connection,
  readFile,
  refusal,
} from './connection.js';
import {
  Devlink3AuthError,
  Devlink3ProtocolError,
  Devlink3RefusedError,
  Devlink3TimeoutError,
} from './errors.js';
import { type PacketOf, Result, resultName, splitFlags } from './packets.js';

/**
 * The DevLink3 client: connects (TCP or TLS), authenticates, sends the event request with the configured
 * flags, keeps the link alive with Test packets and reconnects with capped exponential backoff and jitter.
 *
 * - AUTHENTICATION FAILED stops auto-reconnect until `reconfigure()` (IP Office locks out repeated
 *   failures, even across reconnections).
 * - LIMITS EXCEEDED and RETRY LATER back off; LICENCE MISSING and a refused event request stop with a
 *   clear error.
 * - A missed keepalive reply, STREAM_INTEGRITY_LOST or STREAM_AUTHENTICATION_FAILED closes and reconnects.
 */
export type LinkState = 'connecting' | 'up' | 'down' | 'auth-failed' | 'stopped';

export interface LinkInfo {
  state: LinkState;
  host: string;
  port: number;
  tls: boolean;
  reason?: string;
  code?: string;
  /** The client will not reconnect by itself (auth failure, missing licence, refused flags). */
  fatal?: boolean;
  pbxType?: string;
  variant?: string;
  authMethod?: 'sha1' | 'plain';
  requestedFlags?: string[];
  acceptedFlags?: string[];
  refusedFlags?: string[];
  partial?: boolean;
  attempt?: number;
  retryInMs?: number;
}

/** Default Test packet interval (see ClientOptions.keepaliveMs). */
export const DEFAULT_KEEPALIVE_MS = 5_000;

export interface ClientOptions extends ConnectionOptions {
  /** Event flags (`-SCN -CMExtn` or an array). */
  flags?: string | string[];
  /**
   * Test packet interval; 0 disables. Default 5 s: a link that dies without closing its socket (cable
   * pulled, PBX frozen) is seen down within keepaliveMs + its reply timeout (at most keepaliveMs), 10 s by
   * default, as the 911 supervision requires.
   */
  keepaliveMs?: number;
  /** Backoff between reconnects; `false` disables reconnecting. */
  reconnect?: { initialMs?: number; maxMs?: number; jitter?: number } | false;
  random?: () => number;
}

export class Devlink3Client {
  private opts: ClientOptions;
  private running = false;
  private conn: Devlink3Connection | undefined;
  private loop: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private keepalive: TimerHandle | undefined;
  private attempt = 0;
  private up = false;
  private early: Array<PacketOf<'event'>> = [];
  private _info: LinkInfo;
  private readonly clock: Clock;
  private readonly linkListeners = new Set<(i: LinkInfo) => void>();
  private readonly eventListeners = new Set<(p: PacketOf<'event'>, textMode: boolean) => void>();

  constructor(opts: ClientOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this._info = this.base('stopped');
  }

  get info(): LinkInfo {
    return this._info;
  }
  get state(): LinkState {
    return this._info.state;
  }
  get requestedFlags(): string[] {
    const f = this.opts.flags ?? [];
    return Array.isArray(f) ? f.flatMap((x) => splitFlags(x)) : splitFlags(f);
  }
  /** -TEXT accepted: Unicode tuples arrive as UTF-8. */
  get textMode(): boolean {
    return (this._info.acceptedFlags ?? []).includes('-TEXT');
  }

  onLink(cb: (i: LinkInfo) => void): () => void {
    this.linkListeners.add(cb);
    return () => this.linkListeners.delete(cb);
  }
  onEvent(cb: (p: PacketOf<'event'>, textMode: boolean) => void): () => void {
    this.eventListeners.add(cb);
    return () => this.eventListeners.delete(cb);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    this.abort = new AbortController();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort?.abort(new Error('stopped'));
    this.conn?.close();
    await this.loop?.catch(() => {});
    this.loop = undefined;
    if (this._info.state !== 'auth-failed' && !this._info.fatal) this.setLink(this.base('stopped'));
  }

  /** New settings (e.g. a corrected password): clears an auth-failure stop and reconnects. */
  async reconfigure(opts: ClientOptions): Promise<void> {
    await this.stop();
    this.opts = opts;
    this.start();
  }

  /** ReadFile on a separate short-lived connection (counts towards the PBX's 3-connection limit). */
  readFile(filename: string): Promise<Buffer> {
    return readFile(this.opts, filename);
  }

  private base(state: LinkState): LinkInfo {
    const tls = this.opts.tls !== undefined && this.opts.tls !== false;
    return { state, host: this.opts.host, port: this.opts.port ?? (tls ? 50796 : 50797), tls };
  }

  private setLink(i: LinkInfo): void {
    this._info = i;
    for (const l of this.linkListeners) l(i);
  }

  private deliver(p: PacketOf<'event'>): void {
    if (!this.up) {
      // Frames after the event response can be decoded before our continuation runs: hold them so that
      // listeners always see `up` (and start their resync) before the snapshot.
      if (this.early.length < 100_000) this.early.push(p);
      return;
    }
    for (const l of this.eventListeners) l(p, this.textMode);
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.setLink({ ...this.base('connecting'), attempt: this.attempt });
      const conn = new Devlink3Connection(this.opts);
      this.conn = conn;
      this.up = false;
      this.early = [];
      const closed = new Promise<Error | undefined>((resolve) => {
        conn.onClose = resolve;
      });
      conn.onEvent = (p) => this.deliver(p);
      try {
        await conn.connect();
        const auth = await conn.authenticate();
        await this.subscribe(conn, auth);
        const err = await closed;
        this.stopKeepalive();
        this.up = false;
        if (!this.running) break;
        this.setLink({
          ...this.base('down'),
          reason: err ? errorMessage(err) : 'connection closed by the PBX',
          ...(err && isSwitchboardError(err) ? { code: err.code } : {}),
        });
      } catch (e) {
        this.stopKeepalive();
        this.up = false;
        conn.close();
        if (!this.running) break;
        const code = isSwitchboardError(e) ? e.code : 'DEVLINK3_CONNECT_FAILED';
        if (e instanceof Devlink3AuthError) {
          this.running = false;
          this.setLink({ ...this.base('auth-failed'), reason: errorMessage(e), code, fatal: true });
          break;
        }
        if (
          isSwitchboardError(e) &&
          !e.retryable &&
          !(e instanceof Devlink3TimeoutError) &&
          !(e instanceof Devlink3ProtocolError)
        ) {
          this.running = false;
          this.setLink({ ...this.base('down'), reason: errorMessage(e), code, fatal: true });
          break;
        }
        this.setLink({ ...this.base('down'), reason: errorMessage(e), code });
      }
      if (!this.running || this.opts.reconnect === false) {
        this.running = false;
        break;
      }
      const r = this.opts.reconnect ?? {};
      const delay = backoffDelay(this.attempt++, {
        initialMs: r.initialMs ?? 1000,
        maxMs: r.maxMs ?? 60_000,
        jitter: r.jitter ?? 0.5,
        ...(this.opts.random ? { random: this.opts.random } : {}),
      });
      this.setLink({ ...this._info, retryInMs: delay, attempt: this.attempt });
      try {
        await sleep(delay, { clock: this.clock, ...(this.abort ? { signal: this.abort.signal } : {}) });
      } catch {
        break;
      }
    }
    this.conn = undefined;
  }

  private async subscribe(conn: Devlink3Connection, auth: AuthOutcome): Promise<void> {
    const requested = this.requestedFlags;
    const r = await conn.request(
      { type: 'eventRequest', requestId: conn.newRequestId(), flags: requested.join(' ') },
      'eventResponse',
    );
    if (r.result === Result.LIMITS_EXCEEDED || r.result === Result.RETRY_LATER) throw refusal(r.result);
    if (r.result !== Result.SUCCESS && r.result !== Result.PARTIAL_SUCCESS) {
      throw new Devlink3RefusedError(
        'DEVLINK3_EVENT_REQUEST_FAILED',
        `the PBX refused the event request (flags ${JSON.stringify(requested.join(' '))}): ${resultName(r.result)}`,
        { retryable: false, field: 'flags', details: { result: r.result } },
      );
    }
    const accepted = splitFlags(r.flags);
    // With SUCCESS every requested flag is accepted even if the echo is empty.
    const acc = r.result === Result.SUCCESS && accepted.length === 0 ? requested : accepted;
    const refused = requested.filter((f) => !acc.includes(f));
    this.attempt = 0;
    this.up = true;
    this.setLink({
      ...this.base('up'),
      pbxType: auth.pbxType,
      variant: auth.variant,
      authMethod: auth.method,
      requestedFlags: requested,
      acceptedFlags: acc,
      refusedFlags: refused,
      partial: r.result === Result.PARTIAL_SUCCESS,
    });
    const early = this.early;
    this.early = [];
    for (const p of early) this.deliver(p);
    this.startKeepalive(conn);
  }

  private startKeepalive(conn: Devlink3Connection): void {
    const every = this.opts.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
    // The reply must come before the next tick: a silent link is down within 2 × keepaliveMs.
    const replyWithin = Math.min(this.opts.requestTimeoutMs ?? 10_000, every);
    if (every <= 0) return;
    const tick = async () => {
      this.keepalive = undefined;
      if (!conn.isOpen || !this.running) return;
      try {
        const r = await conn.request(
          { type: 'test', requestId: conn.newRequestId(), payload: Buffer.from('switchboard') },
          'testResponse',
          replyWithin,
        );
        if (r.result !== Result.SUCCESS) {
          conn.close(
            new Devlink3ProtocolError(
              'DEVLINK3_STREAM_ERROR',
              `keepalive answered ${resultName(r.result)}: reconnecting`,
              {
                details: { result: r.result },
              },
            ),
          );
          return;
        }
      } catch (e) {
        conn.close(e as Error);
        return;
      }
      if (conn.isOpen && this.running) this.keepalive = this.clock.setTimeout(() => void tick(), every);
    };
    this.keepalive = this.clock.setTimeout(() => void tick(), every);
  }

  private stopKeepalive(): void {
    if (this.keepalive) this.clock.clearTimeout(this.keepalive);
    this.keepalive = undefined;
  }
}
