import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * Small, safe XML reading for Avaya push messages and push content. Entities are never resolved by the
 * parser (`processEntities: false`); we decode only the five predefined entities and numeric character
 * references ourselves, and refuse any DOCTYPE with an internal subset (no entity declarations at all).
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated, entity-decoded text content directly inside this element (trimmed). */
  text: string;
}

export type XmlReadResult =
  | { ok: true; root: XmlElement; encoding: string | undefined }
  | { ok: false; reason: 'empty' | 'not_well_formed' | 'doctype' | 'too_deep'; message: string };

const MAX_DEPTH = 32;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: false,
  ignorePiTags: false,
  commentPropName: '#comment',
});

/** Decodes the predefined XML entities and numeric references; unknown entities stay as written. */
export function decodeXmlEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/g, (m, e: string) => {
    switch (e) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
    }
    const cp = e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
    if (!Number.isFinite(cp) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return m;
    return String.fromCodePoint(cp);
  });
}

/** The `encoding` of the XML declaration, if any. */
export function declaredEncoding(xml: string): string | undefined {
  const m = /^\s*<\?xml\s[^?]*?encoding\s*=\s*["']([^"']{0,64})["']/.exec(xml);
  return m?.[1];
}

type Node = Record<string, unknown>;

function convert(node: Node, depth: number): XmlElement | undefined {
  const name = Object.keys(node).find((k) => k !== ':@');
  if (name === undefined || name.startsWith('?') || name === '#comment' || name === '#text') return undefined;
  if (depth > MAX_DEPTH) throw new RangeError('too deep');
  const attrsRaw = (node[':@'] ?? {}) as Record<string, unknown>;
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrsRaw)) attrs[k] = decodeXmlEntities(String(v ?? ''));
  const kids = (node[name] ?? []) as Node[];
  const children: XmlElement[] = [];
  let text = '';
  for (const k of Array.isArray(kids) ? kids : []) {
    if ('#text' in k) text += String(k['#text']);
    else {
      const c = convert(k, depth + 1);
      if (c) children.push(c);
    }
  }
  return { name, attrs, children, text: decodeXmlEntities(text).trim() };
}

/** Reads an XML document into a tree. Never throws; returns a reason for failures. */
export function readXml(xml: string): XmlReadResult {
  if (xml.trim() === '') return { ok: false, reason: 'empty', message: 'no element found' };
  if (/<!DOCTYPE[^>]*\[/i.test(xml) || /<!ENTITY/i.test(xml)) {
    return {
      ok: false,
      reason: 'doctype',
      message: 'DOCTYPE with an internal subset or ENTITY declarations is not allowed',
    };
  }
  // The validator does not know DOCTYPE declarations; strip a simple external one (WML decks have it).
  const body = xml.replace(/<!DOCTYPE\s[^>[]*>/i, '');
  let valid: true | { err: { msg: string; line: number } };
  try {
    valid = XMLValidator.validate(body, { allowBooleanAttributes: false }) as
      | true
      | { err: { msg: string; line: number } };
  } catch (e) {
    return { ok: false, reason: 'not_well_formed', message: (e as Error).message };
  }
  if (valid !== true) {
    const msg = valid.err.msg;
    if (/start tag|no.*element|empty/i.test(msg) && !/<[A-Za-z_]/.test(body)) {
      return { ok: false, reason: 'empty', message: 'no element found' };
    }
    return { ok: false, reason: 'not_well_formed', message: `line ${valid.err.line}: ${msg}` };
  }
  let nodes: Node[];
  try {
    nodes = parser.parse(body) as Node[];
  } catch (e) {
    return { ok: false, reason: 'not_well_formed', message: (e as Error).message };
  }
  const roots: XmlElement[] = [];
  try {
    for (const n of nodes) {
      const el = convert(n, 0);
      if (el) roots.push(el);
    }
  } catch {
    return { ok: false, reason: 'too_deep', message: `elements nested deeper than ${MAX_DEPTH}` };
  }
  if (roots.length === 0) return { ok: false, reason: 'empty', message: 'no element found' };
  if (roots.length > 1)
    return { ok: false, reason: 'not_well_formed', message: 'more than one root element' };
  return { ok: true, root: roots[0]!, encoding: declaredEncoding(xml) };
}

/** First child element with this name (case-insensitive). */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  const n = name.toLowerCase();
  return el.children.find((c) => c.name.toLowerCase() === n);
}

/** All child elements with this name (case-insensitive). */
export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  const n = name.toLowerCase();
  return el.children.filter((c) => c.name.toLowerCase() === n);
}

/** Attribute by name, case-insensitive. */
export function attr(el: XmlElement, name: string): string | undefined {
  const n = name.toLowerCase();
  for (const [k, v] of Object.entries(el.attrs)) if (k.toLowerCase() === n) return v;
  return undefined;
}

/** All text below an element, in document order, whitespace collapsed. */
export function deepText(el: XmlElement): string {
  const parts: string[] = [];
  const walk = (e: XmlElement, depth: number) => {
    if (depth > MAX_DEPTH) return;
    if (e.text) parts.push(e.text);
    for (const c of e.children) walk(c, depth + 1);
  };
  walk(el, 0);
  return parts.join(' ').replace(/\s+/g, ' ').trim();
}
