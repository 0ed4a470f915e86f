import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ProtocolError } from '../../core/errors.js';

/**
 * A small, bounded XML reader for what phones send and what the simulator receives: size cap, depth cap,
 * no DOCTYPE/entities (never resolved), entities decoded by us (fast-xml-parser runs with
 * `processEntities: false`). Output is an order-preserving tree.
 */
export interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  /** Concatenated direct text content (entities decoded, not trimmed). */
  text: string;
}

export interface ReadXmlOptions {
  maxBytes?: number;
  maxDepth?: number;
  /** Error code used for malformed input. */
  code?: string;
  what?: string;
}

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

/** Decodes the five XML entities and numeric character references; unknown references stay as they are. */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|[A-Za-z]{2,4});/g, (m, ref: string) => {
    if (ref[0] === '#') {
      const cp = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      if (!Number.isFinite(cp) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return m;
      return String.fromCodePoint(cp);
    }
    return NAMED[ref] ?? m;
  });
}

function maxNesting(text: string, limit: number): boolean {
  let depth = 0;
  const re = /<(\/?)[A-Za-z_][^<>]*?(\/?)>/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[1] === '/') depth--;
    else if (m[2] !== '/') depth++;
    if (depth > limit) return false;
  }
  return true;
}

type Raw = Record<string, unknown>;

function convert(raw: Raw[], depth: number): XmlNode[] {
  const out: XmlNode[] = [];
  for (const entry of raw) {
    const name = Object.keys(entry).find((k) => k !== ':@');
    if (!name || name === '#text' || name.startsWith('?') || name.startsWith('!')) continue;
    const attrsRaw = (entry[':@'] as Record<string, unknown> | undefined) ?? {};
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(attrsRaw)) attrs[k] = decodeEntities(String(v));
    const kids = (entry[name] as Raw[] | undefined) ?? [];
    let text = '';
    for (const k of kids) if ('#text' in k) text += String(k['#text']);
    out.push({
      name,
      attrs,
      children: depth > 0 ? convert(kids, depth - 1) : [],
      text: decodeEntities(text),
    });
  }
  return out;
}

/** Parses an XML document and returns its root element. Throws ProtocolError with `opts.code`. */
export function readXml(input: string | Buffer, opts: ReadXmlOptions = {}): XmlNode {
  const code = opts.code ?? 'XML_INVALID';
  const what = opts.what ?? 'XML document';
  const maxBytes = opts.maxBytes ?? 256 * 1024;
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > maxBytes)
    throw new ProtocolError(code, `${what} is ${size} bytes, above the limit of ${maxBytes}`);
  const text = typeof input === 'string' ? input : decodeXmlBytes(input);
  if (/<!DOCTYPE|<!ENTITY/i.test(text))
    throw new ProtocolError(code, `${what}: DOCTYPE and entity declarations are not accepted`);
  if (!maxNesting(text, opts.maxDepth ?? 32))
    throw new ProtocolError(code, `${what} nests deeper than ${opts.maxDepth ?? 32} levels`);
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true)
    throw new ProtocolError(
      code,
      `${what} is not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`,
    );
  let raw: Raw[];
  try {
    raw = parser.parse(text) as Raw[];
  } catch (e) {
    throw new ProtocolError(code, `${what} is not well-formed XML: ${(e as Error).message.split('\n')[0]}`);
  }
  const roots = convert(raw, opts.maxDepth ?? 32);
  if (roots.length !== 1)
    throw new ProtocolError(code, `${what} must have exactly one root element (found ${roots.length})`);
  return roots[0]!;
}

/** Decodes bytes by the encoding the XML prolog declares (ISO-8859-1 or UTF-8; default UTF-8). */
export function decodeXmlBytes(buf: Buffer): string {
  const head = buf.subarray(0, 100).toString('latin1');
  const m = /^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_-]+)["']/.exec(head);
  const enc = m?.[1]?.toLowerCase();
  if (enc === 'iso-8859-1' || enc === 'latin1' || enc === 'latin-1' || enc === 'us-ascii')
    return buf.toString('latin1');
  return buf.toString('utf8');
}

/** The declared encoding of an XML text (lower case), or undefined. */
export function declaredEncoding(text: string): string | undefined {
  return /^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_-]+)["']/.exec(text)?.[1]?.toLowerCase();
}

export function child(n: XmlNode, name: string): XmlNode | undefined {
  return n.children.find((c) => c.name === name);
}

export function childText(n: XmlNode, name: string): string | undefined {
  return child(n, name)?.text;
}

export function childrenNamed(n: XmlNode, name: string): XmlNode[] {
  return n.children.filter((c) => c.name === name);
}
