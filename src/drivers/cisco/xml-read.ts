import { declaredEncoding as declared } from '../../core/xml-read.js';

/**
 * Cisco XML reading is the one bounded reader in `src/core/xml-read.ts` (size cap, depth cap, no
 * DOCTYPE/entities, order-preserving tree, `XmlReadError` with the caller's code). Re-exported here
 * under the names the Cisco driver and simulator use.
 */
export {
  child,
  childrenNamed,
  childText,
  decodeXmlBytes,
  decodeXmlEntities as decodeEntities,
  type ReadXmlOptions,
  readXml,
  type XmlNode,
} from '../../core/xml-read.js';

/** The declared encoding of an XML text (lower case), or undefined. */
export function declaredEncoding(text: string): string | undefined {
  return declared(text)?.toLowerCase();
}
