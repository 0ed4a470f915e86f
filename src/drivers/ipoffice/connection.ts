import net from 'node:net';
import tls from 'node:tls';
import { type Clock, systemClock, type TimerHandle } from '../../core/clock.js';
import {
  Devlink3AuthError,
  Devlink3ProtocolError,
  Devlink3RefusedError,
  Devlink3TimeoutError,
} from './errors.js';
import { encodeFrame, FrameDecoder } from './frame.js';
import {
  authInfo,
  decodePacket,
  encodePacket,
  type Packet,
  type PacketOf,
  paddedPassword,
  Result,
  resultName,
  sha1ChallengeResponse,
  TupleCode,
  utf8Tuple,
} from './packets.js';

/** TLS settings: custom CA, client certificate (mutual TLS) and an explicit opt-in for self-signed PBXs. */
export interface Devlink3TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  /** Accept a certificate that does not verify (IP Office's default self-signed one). Off by default. */
  allowSelfSigned?: boolean;
  servername?: string;
}

export interface ConnectionOptions {
  host: string;
  /** Default 50797 (TCP) or 50796 (TLS). */
  port?: number;
  tls?: Devlink3TlsOptions | boolean;
  user: string;
  password: string;
  applicationName?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxFrame?: number;
  clock?: Clock;
}

export interface AuthOutcome {
  pbxType: string | undefined;
  variant: string | undefined;
  method: 'sha1' | 'plain';
}

type Pending = { resolve: (p: Packet) => void; reject: (e: Error) => void; timer: TimerHandle };

/**
 * One DevLink3 connection: socket, framing, request ids and per-request timeouts, authentication. The
 * client (with reconnect) and ReadFile (short-lived) both use it. Events go to `onEvent`.
 */
export class Devlink3Connection {
  private socket: net.Socket | undefined;
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, Pending>();
  private nextId = (Math.floor(Math.random() * 0x7fffffff) >>> 0) | 1;
  private closed = false;
  private readonly clock: Clock;
  onEvent: (p: PacketOf<'event'>) => void = () => {};
  onClose: (err: Error | undefined) => void = () => {};

  constructor(readonly opts: ConnectionOptions) {
    this.decoder = new FrameDecoder({ maxFrame: opts.maxFrame ?? 4 * 1024 * 1024 });
    this.clock = opts.clock ?? systemClock;
  }

  get isTls(): boolean {
    return this.opts.tls !== undefined && this.opts.tls !== false;
  }

  get port(): number {
    return this.opts.port ?? (this.isTls ? 50796 : 50797);
  }

