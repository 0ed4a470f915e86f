import { XMLParser } from 'fast-xml-parser';
import { validateCallXml } from '../../pubsub/callxml.js';

/**
 * InboundXML as the simulated voice platform sees it: a list of verbs with attributes, text and nested
 * verbs. Parsed after `validateCallXml` (well-formed, known verbs, no DTD), entities left unexpanded
 * except the five XML built-ins in attribute values and text.
 */
export interface Verb {
  name: string;
  attrs: Record<string, string>;
  text: string;
  children: Verb[];
}

const BUILTIN: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&apos;': "'",
};
function unescapeXml(s: string): string {
  return s
    .replace(/&(amp|lt|gt|quot|apos);/g, (m) => BUILTIN[m] ?? m)
    .replace(/&#(x[0-9a-fA-F]{1,6}|[0-9]{1,7});/g, (m, n: string) => {
      const cp = n.startsWith('x') ? Number.parseInt(n.slice(1), 16) : Number(n);
      return cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    });
}

type Node = Record<string, unknown>;

function toVerb(n: Node): Verb {
  const name = Object.keys(n).find((k) => k !== ':@') ?? '';
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries((n[':@'] as Record<string, unknown> | undefined) ?? {})) {
    attrs[k.replace(/^@_/, '')] = unescapeXml(String(v));
  }
  const kids = (n[name] as Node[] | undefined) ?? [];
  let text = '';
  const children: Verb[] = [];
  for (const k of kids) {
    if ('#text' in k) text += String(k['#text']);
    else if (!('#comment' in k)) children.push(toVerb(k));
  }
  return { name, attrs, text: unescapeXml(text).trim(), children };
}

/** Parses an InboundXML document into the verbs of its <Response>. Throws `PUBSUB_BAD_CALL_XML`. */
export function parseInboundXml(xml: string): Verb[] {
  validateCallXml(xml);
  const doc = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    processEntities: false,
    htmlEntities: false,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
  }).parse(xml.trim()) as Node[];
  const root = doc.find((n) => 'Response' in n);
  return root ? toVerb(root).children : [];
}
