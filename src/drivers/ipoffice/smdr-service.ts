import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { Clock } from '../../core/clock.js';
import type { Device } from '../../core/devices.js';
import { errorMessage } from '../../core/errors.js';
import type { EventInput, HubEvent } from '../../core/events.js';
import type { Logger } from '../../core/logger.js';
import type { IpofficeSettings } from './driver.js';
import type { SmdrLine, SmdrRecord } from './smdr.js';
import { parseSmdrRecord } from './smdr.js';
import { SmdrListener, type SmdrListenerStats } from './smdr-listener.js';
import type { SmdrStore, StoredSmdrRow } from './smdr-store.js';
import { cleanNumber, DEFAULT_EMERGENCY_NUMBERS, DEFAULT_TEST_NUMBERS } from './tracker.js';

// ---------------------------------------------------------------------------------------------------------
// Pure helpers

/**
 * Milliseconds since the epoch of a local date-time (`2026-11-30T08:14:05`, the PBX's system time) in an
 * IANA time zone; without a zone, the hub's own local time zone (IP Office and the hub are on one site).
 * Throws RangeError for an unknown zone.
 */
export function localToUtcMs(local: string, timeZone?: string): number {
  if (!timeZone) return new Date(local).getTime();
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(local);
  if (!m) return Number.NaN;
  const guess = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const offset = (utc: number) => {
    const p: Record<string, number> = {};
    for (const x of fmt.formatToParts(new Date(utc))) if (x.type !== 'literal') p[x.type] = Number(x.value);
    return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - utc;
  };
  const first = guess - offset(guess);
  const second = guess - offset(first);
  return second;
}

/** What DevLink3 told us about a call (from `call.ended` / `call.emergency`), for reconciliation. */
export interface DevlinkCallNote {
  callKey: string;
  startedMs: number;
  numbers: string[];
}

/** The numbers an SMDR record names (caller, called, dialled, the extensions of both parties). */
export function smdrNumbers(r: SmdrRecord): string[] {
  const out = [r.caller.number, r.called.number, r.dialled.number];
  if (r.party1.kind === 'extension') out.push(r.party1.id);
  if (r.party2.kind === 'extension') out.push(r.party2.id);
  return [...new Set(out.map(cleanNumber).filter((n) => n !== ''))];
}

/**
 * The DevLink3 call an SMDR record belongs to: Call Start within `windowMs` of the call's start (PBX and
 * hub clocks may differ by a few seconds; SMDR rounds to the second) and at least one number in common;
 * the closest in time wins. SMDR Call IDs and Delta3 CallIDs are different numbering spaces, so they are
 * never compared.
 */
export function matchDevlinkCall(
  startMs: number,
  numbers: string[],
  calls: Iterable<DevlinkCallNote>,
  windowMs: number,
): DevlinkCallNote | undefined {
  let best: DevlinkCallNote | undefined;
  let bestDiff = Number.POSITIVE_INFINITY;
  const mine = new Set(numbers);
  for (const c of calls) {
    const diff = Math.abs(c.startedMs - startMs);
    if (!(diff <= windowMs) || diff >= bestDiff) continue;
    if (!c.numbers.some((n) => mine.has(cleanNumber(n)))) continue;
    best = c;
    bestDiff = diff;
  }
  return best;
}