  /** Opens the socket (TCP or TLS). */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timeout = this.opts.connectTimeoutMs ?? 10_000;
      let done = false;
      const fail = (e: Error) => {
        if (done) return;
        done = true;
        this.clock.clearTimeout(timer);
        s.destroy();
        reject(e);
      };
      const timer = this.clock.setTimeout(
        () =>
          fail(
            new Devlink3TimeoutError(
              'DEVLINK3_TIMEOUT',
              `connecting to ${this.opts.host}:${this.port} timed out after ${timeout} ms`,
            ),
          ),
        timeout,
      );
      let s: net.Socket;
      const onReady = () => {
        if (done) return;
        done = true;
        this.clock.clearTimeout(timer);
        s.off('error', onErr);
        if (this.closed) {
          // close() was called while connecting (the client is stopping).
          s.destroy();
          reject(
            new Devlink3RefusedError('DEVLINK3_NOT_CONNECTED', 'DevLink3 connection closed while connecting'),
          );
          return;
        }
        this.attach(s);
        resolve();
      };
      const onErr = (e: NodeJS.ErrnoException) =>
        fail(
          new Devlink3RefusedError(
            'DEVLINK3_CONNECT_FAILED',
            `cannot connect to ${this.opts.host}:${this.port}: ${e.code ?? e.message}`,
            {
              retryable: true,
            },
          ),
        );
      if (this.isTls) {
        const t = typeof this.opts.tls === 'object' ? this.opts.tls : {};
        const o: tls.ConnectionOptions = {
          host: this.opts.host,
          port: this.port,
          rejectUnauthorized: !t.allowSelfSigned,
          ...(t.ca ? { ca: t.ca } : {}),
          ...(t.cert ? { cert: t.cert } : {}),
          ...(t.key ? { key: t.key } : {}),
          ...(t.passphrase ? { passphrase: t.passphrase } : {}),
          ...(t.servername
            ? { servername: t.servername }
            : net.isIP(this.opts.host)
              ? {}
              : { servername: this.opts.host }),
        };
        s = tls.connect(o, onReady);
      } else {
        s = net.connect({ host: this.opts.host, port: this.port }, onReady);
      }
      s.once('error', onErr);
    });
  }

  private attach(s: net.Socket): void {
    this.socket = s;
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = this.decoder.push(chunk);
      } catch (e) {
        this.close(e as Error);
        return;
      }
      for (const f of frames) {
        let p: Packet;
        try {
          p = decodePacket(f);
        } catch (e) {
          this.close(e as Error);
          return;
        }
        this.dispatch(p);
        if (this.closed) return;
      }
    });
    s.on('error', (e) => this.close(e));
    s.on('close', () => this.close(undefined));
  }

  private dispatch(p: Packet): void {
    if (p.type === 'event') {
      this.onEvent(p);
      return;
    }
    const id = 'requestId' in p ? p.requestId : 0;
    const w = this.pending.get(id);
    if (!w) return; // unsolicited or late reply: ignored
    this.pending.delete(id);
    this.clock.clearTimeout(w.timer);
    w.resolve(p);
  }

  /** A fresh non-zero 4-octet request id. */
  newRequestId(): number {
    this.nextId = (this.nextId + 1) >>> 0;
    if (this.nextId === 0) this.nextId = 1;
    return this.nextId;
  }

  /** Sends a request and resolves with the reply of the same RequestID (or times out). */
  request<T extends Packet['type']>(
    p: Packet & { requestId: number },
    expect: T,
    timeoutMs?: number,
  ): Promise<PacketOf<T>> {
    return new Promise((resolve, reject) => {
      if (this.closed || !this.socket) {
        reject(
          new Devlink3RefusedError('DEVLINK3_NOT_CONNECTED', 'DevLink3 connection is not open', {
            retryable: true,
          }),
        );
        return;
      }
      const ms = timeoutMs ?? this.opts.requestTimeoutMs ?? 10_000;
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(p.requestId);
        reject(
          new Devlink3TimeoutError(
            'DEVLINK3_TIMEOUT',
            `no reply to ${p.type} (RequestID ${p.requestId}) within ${ms} ms`,
          ),
        );
      }, ms);
      this.pending.set(p.requestId, {
        resolve: (r) => {
          if (
            r.type === expect ||
            (expect === 'authResult' && (r.type === 'authChallenge' || r.type === 'authPlainChallenge'))
          ) {
            resolve(r as PacketOf<T>);
          } else {
            reject(
              new Devlink3ProtocolError(
                'DEVLINK3_BAD_PACKET',
                `expected ${expect} for RequestID ${p.requestId}, got ${r.type}`,
              ),
            );
          }
        },
        reject,
        timer,
      });
      this.send(p);
    });
  }

  send(p: Packet): void {
    this.socket?.write(encodeFrame(encodePacket(p)));
  }

  /** SHA1 (or PLAIN over TLS) authentication; throws typed errors for every refusal. */
  async authenticate(): Promise<AuthOutcome> {
    const tuples = this.opts.applicationName
      ? [utf8Tuple(TupleCode.ApplicationName, this.opts.applicationName)]
      : [];
    const first = (await this.request(
      { type: 'authRequest', requestId: this.newRequestId(), username: this.opts.user, tuples },
      'authResult',
    )) as Packet;
    let result: PacketOf<'authResult'>;
    let method: 'sha1' | 'plain' = 'sha1';
    if (first.type === 'authChallenge') {
      result = await this.request(
        {
          type: 'authChallengeResponse',
          requestId: this.newRequestId(),
          response: sha1ChallengeResponse(first.challenge, this.opts.password),
        },
        'authResult',
      );
    } else if (first.type === 'authPlainChallenge') {
      if (!this.isTls) {
        // Never send a clear-text password over plain TCP.
        throw new Devlink3AuthError(
          'DEVLINK3_AUTH_FAILED',
          'the PBX asked for a PLAIN challenge over TCP; refusing to send the password in clear',
        );
      }
      method = 'plain';
      result = await this.request(
        {
          type: 'authPlainResponse',
          requestId: this.newRequestId(),
          password: paddedPassword(this.opts.password, 32),
        },
        'authResult',
      );
    } else result = first as PacketOf<'authResult'>;
    if (result.type !== 'authResult')
      throw new Devlink3ProtocolError(
        'DEVLINK3_BAD_PACKET',
        `unexpected ${result.type} during authentication`,
      );
    switch (result.result) {
      case Result.SUCCESS: {
        const info = authInfo(result.tuples);
        return { pbxType: info.pbxType, variant: info.variant, method };
      }
      case Result.AUTHENTICATION_FAILED:
        throw new Devlink3AuthError(
          'DEVLINK3_AUTH_FAILED',
          `authentication failed for DevLink3 user ${JSON.stringify(this.opts.user)}`,
          {
            field: 'user',
          },
        );
      case Result.LIMITS_EXCEEDED:
      case Result.RETRY_LATER:
        throw refusal(result.result);
      case Result.LICENCE_MISSING:
        throw new Devlink3RefusedError(
          'DEVLINK3_LICENCE_MISSING',
          'the PBX has no CTI-PRO (CTILINK_PRO) licence for DevLink3',
          {
            retryable: false,
          },
        );
      default:
        throw new Devlink3RefusedError(
          'DEVLINK3_AUTH_FAILED',
          `authentication refused with ${resultName(result.result)}`,
          {
            retryable: false,
          },
        );
    }
  }

  get isOpen(): boolean {
    return !this.closed && this.socket !== undefined;
  }

  close(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    const e =
      err ??
      new Devlink3RefusedError('DEVLINK3_NOT_CONNECTED', 'DevLink3 connection closed', { retryable: true });
    for (const [, w] of this.pending) {
      this.clock.clearTimeout(w.timer);
      w.reject(e);
    }
    this.pending.clear();
    this.socket?.destroy();
    this.onClose(err);
  }
}

