/**
 * Character sets of text that arrives as bytes (HTTP bodies, XML documents, device streams). One place
 * maps a charset label to a decoder, with the WHATWG label table Node's TextDecoder implements
 * (`iso-8859-1`, `latin1`, `ISO8859-1`, `windows-1252`, `utf-8` … in any case). As in browsers, the
 * ISO-8859-1 labels decode as Windows-1252, its superset: the bytes 0x80–0x9F that Windows writers put
 * in "Latin-1" text (smart quotes, €) come out as the characters they meant, never as C1 controls.
 */

/** The `charset` parameter of a Content-Type header (lower case, unquoted), or undefined. */
export function charsetOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const m = /;\s*charset\s*=\s*("?)([^";,\s]{1,64})\1/i.exec(contentType);
  return m ? m[2]!.toLowerCase() : undefined;
}

/** Windows-1252 bytes 0x80–0x9F (undefined positions stay the C1 control of the same value). */
const CP1252_HIGH =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

interface Decoder {
  decode(buf: Uint8Array): string;
}

/** Windows-1252, written out: Node 20's TextDecoder decodes this label as plain Latin-1. */
const cp1252: Decoder = {
  decode(buf) {
    let out = '';
    for (let i = 0; i < buf.length; i += 8192) {
      const chunk = buf.subarray(i, i + 8192);
      let s = '';
      for (const b of chunk) s += b >= 0x80 && b <= 0x9f ? CP1252_HIGH[b - 0x80] : String.fromCharCode(b);
      out += s;
    }
    return out;
  },
};

/** A decoder for a charset label, or undefined when the label is not one Node knows. */
function decoderFor(label: string): Decoder | undefined {
  try {
    const d = new TextDecoder(label.trim());
    return d.encoding === 'windows-1252' ? cp1252 : d;
  } catch {
    return undefined;
  }
}

/** True when `label` names a charset this process can decode. */
export function knownCharset(label: string): boolean {
  return decoderFor(label) !== undefined;
}

/**
 * Decodes bytes by the first label of `labels` that names a known charset (undefined entries are
 * skipped), else as UTF-8. A UTF-8 byte-order mark always wins and is removed. Never throws: bytes
 * that are invalid in the chosen charset become U+FFFD.
 */
export function decodeBytes(buf: Uint8Array, ...labels: Array<string | undefined>): string {
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf)
    return new TextDecoder('utf-8').decode(buf.subarray(3));
  for (const l of labels) {
    if (!l) continue;
    const d = decoderFor(l);
    if (d) return d.decode(buf);
  }
  return new TextDecoder('utf-8').decode(buf);
}

/** Decodes one form value to bytes (`+` → space, `%XX`); malformed escapes are kept literally. */
export function formDecodeBytes(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) out.push(0x20);
    else if (c === 0x25 && i + 2 < s.length + 0 && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) out.push(c);
    else out.push(...Buffer.from(s[i]!, 'utf8'));
  }
  return Buffer.from(out);
}

/**
 * A form body (application/x-www-form-urlencoded) whose percent-escapes are bytes in `charset`, re-encoded
 * so its escapes are UTF-8 (what URLSearchParams reads). Every pair is kept, in order.
 */
export function formToUtf8(body: string, charset: string): string {
  const enc = (b: Buffer) => encodeURIComponent(decodeBytes(b, charset));
  return body
    .split('&')
    .map((part) => {
      if (part === '') return part;
      const eq = part.indexOf('=');
      return eq < 0
        ? enc(formDecodeBytes(part))
        : `${enc(formDecodeBytes(part.slice(0, eq)))}=${enc(formDecodeBytes(part.slice(eq + 1)))}`;
    })
    .join('&');
}
