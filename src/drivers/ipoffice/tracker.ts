import { type Clock, systemClock } from '../../core/clock.js';
import { CALLED_TYPE_EMERGENCY, PHONE_CLASSES, TRUNK_CLASSES } from './enums.js';

/** Names for called ends that are equipment, not users (seed 004 equipment classification). */
const EQUIPMENT_NAMES: Readonly<Record<number, string>> = {
  12: 'Voicemail',
  17: 'Conference',
  18: 'Paging',
  16: 'Park',
};

import type { EventRecord } from './event-records.js';
import type {
  CmExtnRecord,
  Delta3AttemptReject,
  Delta3CallLost,
  Delta3Detail,
  Delta3LinkLost,
  Delta3Party,
  Delta3Record,
  Delta3Target,
} from './records.js';
import { CMEXTN_STATE } from './records.js';

/**
 * The call tracker: a live model of calls (key: node id + CallID) and parties (key: end identifier),
 * fed with Delta3 records. Each Detail replaces the call's view; CallLost/LinkLost remove a party; a call
 * ends when no party remains (the seed: there is no explicit "call cleared" record). Pure: no I/O, time
 * from the injected clock, events out through `emit`.
 */

export type CallEventType =
  | 'call.started'
  | 'call.updated'
  | 'call.ringing'
  | 'call.answered'
  | 'call.held'
  | 'call.transferred'
  | 'call.ended'
  | 'call.rejected'
  | 'call.emergency';
export type TrackerEventType = CallEventType | 'extension.state' | 'pbx.gap';

export type CallDirection = 'inbound' | 'outbound' | 'internal';
export type CallState = 'dialling' | 'ringing' | 'queued' | 'connected' | 'held' | 'other';

/** The flat summary every call event carries. */
export interface CallSummary {
  [key: string]: unknown;
  callKey: string;
  nodeId: string;
  callId: number;
  state: CallState;
  direction: CallDirection;
  from: string;
  fromName: string;
  to: string;
  toName: string;
  huntGroup: string;
  /** Trunk description (`line.channel` for ISDN, SIP Call-ID for SIP) of the trunk end, if any. */
  trunk: string;
  /** Extension of the first user handset on the call. */
  extension: string;
  targets: string[];
  parties: string[];
  startedAt: string;
  answeredAt: string | undefined;
  emergency: boolean;
  /** The parsed record this event comes from (absent in `list()`). */
  record?: unknown;
  /** The record's XML text. */
  raw?: string | undefined;
}

export interface TrackerOptions {
  emit: (type: TrackerEventType, data: Record<string, unknown>) => void;
  clock?: Clock;
  /** Dialled digits that are an emergency call (exact match after removing spaces and dashes). */
  emergencyNumbers?: string[];
  /** Emergency test numbers (e.g. 933): `call.emergency` with `test: true`. */
  testNumbers?: string[];
}

interface Party {
  endId: string;
  role: 'A' | 'B';
  party: Delta3Party;
}

interface TrackedCall {
  key: string;
  nodeId: string;
  callId: number;
  startedAt: number;
  startedIso: string;
  answeredIso: string | undefined;
  answeredAt: number | undefined;
  detail: Delta3Detail;
  text: string;
  parties: Map<string, Party>;
  targets: Delta3Target[];
  ringing: boolean;
  held: boolean;
  emergency: boolean;
  transfers: Set<string>;
  confirmed: boolean;
}

const CLEAN_RE = /[\s-]/g;
const clean = (s: string) => (s === '' ? s : s.replace(CLEAN_RE, ''));
/** A dialled or called number without spaces and dashes (how emergency numbers are compared). */
export const cleanNumber = clean;

export const DEFAULT_EMERGENCY_NUMBERS = ['911', '9911'];
export const DEFAULT_TEST_NUMBERS = ['933', '9933'];

function isTrunk(p: Delta3Party | Delta3Target | undefined): boolean {
  return p !== undefined && (p.publicLine === 1 || TRUNK_CLASSES.has(p.equipmentClass ?? -1));
}

function isHeld(p: Delta3Party): boolean {
  return p.state === 2 && (p.audioPath === 0 || p.tone === 1);
}

