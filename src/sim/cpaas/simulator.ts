import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage, SwitchboardError, ValidationError } from '../../core/errors.js';
import { httpRequest } from '../../net/http-client.js';
import { computeSignature } from '../../pubsub/callxml.js';
import { parseInboundXml, type Verb } from './inboundxml.js';

/**
 * A simulated CPaaS voice/SMS platform (the Zang / Avaya Communications APIs side of seed 001).
 * It "answers" an inbound call by POSTing the call webhook (`CallSid`, `AccountSid`, `From`, `To`,
 * `CallStatus` …) to a voice URL, interprets the InboundXML it gets back (Say, Play, Pause, Gather with
 * simulated digits, Redirect, Hangup, Reject …), follows Gather `action` and Redirect URLs, and records a
 * transcript. It also posts SMS webhooks. A small HTTP control server lets other processes place calls.
 */
export type TranscriptEntry =
  | { verb: 'Request'; method: string; url: string; status: number }
  | { verb: 'Say'; text: string; voice?: string; loop: number }
  | { verb: 'Play'; url: string; loop: number }
  | { verb: 'Pause'; length: number }
  | { verb: 'Gather'; digits: string; action?: string; numDigits?: number; finishOnKey?: string }
  | { verb: 'Redirect'; url: string }
  | { verb: 'Hangup' }
  | { verb: 'Reject'; reason: string }
  | { verb: 'Unsupported'; name: string };

export interface CallOptions {
  /** Voice URL (the number's "answer URL"), e.g. http://hub/<AccountSid>/call.xml */
  url: string;
  from?: string;
  to?: string;
  /** Digits pressed at each <Gather>, in order; a missing entry means no input (Gather times out). */
  digits?: string[];
  /** Timeout of each webhook request (must exceed the relay's Call XML keep-alive timeout). */
  requestTimeoutMs?: number;
  /** Stop after this many webhook requests (keep-alive loops included). */
  maxRequests?: number;
  /** Real pause per second of <Pause> (default 0: pauses are recorded, not waited). */
  pauseScale?: number;
  signal?: AbortSignal;
}

export interface CallResult {
  callSid: string;
  status: 'completed' | 'failed' | 'rejected' | 'no-answer';
  transcript: TranscriptEntry[];
  error?: string;
}

export interface SmsOptions {
  url: string;
  from?: string;
  to?: string;
  body: string;
  requestTimeoutMs?: number;
}

export interface CpaasSimulatorOptions {
  accountSid: string;
  /** When set, webhooks carry an HMAC-SHA1 signature in `signatureHeader`. */
  signingKey?: string;
  signatureHeader?: string;
  userAgent?: string;
  /**
   * The outbound REST API (`POST /v2/Accounts/<sid>/Calls.json`, `…/SMS/Messages.json`) answers only
   * requests with HTTP Basic `accountSid:authToken`; without it the API is off (404).
   */
  authToken?: string;
  /** Digits the callee presses at each <Gather> of an outbound call, by called number. */
  answerDigits?: Record<string, string[]>;
}

/** An SMS sent through the outbound REST API (what a handset would receive). */
export interface SentSms {
  smsSid: string;
  from: string;
  to: string;
  body: string;
}

const hex = (n: number) => randomBytes(n).toString('hex');

export class CpaasSimulator {
  readonly calls: CallResult[] = [];
  /** SMS sent through the outbound REST API, newest last (bounded). */
  readonly sent: SentSms[] = [];
  /** Outbound calls still running. */
  readonly running = new Set<Promise<CallResult>>();
  constructor(readonly opts: CpaasSimulatorOptions) {}

