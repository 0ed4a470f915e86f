import { ValidationError } from '../core/errors.js';

/**
 * Dial strings for click-to-dial (docs/click-to-dial.md). Pure functions.
 *
 * What people paste is formatted for reading (`+1 (555) 010-4001`); what a phone accepts is narrower and
 * differs per kind:
 * - Cisco `Dial:<dialSequence>` (seed 003): 0-9 # * A B C D and comma (a 1 s pause); no `+`.
 * - Avaya WTAI click-to-dial `wtai://wp/mc;<number>` (the Push API's Display content): 0-9 * # and `+`.
 *
 * So a number is first cleaned (spaces, dashes, dots, slashes and brackets removed), then checked against
 * the target's alphabet, with a leading `+` replaced by `plusPrefix` where the target has no `+`.
 */

/** Longest raw input looked at (a form field, a CLI argument): anything longer is refused unread. */
export const DIAL_INPUT_MAX = 64;
/** Default longest dial string after cleaning (config `dial.maxDigits`). */
export const DIAL_MAX_DIGITS = 32;

export type DialAlphabet = 'cisco' | 'avaya';

const VISUAL = /[\s\-.()/\u00a0]/g;
const ALPHABET: Record<DialAlphabet, { re: RegExp; plus: boolean; what: string }> = {
  cisco: { re: /^[0-9#*ABCD,]$/, plus: false, what: '0-9 # * A B C D and comma (a 1 s pause)' },
  avaya: { re: /^[0-9#*]$/, plus: true, what: '0-9 # * and a leading +' },
};

export interface DialOptions {
  alphabet: DialAlphabet;
  /** Replaces a leading `+` where the alphabet has none ('' = refuse). */
  plusPrefix?: string;
  maxDigits?: number;
  /** Field name in errors (`number`). */
  field?: string;
}

/** Cleans and checks a number to dial; throws ValidationError `DIAL_*` naming the field and the problem. */
export function dialString(raw: unknown, o: DialOptions): string {
  const field = o.field ?? 'number';
  const fail = (code: string, message: string) =>
    new ValidationError(code, `${field}: ${message}`, { field });
  if (typeof raw !== 'string') throw fail('DIAL_NUMBER_INVALID', 'must be a string of digits');
  if (raw.length > DIAL_INPUT_MAX)
    throw fail('DIAL_NUMBER_TOO_LONG', `${raw.length} characters; at most ${DIAL_INPUT_MAX} are read`);
  let s = raw.replace(VISUAL, '');
  if (s === '') throw fail('DIAL_NUMBER_EMPTY', 'no digits to dial');
  const a = ALPHABET[o.alphabet];
  let plus = '';
  if (s.startsWith('+')) {
    s = s.slice(1);
    if (a.plus) plus = '+';
    else if (o.plusPrefix) s = `${o.plusPrefix}${s}`;
    else
      throw fail(
        'DIAL_PLUS_UNSUPPORTED',
        `this phone cannot dial "+"; set dial.plusPrefix (e.g. 9011) or dial the number with its prefixes`,
      );
  }
  for (const [i, c] of [...s].entries()) {
    if (!a.re.test(c))
      throw fail(
        'DIAL_NUMBER_INVALID',
        `${JSON.stringify(c)} at position ${i + 1 + plus.length} cannot be dialled; allowed: ${a.what}`,
      );
  }
  if (s === '' || !/[0-9#*A-D]/.test(s)) throw fail('DIAL_NUMBER_EMPTY', 'no digits to dial');
  const max = o.maxDigits ?? DIAL_MAX_DIGITS;
  const out = `${plus}${s}`;
  if (out.length > max)
    throw fail('DIAL_NUMBER_TOO_LONG', `${out.length} characters to dial; at most ${max} (dial.maxDigits)`);
  return out;
}