/** `emergency` / `test` when the record's dialled or called digits are an emergency or test number. */
export function smdrEmergency(
  r: SmdrRecord,
  emergency: Iterable<string>,
  test: Iterable<string>,
): { kind: 'emergency' | 'test'; number: string } | undefined {
  const e = new Set([...emergency].map(cleanNumber));
  const t = new Set([...test].map(cleanNumber));
  for (const raw of [r.dialled.number, r.called.number]) {
    const n = cleanNumber(raw);
    if (n === '') continue;
    if (t.has(n)) return { kind: 'test', number: n };
    if (e.has(n)) return { kind: 'emergency', number: n };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// The service: one listener per IP Office device with SMDR enabled

export type SmdrSettings = NonNullable<IpofficeSettings['smdr']>;

interface BusLike {
  emit(e: EventInput<Record<string, unknown>>): HubEvent;
  subscribe(
    h: (e: HubEvent) => void,
    opts?: { filter?: { types?: string[]; source?: string } },
  ): { unsubscribe(): void };
}

interface DeviceState {
  device: Device<IpofficeSettings>;
  key: string;
  listener: SmdrListener;
  port: number | undefined;
  error: string | undefined;
  calls: DevlinkCallNote[];
  emergencies: Array<{ at: number; numbers: string[]; callKey: string }>;
  chain: Promise<void>;
}

export interface SmdrStatus {
  deviceId: string;
  listening: boolean;
  port: number | null;
  error: string | null;
  stats: SmdrListenerStats | null;
}

const MEMORY_MS = 15 * 60_000;
/** Records of one call: same Call ID and a Call Start within this (call splitting for diverts moves it). */
const SAME_CALL_MS = 6 * 3600_000;
const MEMORY_MAX = 5000;

/** The SMDR limits and defaults (documented in docs/smdr.md). */
export const SMDR_DEFAULTS = {
  host: '0.0.0.0',
  maxLineBytes: 4096,
  maxConnections: 4,
  maxRecordsPerSecond: 200,
  idleTimeoutMs: 120_000,
  matchWindowMs: 10_000,
} as const;

/** The host part of a device address (`10.0.0.5`, `10.0.0.5:50797`, `[::1]:50797`). */
function hostOf(address: string): string {
  const a = address.trim();
  const v6 = /^\[([^\]]+)\]/.exec(a);
  if (v6) return v6[1]!;
  return a.includes(':') && a.indexOf(':') === a.lastIndexOf(':') ? a.slice(0, a.indexOf(':')) : a;
}

export class SmdrService {
  private readonly devices = new Map<string, DeviceState>();
  private readonly sub: { unsubscribe(): void };

  constructor(
    readonly deps: {
      store: SmdrStore;
      bus: BusLike;
      clock: Clock;
      logger: Logger;
    },
  ) {
    this.sub = deps.bus.subscribe((e) => this.onBusEvent(e), {
      filter: { types: ['call.ended', 'call.emergency'] },
    });
  }

  private configuring: Promise<void> = Promise.resolve();

  /**
   * Starts, restarts or stops the device's listener to match its settings. Calls are serialised, so a quick
   * add-then-update never leaves a listener bound behind a stopped one.
   */
  configure(device: Device<IpofficeSettings> | undefined, id: string): Promise<void> {
    const next = this.configuring.then(() => this.configureNow(device, id));
    this.configuring = next.catch(() => {});
    return next;
  }

  private async configureNow(device: Device<IpofficeSettings> | undefined, id: string): Promise<void> {
    const cur = this.devices.get(id);
    const s = device?.kind === 'ipoffice' ? device.settings.smdr : undefined;
    const key = s?.enabled ? JSON.stringify([s, device?.address]) : '';
    if (cur && cur.key === key) {
      cur.device = device!;
      return;
    }
    if (cur) {
      this.devices.delete(id);
      await cur.listener.stop();
    }
    if (!device || !s?.enabled) return;
    const host = hostOf(device.address);
    const allowFrom = s.allowFrom ?? [host];
    if (!s.allowFrom && net.isIP(host) === 0)
      this.deps.logger.warn(
        { device: id, address: device.address },
        'smdr: the device address is not an IP address, so no peer matches the default allowFrom; set smdr.allowFrom',
      );
    const st: DeviceState = {
      device,
      key,
      port: undefined,
      error: undefined,
      calls: [],
      emergencies: [],
      chain: Promise.resolve(),
      listener: new SmdrListener({
        host: s.listenHost ?? SMDR_DEFAULTS.host,
        port: s.port,
        maxLineBytes: s.maxLineBytes ?? SMDR_DEFAULTS.maxLineBytes,
        maxConnections: s.maxConnections ?? SMDR_DEFAULTS.maxConnections,
        maxRecordsPerSecond: s.maxRecordsPerSecond ?? SMDR_DEFAULTS.maxRecordsPerSecond,
        idleTimeoutMs: s.idleTimeoutMs ?? SMDR_DEFAULTS.idleTimeoutMs,
        allowFrom: allowFrom.includes('*') ? [] : allowFrom,
        clock: this.deps.clock,
        onLine: (l, meta) => {
          // One record at a time per device, in arrival order.
          st.chain = st.chain
            .then(() => this.onLine(st, l, meta.remote))
            .catch((e) =>
              this.deps.logger.error({ device: id, err: errorMessage(e) }, 'smdr: record not stored'),
            );
        },
        onProblem: (what, remote) =>
          this.deps.logger.warn({ device: id, remote, problem: what }, 'smdr: connection or line refused'),
      }),
    };
    this.devices.set(id, st);
    try {
      if (s.timeZone) localToUtcMs('2026-01-01T00:00:00', s.timeZone);
      st.port = await st.listener.start();
      this.deps.logger.info({ device: id, port: st.port }, 'smdr: listening for IP Office call records');
    } catch (e) {
      st.error = errorMessage(e);
      this.deps.logger.error({ device: id, err: e }, 'smdr: cannot listen');
    }
  }

  /** The call-history store (for the API and exports). */
  get store(): SmdrStore {
    return this.deps.store;
  }

  status(id: string): SmdrStatus | undefined {
    const st = this.devices.get(id);
    if (!st) return undefined;
    return {
      deviceId: id,
      listening: st.port !== undefined && st.error === undefined,
      port: st.port ?? null,
      error: st.error ?? null,
      stats: { ...st.listener.stats },
    };
  }

  /** Resolves when every record received so far is stored and its events emitted. */
  async idle(): Promise<void> {
    await Promise.all([...this.devices.values()].map((d) => d.chain));
  }

  async stop(): Promise<void> {
    this.sub.unsubscribe();
    const all = [...this.devices.values()];
    this.devices.clear();
    await Promise.all(all.map((d) => d.listener.stop()));
    await Promise.all(all.map((d) => d.chain));
  }

  // -------------------------------------------------------------------------------------------------------

  private remember<T extends { at?: number; startedMs?: number }>(list: T[], item: T): void {
    list.push(item);
    const cut = this.deps.clock.now() - MEMORY_MS;
    while (list.length > MEMORY_MAX || (list.length > 0 && (list[0]!.at ?? list[0]!.startedMs ?? 0) < cut))
      list.shift();
  }

  private onBusEvent(e: HubEvent): void {
    const st = this.devices.get(e.source);
    if (!st) return;
    const d = e.data;
    const str = (v: unknown) => (typeof v === 'string' ? v : '');
    if (e.type === 'call.emergency') {
      if (d.via === 'smdr') return;
      this.remember(st.emergencies, {
        at: Date.parse(e.time),
        numbers: [str(d.callerExtension), str(d.cli), str(d.callbackNumber)].map(cleanNumber).filter(Boolean),
        callKey: str(d.callKey),
      });
      return;
    }
    const startedMs = Date.parse(str(d.startedAt));
    if (!Number.isFinite(startedMs)) return;
    const note: DevlinkCallNote = {
      callKey: str(d.callKey),
      startedMs,
      numbers: [
        str(d.from),
        str(d.to),
        str(d.extension),
        str(d.answeredBy),
        ...(Array.isArray(d.targets) ? d.targets.map(str) : []),
      ].filter(Boolean),
    };
    this.remember(st.calls, note);
    // The SMDR record may have come first (both are written when the call ends).
    st.chain = st.chain
      .then(() => this.reconcileLater(st, note))
      .catch((err) =>
        this.deps.logger.warn(
          { device: st.device.id, err: errorMessage(err) },
          'smdr: reconciliation failed',
        ),
      );
  }

  private async reconcileLater(st: DeviceState, note: DevlinkCallNote): Promise<void> {
    const w = this.window(st);
    const rows = await this.deps.store.unreconciled(
      st.device.id,
      new Date(note.startedMs - w).toISOString(),
      new Date(note.startedMs + w).toISOString(),
    );
    for (const row of rows) {
      const rec = parseSmdrRecord(row.line);
      const startMs = Date.parse(row.callStart ?? '');
      if (!matchDevlinkCall(startMs, smdrNumbers(rec), [note], w)) continue;
      await this.deps.store.setDevlinkCallKey(row.id, note.callKey);
      this.emit(st, 'cdr.reconciled', { id: row.id, callId: row.callId, devlinkCallKey: note.callKey });
    }
  }

  private window(st: DeviceState): number {
    return st.device.settings.smdr?.matchWindowMs ?? SMDR_DEFAULTS.matchWindowMs;
  }

  private emit(st: DeviceState, type: string, data: Record<string, unknown>): void {
    try {
      this.deps.bus.emit({ source: st.device.id, type, data });
    } catch (e) {
      this.deps.logger.debug({ type, err: errorMessage(e) }, 'smdr: event dropped');
    }
  }

  private async onLine(st: DeviceState, l: SmdrLine, remote: string): Promise<void> {
    if (l.kind === 'header') return;
    if (l.kind === 'invalid') {
      this.deps.logger.warn(
        { device: st.device.id, remote, line: l.line, err: l.error.message, text: l.text.slice(0, 120) },
        'smdr: line is not a record',
      );
      return;
    }
    const r = l.record;
    const settings = st.device.settings;
    const startMs = localToUtcMs(r.callStart, settings.smdr?.timeZone);
    const callStart = Number.isFinite(startMs) ? new Date(startMs).toISOString() : null;
    const hit = smdrEmergency(
      r,
      settings.emergencyNumbers ?? DEFAULT_EMERGENCY_NUMBERS,
      settings.testNumbers ?? DEFAULT_TEST_NUMBERS,
    );
    const numbers = smdrNumbers(r);
    const w = this.window(st);
    const match = Number.isFinite(startMs) ? matchDevlinkCall(startMs, numbers, st.calls, w) : undefined;
    const row: StoredSmdrRow = {
      id: `cdr_${randomUUID()}`,
      deviceId: st.device.id,
      receivedAt: new Date(this.deps.clock.now()).toISOString(),
      callStart,
      callId: r.callId,
      continuation: r.continuation,
      line: l.text,
      emergency: hit !== undefined,
      devlinkCallKey: match?.callKey ?? null,
    };
    // A resend of a stored line (IP Office replays its buffer after a link failure) is ignored.
    if (!(await this.deps.store.insert(row))) return;
    this.emit(st, 'cdr.record', {
      id: row.id,
      callId: r.callId,
      continuation: r.continuation,
      callStart,
      callStartLocal: r.callStart,
      direction: r.direction,
      internal: r.internal ?? null,
      caller: r.caller.number,
      called: r.called.number,
      dialled: r.dialled.number,
      account: r.fields.account,
      party1: r.party1,
      party2: r.party2,
      connectedSeconds: r.connectedSeconds,
      ringSeconds: r.ringSeconds,
      holdSeconds: r.holdSeconds,
      parkSeconds: r.parkSeconds,
      totalSeconds: r.totalSeconds,
      emergency: hit?.kind === 'emergency',
      test: hit?.kind === 'test',
      devlinkCallKey: row.devlinkCallKey,
      fields: r.fields,
      extra: r.extra,
    });
    if (hit) await this.checkLateEmergency(st, r, row, hit, startMs, numbers);
  }

  /**
   * A 911 call in SMDR that DevLink3 never reported (the link was down, or the hub was): raise it now, late,
   * so the security desk still learns of it. Once per SMDR Call ID.
   */
  private async checkLateEmergency(
    st: DeviceState,
    r: SmdrRecord,
    row: StoredSmdrRow,
    hit: { kind: 'emergency' | 'test'; number: string },
    startMs: number,
    numbers: string[],
  ): Promise<void> {
    const w = this.window(st);
    const endMs = Date.parse(row.receivedAt);
    const seen = st.emergencies.find(
      (e) =>
        (!Number.isFinite(startMs) || (e.at >= startMs - w && e.at <= endMs + w)) &&
        e.numbers.some((n) => numbers.includes(n)),
    );
    if (seen) return;
    // Segments of one call share Call ID and Call Start; IP Office reuses Call IDs after a restart, so an
    // older record with the same Call ID but another start is another call.
    const sameCall = await this.deps.store.list({ deviceId: st.device.id, callId: r.callId, limit: 50 });
    const near = (x: StoredSmdrRow) =>
      x.callStart === null ||
      row.callStart === null ||
      Math.abs(Date.parse(x.callStart) - startMs) <= SAME_CALL_MS;
    if (sameCall.some((x) => x.emergency && x.id !== row.id && near(x))) return;
    const callerExtension = r.party1.kind === 'extension' ? r.party1.id : '';
    const cli = r.caller.number || callerExtension;
    this.emit(st, 'call.emergency', {
      callKey: `smdr:${st.device.id}:${r.callId}`,
      via: 'smdr',
      late: true,
      callerExtension,
      callerName: r.party1.kind === 'extension' ? r.party1.name : '',
      cli,
      callbackNumber: cli,
      dialled: hit.number,
      detectedBy: 'smdr',
      test: hit.kind === 'test',
      startedAt: row.callStart,
      smdr: { id: row.id, callId: r.callId, line: row.line },
      pbx: { deviceId: st.device.id, name: st.device.name, location: st.device.location },
    });
    this.deps.logger.warn(
      { device: st.device.id, callId: r.callId, callerExtension },
      'smdr: emergency call seen only in SMDR (DevLink3 did not report it): raised late',
    );
  }
}