  private async post(url: string, params: Record<string, string>, timeoutMs: number, signal?: AbortSignal) {
    const body = new URLSearchParams(params).toString();
    const headers: Record<string, string> = {
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/xml',
      'User-Agent': this.opts.userAgent ?? 'Switchboard-CPaaS-Sim/1.0',
    };
    if (this.opts.signingKey)
      headers[this.opts.signatureHeader ?? 'X-Zang-Signature'] = computeSignature(
        this.opts.signingKey,
        url,
        params,
      );
    return httpRequest({
      url,
      method: 'POST',
      headers,
      body,
      timeoutMs,
      ...(signal ? { signal } : {}),
      maxResponseBytes: 256 * 1024,
    });
  }

  /** Places one simulated inbound call and runs it to the end. */
  async call(o: CallOptions): Promise<CallResult> {
    const callSid = `CA${hex(16)}`;
    const base: Record<string, string> = {
      AccountSid: this.opts.accountSid,
      ApiVersion: 'v2',
      CallSid: callSid,
      CallStatus: 'in-progress',
      Direction: 'inbound',
      From: o.from ?? '+18457026652',
      To: o.to ?? '+14083511240',
    };
    const transcript: TranscriptEntry[] = [];
    const result: CallResult = { callSid, status: 'completed', transcript };
    const digits = [...(o.digits ?? [])];
    const maxRequests = o.maxRequests ?? 20;
    const timeoutMs = o.requestTimeoutMs ?? 60_000;
    let next: { url: string; params: Record<string, string> } | undefined = {
      url: o.url,
      params: { ...base },
    };
    let requests = 0;
    try {
      while (next) {
        if (++requests > maxRequests)
          throw new ValidationError(
            'CPAAS_TOO_MANY_REQUESTS',
            `call made more than ${maxRequests} webhook requests`,
          );
        const res = await this.post(next.url, next.params, timeoutMs, o.signal);
        transcript.push({ verb: 'Request', method: 'POST', url: next.url, status: res.status });
        if (res.status !== 200)
          throw new ValidationError(
            'CPAAS_WEBHOOK_FAILED',
            `${next.url} answered HTTP ${res.status}: ${res.text().slice(0, 200)}`,
          );
        const verbs = parseInboundXml(res.text());
        const current: string = next.url;
        next = undefined;
        const step = await this.run(verbs, current, base, digits, transcript, o);
        if (step.kind === 'goto') next = { url: step.url, params: step.params };
        else if (step.kind === 'reject') result.status = 'rejected';
      }
    } catch (e) {
      result.status = 'failed';
      result.error = errorMessage(e);
      if (!(e instanceof SwitchboardError)) result.error = `unexpected: ${result.error}`;
    }
    this.calls.push(result);
    if (this.calls.length > 100) this.calls.shift();
    return result;
  }

