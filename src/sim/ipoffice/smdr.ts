import net from 'node:net';
import { TRUNK_CLASSES } from '../../drivers/ipoffice/enums.js';
import type { Delta3Party, Delta3Record, Delta3Target } from '../../drivers/ipoffice/records.js';
import { hms, smdrLine } from '../../drivers/ipoffice/smdr.js';

/**
 * The simulator's SMDR output: it watches the Delta3 records the simulator plays and, when a call ends
 * (no party left), writes the call's SMDR record the way IP Office does in "send mode": it connects to the
 * configured address and port, writes the records (CR LF each) and closes; records that cannot be sent
 * are buffered (500 by default, oldest dropped, like "Record to Buffer") and sent on the next attempt.
 */
export interface SimSmdrOptions {
  host: string;
  port: number;
  /** Records kept while the collector is unreachable (IP Office default 500, range 10–3000). */
  buffer?: number;
  /** Delay before retrying after a failed connection (default 1000 ms). */
  retryMs?: number;
  /** Write records without the final CR LF (a collector must still read the last one). */
  noFinalLineEnd?: boolean;
  /** The PBX address written in the server IP fields. */
  pbxIp: string;
  /** Extension → user name. */
  names: Map<string, string>;
  now: () => number;
}

interface Model {
  startedAt: number;
  answeredAt: number | undefined;
  a: Delta3Party;
  b: Delta3Party | undefined;
  lastTarget: Delta3Target | undefined;
  ends: Set<string>;
  trunk: boolean;
}

const isTrunk = (p: { equipmentClass?: number | undefined; publicLine?: number } | undefined) =>
  p !== undefined && ((p.publicLine ?? 0) === 1 || TRUNK_CLASSES.has(p.equipmentClass ?? -1));

/** `YYYY/MM/DD HH:MM:SS` in the process's local time (the PBX's system time). */
function localStamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export class SimSmdr {
  private readonly calls = new Map<string, Model>();
  private readonly ends = new Map<string, string>();
  private queue: string[] = [];
  private sending = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private nextCallId = 1_004_000;
  private stopped = false;
  /** Every record line produced (most recent 1000), for tests and the CLI. */
  readonly produced: string[] = [];
  readonly stats = { records: 0, sent: 0, failedConnections: 0, dropped: 0 };

  constructor(private readonly opts: SimSmdrOptions) {}

  /** Records waiting to be sent. */
  get pending(): number {
    return this.queue.length;
  }

  observe(rec: Delta3Record): void {
    const now = this.opts.now();
    if (rec.type === 'Detail') {
      const key = `${rec.call.nodeId}:${rec.call.callId}`;
      let m = this.calls.get(key);
      if (!m) {
        m = {
          startedAt: now,
          answeredAt: undefined,
          a: rec.partyA,
          b: undefined,
          lastTarget: undefined,
          ends: new Set(),
          trunk: false,
        };
        this.calls.set(key, m);
      }
      m.a = rec.partyA;
      if (rec.partyB) m.b = rec.partyB;
      if (rec.targets.length > 0) m.lastTarget = rec.targets[rec.targets.length - 1];
      m.trunk ||= isTrunk(rec.partyA) || isTrunk(rec.partyB) || rec.targets.some(isTrunk);
      if (m.answeredAt === undefined && rec.partyB?.state === 2 && rec.partyA.state === 2) m.answeredAt = now;
      for (const p of [rec.partyA, rec.partyB]) {
        if (!p) continue;
        m.ends.add(p.endId);
        this.ends.set(p.endId, key);
      }
      return;
    }
    if (rec.type === 'CallLost' || rec.type === 'LinkLost') {
      const key = this.ends.get(rec.endId);
      this.ends.delete(rec.endId);
      const m = key === undefined ? undefined : this.calls.get(key);
      if (!m) return;
      m.ends.delete(rec.endId);
      if (m.ends.size > 0) return;
      this.calls.delete(key!);
      this.record(m, now);
    }
  }

  private device(p: Delta3Party | Delta3Target | undefined, n: number): { device: string; name: string } {
    if (!p) return { device: '', name: '' };
    if (p.identity)
      return { device: `E${p.identity}`, name: this.opts.names.get(p.identity) ?? `Extn${p.identity}` };
    if (isTrunk(p)) return { device: `T${9000 + n}`, name: `LINE ${n}.1` };
    if (p.equipmentClass === 12) return { device: `V${9500 + n}`, name: `VM Channel ${n}` };
    if (p.equipmentClass === 17) return { device: `V${9550 + n}`, name: `CONF ${n}` };
    return { device: `U${9600 + n}`, name: 'Other' };
  }

  private record(m: Model, endedAt: number): void {
    const a = m.a;
    const other = m.b ?? m.lastTarget;
    const inbound = isTrunk(a) && a.direction === 1;
    const caller = inbound ? a.cli : a.identity || a.cli;
    const called =
      a.did || a.dialled || a.targetNumber || other?.identity || other?.targetNumber || other?.purpose || '';
    const ring = Math.round(((m.answeredAt ?? endedAt) - m.startedAt) / 1000);
    const connected = m.answeredAt === undefined ? 0 : Math.round((endedAt - m.answeredAt) / 1000);
    const callId = this.nextCallId++;
    const p1 = this.device(a, 1);
    const p2 = this.device(other, 2);
    const line = smdrLine({
      callStart: localStamp(m.startedAt),
      connectedTime: hms(connected),
      ringTime: ring,
      caller,
      direction: inbound ? 'I' : 'O',
      calledNumber: called,
      dialledNumber: a.dialled || called,
      account: '',
      isInternal: m.trunk ? 0 : 1,
      callId,
      continuation: 0,
      party1Device: p1.device,
      party1Name: p1.name,
      party2Device: p2.device,
      party2Name: p2.name,
      holdTime: 0,
      parkTime: 0,
      authValid: 0,
      userCharged: '',
      callCharge: '0.00',
      amountAtLastUserChange: '0.00',
      callUnits: 0,
      unitsAtLastUserChange: 0,
      costPerUnit: '0.00',
      markUp: '0.00',
      callingPartyServerIp: this.opts.pbxIp,
      callingPartyUniqueCallId: callId * 2,
      calledPartyServerIp: this.opts.pbxIp,
      calledPartyUniqueCallId: callId * 2 + 1,
      smdrRecordTime: localStamp(endedAt),
    });
    this.stats.records++;
    this.produced.push(line);
    if (this.produced.length > 1000) this.produced.shift();
    this.queue.push(line);
    const max = this.opts.buffer ?? 500;
    while (this.queue.length > max) {
      this.queue.shift();
      this.stats.dropped++;
    }
    this.send();
  }

  /** Sends what is queued (one connection per batch). */
  private send(): void {
    if (this.sending || this.stopped || this.queue.length === 0) return;
    this.sending = true;
    const batch = this.queue.slice();
    const socket = net.connect({ host: this.opts.host, port: this.opts.port });
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      this.sending = false;
      if (ok) {
        this.queue.splice(0, Math.min(batch.length, this.queue.length));
        this.stats.sent += batch.length;
        this.send();
      } else {
        this.stats.failedConnections++;
        socket.destroy();
        if (!this.stopped && !this.retry)
          this.retry = setTimeout(() => {
            this.retry = undefined;
            this.send();
          }, this.opts.retryMs ?? 1000);
      }
    };
    socket.setTimeout(10_000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => {
      const text = batch.join('\r\n') + (this.opts.noFinalLineEnd ? '' : '\r\n');
      socket.end(text, () => finish(true));
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
  }
}
