import { escapeXml } from '../../core/xml.js';
import { decodeXmlEntities as decodeEntities } from '../../core/xml-read.js';
import {
  CALLED_TYPE,
  CALLING_NAME_TYPE,
  CAUSE,
  CLI_PRESENTATION,
  DELTA2_STATE,
  decodeFlags,
  EQUIPMENT_CLASS,
  enumName,
  PARTY_STATE,
  type PartyFlags,
  QUEUE_STATUS,
  TONE,
} from './enums.js';
import { Devlink3RecordError } from './errors.js';

/**
 * Delta3 records (seed §6.7): element-only XML whose leaf elements hold comma-separated field lists
 * (quoted strings for names). Trailing fields are optional: the seed's own examples omit some. Pure.
 */

type Kind = 'str' | 'int' | 'qstr';
type FieldDef = readonly [name: string, kind: Kind];

export const CALL_FIELDS = [
  ['nodeId', 'str'],
  ['callId', 'int'],
  ['accountCode', 'str'],
  ['authCode', 'str'],
  ['tag', 'str'],
  ['transferCause', 'int'],
  ['ownerHuntGroup', 'str'],
  ['originalHuntGroup', 'str'],
  ['originalUser', 'str'],
  ['currentHuntGroup', 'str'],
  ['currentUser', 'str'],
  ['voicemailLeaving', 'int'],
  ['voicemailLength', 'int'],
  ['queueStatus', 'int'],
  ['timestamp', 'int'],
  ['huntGroupOverflow', 'int'],
  ['transferredOutOfIvr', 'qstr'],
  ['ivrTime', 'int'],
] as const satisfies readonly FieldDef[];

export const PARTY_FIELDS = [
  ['endId', 'str'],
  ['direction', 'int'],
  ['state', 'int'],
  ['audioPath', 'int'],
  ['tone', 'int'],
  ['remote', 'int'],
  ['publicLine', 'int'],
  ['flags', 'int'],
  ['emergencyLocation', 'int'],
  ['equipmentClass', 'int'],
  ['equipmentType', 'int'],
  ['description', 'str'],
  ['identity', 'str'],
  ['calledType', 'int'],
  ['calledReason', 'int'],
  ['did', 'str'],
  ['dialled', 'str'],
  ['onBehalf', 'str'],
  ['targetNumber', 'str'],
  ['targetSubaddr', 'str'],
  ['purpose', 'str'],
  ['cli', 'str'],
  ['cliPresentation', 'int'],
  ['callingNameType', 'int'],
  ['callingName', 'qstr'],
  ['relatedEndId', 'str'],
] as const satisfies readonly FieldDef[];

export const TARGET_FIELDS = [
  ['endId', 'str'],
  ['remote', 'int'],
  ['publicLine', 'int'],
  ['equipmentClass', 'int'],
  ['equipmentType', 'int'],
  ['description', 'str'],
  ['identity', 'str'],
  ['calledType', 'int'],
  ['calledReason', 'int'],
  ['targetNumber', 'str'],
  ['targetSubaddr', 'str'],
  ['purpose', 'str'],
  ['cli', 'str'],
  ['cliPresentation', 'int'],
] as const satisfies readonly FieldDef[];

export const CALL_LOST_FIELDS = [
  ['nodeId', 'str'],
  ['endId', 'str'],
  ['clearedInbound', 'int'],
  ['cause', 'int'],
  ['timestamp', 'int'],
] as const satisfies readonly FieldDef[];

export const LINK_LOST_FIELDS = [
  ...CALL_LOST_FIELDS,
  ['linkLocalReference', 'str'],
] as const satisfies readonly FieldDef[];

export const ATTEMPT_REJECT_FIELDS = [
  ['nodeId', 'str'],
  ['endId', 'str'],
  ['user', 'str'],
  ['qualifier', 'qstr'],
  ['timestamp', 'int'],
] as const satisfies readonly FieldDef[];

