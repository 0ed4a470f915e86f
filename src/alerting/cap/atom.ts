import { ValidationError } from '../../core/errors.js';
import { escapeXml } from '../../core/xml.js';
import { readXml, type XmlNode, XmlReadError } from '../../core/xml-read.js';
import { buildCap, fromXml, namespaces, type ParsedCap } from './codec.js';
import type { CapAlert } from './types.js';

/**
 * CAP over Atom (pure): reading a feed of CAP alerts (inline in `<content>`, or linked), and writing the
 * hub's own feed with each alert inline. A document that is itself a CAP `<alert>` reads as a one-entry
 * feed, so a feed URL may point at either.
 */
export const ATOM_NS = 'http://www.w3.org/2005/Atom';
/** Largest feed document accepted (bytes). */
export const FEED_MAX_BYTES = 4 * 1024 * 1024;
/** Most entries read from one feed document. */
export const FEED_MAX_ENTRIES = 500;

export interface FeedEntry {
  id: string;
  updated: string;
  /** The inline alert, when the entry carries one. */
  cap?: ParsedCap;
  /** Where the alert is, when it is not inline (`application/cap+xml` link, else the first link). */
  link?: string;
  /** Why an inline alert was refused. */
  error?: { code: string; message: string };
}

const local = (n: string): string => n.slice(n.indexOf(':') + 1);

/** Reads a feed (Atom) or a single CAP alert. Entries whose inline alert is invalid carry `error`. */
export function parseCapFeed(input: string | Buffer, maxBytes = FEED_MAX_BYTES): FeedEntry[] {
  let root: XmlNode;
  try {
    root = readXml(input, {
      maxBytes,
      maxDepth: 24,
      code: 'CAP_FEED_INVALID',
      what: 'CAP feed',
      trimText: true,
    });
  } catch (e) {
    if (e instanceof XmlReadError)
      throw new ValidationError(e.reason === 'too_large' ? 'CAP_TOO_LARGE' : 'CAP_FEED_INVALID', e.message, {
        status: e.reason === 'too_large' ? 413 : 400,
      });
    throw e;
  }
  const ns = namespaces(root, {});
  if (local(root.name) === 'alert') {
    const cap = fromXml(root);
    return [{ id: cap.alert.identifier, updated: cap.alert.sent, cap }];
  }
  if (local(root.name) !== 'feed')
    throw new ValidationError(
      'CAP_FEED_INVALID',
      `the root element is <${root.name}>, not an Atom <feed> or a CAP <alert>`,
    );
  const entries = root.children.filter((c) => local(c.name) === 'entry').slice(0, FEED_MAX_ENTRIES);
  return entries.map((e) => {
    const ens = namespaces(e, ns);
    const text = (name: string) => e.children.find((c) => local(c.name) === name)?.text ?? '';
    const out: FeedEntry = { id: text('id'), updated: text('updated') };
    const content = e.children.find((c) => local(c.name) === 'content');
    const inline = content?.children.find((c) => local(c.name) === 'alert');
    if (inline) {
      try {
        out.cap = fromXml(inline, namespaces(content!, ens));
      } catch (err) {
        const ve = err as ValidationError;
        out.error = { code: ve.code ?? 'CAP_INVALID', message: ve.message };
      }
      return out;
    }
    const links = e.children.filter((c) => local(c.name) === 'link' && c.attrs.href);
    const link =
      links.find((l) => /cap\+xml|text\/xml|application\/xml/i.test(l.attrs.type ?? '')) ??
      links.find((l) => !l.attrs.rel || l.attrs.rel === 'alternate') ??
      links[0];
    if (link?.attrs.href) out.link = link.attrs.href;
    return out;
  });
}

export interface FeedItem {
  alert: CapAlert;
  /** Atom `updated`: when this version of the alert was issued (ISO). */
  updated: string;
  /** A link for people (the console's page of the incident or broadcast). */
  link?: string;
}

/** The hub's Atom feed: one entry per item, its CAP alert inline (`application/cap+xml`). */
export function buildCapFeed(o: {
  id: string;
  title: string;
  self: string;
  updated: string;
  items: FeedItem[];
}): string {
  const entries = o.items
    .map((it) => {
      const info = it.alert.infos[0];
      const title = info?.headline ?? info?.event ?? it.alert.identifier;
      return `  <entry>
    <id>${escapeXml(`urn:cap:${it.alert.sender}:${it.alert.identifier}`)}</id>
    <title>${escapeXml(`${it.alert.msgType === 'Alert' ? '' : `${it.alert.msgType}: `}${title}`)}</title>
    <updated>${escapeXml(it.updated)}</updated>
    <author><name>${escapeXml(it.alert.sender)}</name></author>
${it.link ? `    <link rel="alternate" href="${escapeXml(it.link)}"/>\n` : ''}    <content type="application/cap+xml">
${buildCap(it.alert, { declaration: false })
  .split('\n')
  .filter(Boolean)
  .map((l) => `      ${l}`)
  .join('\n')}
    </content>
  </entry>
`;
    })
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="${ATOM_NS}">
  <id>${escapeXml(o.id)}</id>
  <title>${escapeXml(o.title)}</title>
  <updated>${escapeXml(o.updated)}</updated>
  <link rel="self" href="${escapeXml(o.self)}"/>
${entries}</feed>
`;
}
