import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { decodeBytes } from './charset.js';
import { ProtocolError } from './errors.js';
import { ParseMemo } from './memo.js';

/**
 * THE one XML reader for what peers send (phones, simulators, CPaaS applications). Bounded and safe:
 * size cap, nesting cap, no DTD (an internal subset or ENTITY declaration is always refused; an external
 * DOCTYPE only where the caller allows it, e.g. WML decks), entities are never resolved by the parser
 * (`processEntities: false`): we decode only the five predefined entities and numeric character
 * references ourselves. Output is an order-preserving tree of elements; comments, processing
 * instructions and the XML declaration are dropped. Failures are `XmlReadError` (a `ProtocolError`)
 * with the caller's `code` and a `reason`.
 *
 * The one escaping function for the other direction is `escapeXml` in `./xml.ts`.
 */
export interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  /** Concatenated direct text content, entities decoded (trimmed only with `trimText`). */
  text: string;
}

export type XmlReadReason = 'too_large' | 'empty' | 'doctype' | 'too_deep' | 'not_well_formed';

export class XmlReadError extends ProtocolError {
  readonly reason: XmlReadReason;
  /** The failure without the "what" prefix, e.g. `line 3: Closing tag 'b' is expected…`. */
  readonly detail: string;

  constructor(code: string, reason: XmlReadReason, message: string, detail: string, status?: number) {
    super(code, message, status === undefined ? {} : { status });
    this.reason = reason;
    this.detail = detail;
  }
}

export interface ReadXmlOptions {
  /** Largest accepted document in bytes (UTF-8 for strings). Default 256 KiB. */
  maxBytes?: number;
  /** Deepest accepted element nesting; the root element is level 1. Default 32. */
  maxDepth?: number;
  /** Error code of the thrown `XmlReadError`. Default `XML_INVALID`. */
  code?: string;
  /** Names the document in messages. Default `XML document`. */
  what?: string;
  /** HTTP status of the thrown error when it reaches the API. Default 502 (ProtocolError). */
  status?: number;
  /** Accept (and skip) a DOCTYPE without an internal subset, e.g. WML's public DTD. Default false. */
  allowExternalDoctype?: boolean;
  /** Trim each element's `text`. Default false. */
  trimText?: boolean;
}

export const XML_DEFAULT_MAX_BYTES = 256 * 1024;
export const XML_DEFAULT_MAX_DEPTH = 32;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  allowBooleanAttributes: false,
});

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const ENTITY_RE = /&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|[A-Za-z]{2,4});/g;

/**
 * Decodes the five predefined XML entities and numeric character references. Unknown entities and
 * references to code points XML cannot carry (NUL, surrogates, above U+10FFFF) stay as written.
 */
export function decodeXmlEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY_RE, (m, ref: string) => {
    if (ref[0] === '#') {
      const cp = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      if (!Number.isFinite(cp) || cp <= 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return m;
      return String.fromCodePoint(cp);
    }
    return NAMED[ref] ?? m;
  });
}

const ENCODING_RE = /^\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"'<>]{0,64})["']/;

/** The `encoding` of the XML declaration as written (at most 64 characters), if there is one. */
export function declaredEncoding(xml: string): string | undefined {
  return ENCODING_RE.exec(xml.length > 512 ? xml.slice(0, 512) : xml)?.[1];
}

/**
 * Decodes the bytes of an XML document: by the encoding its declaration names (XML 1.0 appendix F: the
 * document describes its own bytes), else by `charset` (the Content-Type charset of the transport), else
 * by `fallback`, else UTF-8. A UTF-8 byte-order mark wins over all of them.
 */
export function decodeXmlBytes(buf: Buffer, opts: { charset?: string; fallback?: string } = {}): string {
  return decodeBytes(
    buf,
    declaredEncoding(buf.subarray(0, 512).toString('latin1')),
    opts.charset,
    opts.fallback,
  );
}

/**
 * The same document declaring UTF-8: for XML that was decoded from another charset and is served as
 * UTF-8, so the declaration never contradicts the bytes. A document without an encoding is unchanged.
 */
export function withUtf8Declaration(xml: string): string {
  const head = xml.length > 512 ? xml.slice(0, 512) : xml;
  const m = ENCODING_RE.exec(head);
  if (!m || m[1]!.toLowerCase() === 'utf-8') return xml;
  const at = m.index + m[0].length - m[1]!.length - 1;
  return `${xml.slice(0, at)}UTF-8${xml.slice(at + m[1]!.length)}`;
}