type FieldsOf<D extends readonly FieldDef[]> = {
  [K in D[number] as K[0]]: K[1] extends 'int' ? number | undefined : string;
};

/** Call section (seed §6.7.2). Integers are `undefined` when empty or absent; strings are `''`. */
export type Delta3Call = FieldsOf<typeof CALL_FIELDS> & {
  queueStatusName: string | undefined;
  /** Fields beyond the ones the seed describes (newer releases), kept verbatim. */
  extra: string[];
};

/** Party section (seed §6.7.3), with enums decoded next to their raw values. */
export type Delta3Party = FieldsOf<typeof PARTY_FIELDS> & {
  stateName: string | undefined;
  toneName: string | undefined;
  equipmentClassName: string | undefined;
  calledTypeName: string | undefined;
  cliPresentationName: string | undefined;
  callingNameTypeName: string | undefined;
  flagBits: Readonly<PartyFlags>;
  extra: string[];
};

/** Target section (seed §6.7.4): a reduced party; direction is always 0. */
export type Delta3Target = FieldsOf<typeof TARGET_FIELDS> & {
  equipmentClassName: string | undefined;
  calledTypeName: string | undefined;
  cliPresentationName: string | undefined;
  extra: string[];
};

export interface Delta3Detail {
  type: 'Detail';
  call: Delta3Call;
  partyA: Delta3Party;
  partyB: Delta3Party | undefined;
  targets: Delta3Target[];
}
export type Delta3CallLost = FieldsOf<typeof CALL_LOST_FIELDS> & {
  type: 'CallLost';
  causeName: string | undefined;
  extra: string[];
};
export type Delta3LinkLost = FieldsOf<typeof LINK_LOST_FIELDS> & {
  type: 'LinkLost';
  causeName: string | undefined;
  extra: string[];
};
export type Delta3AttemptReject = FieldsOf<typeof ATTEMPT_REJECT_FIELDS> & {
  type: 'AttemptReject';
  extra: string[];
};

export type Delta3Record = Delta3Detail | Delta3CallLost | Delta3LinkLost | Delta3AttemptReject;

/** Limits on peer-controlled record text. */
export const MAX_RECORD_TEXT = 1024 * 1024;
export const MAX_TARGETS = 1000;
export const MAX_FIELDS = 64;

// ---------------------------------------------------------------------------------------------------------
// Minimal element-only XML scanner (no attributes, no mixed content), bounded depth.

interface XNode {
  name: string;
  text: string;
  children: XNode[];
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

class XmlScanner {
  i = 0;
  readonly n: number;
  constructor(readonly s: string) {
    this.n = s.length;
  }

  skipWs(): void {
    const s = this.s;
    let i = this.i;
    while (i < this.n) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
    this.i = i;
  }

