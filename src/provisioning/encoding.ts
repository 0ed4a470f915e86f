import { SettingsFileError } from './syntax.js';

/**
 * Bytes of a settings file → text, the way admins' files actually come: UTF-8 (with or without a BOM), or
 * Windows-1252 — Avaya's own stock templates are CRLF Windows-1252 with smart quotes in their comments.
 * Pure: no I/O. The encoding is remembered so that nothing is ever re-encoded differently (the server
 * streams the original bytes; `encodeSettingsText` gives them back byte for byte).
 *
 * Node 20's `TextDecoder('windows-1252')` decodes 0x80–0x9F as Latin-1 C1 controls (U+0093 instead of
 * U+201C), so the 32 code points that differ from Latin-1 are mapped here (WHATWG windows-1252 table;
 * the five unassigned bytes 0x81 0x8D 0x8F 0x90 0x9D map to U+0081 … as in WHATWG).
 */

export type SettingsEncoding = 'utf-8' | 'windows-1252';

export interface DecodedSettings {
  text: string;
  encoding: SettingsEncoding;
  /** Whether the bytes began with a UTF-8 byte order mark (kept out of `text`). */
  bom: boolean;
}

/** Windows-1252 0x80–0x9F → code point. */
const CP1252_HIGH = [
  0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152,
  0x008d, 0x017d, 0x008f, 0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122,
  0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
];
const CP1252_REVERSE = new Map<number, number>(CP1252_HIGH.map((cp, i) => [cp, 0x80 + i]));

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes Windows-1252 bytes (every byte sequence decodes). */
export function decodeWindows1252(bytes: Uint8Array): string {
  const parts: string[] = [];
  const CHUNK = 8192;
  for (let start = 0; start < bytes.length; start += CHUNK) {
    const end = Math.min(bytes.length, start + CHUNK);
    const codes = new Array<number>(end - start);
    for (let i = start; i < end; i++) {
      const b = bytes[i]!;
      codes[i - start] = b >= 0x80 && b < 0xa0 ? CP1252_HIGH[b - 0x80]! : b;
    }
    parts.push(String.fromCharCode(...codes));
  }
  return parts.join('');
}

/**
 * Text → bytes in the encoding the file came in. For `windows-1252`, throws
 * `SETTINGS_NOT_ENCODABLE` for a character the encoding has no byte for (never substitutes).
 */
export function encodeSettingsText(text: string, encoding: SettingsEncoding, bom = false): Buffer {
  if (encoding === 'utf-8') {
    const body = Buffer.from(text, 'utf8');
    return bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]) : body;
  }
  const out = Buffer.alloc(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const b = (c < 0x80 || (c >= 0xa0 && c <= 0xff) ? c : CP1252_REVERSE.get(c)) ?? -1;
    if (b < 0) {
      throw new SettingsFileError(
        'SETTINGS_NOT_ENCODABLE',
        `U+${c.toString(16).toUpperCase().padStart(4, '0')} cannot be written in Windows-1252`,
      );
    }
    out[i] = b;
  }
  return out;
}

/**
 * Decodes a settings file: NUL bytes mean it is not a text file (`SETTINGS_NOT_TEXT`); valid UTF-8 is
 * UTF-8 (a BOM is dropped); anything else is read as Windows-1252.
 */
export function decodeSettingsBytes(bytes: Uint8Array, name = '46xxsettings.txt'): DecodedSettings {
  if (bytes.includes(0)) {
    throw new SettingsFileError('SETTINGS_NOT_TEXT', `${name}: contains NUL bytes; not a text settings file`);
  }
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  try {
    return { text: utf8.decode(bom ? bytes.subarray(3) : bytes), encoding: 'utf-8', bom };
  } catch {
    return { text: decodeWindows1252(bytes), encoding: 'windows-1252', bom: false };
  }
}

/** The `charset` parameter to declare when serving a file in this encoding. */
export function charsetOf(encoding: SettingsEncoding): string {
  return encoding === 'utf-8' ? 'utf-8' : 'windows-1252';
}
