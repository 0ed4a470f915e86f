import {
  attr as attrOf,
  child as childOf,
  childrenNamed as childrenOf,
  declaredEncoding,
  decodeXmlEntities,
  deepText,
  readXml as readXmlCore,
  type XmlNode,
  XmlReadError,
  type XmlReadReason,
} from '../../core/xml-read.js';

/**
 * XML reading for Avaya push messages and push content: a thin adapter over the one bounded reader in
 * `src/core/xml-read.ts` (no DTD internal subset or entity declarations, an external DOCTYPE such as
 * WML's is skipped, entities decoded by us, depth cap). Returns a result instead of throwing, trims
 * element text, and looks names up case-insensitively (phones are lenient about case).
 */
export type XmlElement = XmlNode;

export type XmlReadResult =
  | { ok: true; root: XmlElement; encoding: string | undefined }
  | { ok: false; reason: XmlReadReason; message: string };

export { declaredEncoding, decodeXmlEntities, deepText };

/** Reads an XML document into a tree. Never throws; returns a reason for failures. */
export function readXml(xml: string): XmlReadResult {
  try {
    const root = readXmlCore(xml, { allowExternalDoctype: true, trimText: true });
    return { ok: true, root, encoding: declaredEncoding(xml) };
  } catch (e) {
    if (e instanceof XmlReadError) return { ok: false, reason: e.reason, message: e.detail };
    throw e;
  }
}

/** First child element with this name (case-insensitive). */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return childOf(el, name, true);
}

/** All child elements with this name (case-insensitive). */
export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return childrenOf(el, name, true);
}

/** Attribute by name, case-insensitive. */
export function attr(el: XmlElement, name: string): string | undefined {
  return attrOf(el, name, true);
}