  el(depth: number): XNode {
    const s = this.s;
    if (depth > 4) throw new Devlink3RecordError('Delta3: elements nested too deeply');
    if (s.charCodeAt(this.i) !== 60 /* < */)
      throw new Devlink3RecordError(`Delta3: expected an element at offset ${this.i}`);
    const close = s.indexOf('>', this.i);
    if (close < 0) throw new Devlink3RecordError('Delta3: unterminated element tag');
    let name = s.slice(this.i + 1, close);
    let selfClosing = false;
    if (name.endsWith('/')) {
      selfClosing = true;
      name = name.slice(0, -1).trimEnd();
    }
    if (!NAME_RE.test(name))
      throw new Devlink3RecordError(`Delta3: bad element name ${JSON.stringify(name.slice(0, 40))}`);
    this.i = close + 1;
    const node: XNode = { name, text: '', children: [] };
    if (selfClosing) return node;
    const save = this.i;
    this.skipWs();
    if (s.charCodeAt(this.i) === 60 && s.charCodeAt(this.i + 1) !== 47 /* / */) {
      while (true) {
        this.skipWs();
        if (this.i >= this.n) throw new Devlink3RecordError(`Delta3: <${name}> is not closed`);
        if (s.charCodeAt(this.i) === 60 && s.charCodeAt(this.i + 1) === 47) break;
        if (node.children.length > MAX_TARGETS)
          throw new Devlink3RecordError(`Delta3: <${name}> has too many children`);
        node.children.push(this.el(depth + 1));
      }
    } else {
      this.i = save;
      const end = s.indexOf('</', this.i);
      if (end < 0) throw new Devlink3RecordError(`Delta3: <${name}> is not closed`);
      node.text = s.slice(this.i, end);
      if (node.text.includes('<')) throw new Devlink3RecordError(`Delta3: unexpected '<' inside <${name}>`);
      this.i = end;
    }
    // `</name>` (whitespace allowed before '>')
    if (s.startsWith(name, this.i + 2) && s.charCodeAt(this.i + 2 + name.length) === 62) {
      this.i += name.length + 3;
    } else {
      const gt = s.indexOf('>', this.i);
      if (gt < 0 || s.slice(this.i + 2, gt).trim() !== name) {
        throw new Devlink3RecordError(`Delta3: <${name}> closed by a different element`);
      }
      this.i = gt + 1;
    }
    return node;
  }
}

function scanXml(s: string): XNode {
  const x = new XmlScanner(s);
  x.skipWs();
  // Tolerate an XML declaration.
  if (s.startsWith('<?', x.i)) {
    const e = s.indexOf('?>', x.i);
    if (e < 0) throw new Devlink3RecordError('Delta3: unterminated XML declaration');
    x.i = e + 2;
    x.skipWs();
  }
  const root = x.el(0);
  x.skipWs();
  if (x.i < x.n) throw new Devlink3RecordError('Delta3: text after the record element');
  return root;
}

const LINE_BREAK_RE = /[ \t]*\r?\n[ \t\r\n]*/g;

/**
 * Splits a comma-separated field list. Quoted fields may contain commas; `""` inside quotes is a quote.
 * Unquoted fields are trimmed and line breaks inside them are removed (the seed's examples are wrapped
 * in the middle of numbers). Entities are decoded per field.
 */
export function splitFields(text: string, where: string): string[] {
  // Fast path: no quotes, line breaks or entities inside the list (the common case on the wire).
  const t = text.trim();
  if (t.indexOf('"') < 0 && t.indexOf('\n') < 0 && t.indexOf('&') < 0) {
    const parts = t.split(',', MAX_FIELDS + 1);
    if (parts.length > MAX_FIELDS) throw new Devlink3RecordError(`${where}: more than ${MAX_FIELDS} fields`);
    for (let k = 0; k < parts.length; k++) {
      const v = parts[k]!;
      if (v.length > 0 && (v.charCodeAt(0) <= 32 || v.charCodeAt(v.length - 1) <= 32)) parts[k] = v.trim();
    }
    return parts;
  }
  const out: string[] = [];
  const n = text.length;
  let i = 0;
  while (true) {
    if (out.length >= MAX_FIELDS) throw new Devlink3RecordError(`${where}: more than ${MAX_FIELDS} fields`);
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
    if (text[i] === '"') {
      let v = '';
      i++;
      while (true) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Devlink3RecordError(`${where}: unterminated quoted string`);
        v += text.slice(i, q);
        if (text[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      while (i < n && text[i] !== ',') {
        if (!/\s/.test(text[i]!)) throw new Devlink3RecordError(`${where}: text after a quoted string`);
        i++;
      }
      out.push(decodeEntities(v));
    } else {
      const c = text.indexOf(',', i);
      const end = c < 0 ? n : c;
      let v = text.slice(i, end).trim();
      if (v.includes('\n')) v = v.replace(LINE_BREAK_RE, '');
      out.push(decodeEntities(v));
      i = end;
    }
    if (i >= n) break;
    i++; // skip comma
  }
  return out;
}

const INT_RE = /^-?[0-9]{1,15}$/;

type Part = string;

function str(parts: Part[], k: number): string {
  return parts[k] ?? '';
}

function int(parts: Part[], k: number, where: string, defs: readonly FieldDef[]): number | undefined {
  const v = parts[k];
  if (v === undefined || v === '') return undefined;
  if (!INT_RE.test(v)) {
    const name = defs[k]![0];
    throw new Devlink3RecordError(
      `${where}.${name}: ${JSON.stringify(v.slice(0, 40))} is not an integer`,
      `${where}.${name}`,
    );
  }
  return Number(v);
}

function extra(parts: Part[], n: number): string[] {
  return parts.length > n ? parts.slice(n) : [];
}

function parseCall(text: string): Delta3Call {
  const f = splitFields(text, 'Call');
  const w = 'Call';
  const d = CALL_FIELDS;
  const queueStatus = int(f, 13, w, d);
  return {
    nodeId: str(f, 0),
    callId: int(f, 1, w, d),
    accountCode: str(f, 2),
    authCode: str(f, 3),
    tag: str(f, 4),
    transferCause: int(f, 5, w, d),
    ownerHuntGroup: str(f, 6),
    originalHuntGroup: str(f, 7),
    originalUser: str(f, 8),
    currentHuntGroup: str(f, 9),
    currentUser: str(f, 10),
    voicemailLeaving: int(f, 11, w, d),
    voicemailLength: int(f, 12, w, d),
    queueStatus,
    timestamp: int(f, 14, w, d),
    huntGroupOverflow: int(f, 15, w, d),
    transferredOutOfIvr: str(f, 16),
    ivrTime: int(f, 17, w, d),
    queueStatusName: enumName(QUEUE_STATUS, queueStatus),
    extra: extra(f, 18),
  };
}

function parseParty(text: string, where: string): Delta3Party {
  const f = splitFields(text, where);
  const d = PARTY_FIELDS;
  const endId = str(f, 0);
  if (endId === '') throw new Devlink3RecordError(`${where}.endId: is empty`, `${where}.endId`);
  const state = int(f, 2, where, d);
  const tone = int(f, 4, where, d);
  const flags = int(f, 7, where, d);
  const equipmentClass = int(f, 9, where, d);
  const calledType = int(f, 13, where, d);
  const cliPresentation = int(f, 22, where, d);
  const callingNameType = int(f, 23, where, d);
  return {
    endId,
    direction: int(f, 1, where, d),
    state,
    audioPath: int(f, 3, where, d),
    tone,
    remote: int(f, 5, where, d),
    publicLine: int(f, 6, where, d),
    flags,
    emergencyLocation: int(f, 8, where, d),
    equipmentClass,
    equipmentType: int(f, 10, where, d),
    description: str(f, 11),
    identity: str(f, 12),
    calledType,
    calledReason: int(f, 14, where, d),
    did: str(f, 15),
    dialled: str(f, 16),
    onBehalf: str(f, 17),
    targetNumber: str(f, 18),
    targetSubaddr: str(f, 19),
    purpose: str(f, 20),
    cli: str(f, 21),
    cliPresentation,
    callingNameType,
    callingName: str(f, 24),
    relatedEndId: str(f, 25),
    stateName: enumName(PARTY_STATE, state),
    toneName: enumName(TONE, tone),
    equipmentClassName: enumName(EQUIPMENT_CLASS, equipmentClass),
    calledTypeName: enumName(CALLED_TYPE, calledType),
    cliPresentationName: enumName(CLI_PRESENTATION, cliPresentation),
    callingNameTypeName: enumName(CALLING_NAME_TYPE, callingNameType),
    flagBits: decodeFlags(flags),
    extra: extra(f, 26),
  };
}

function parseTarget(text: string, where: string): Delta3Target {
  const f = splitFields(text, where);
  const d = TARGET_FIELDS;
  const equipmentClass = int(f, 3, where, d);
  const calledType = int(f, 7, where, d);
  const cliPresentation = int(f, 13, where, d);
  return {
    endId: str(f, 0),
    remote: int(f, 1, where, d),
    publicLine: int(f, 2, where, d),
    equipmentClass,
    equipmentType: int(f, 4, where, d),
    description: str(f, 5),
    identity: str(f, 6),
    calledType,
    calledReason: int(f, 8, where, d),
    targetNumber: str(f, 9),
    targetSubaddr: str(f, 10),
    purpose: str(f, 11),
    cli: str(f, 12),
    cliPresentation,
    equipmentClassName: enumName(EQUIPMENT_CLASS, equipmentClass),
    calledTypeName: enumName(CALLED_TYPE, calledType),
    cliPresentationName: enumName(CLI_PRESENTATION, cliPresentation),
    extra: extra(f, 14),
  };
}

function parseLost(text: string, type: 'CallLost' | 'LinkLost'): Delta3CallLost | Delta3LinkLost {
  const f = splitFields(text, type);
  const d = LINK_LOST_FIELDS;
  const endId = str(f, 1);
  if (endId === '') throw new Devlink3RecordError(`${type}.endId: is empty`, `${type}.endId`);
  const cause = int(f, 3, type, d);
  const base = {
    nodeId: str(f, 0),
    endId,
    clearedInbound: int(f, 2, type, d),
    cause,
    timestamp: int(f, 4, type, d),
  };
  if (type === 'CallLost') return { type, ...base, causeName: enumName(CAUSE, cause), extra: extra(f, 5) };
  return {
    type,
    ...base,
    linkLocalReference: str(f, 5),
    causeName: enumName(CAUSE, cause),
    extra: extra(f, 6),
  };
}

/** Parses one Delta3 record (the CallDelta3 tuple text). Throws `Devlink3RecordError` only. */
export function parseDelta3(text: string): Delta3Record {
  if (text.length > MAX_RECORD_TEXT)
    throw new Devlink3RecordError(`Delta3: record longer than ${MAX_RECORD_TEXT} characters`);
  const root = scanXml(text);
  switch (root.name) {
    case 'Detail': {
      let call: Delta3Call | undefined;
      let partyA: Delta3Party | undefined;
      let partyB: Delta3Party | undefined;
      const targets: Delta3Target[] = [];
      for (const c of root.children) {
        if (c.name === 'Call') {
          call = parseCall(c.text);
          if (call.nodeId === '') throw new Devlink3RecordError('Call.nodeId: is empty', 'Call.nodeId');
          if (call.callId === undefined)
            throw new Devlink3RecordError('Call.callId: is empty', 'Call.callId');
        } else if (c.name === 'PartyA') partyA = parseParty(c.text, 'PartyA');
        else if (c.name === 'PartyB') partyB = parseParty(c.text, 'PartyB');
        else if (c.name === 'Target_list' || c.name === 'Targets') {
          for (const t of c.children) {
            if (t.name !== 'Target') continue;
            targets.push(parseTarget(t.text, `Target_list.${targets.length}`));
          }
        }
        // Unknown sections are ignored (forward compatible).
      }
      if (!call) throw new Devlink3RecordError('Detail: has no <Call> section', 'Call');
      if (!partyA) throw new Devlink3RecordError('Detail: has no <PartyA> section', 'PartyA');
      return { type: 'Detail', call, partyA, partyB, targets };
    }
    case 'CallLost':
    case 'LinkLost':
      return parseLost(root.text, root.name);
    case 'AttemptReject': {
      const f = splitFields(root.text, 'AttemptReject');
      const endId = str(f, 1);
      if (endId === '') throw new Devlink3RecordError('AttemptReject.endId: is empty', 'AttemptReject.endId');
      return {
        type: 'AttemptReject',
        nodeId: str(f, 0),
        endId,
        user: str(f, 2),
        qualifier: str(f, 3),
        timestamp: int(f, 4, 'AttemptReject', ATTEMPT_REJECT_FIELDS),
        extra: extra(f, 5),
      };
    }
    default:
      throw new Devlink3RecordError(`Delta3: unknown record type <${root.name}>`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Encoding (used by the simulator): the inverse of parseDelta3 for the fields given.

type Loose<T> = { [K in keyof T]?: T[K] | string | number | undefined };

function encodeFields(o: Record<string, unknown>, defs: readonly FieldDef[]): string {
  const vals: string[] = [];
  let last = -1;
  defs.forEach(([name, kind], k) => {
    const v = o[name];
    if (v === undefined || v === null || v === '') {
      vals.push('');
      return;
    }
    last = k;
    const s = String(v);
    vals.push(kind === 'qstr' ? `"${escapeXml(s)}"` : escapeXml(s));
  });
  for (const x of (o.extra as string[] | undefined) ?? []) {
    vals.push(escapeXml(x));
    last = vals.length - 1;
  }
  // Keep at least the fields the seed always shows (it never drops the leading ones).
  return vals.slice(0, Math.max(last + 1, Math.min(defs.length, 10))).join(',');
}

export type Delta3DetailInput = {
  call: Loose<Delta3Call>;
  partyA: Loose<Delta3Party>;
  partyB?: Loose<Delta3Party> | undefined;
  targets?: Array<Loose<Delta3Target>> | undefined;
};

export function encodeDetail(d: Delta3DetailInput): string {
  let s = `<Detail><Call>${encodeFields(d.call, CALL_FIELDS)}</Call><PartyA>${encodeFields(d.partyA, PARTY_FIELDS)}</PartyA>`;
  if (d.partyB) s += `<PartyB>${encodeFields(d.partyB, PARTY_FIELDS)}</PartyB>`;
  if (d.targets && d.targets.length > 0) {
    s += '<Target_list>';
    for (const t of d.targets) s += `<Target>${encodeFields(t, TARGET_FIELDS)}</Target>`;
    s += '</Target_list>';
  }
  return `${s}</Detail>`;
}

export function encodeCallLost(r: Loose<Delta3CallLost>, type: 'CallLost' | 'LinkLost' = 'CallLost'): string {
  return `<${type}>${encodeFields(r, type === 'CallLost' ? CALL_LOST_FIELDS : LINK_LOST_FIELDS)}</${type}>`;
}

export function encodeAttemptReject(r: Loose<Delta3AttemptReject>): string {
  return `<AttemptReject>${encodeFields(r, ATTEMPT_REJECT_FIELDS)}</AttemptReject>`;
}

// ---------------------------------------------------------------------------------------------------------
// Delta2 (`CALL:` S/A/D records, legacy DevLink; DevLink Programmer's Guide field order)

export const DELTA2_S_FIELDS = [
  'aCallId',
  'bCallId',
  'aState',
  'bState',
  'aConnected',
  'aIsMusic',
  'bConnected',
  'bIsMusic',
  'aName',
  'bName',
  'bList',
  'aSlotChannel',
  'bSlotChannel',
  'calledPartyPresentationType',
  'calledNumber',
  'callingPartyPresentationType',
  'callingNumber',
  'calledSubaddress',
  'callingSubaddress',
  'dialledPartyType',
  'dialledNumber',
  'keypadType',
  'keypadNumber',
  'ringAttemptCount',
  'cause',
  'voicemailDisallow',
  'sendingComplete',
  'callTypeTransport',
  'ownerHuntGroupName',
  'originalHuntGroupName',
  'originalUserName',
  'targetHuntGroupName',
  'targetUserName',
  'targetRasName',
  'isInternal',
  'timestamp',
  'connectedTime',
  'ringTime',
  'connectedDuration',
  'ringDuration',
  'locale',
  'parkSlotNumber',
  'callWaiting',
  'tag',
  'transferring',
  'serviceActive',
  'serviceQuotaUsed',
  'serviceQuotaTime',
  'accountCode',
  'callId',
] as const;
export type Delta2Field = (typeof DELTA2_S_FIELDS)[number];

export type Delta2Record =
  | {
      type: 'S';
      /** All 50 fields as text (absent trailing fields are `''`). */
      fields: Record<Delta2Field, string>;
      aState: number | undefined;
      aStateName: string | undefined;
      bState: number | undefined;
      bStateName: string | undefined;
      cause: number | undefined;
      callId: number | undefined;
      targets: string[];
      extra: string[];
    }
  | { type: 'A' | 'D'; aCallId: string; bCallId: string; callId: number | undefined };

const DELTA2_RE = /^\s*CALL:\s*([SAD])\s*([\s\S]*)$/;
const optInt = (s: string | undefined): number | undefined =>
  s !== undefined && INT_RE.test(s.trim()) ? Number(s.trim()) : undefined;

/** Parses a Delta2 record; accepts `CALL: S` and `CALL:S`. */
export function parseDelta2(text: string): Delta2Record {
  if (text.length > MAX_RECORD_TEXT) throw new Devlink3RecordError('Delta2: record too long');
  const m = DELTA2_RE.exec(text.replace(/\0+$/, ''));
  if (!m) throw new Devlink3RecordError('Delta2: record does not start with "CALL: S|A|D"');
  const parts = m[2]!.split(',');
  if (parts.length > 128) throw new Devlink3RecordError('Delta2: too many fields');
  if (m[1] === 'S') {
    const fields = {} as Record<Delta2Field, string>;
    DELTA2_S_FIELDS.forEach((f, k) => {
      fields[f] = parts[k]?.trim() ?? '';
    });
    const aState = optInt(fields.aState);
    const bState = optInt(fields.bState);
    return {
      type: 'S',
      fields,
      aState,
      aStateName: enumName(DELTA2_STATE, aState),
      bState,
      bStateName: enumName(DELTA2_STATE, bState),
      cause: optInt(fields.cause),
      callId: optInt(fields.callId),
      targets: fields.bList === '' ? [] : fields.bList.split(';'),
      extra: parts.slice(DELTA2_S_FIELDS.length),
    };
  }
  return {
    type: m[1] as 'A' | 'D',
    aCallId: parts[0]?.trim() ?? '',
    bCallId: parts[1]?.trim() ?? '',
    callId: optInt(parts[2]),
  };
}

export function encodeDelta2S(f: Partial<Record<Delta2Field, string | number>>): string {
  return `CALL: S ${DELTA2_S_FIELDS.map((k) => (f[k] === undefined ? '' : String(f[k]))).join(',')}`;
}

// ---------------------------------------------------------------------------------------------------------
// SIPTrack and CMExtn

export interface SipTrackRecord {
  event: string;
  sepId: string;
  endId: string;
  sipType: string;
  direction: string;
  sipCallId: string;
}

/** `$event,$sepId,$end_id,$siptype,$direction,$sip_callid` (seed §6.5.1.3). */
export function parseSipTrack(text: string): SipTrackRecord {
  const p = text.replace(/\0+$/, '').split(',');
  if (p.length < 6 || p.length > 16)
    throw new Devlink3RecordError(`SIPTrack: expected 6 fields, got ${p.length}`);
  const [event, sepId, endId, sipType, direction, ...rest] = p.map((x) => x.trim());
  return {
    event: event!,
    sepId: sepId!,
    endId: endId!,
    sipType: sipType!,
    direction: direction!,
    sipCallId: rest.join(','),
  };
}

export type CmExtnRecord =
  | { form: 'text'; text: string; extension: string | undefined; message: string }
  | { form: 'extended'; v: number; p1: number; p2: number; text: string; extension: string | undefined };

const EXTN_RE = /^Extn(\d+)\s*:?\s*([\s\S]*)$/;

/** CMExtn extension-state names known from the seed's example ("new=Dialling old=Idle" is p1=2, p2=0). */
export const CMEXTN_STATE: Readonly<Record<number, string>> = { 0: 'Idle', 2: 'Dialling' };

export function parseCmExtnText(text: string): CmExtnRecord {
  const m = EXTN_RE.exec(text);
  return { form: 'text', text, extension: m?.[1], message: m ? m[2]! : text };
}
export function cmExtnExtension(text: string): string | undefined {
  return EXTN_RE.exec(text)?.[1];
}