/**
 * The retryable refusals a PBX answers to authentication or to an event request: LIMITS EXCEEDED (seed
 * 004 §7: at most 3 connections monitoring events) and RETRY LATER.
 */
export function refusal(
  result: typeof Result.LIMITS_EXCEEDED | typeof Result.RETRY_LATER,
): Devlink3RefusedError {
  return result === Result.LIMITS_EXCEEDED
    ? new Devlink3RefusedError(
        'DEVLINK3_LIMITS_EXCEEDED',
        'the PBX refused: LIMITS EXCEEDED (at most 3 DevLink3 connections monitoring events)',
        { retryable: true, status: 429 },
      )
    : new Devlink3RefusedError('DEVLINK3_RETRY_LATER', 'the PBX asked to RETRY LATER', {
        retryable: true,
        status: 503,
      });
}

/**
 * ReadFile on its own short-lived connection (the seed recommends one connection per file read).
 * Resolves with the raw file contents.
 */
export async function readFile(opts: ConnectionOptions, filename: string): Promise<Buffer> {
  const c = new Devlink3Connection(opts);
  await c.connect();
  try {
    await c.authenticate();
    const r = await c.request(
      { type: 'readFile', requestId: c.newRequestId(), filename },
      'readFileResponse',
    );
    if (r.result !== Result.SUCCESS) {
      throw new Devlink3ProtocolError(
        'DEVLINK3_READ_FILE_FAILED',
        `ReadFile ${JSON.stringify(filename)} failed: ${resultName(r.result)}`,
        {
          field: 'filename',
          details: { result: r.result },
        },
      );
    }
    return r.contents;
  } finally {
    c.close();
  }
}
