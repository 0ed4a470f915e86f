import { validateCallXml } from '../../pubsub/callxml.js';

/**
 * InboundXML as the simulated voice platform sees it: a list of verbs with attributes, text and nested
 * verbs. Read by `validateCallXml` (the one bounded XML reader: well-formed, known verbs, no DTD),
 * entities left unexpanded except the five XML built-ins and numeric references in attribute values and
 * text; text trimmed.
 */
export interface Verb {
  name: string;
  attrs: Record<string, string>;
  text: string;
  children: Verb[];
}

/** Parses an InboundXML document into the verbs of its <Response>. Throws `PUBSUB_BAD_CALL_XML`. */
export function parseInboundXml(xml: string): Verb[] {
  return validateCallXml(xml).children;
}
