/**
 * Pure Push Agent decisions shared by the simulator: PUSHCAP digits, TPSLIST matching, pushable states.
 * Documented behaviour is cited in docs/avaya.md; choices marked [inferred] fill gaps in the guides.
 */
import type { PushMode, PushType } from '../../drivers/avaya/push-message.js';

/** PUSHCAP capability columns, rightmost digit first (J100 admin guide: top line is the rightmost). */
export type PushCapability = 'topline' | 'display' | 'receive' | 'transmit' | 'phonexml';
const ORDER: PushCapability[] = ['topline', 'display', 'receive', 'transmit', 'phonexml'];

/** 0 = reject all, 1 = barge only, 2 = barge and normal. Missing digits (3–4 digit values) count as 0 [inferred]. */
export function pushCapDigit(pushcap: string, cap: PushCapability): 0 | 1 | 2 {
  const digits = /^[0-2]{3,5}$/.test(pushcap) ? pushcap : '00000';
  const i = ORDER.indexOf(cap);
  const ch = digits[digits.length - 1 - i];
  return ch === undefined ? 0 : (Number(ch) as 0 | 1 | 2);
}

export function capabilityOf(type: PushType): PushCapability | undefined {
  switch (type) {
    case 'topline':
      return 'topline';
    case 'display':
      return 'display';
    case 'audio':
      return 'receive';
    case 'phonexml':
      return 'phonexml';
    default:
      return undefined; // subscribe has no PUSHCAP digit
  }
}

/**
 * PUSHCAP verdict: undefined = allowed; 201 when the digit is 0 (push type disabled), 205 for a normal push
 * when the digit is 1 (barge only). The guides document no code for PUSHCAP refusals [inferred].
 */
export function pushCapRefusal(
  pushcap: string,
  cap: PushCapability | undefined,
  mode: PushMode,
): 201 | 205 | undefined {
  if (!cap) return undefined;
  const d = pushCapDigit(pushcap, cap);
  if (d === 0) return 201;
  if (d === 1 && mode === 'normal') return 205;
  return undefined;
}

/**
 * TPSLIST check: entries are "domain/path strings" compared with the href without its `http://`; `/` alone
 * trusts everyone. We accept when `authority+path` starts with an entry at a boundary (end, `/`, `:`, `?`),
 * comparing the host part case-insensitively [inferred: the guides say only "string comparison"].
 */
export function isTrusted(href: string, tpsList: string[]): boolean {
  const m = /^http:\/\/(.*)$/i.exec(href);
  if (!m) return false;
  const rest = m[1]!;
  for (const raw of tpsList) {
    const entry = raw.trim();
    if (entry === '') continue;
    if (entry === '/') return true;
    const e = entry.replace(/^http:\/\//i, '');
    const slash = e.indexOf('/');
    const eHost = (slash < 0 ? e : e.slice(0, slash)).toLowerCase();
    const ePath = slash < 0 ? '' : e.slice(slash);
    const candidate = rest.slice(0, eHost.length).toLowerCase() + rest.slice(eHost.length);
    if (!candidate.startsWith(eHost + ePath)) continue;
    const next = candidate.charAt(eHost.length + ePath.length);
    if (next === '' || next === '/' || next === '?' || (next === ':' && ePath === '') || ePath.endsWith('/'))
      return true;
  }
  return false;
}

export type CallState = 'idle' | 'alerting' | 'in_call';

export interface PhoneActivity {
  call: CallState;
  /** A text-entry screen is open (non-Web application editing text, e.g. Speed Dial). */
  textEdit: boolean;
  /** Restoring a backup file or running a local (craft) procedure: never pushable. */
  localProcedure: boolean;
  /** Pushed audio is currently playing. */
  audioPlaying: boolean;
}

/**
 * Pushable-state verdict (4600 API guide p.31, p.39–40, p.47–48): returns the push status the Push Agent
 * answers with (200 accept, 204 accept in background, 205/208 refused).
 */
export function stateVerdict(type: PushType, mode: PushMode, a: PhoneActivity): 200 | 204 | 205 | 208 {
  if (type === 'subscribe') return 200;
  if (type === 'audio') {
    if (a.localProcedure) return 208;
    if (mode === 'barge') return 200;
    return a.call !== 'idle' || a.audioPlaying ? 208 : 200;
  }
  if (a.localProcedure) return 205;
  if (mode === 'barge') return 200;
  if (type === 'topline') return a.textEdit || a.call === 'alerting' ? 205 : 200;
  // display and phonexml
  if (a.call === 'alerting') return 205;
  if (a.textEdit) return 204;
  return 200;
}
