import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../../core/clock.js';
import { errorMessage, isSwitchboardError } from '../../core/errors.js';
import type { HubEvent } from '../../core/events.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import { retry } from '../../core/retry.js';
import type { Incident } from '../emergency/types.js';
import type {
  AlertChannel,
  AlertNotice,
  ChannelMoment,
  ChannelOutcome,
  ChannelReceipt,
  ChannelResult,
  ChannelSource,
} from './types.js';

export type { ChannelOutcome } from './types.js';

/** One series of attempts of one channel for one moment of one incident. */
export interface ChannelLogEntry {
  id: string;
  channelId: string;
  kind: string;
  incidentId: string;
  moment: ChannelMoment;
  createdAt: string;
  state: 'pending' | 'sent' | 'failed';
  attempts: Array<{ at: string; ms: number; error: string | null }>;
  receipt: ChannelReceipt | null;
}

/** The channel delivery log (async store port; SQLite in src/store/sqlite/alerting.ts). */
export interface ChannelLogStore {
  save(e: ChannelLogEntry): Promise<void>;
  list(q: { limit: number; incidentId?: string }): Promise<ChannelLogEntry[]>;
  prune(keep: number): Promise<void>;
}

export interface ChannelDispatchOptions {
  /** Attempts per channel and moment (1 = no retry). */
  attempts: number;
  /** First backoff between attempts (ms); doubles up to 16×, with jitter. */
  backoffMs: number;
  /** Timeout of one attempt (ms). */
  timeoutMs: number;
  /** Rows kept in the channel log. */
  logKeep: number;
}

export const DEFAULT_CHANNEL_DISPATCH: ChannelDispatchOptions = {
  attempts: 4,
  backoffMs: 1000,
  timeoutMs: 10_000,
  logKeep: 10_000,
};

/**
 * Runs the channels for one moment of an incident: every channel at once, each retried with the
 * project's backoff (retryable errors only), each attempt bounded by `timeoutMs`, the whole series
 * recorded in the channel log, and one outcome per channel reported through `record` (the incident
 * timeline). A channel with `retries: 'self'` (email, webhooks, PubSub) is called once per moment: it
 * retries, bounds and logs its attempts itself. Nothing here is awaited by the phone alert path.
 */
export class ChannelDispatcher {
  private readonly clock: Clock;
  private readonly log: Logger;
  private sent = 0;
  /** Attempts in flight: aborted together when the hub shuts down (one listener on its signal). */
  private readonly inFlight = new Set<AbortController>();

  constructor(
    private readonly deps: {
      registry: ChannelSource;
      store?: ChannelLogStore;
      options: ChannelDispatchOptions;
      link: (incidentId: string) => string;
      clock?: Clock;
      logger?: Logger;
      signal?: AbortSignal;
    },
  ) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? silentLogger;
    deps.signal?.addEventListener(
      'abort',
      () => {
        for (const c of this.inFlight) c.abort();
      },
      { once: true },
    );
  }

  get registry(): ChannelSource {
    return this.deps.registry;
  }

  /**
   * Starts every channel for this moment (`event`: the hub event of the moment, for webhooks); the promise
   * settles when all are done (it never rejects).
   */
  dispatch(
    kind: ChannelMoment,
    incident: Incident,
    record: (o: ChannelOutcome) => void,
    event?: HubEvent,
  ): Promise<void> {
    const notice: AlertNotice = {
      kind,
      incident,
      link: this.deps.link(incident.id),
      ...(event ? { event } : {}),
    };
    const todo = this.deps.registry.list().filter((c) => c.moments.includes(kind));
    return Promise.all(
      todo.map((c) => (c.retries === 'self' ? this.once(c, notice, record) : this.one(c, notice, record))),
    ).then(() => undefined);
  }

  /** A channel that retries and logs itself: one call, its outcome to the timeline. */
  private async once(c: AlertChannel, n: AlertNotice, record: (o: ChannelOutcome) => void): Promise<void> {
    let r: ChannelResult;
    try {
      r = {
        ok: true,
        receipt: await c.send(n, this.deps.signal ?? new AbortController().signal),
        attempts: 1,
      };
    } catch (error) {
      r = { ok: false, error, attempts: 1 };
    }
    this.report(c, n, r, {}, record);
  }

  /** The timeline entry of a result: the channel's own, else `channel.sent` / `channel.failed`. */
  private report(
    c: AlertChannel,
    n: AlertNotice,
    r: ChannelResult,
    extra: Record<string, string>,
    record: (o: ChannelOutcome) => void,
  ): void {
    if (c.timeline) {
      const o = c.timeline(n, r);
      if (o) record(o);
      return;
    }
    const detail = {
      channel: c.id,
      kind: c.kind,
      moment: n.kind,
      attempts: r.attempts,
      ...extra,
      ...(r.ok && r.receipt.id ? { messageId: r.receipt.id } : {}),
      ...(r.ok ? {} : { error: errorMessage(r.error).slice(0, 300) }),
    };
    if (!r.ok) this.log.warn({ incidentId: n.incident.id, ...detail }, 'incident channel failed');
    record({ type: r.ok ? 'channel.sent' : 'channel.failed', detail });
  }

  private async one(c: AlertChannel, n: AlertNotice, record: (o: ChannelOutcome) => void): Promise<void> {
    const o = this.deps.options;
    const entry: ChannelLogEntry = {
      id: `ch_${randomUUID()}`,
      channelId: c.id,
      kind: c.kind,
      incidentId: n.incident.id,
      moment: n.kind,
      createdAt: new Date(this.clock.now()).toISOString(),
      state: 'pending',
      attempts: [],
      receipt: null,
    };
    const save = () =>
      this.deps.store
        ?.save(entry)
        .catch((e) => this.log.warn({ err: errorMessage(e) }, 'channel log write failed'));
    await save();
    let lastError = '';
    try {
      entry.receipt = await retry(
        async () => {
          const started = this.clock.now();
          const ctl = new AbortController();
          if (this.deps.signal?.aborted) ctl.abort();
          this.inFlight.add(ctl);
          const timer = this.clock.setTimeout(() => ctl.abort(), o.timeoutMs);
          try {
            const r = await c.send(n, ctl.signal);
            entry.attempts.push({
              at: new Date(started).toISOString(),
              ms: this.clock.now() - started,
              error: null,
            });
            return r;
          } catch (e) {
            lastError = errorMessage(e);
            entry.attempts.push({
              at: new Date(started).toISOString(),
              ms: this.clock.now() - started,
              error: lastError.slice(0, 300),
            });
            throw e;
          } finally {
            this.clock.clearTimeout(timer);
            this.inFlight.delete(ctl);
            await save();
          }
        },
        {
          attempts: Math.max(1, o.attempts),
          initialMs: o.backoffMs,
          maxMs: o.backoffMs * 16,
          clock: this.clock,
          ...(this.deps.signal ? { signal: this.deps.signal } : {}),
          retryable: (e) => !isSwitchboardError(e) || e.retryable,
        },
      );
      entry.state = 'sent';
    } catch {
      entry.state = 'failed';
    }
    await save();
    if (++this.sent % 100 === 0)
      await this.deps.store?.prune(o.logKeep).catch(() => {
        /* the next prune tries again */
      });
    const r: ChannelResult =
      entry.state === 'sent'
        ? { ok: true, receipt: entry.receipt ?? {}, attempts: entry.attempts.length }
        : { ok: false, error: lastError, attempts: entry.attempts.length };
    this.report(c, n, r, { logId: entry.id }, record);
  }
}

declare module '../../core/module.js' {
  interface StorePorts {
    channelLog: ChannelLogStore;
  }
}