export class CallTracker {
  private readonly calls = new Map<string, TrackedCall>();
  private readonly ends = new Map<string, string>();
  private readonly users = new Map<string, string>();
  private readonly counters = new Map<string, number>();
  private readonly emergency: Set<string>;
  private readonly test: Set<string>;
  private readonly clock: Clock;
  private resyncing = false;

  constructor(private readonly opts: TrackerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.emergency = new Set((opts.emergencyNumbers ?? DEFAULT_EMERGENCY_NUMBERS).map(clean));
    this.test = new Set((opts.testNumbers ?? DEFAULT_TEST_NUMBERS).map(clean));
  }

  /** Extension → user name (from ReadFile `nasystem/user_list`), used when a record has no name. */
  setUsers(users: Iterable<{ extension: string; name: string; fullName?: string }>): void {
    this.users.clear();
    for (const u of users) if (u.extension) this.users.set(u.extension, u.fullName || u.name);
  }

  get size(): number {
    return this.calls.size;
  }

  /** Live calls, as summaries. */
  list(): CallSummary[] {
    const out: CallSummary[] = [];
    for (const c of this.calls.values()) {
      const sum = this.summary(c);
      delete sum.record;
      delete sum.raw;
      out.push(sum);
    }
    return out;
  }

  get(key: string): { summary: CallSummary; record: Delta3Detail } | undefined {
    const c = this.calls.get(key);
    if (!c) return undefined;
    const summary = this.summary(c);
    delete summary.record;
    delete summary.raw;
    return { summary, record: c.detail };
  }

  /**
   * Checks the per-PBX event counter; emits `pbx.gap` when events were missed. Returns the number of
   * missing events (0 when in sequence or first seen).
   */
  noteCounter(pbxIp: string, counter: number): number {
    const last = this.counters.get(pbxIp);
    this.counters.set(pbxIp, counter);
    if (last === undefined) return 0;
    const missing = (counter - last - 1) >>> 0;
    if (missing === 0 || missing > 0x7fffffff) return 0;
    this.opts.emit('pbx.gap', { pbxIp, expected: (last + 1) >>> 0, received: counter, missing });
    return missing;
  }

  /**
   * Starts a reconciliation after a (re)connect: the PBX re-sends a Detail for every call in progress.
   * Counters restart. Calls not re-announced before `endResync()` are ended with reason `resync`.
   */
  beginResync(): void {
    this.resyncing = true;
    this.counters.clear();
    for (const c of this.calls.values()) c.confirmed = false;
  }

  endResync(): number {
    if (!this.resyncing) return 0;
    this.resyncing = false;
    let n = 0;
    for (const c of [...this.calls.values()]) {
      if (c.confirmed) continue;
      n++;
      this.end(c, { reason: 'resync' }, undefined, undefined);
    }
    return n;
  }

  /** Feeds one decoded event tuple. */
  onRecord(r: EventRecord): void {
    if (r.kind === 'delta3') this.onDelta3(r.record, r.text);
    else if (r.kind === 'cmextn') this.onCmExtn(r.record);
  }

  onDelta3(r: Delta3Record, text = ''): void {
    switch (r.type) {
      case 'Detail':
        this.onDetail(r, text);
        break;
      case 'CallLost':
      case 'LinkLost':
        this.onLost(r, text);
        break;
      case 'AttemptReject':
        this.onReject(r, text);
        break;
    }
  }

