import { ValidationError } from '../core/errors.js';
import type { SettingLine } from './generate.js';

/**
 * IP Office NoUser source numbers for Avaya Workplace Client (seed 002, "Avaya Workplace Client NoUser
 * Source Numbers" and "Emergency Number Dialing"), translated into auto-generated settings lines:
 *
 *   SET_CDNL=DISABLED                  → SET CELLULAR_DIRECT_NUMBER_LIST DISABLED
 *   SET_CDNL="911","9911"              → SET CELLULAR_DIRECT_ENABLED 1
 *                                        SET CELLULAR_DIRECT_NUMBER_LIST "911","9911"
 *   EQNX_CONTACT_MATCHING_MIN_DIGITS=N → SET CONTACT_MATCHING_MIN_DIGITS N
 *
 * Several SET_CDNL= entries are joined into one list. Limits from the seed: any one SET_CDNL= entry at
 * most 63 characters, the CELLULAR_DIRECT_NUMBER_LIST string at most 127.
 */

export const CDNL_ENTRY_MAX = 63;
export const CDNL_LIST_MAX = 127;

export class NoUserSourceNumberError extends ValidationError {}

export interface NoUserResult {
  lines: Array<SettingLine & { raw?: boolean }>;
}

const CDNL_LIST_RE = /^"[0-9*#+]{1,32}"(?:,"[0-9*#+]{1,32}")*$/;

export function translateNoUserSourceNumbers(
  entries: readonly string[],
  fieldPrefix = 'provisioning.noUserSourceNumbers',
): NoUserResult {
  const cdnl: string[] = [];
  let disabled: number | undefined;
  let minDigits: string | undefined;
  entries.forEach((entry, i) => {
    const field = `${fieldPrefix}[${i}]`;
    const eq = entry.indexOf('=');
    const key = (eq < 0 ? entry : entry.slice(0, eq)).trim();
    const value = eq < 0 ? '' : entry.slice(eq + 1).trim();
    if (key === 'SET_CDNL') {
      if (value.length > CDNL_ENTRY_MAX) {
        throw new NoUserSourceNumberError(
          'NOUSER_CDNL_ENTRY_TOO_LONG',
          `${field}: SET_CDNL= entry is ${value.length} characters; the maximum length of any individual SET_CDNL= entry is ${CDNL_ENTRY_MAX}`,
          { field },
        );
      }
      if (value === 'DISABLED') {
        disabled = i;
        return;
      }
      if (!CDNL_LIST_RE.test(value)) {
        throw new NoUserSourceNumberError(
          'NOUSER_CDNL_BAD_LIST',
          `${field}: SET_CDNL= takes DISABLED or numbers each in " " quotation marks separated by commas, e.g. SET_CDNL="911","9911" (got ${JSON.stringify(value.slice(0, 70))})`,
          { field },
        );
      }
      cdnl.push(value);
      return;
    }
    if (key === 'EQNX_CONTACT_MATCHING_MIN_DIGITS') {
      if (!/^\d{1,2}$/.test(value) || Number(value) < 1 || Number(value) > 20) {
        throw new NoUserSourceNumberError(
          'NOUSER_BAD_MIN_DIGITS',
          `${field}: EQNX_CONTACT_MATCHING_MIN_DIGITS=N needs a number of digits from 1 to 20`,
          { field },
        );
      }
      minDigits = String(Number(value));
      return;
    }
    throw new NoUserSourceNumberError(
      'NOUSER_UNKNOWN',
      `${field}: unknown NoUser source number ${JSON.stringify(key.slice(0, 40))} (known: SET_CDNL=, EQNX_CONTACT_MATCHING_MIN_DIGITS=)`,
      { field },
    );
  });
  const lines: NoUserResult['lines'] = [];
  if (disabled !== undefined && cdnl.length > 0) {
    throw new NoUserSourceNumberError(
      'NOUSER_CDNL_CONFLICT',
      `${fieldPrefix}[${disabled}]: SET_CDNL=DISABLED conflicts with SET_CDNL= numbers in the same configuration`,
      { field: `${fieldPrefix}[${disabled}]` },
    );
  }
  if (disabled !== undefined) lines.push({ name: 'CELLULAR_DIRECT_NUMBER_LIST', value: 'DISABLED' });
  if (cdnl.length > 0) {
    const list = cdnl.join(',');
    if (list.length > CDNL_LIST_MAX) {
      throw new NoUserSourceNumberError(
        'NOUSER_CDNL_LIST_TOO_LONG',
        `${fieldPrefix}: the SET CELLULAR_DIRECT_NUMBER_LIST string would be ${list.length} characters; the maximum is ${CDNL_LIST_MAX}`,
        { field: fieldPrefix },
      );
    }
    lines.push({ name: 'CELLULAR_DIRECT_ENABLED', value: '1' });
    lines.push({ name: 'CELLULAR_DIRECT_NUMBER_LIST', value: list, raw: true });
  }
  if (minDigits !== undefined) lines.push({ name: 'CONTACT_MATCHING_MIN_DIGITS', value: minDigits });
  return { lines };
}