  private async run(
    verbs: Verb[],
    currentUrl: string,
    base: Record<string, string>,
    digits: string[],
    transcript: TranscriptEntry[],
    o: CallOptions,
  ): Promise<
    { kind: 'end' } | { kind: 'reject' } | { kind: 'goto'; url: string; params: Record<string, string> }
  > {
    for (const v of verbs) {
      switch (v.name) {
        case 'Say':
          transcript.push({
            verb: 'Say',
            text: v.text,
            ...(v.attrs.voice ? { voice: v.attrs.voice } : {}),
            loop: loopOf(v),
          });
          break;
        case 'Play':
          transcript.push({ verb: 'Play', url: v.text, loop: loopOf(v) });
          break;
        case 'Pause': {
          const length = Math.min(60, Math.max(0, Number(v.attrs.length ?? 1) || 0));
          transcript.push({ verb: 'Pause', length });
          if (o.pauseScale)
            await new Promise((r) => setTimeout(r, Math.min(60_000, length * 1000 * o.pauseScale!)));
          break;
        }
        case 'Gather': {
          for (const c of v.children) {
            if (c.name === 'Say')
              transcript.push({
                verb: 'Say',
                text: c.text,
                ...(c.attrs.voice ? { voice: c.attrs.voice } : {}),
                loop: loopOf(c),
              });
            else if (c.name === 'Play') transcript.push({ verb: 'Play', url: c.text, loop: loopOf(c) });
            else if (c.name === 'Pause')
              transcript.push({ verb: 'Pause', length: Number(c.attrs.length ?? 1) || 0 });
          }
          const pressed = digits.shift() ?? '';
          const finishOnKey = v.attrs.finishOnKey ?? '#';
          const numDigits = v.attrs.numDigits ? Number(v.attrs.numDigits) : undefined;
          let got = pressed;
          const fin = finishOnKey ? got.indexOf(finishOnKey) : -1;
          if (fin >= 0) got = got.slice(0, fin);
          if (numDigits && numDigits > 0) got = got.slice(0, numDigits);
          const action = v.attrs.action ? new URL(v.attrs.action, currentUrl).toString() : undefined;
          transcript.push({
            verb: 'Gather',
            digits: got,
            ...(action ? { action } : {}),
            ...(numDigits ? { numDigits } : {}),
            ...(finishOnKey ? { finishOnKey } : {}),
          });
          // No input: continue with the next verb (as platforms do when Gather times out).
          if (got !== '')
            return { kind: 'goto', url: action ?? currentUrl, params: { ...base, Digits: got } };
          break;
        }
        case 'Redirect': {
          const url = new URL(v.text || currentUrl, currentUrl).toString();
          transcript.push({ verb: 'Redirect', url });
          return { kind: 'goto', url, params: { ...base } };
        }
        case 'Hangup':
          transcript.push({ verb: 'Hangup' });
          return { kind: 'end' };
        case 'Reject':
          transcript.push({ verb: 'Reject', reason: v.attrs.reason ?? 'rejected' });
          return { kind: 'reject' };
        default:
          transcript.push({ verb: 'Unsupported', name: v.name });
      }
    }
    // End of document: the call hangs up.
    transcript.push({ verb: 'Hangup' });
    return { kind: 'end' };
  }