  private onDetail(d: Delta3Detail, text: string): void {
    const key = `${d.call.nodeId}:${d.call.callId}`;
    let c = this.calls.get(key);
    const isNew = c === undefined;
    if (!c) {
      c = {
        key,
        nodeId: d.call.nodeId,
        callId: d.call.callId!,
        startedAt: this.clock.now(),
        startedIso: new Date(this.clock.now()).toISOString(),
        answeredIso: undefined,
        answeredAt: undefined,
        detail: d,
        text,
        parties: new Map(),
        targets: [],
        ringing: false,
        held: false,
        emergency: false,
        transfers: new Set(),
        confirmed: true,
      };
      this.calls.set(key, c);
    }
    c.confirmed = true;
    c.detail = d;
    c.text = text;
    // Replace the party view.
    const next = new Map<string, Party>();
    next.set(d.partyA.endId, { endId: d.partyA.endId, role: 'A', party: d.partyA });
    if (d.partyB) next.set(d.partyB.endId, { endId: d.partyB.endId, role: 'B', party: d.partyB });
    for (const old of c.parties.keys())
      if (!next.has(old) && this.ends.get(old) === key) this.ends.delete(old);
    const moved: TrackedCall[] = [];
    for (const endId of next.keys()) {
      const prevKey = this.ends.get(endId);
      if (prevKey !== undefined && prevKey !== key) {
        const prev = this.calls.get(prevKey);
        if (prev) {
          prev.parties.delete(endId);
          moved.push(prev);
        }
      }
      this.ends.set(endId, key);
    }
    c.parties = next;
    c.targets = d.targets;

    const sum = this.summary(c, d, text);
    this.opts.emit(isNew ? 'call.started' : 'call.updated', sum);

    if (!c.emergency) this.checkEmergency(c, d, text);

    const ringing =
      d.targets.length > 0 ||
      d.partyB?.state === 1 ||
      d.partyA.state === 19 ||
      d.partyA.state === 1 ||
      d.partyA.state === 15;
    if (ringing && !c.ringing && c.answeredAt === undefined) {
      c.ringing = true;
      const e = this.summary(c, d, text);
      e.ringing = sum.targets;
      this.opts.emit('call.ringing', e);
    }
    if (c.answeredAt === undefined && d.partyB && d.partyB.state === 2 && d.partyA.state === 2) {
      c.answeredAt = this.clock.now();
      c.answeredIso = new Date(c.answeredAt).toISOString();
      const e = this.summary(c, d, text);
      e.answeredBy = this.partyNumber(d.partyB);
      e.answeredByName = this.partyName(d.partyB);
      e.ringSeconds = Math.round((c.answeredAt - c.startedAt) / 100) / 10;
      this.opts.emit('call.answered', e);
    }
    const heldParty = isHeld(d.partyA) ? d.partyA : d.partyB && isHeld(d.partyB) ? d.partyB : undefined;
    if (heldParty && !c.held && c.answeredAt !== undefined) {
      c.held = true;
      const e = this.summary(c, d, text);
      e.heldEnd = heldParty.endId;
      e.heldNumber = this.partyNumber(heldParty);
      this.opts.emit('call.held', e);
    } else if (!heldParty && c.held) c.held = false;
    if (d.partyA.relatedEndId !== '' || (d.partyB !== undefined && d.partyB.relatedEndId !== '')) {
      for (const p of [d.partyA, d.partyB]) {
        if (!p || p.relatedEndId === '' || c.transfers.has(p.relatedEndId)) continue;
        c.transfers.add(p.relatedEndId);
        const e = this.summary(c, d, text);
        e.via = 'related-end';
        e.endId = p.endId;
        e.relatedEndId = p.relatedEndId;
        e.transferredTo = this.partyNumber(p);
        this.opts.emit('call.transferred', e);
      }
    }
    for (const m of moved)
      if (m.parties.size === 0) this.end(m, { reason: 'moved', movedTo: key }, undefined, text);
  }

  private onLost(r: Delta3CallLost | Delta3LinkLost, text: string): void {
    const key = this.ends.get(r.endId);
    if (key === undefined) return;
    this.ends.delete(r.endId);
    const c = this.calls.get(key);
    if (!c) return;
    const gone = c.parties.get(r.endId);
    c.parties.delete(r.endId);
    if (r.cause === 126) {
      this.opts.emit('call.transferred', {
        ...this.summary(c),
        via: 'call-lost',
        endId: r.endId,
        transferredBy: gone ? this.partyNumber(gone.party) : '',
        cause: r.cause,
        record: r,
        raw: text,
      });
    }
    if (c.parties.size === 0) {
      this.end(
        c,
        {
          reason: r.cause === 126 ? 'transferred' : 'cleared',
          cause: r.cause,
          causeName: r.causeName,
          clearedBy: {
            endId: r.endId,
            number: gone ? this.partyNumber(gone.party) : '',
            name: gone ? this.partyName(gone.party) : '',
            role: gone?.role,
            clearedInbound: r.clearedInbound === 1,
          },
        },
        r,
        text,
      );
    } else {
      const e = this.summary(c, r, text);
      e.partyGone = r.endId;
      this.opts.emit('call.updated', e);
    }
  }

