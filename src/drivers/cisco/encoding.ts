import { formDecodeBytes } from '../../core/charset.js';
import { LimitError } from '../../core/errors.js';
import type { Charset } from './models.js';

/** Seed: "Any HTTP POST object is limited to 40 Kbytes in size". */
export const MAX_POST_BYTES = 40960;

const TRANSLIT: Record<string, string> = {
  '\u2018': "'",
  '\u2019': "'",
  '\u201A': "'",
  '\u201B': "'",
  '\u201C': '"',
  '\u201D': '"',
  '\u201E': '"',
  '\u2013': '-',
  '\u2014': '-',
  '\u2212': '-',
  '\u2026': '...',
  '\u20AC': 'EUR',
  '\u2022': '*',
  '\u2122': '(TM)',
  '\u0152': 'OE',
  '\u0153': 'oe',
  '\u0141': 'L',
  '\u0142': 'l',
  '\u0110': 'D',
  '\u0111': 'd',
  '\u0131': 'i',
  '\u00A0': ' ',
  '\u2192': '->',
  '\u2190': '<-',
};

/**
 * Makes text renderable on a Latin-1 phone: characters above U+00FF become their closest Latin-1/ASCII
 * form (diacritics stripped, typographic quotes and dashes simplified), or `?`.
 */
export function transliterateLatin1(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp <= 0xff) {
      out += ch;
      continue;
    }
    const mapped = TRANSLIT[ch];
    if (mapped !== undefined) {
      out += mapped;
      continue;
    }
    const base = ch.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
    out += base !== '' && [...base].every((c) => c.codePointAt(0)! <= 0xff) ? base : '?';
  }
  return out;
}

/** The XML prolog for a charset. */
export function xmlProlog(charset: Charset): string {
  return `<?xml version="1.0" encoding="${charset === 'utf-8' ? 'UTF-8' : 'ISO-8859-1'}"?>`;
}

/** Bytes of an XML text in the charset (Latin-1 text is transliterated first). */
export function encodeXml(xml: string, charset: Charset): Buffer {
  return charset === 'utf-8' ? Buffer.from(xml, 'utf8') : Buffer.from(transliterateLatin1(xml), 'latin1');
}

/** application/x-www-form-urlencoded encoding of raw bytes (space → `+`, unreserved kept). */
export function formEncodeBytes(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    if (
      (b >= 0x30 && b <= 0x39) ||
      (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a) ||
      b === 0x2a ||
      b === 0x2d ||
      b === 0x2e ||
      b === 0x5f
    ) {
      out += String.fromCharCode(b);
    } else if (b === 0x20) out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export { formDecodeBytes } from '../../core/charset.js';

/** Reads a form body into raw-byte values (field names are case-sensitive: `XML` ≠ `xml`). */
export function parseFormBytes(body: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const part of body.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = formDecodeBytes(eq < 0 ? part : part.slice(0, eq)).toString('latin1');
    if (!m.has(k)) m.set(k, formDecodeBytes(eq < 0 ? '' : part.slice(eq + 1)));
  }
  return m;
}

/**
 * The body of a push: `XML=<object>`, the object in its charset, form-encoded. Throws
 * CISCO_POST_TOO_LARGE when the object exceeds 40 KB.
 */
export function encodePushBody(xml: string, charset: Charset): { body: string; objectBytes: number } {
  const bytes = encodeXml(xml, charset);
  if (bytes.length > MAX_POST_BYTES) {
    throw new LimitError(
      'CISCO_POST_TOO_LARGE',
      `the XML object is ${bytes.length} bytes; a phone accepts at most ${MAX_POST_BYTES} bytes (40 KB) per POST`,
      {
        status: 413,
        field: 'xml',
        details: { bytes: bytes.length, limit: MAX_POST_BYTES },
      },
    );
  }
  return { body: `XML=${formEncodeBytes(bytes)}`, objectBytes: bytes.length };
}