/** Pre-scan before the parser: false when start tags nest deeper than `limit` (linear, no recursion). */
function withinNesting(text: string, limit: number): boolean {
  let depth = 0;
  const re = /<(\/?)[^\s<>/!?=][^<>]*?(\/?)>/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[1] === '/') depth--;
    else if (m[2] !== '/') depth++;
    if (depth > limit) return false;
  }
  return true;
}

/**
 * False when a DOCTYPE is present and not allowed: any DOCTYPE unless `allowExternal`, else more than one
 * or one with an internal subset (`[`). Linear in the text (no backtracking regex over peer input).
 */
function doctypeAcceptable(text: string, allowExternal: boolean): boolean {
  const re = /<!DOCTYPE/gi;
  const first = re.exec(text);
  if (first === null) return true;
  if (!allowExternal || re.exec(text) !== null) return false;
  const end = text.indexOf('>', first.index);
  return end >= 0 && !text.slice(first.index, end).includes('[');
}

type Raw = Record<string, unknown>;

class TooDeep extends Error {}

function convert(raw: Raw[], level: number, maxDepth: number, trim: boolean): XmlNode[] {
  const out: XmlNode[] = [];
  for (const entry of raw) {
    const name = Object.keys(entry).find((k) => k !== ':@');
    if (!name || name === '#text' || name.startsWith('?') || name.startsWith('!') || name === '#comment')
      continue;
    if (level > maxDepth) throw new TooDeep();
    const attrsRaw = (entry[':@'] as Record<string, unknown> | undefined) ?? {};
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(attrsRaw)) attrs[k] = decodeXmlEntities(String(v ?? ''));
    const value = entry[name];
    const kids = Array.isArray(value) ? (value as Raw[]) : [];
    let text = '';
    for (const k of kids) if ('#text' in k) text += String(k['#text']);
    text = decodeXmlEntities(text);
    out.push({
      name,
      attrs,
      children: convert(kids, level + 1, maxDepth, trim),
      text: trim ? text.trim() : text,
    });
  }
  return out;
}

/**
 * Parses an XML document (a string, or bytes decoded by their declared encoding) and returns its root
 * element. Throws `XmlReadError` with `opts.code`.
 */
export function readXml(input: string | Buffer, opts: ReadXmlOptions = {}): XmlNode {
  const code = opts.code ?? 'XML_INVALID';
  const what = opts.what ?? 'XML document';
  const maxBytes = opts.maxBytes ?? XML_DEFAULT_MAX_BYTES;
  const maxDepth = opts.maxDepth ?? XML_DEFAULT_MAX_DEPTH;
  const fail = (reason: XmlReadReason, message: string, detail: string): XmlReadError =>
    new XmlReadError(code, reason, message, detail, opts.status);

  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > maxBytes) {
    const detail = `${size} bytes, above the limit of ${maxBytes}`;
    throw fail('too_large', `${what} is ${detail}`, detail);
  }
  const decoded = typeof input === 'string' ? input : decodeXmlBytes(input);
  // Identical documents (the same answer from hundreds of phones) are checked and parsed once; only
  // successful reads are kept, and every caller gets its own copy.
  const key = `${maxDepth}|${opts.allowExternalDoctype === true ? 1 : 0}${opts.trimText === true ? 1 : 0}\u0000${decoded}`;
  return memo.get(key, () => readText(decoded, opts));
}

function cloneNode(n: XmlNode): XmlNode {
  return { name: n.name, attrs: { ...n.attrs }, children: n.children.map(cloneNode), text: n.text };
}

const memo = new ParseMemo<XmlNode>(cloneNode, { maxEntries: 64, maxKeyChars: 8192 });