  private end(
    c: TrackedCall,
    extra: Record<string, unknown>,
    record: Delta3Record | undefined,
    text: string | undefined,
  ): void {
    this.calls.delete(c.key);
    for (const endId of c.parties.keys()) if (this.ends.get(endId) === c.key) this.ends.delete(endId);
    const now = this.clock.now();
    const e = this.summary(c, record ?? c.detail, text ?? c.text);
    for (const k in extra) e[k] = extra[k];
    e.durationSeconds = Math.round((now - c.startedAt) / 100) / 10;
    e.talkSeconds = c.answeredAt === undefined ? 0 : Math.round((now - c.answeredAt) / 100) / 10;
    e.endedAt = new Date(now).toISOString();
    this.opts.emit('call.ended', e);
  }

  private onReject(r: Delta3AttemptReject, text: string): void {
    let key = this.ends.get(r.endId);
    if (key === undefined) {
      for (const c of this.calls.values()) if (c.targets.some((t) => t.endId === r.endId)) key = c.key;
    }
    const c = key === undefined ? undefined : this.calls.get(key);
    this.opts.emit('call.rejected', {
      ...(c ? this.summary(c) : { nodeId: r.nodeId }),
      endId: r.endId,
      user: r.user,
      userName: this.users.get(r.user) ?? '',
      qualifier: r.qualifier,
      record: r,
      raw: text,
    });
  }

  private onCmExtn(r: CmExtnRecord): void {
    if (r.form === 'extended') {
      this.opts.emit('extension.state', {
        extension: r.extension ?? '',
        name: r.extension ? (this.users.get(r.extension) ?? '') : '',
        v: r.v,
        p1: r.p1,
        p2: r.p2,
        newState: r.v === 1 ? (CMEXTN_STATE[r.p1] ?? String(r.p1)) : undefined,
        oldState: r.v === 1 ? (CMEXTN_STATE[r.p2] ?? String(r.p2)) : undefined,
        text: r.text,
      });
    } else {
      this.opts.emit('extension.state', {
        extension: r.extension ?? '',
        name: r.extension ? (this.users.get(r.extension) ?? '') : '',
        message: r.message,
        text: r.text,
      });
    }
  }

  // -------------------------------------------------------------------------------------------------------

  private checkEmergency(c: TrackedCall, d: Delta3Detail, text: string): void {
    let hit:
      | {
          by: 'calledType' | 'dialled' | 'targetNumber';
          number: string;
          test: boolean;
          party: Delta3Party | Delta3Target;
        }
      | undefined;
    const n = d.targets.length + 2;
    for (let k = 0; k < n; k++) {
      const p: Delta3Party | Delta3Target | undefined =
        k === 0 ? d.partyA : k === 1 ? d.partyB : d.targets[k - 2];
      if (p === undefined) continue;
      const dialledRaw = k < 2 ? (p as Delta3Party).dialled : '';
      if (p.calledType !== CALLED_TYPE_EMERGENCY && p.targetNumber === '' && dialledRaw === '') continue;
      const dialled = clean(dialledRaw);
      const target = clean(p.targetNumber);
      if (dialled && this.test.has(dialled)) hit = { by: 'dialled', number: dialled, test: true, party: p };
      else if (target && this.test.has(target))
        hit = { by: 'targetNumber', number: target, test: true, party: p };
      else if (p.calledType === CALLED_TYPE_EMERGENCY)
        hit = { by: 'calledType', number: dialled || target, test: false, party: p };
      else if (dialled && this.emergency.has(dialled))
        hit = { by: 'dialled', number: dialled, test: false, party: p };
      else if (target && this.emergency.has(target))
        hit = { by: 'targetNumber', number: target, test: false, party: p };
      if (hit) break;
    }
    if (!hit) return;
    c.emergency = true;
    // The caller: the handset that made the call (direction 1), else the first user handset, else PartyA.
    const all = [d.partyA, ...(d.partyB ? [d.partyB] : [])];
    const caller =
      all.find(
        (p) => p.direction === 1 && (p.identity !== '' || PHONE_CLASSES.has(p.equipmentClass ?? -1)),
      ) ??
      all.find((p) => p.identity !== '') ??
      d.partyA;
    const extension = caller.identity;
    const cli = caller.cli || extension;
    this.opts.emit('call.emergency', {
      ...this.summary(c),
      callerExtension: extension,
      callerName: this.partyName(caller),
      cli,
      callbackNumber: cli,
      emergencyLocationId: caller.emergencyLocation,
      dialled: hit.number,
      calledType: hit.party.calledType,
      detectedBy: hit.by,
      test: hit.test,
      record: d,
      raw: text,
    });
  }

