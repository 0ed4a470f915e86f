import net from 'node:net';
import { type Clock, systemClock, type TimerHandle } from '../../core/clock.js';
import { readSmdrBytes, SMDR_MAX_LINE_BYTES, type SmdrLine, SmdrLineSplitter } from './smdr.js';

/**
 * The TCP side of SMDR: IP Office (SMDR output with an IP address set, "send mode") connects to this
 * listener and writes CSV records, one per call segment. Thin I/O over the pure codec in `smdr.ts`, with
 * the limits every phone-facing listener has: a line-length cap, a connection cap, a record rate (over it
 * the socket is paused, so TCP flow control makes IP Office buffer instead of anything being lost), an
 * idle timeout, and an allow-list of peer addresses.
 */
export interface SmdrListenerOptions {
  /** Interface to listen on (default 0.0.0.0). */
  host?: string;
  /** TCP port (0 = any, for tests). */
  port: number;
  /** Longest accepted line in bytes; longer lines are dropped (default 4096). */
  maxLineBytes?: number;
  /** Simultaneous connections (default 4; IP Office opens one at a time). */
  maxConnections?: number;
  /** Records per second over all connections; above it reading pauses (default 200). */
  maxRecordsPerSecond?: number;
  /** A connection silent this long is closed (default 120 000 ms). */
  idleTimeoutMs?: number;
  /** Peer addresses allowed to connect; empty or undefined = any. IPv4-mapped IPv6 is compared as IPv4. */
  allowFrom?: string[];
  onLine: (line: SmdrLine, meta: { remote: string }) => void;
  /** A connection refused (not allowed, too many) or a line dropped (too long). */
  onProblem?: (what: 'not-allowed' | 'too-many-connections' | 'line-too-long', remote: string) => void;
  clock?: Clock;
}

export interface SmdrListenerStats {
  connections: number;
  open: number;
  refused: number;
  records: number;
  invalid: number;
  tooLong: number;
  throttled: number;
}

const plainAddress = (a: string | undefined) => (a ?? '').replace(/^::ffff:/i, '');

export class SmdrListener {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<TimerHandle>();
  private tokens: number;
  private lastRefill: number;
  private readonly clock: Clock;
  readonly stats: SmdrListenerStats = {
    connections: 0,
    open: 0,
    refused: 0,
    records: 0,
    invalid: 0,
    tooLong: 0,
    throttled: 0,
  };

  constructor(private readonly opts: SmdrListenerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.tokens = this.rate;
    this.lastRefill = this.clock.now();
  }

  private get rate(): number {
    return this.opts.maxRecordsPerSecond ?? 200;
  }

  /** Starts listening; resolves with the bound port. */
  async start(): Promise<number> {
    const server = net.createServer((s) => this.accept(s));
    server.maxConnections = (this.opts.maxConnections ?? 4) + 8; // hard stop well above the polite refusal
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as net.AddressInfo).port;
  }

  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private accept(socket: net.Socket): void {
    const remote = plainAddress(socket.remoteAddress);
    const allow = this.opts.allowFrom ?? [];
    if (allow.length > 0 && !allow.some((a) => plainAddress(a) === remote)) {
      this.stats.refused++;
      this.opts.onProblem?.('not-allowed', remote);
      socket.destroy();
      return;
    }
    if (this.sockets.size >= (this.opts.maxConnections ?? 4)) {
      this.stats.refused++;
      this.opts.onProblem?.('too-many-connections', remote);
      socket.destroy();
      return;
    }
    this.stats.connections++;
    this.sockets.add(socket);
    this.stats.open = this.sockets.size;
    const max = this.opts.maxLineBytes ?? SMDR_MAX_LINE_BYTES;
    const splitter = new SmdrLineSplitter({ maxLineBytes: max });
    const queue: Array<Buffer | null> = [];
    let lineNo = 0;
    let waiting = false;
    const handle = (b: Buffer | null) => {
      lineNo++;
      if (b === null) {
        this.stats.tooLong++;
        this.opts.onProblem?.('line-too-long', remote);
      }
      const l = readSmdrBytes(b, lineNo, max);
      if (!l) return;
      if (l.kind === 'record') this.stats.records++;
      else if (l.kind === 'invalid') this.stats.invalid++;
      this.opts.onLine(l, { remote });
    };
    const drain = () => {
      waiting = false;
      while (queue.length > 0) {
        if (!this.take()) {
          this.stats.throttled++;
          socket.pause();
          waiting = true;
          const t = this.clock.setTimeout(
            () => {
              this.timers.delete(t);
              drain();
            },
            Math.max(5, Math.ceil(1000 / this.rate)),
          );
          this.timers.add(t);
          return;
        }
        handle(queue.shift()!);
      }
      if (!socket.destroyed) socket.resume();
      if (ended && !socket.destroyed) socket.end();
    };
    let ended = false;
    socket.setTimeout(this.opts.idleTimeoutMs ?? 120_000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      for (const l of splitter.push(chunk)) queue.push(l);
      if (!waiting) drain();
    });
    socket.on('end', () => {
      // IP Office closes after its records: a last line without CR LF still counts.
      const last = splitter.flush();
      if (last !== undefined) queue.push(last);
      ended = true;
      if (!waiting) drain();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.stats.open = this.sockets.size;
    });
  }

  /** One record's worth of rate budget (token bucket refilled continuously). */
  private take(): boolean {
    const now = this.clock.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.lastRefill) * this.rate) / 1000);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