  /**
   * The outbound REST API of the platform (Zang / Avaya CPaaS v2 shape): `Calls.json` places a call to
   * `To` that fetches its InboundXML from `Url` (the callee presses `answerDigits[To]`), answered at once
   * with the call's sid while the call runs; `SMS/Messages.json` records the message. Form parameters in,
   * JSON out.
   */
  outbound(
    path: string,
    authorization: string | undefined,
    form: URLSearchParams,
  ): { status: number; body: Record<string, unknown> } {
    const m = /^\/v2\/Accounts\/([A-Za-z0-9]{1,64})\/(Calls|SMS\/Messages)\.json$/.exec(path);
    if (!m || !this.opts.authToken) return { status: 404, body: { message: 'not found' } };
    const want = `Basic ${Buffer.from(`${this.opts.accountSid}:${this.opts.authToken}`).toString('base64')}`;
    if (m[1] !== this.opts.accountSid || authorization !== want)
      return { status: 401, body: { message: 'authentication failed' } };
    const to = form.get('To') ?? '';
    const from = form.get('From') ?? '';
    if (!/^\+?[0-9]{3,20}$/.test(to)) return { status: 400, body: { message: 'To is not a phone number' } };
    if (m[2] === 'Calls') {
      const url = form.get('Url') ?? '';
      if (!/^https?:\/\//.test(url)) return { status: 400, body: { message: 'Url is required' } };
      const p = this.call({ url, to, from, digits: [...(this.opts.answerDigits?.[to] ?? [])] });
      this.running.add(p);
      void p.finally(() => this.running.delete(p));
      return { status: 201, body: { sid: `CA${hex(16)}`, status: 'queued', to, from } };
    }
    const body = form.get('Body') ?? '';
    if (body === '' || body.length > 1600)
      return { status: 400, body: { message: 'Body must be 1-1600 characters' } };
    const smsSid = `SM${hex(16)}`;
    this.sent.push({ smsSid, from, to, body });
    if (this.sent.length > 1000) this.sent.shift();
    return { status: 201, body: { sid: smsSid, status: 'queued', to, from } };
  }

  /** Posts one inbound SMS webhook; returns the HTTP status and body. */
  async sms(o: SmsOptions): Promise<{ smsSid: string; status: number; body: string }> {
    const smsSid = `SM${hex(16)}`;
    const res = await this.post(
      o.url,
      {
        AccountSid: this.opts.accountSid,
        ApiVersion: 'v2',
        Body: o.body,
        From: o.from ?? '+18457026652',
        SmsSid: smsSid,
        SmsStatus: 'received',
        To: o.to ?? '+14083511240',
      },
      o.requestTimeoutMs ?? 10_000,
    );
    return { smsSid, status: res.status, body: res.text() };
  }
}

function loopOf(v: Verb): number {
  const n = Number(v.attrs.loop ?? 1);
  return Number.isFinite(n) && n >= 0 ? Math.min(n, 100) : 1;
}

/**
 * Control server of the simulator on 127.0.0.1: `POST /calls` `{ url, from?, to?, digits? }` runs a call
 * and answers its transcript; `POST /sms` `{ url, body, from?, to? }`; `GET /calls` lists recent calls;
 * `POST /v2/Accounts/<sid>/Calls.json` and `…/SMS/Messages.json`: the outbound REST API (see outbound()).
 */
export async function startCpaasControlServer(
  sim: CpaasSimulator,
  opts: { host?: string; port?: number } = {},
): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      raw += c;
      if (raw.length > 64 * 1024) req.destroy();
    });
    req.on('end', () => {
      void (async () => {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        if (req.method === 'GET' && path === '/calls') return send(200, { calls: sim.calls });
        if (req.method === 'POST' && path.startsWith('/v2/')) {
          const r = sim.outbound(path, req.headers.authorization, new URLSearchParams(raw));
          return send(r.status, r.body);
        }
        if (req.method !== 'POST' || (path !== '/calls' && path !== '/sms'))
          return send(404, { error: { code: 'NOT_FOUND', message: 'POST /calls or /sms' } });
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(raw || '{}') as Record<string, unknown>;
        } catch {
          return send(400, { error: { code: 'BAD_JSON', message: 'body must be JSON' } });
        }
        if (typeof body.url !== 'string')
          return send(400, { error: { code: 'URL_REQUIRED', message: 'url is required' } });
        const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
        if (path === '/sms') {
          const r = await sim.sms({
            url: body.url,
            body: str('body') ?? '',
            ...(str('from') ? { from: str('from')! } : {}),
            ...(str('to') ? { to: str('to')! } : {}),
          });
          return send(200, r);
        }
        const digits = Array.isArray(body.digits)
          ? body.digits.filter((d): d is string => typeof d === 'string')
          : undefined;
        const r = await sim.call({
          url: body.url,
          ...(digits ? { digits } : {}),
          ...(str('from') ? { from: str('from')! } : {}),
          ...(str('to') ? { to: str('to')! } : {}),
        });
        return send(200, r);
      })().catch((e) => send(502, { error: { code: 'SIM_FAILED', message: errorMessage(e) } }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Human-readable transcript lines. */
export function formatTranscript(t: TranscriptEntry[]): string[] {
  return t.map((e): string => {
    switch (e.verb) {
      case 'Request':
        return `→ ${e.method} ${e.url} (${e.status})`;
      case 'Say':
        return `Say${e.voice ? ` [${e.voice}]` : ''}${e.loop !== 1 ? ` x${e.loop}` : ''}: ${e.text}`;
      case 'Play':
        return `Play: ${e.url}`;
      case 'Pause':
        return `Pause ${e.length}s`;
      case 'Gather':
        return `Gather: pressed ${e.digits ? JSON.stringify(e.digits) : 'nothing'}${e.action ? ` → ${e.action}` : ''}`;
      case 'Redirect':
        return `Redirect → ${e.url}`;
      case 'Hangup':
        return 'Hangup';
      case 'Reject':
        return `Reject (${e.reason})`;
      case 'Unsupported':
        return `(ignored <${e.name}>)`;
      default:
        return JSON.stringify(e);
    }
  });
}