  /**
   * The number of a call end. Seed 004 §6.7.3: CLI and calling party name describe the *calling* party on
   * every end, so a called end (direction 0) that is not a handset or trunk (voicemail, conference, an
   * auto-attendant) is named by its Target number, else its Purpose (the mailbox, hunt group or
   * diversion it serves), never by its CLI — that is the caller's own number.
   */
  private partyNumber(p: Delta3Party): string {
    if (p.identity) return p.identity;
    if (TRUNK_CLASSES.has(p.equipmentClass ?? -1) || p.publicLine === 1)
      return p.direction === 1 ? p.cli : p.targetNumber;
    if (p.direction !== 1) return p.targetNumber || p.purpose || p.dialled;
    return p.cli || p.targetNumber || p.dialled;
  }

  /**
   * The name of a call end. On a called end the calling party name is the caller's, except when its name
   * type says it names the equipment itself (8 conference, 12 voicemail call flow); else the class name.
   */
  private partyName(p: Delta3Party): string {
    if (p.direction !== 1 && !isTrunk(p)) {
      if (p.identity) return this.users.get(p.identity) ?? '';
      if (p.callingName && (p.callingNameType === 8 || p.callingNameType === 12)) return p.callingName;
      return EQUIPMENT_NAMES[p.equipmentClass ?? -1] ?? '';
    }
    if (p.callingName) return p.callingName;
    if (p.identity) return this.users.get(p.identity) ?? '';
    return '';
  }

  private summary(c: TrackedCall, record?: unknown, raw?: string): CallSummary {
    const d = c.detail;
    const a = d.partyA;
    const b = d.partyB;
    const aTrunk = isTrunk(a);
    const bTrunk = isTrunk(b);
    const trunkParty = aTrunk ? a : bTrunk ? b : undefined;
    let targetTrunk = false;
    const targets: string[] = [];
    let targetPhone: string | undefined;
    for (const t of d.targets) {
      if (isTrunk(t)) targetTrunk = true;
      targets.push(t.identity || t.targetNumber);
      if (targetPhone === undefined && t.identity !== '') targetPhone = t.identity;
    }
    const direction: CallDirection =
      aTrunk && a.direction === 1 ? 'inbound' : bTrunk || targetTrunk || aTrunk ? 'outbound' : 'internal';
    const from = this.partyNumber(a);
    let to = '';
    let toName = '';
    if (b) {
      to = this.partyNumber(b);
      toName = this.partyName(b);
    } else if (d.targets.length > 0) {
      to =
        d.call.currentHuntGroup || d.call.currentUser || d.targets[0]!.identity || d.targets[0]!.targetNumber;
    } else {
      to =
        a.direction === 1
          ? a.did || a.dialled || d.call.currentHuntGroup || d.call.currentUser
          : a.targetNumber;
    }
    if (!toName && to) toName = this.users.get(to) ?? '';
    let state: CallState;
    if (b && b.state === 2 && a.state === 2) state = c.held ? 'held' : 'connected';
    else if (d.call.queueStatus === 1 || d.call.queueStatus === 3) state = 'queued';
    else if (d.targets.length > 0 || b?.state === 1 || a.state === 19 || a.state === 15 || a.state === 1)
      state = 'ringing';
    else if (a.state === 7 || a.state === 8 || a.state === 9 || a.state === 16) state = 'dialling';
    else state = 'other';
    const extension =
      a.identity !== '' ? a.identity : b && b.identity !== '' ? b.identity : (targetPhone ?? '');
    return {
      callKey: c.key,
      nodeId: c.nodeId,
      callId: c.callId,
      state,
      direction,
      from,
      fromName: this.partyName(a),
      to,
      toName,
      huntGroup:
        d.call.currentHuntGroup ||
        d.call.originalHuntGroup ||
        (d.call.ownerHuntGroup !== '0' ? d.call.ownerHuntGroup : '') ||
        (d.targets.length > 0 ? d.targets[0]!.purpose : ''),
      trunk: trunkParty ? trunkParty.description : '',
      extension,
      targets,
      parties: [...c.parties.keys()],
      startedAt: c.startedIso,
      answeredAt: c.answeredIso,
      emergency: c.emergency,
      record,
      raw,
    };
  }
}