function readText(decoded: string, opts: ReadXmlOptions): XmlNode {
  const code = opts.code ?? 'XML_INVALID';
  const what = opts.what ?? 'XML document';
  const maxDepth = opts.maxDepth ?? XML_DEFAULT_MAX_DEPTH;
  const fail = (reason: XmlReadReason, message: string, detail: string): XmlReadError =>
    new XmlReadError(code, reason, message, detail, opts.status);
  let text = decoded;
  if (/<!ENTITY/i.test(text) || !doctypeAcceptable(text, opts.allowExternalDoctype === true)) {
    const detail = opts.allowExternalDoctype
      ? 'a DOCTYPE with an internal subset or ENTITY declarations is not accepted'
      : 'DOCTYPE and entity declarations are not accepted';
    throw fail('doctype', `${what}: ${detail}`, detail);
  }
  // The validator does not know DOCTYPE declarations; skip a simple external one.
  if (opts.allowExternalDoctype) text = text.replace(/<!DOCTYPE\s[^>[]*>/i, '');
  const noElement = (): XmlReadError => fail('empty', `${what}: no element found`, 'no element found');
  if (text.trim() === '') throw noElement();
  if (!withinNesting(text, maxDepth)) {
    const detail = `elements nested deeper than ${maxDepth} levels`;
    throw fail('too_deep', `${what} has ${detail}`, detail);
  }
  let valid: ReturnType<typeof XMLValidator.validate>;
  try {
    valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  } catch (e) {
    const detail = (e as Error).message.split('\n')[0] ?? '';
    throw fail('not_well_formed', `${what} is not well-formed XML: ${detail}`, detail);
  }
  if (valid !== true) {
    const msg = valid.err.msg;
    if (/start tag|no.*element|empty/i.test(msg) && !/<[^\s<>/!?=]/.test(text)) throw noElement();
    const detail = `line ${valid.err.line}, column ${valid.err.col}: ${msg}`;
    throw fail(
      'not_well_formed',
      `${what} is not well-formed XML: ${msg} (line ${valid.err.line}, column ${valid.err.col})`,
      detail,
    );
  }
  let raw: Raw[];
  try {
    raw = parser.parse(text) as Raw[];
  } catch (e) {
    const detail = (e as Error).message.split('\n')[0] ?? '';
    throw fail('not_well_formed', `${what} is not well-formed XML: ${detail}`, detail);
  }
  let roots: XmlNode[];
  try {
    roots = convert(raw, 1, maxDepth, opts.trimText === true);
  } catch (e) {
    if (!(e instanceof TooDeep)) throw e;
    const detail = `elements nested deeper than ${maxDepth} levels`;
    throw fail('too_deep', `${what} has ${detail}`, detail);
  }
  if (roots.length === 0) throw noElement();
  if (roots.length > 1) {
    const detail = `more than one root element (found ${roots.length})`;
    throw fail(
      'not_well_formed',
      `${what} must have exactly one root element (found ${roots.length})`,
      detail,
    );
  }
  return roots[0]!;
}

/** First child element with this name (exact, or ASCII case-insensitive with `ignoreCase`). */
export function child(n: XmlNode, name: string, ignoreCase = false): XmlNode | undefined {
  if (!ignoreCase) return n.children.find((c) => c.name === name);
  const l = name.toLowerCase();
  return n.children.find((c) => c.name.toLowerCase() === l);
}

/** All child elements with this name (exact, or case-insensitive with `ignoreCase`). */
export function childrenNamed(n: XmlNode, name: string, ignoreCase = false): XmlNode[] {
  if (!ignoreCase) return n.children.filter((c) => c.name === name);
  const l = name.toLowerCase();
  return n.children.filter((c) => c.name.toLowerCase() === l);
}

/** Text of the first child element with this name. */
export function childText(n: XmlNode, name: string, ignoreCase = false): string | undefined {
  return child(n, name, ignoreCase)?.text;
}

/** Attribute value (exact name, or case-insensitive with `ignoreCase`). */
export function attr(n: XmlNode, name: string, ignoreCase = false): string | undefined {
  if (!ignoreCase) return Object.hasOwn(n.attrs, name) ? n.attrs[name] : undefined;
  const l = name.toLowerCase();
  for (const [k, v] of Object.entries(n.attrs)) if (k.toLowerCase() === l) return v;
  return undefined;
}

/** All text below an element in document order, whitespace collapsed. */
export function deepText(n: XmlNode, maxDepth = XML_DEFAULT_MAX_DEPTH): string {
  const parts: string[] = [];
  const walk = (e: XmlNode, depth: number) => {
    if (depth > maxDepth) return;
    if (e.text) parts.push(e.text);
    for (const c of e.children) walk(c, depth + 1);
  };
  walk(n, 0);
  return parts.join(' ').replace(/\s+/g, ' ').trim();
}
