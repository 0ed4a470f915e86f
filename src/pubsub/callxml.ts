import { createHmac } from 'node:crypto';
import { escapeXml } from '../core/xml.js';
import { readXml, type XmlNode, XmlReadError } from '../core/xml-read.js';
import { safeEqual } from './accounts.js';
import { PubSubValidationError } from './errors.js';
import type { JsonValue } from './protocol.js';

/**
 * Call XML bridge helpers (seed 001 "Call XML Example"): recognising a call-control request, checking
 * the InboundXML an application answers with, the keep-alive answer, and the optional webhook signature.
 * Pure functions.
 */

/** A POST whose queue ends in `.xml` and that carries a `CallSid` is a call-control request. */
export function callSidOf(queue: string, params: Record<string, JsonValue>): string | undefined {
  if (!queue.endsWith('.xml')) return undefined;
  const sid = params.CallSid;
  if (typeof sid !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(sid)) return undefined;
  return sid;
}

/** Queue the application answers a call-control request on: `<queue>/<CallSid>`. */
export function replyQueue(queue: string, callSid: string): string {
  return `${queue}/${callSid}`;
}

/** True when a queue is a Call XML reply queue (`….xml/<CallSid>`): publishes to it must be InboundXML. */
export function isReplyQueue(queue: string): boolean {
  const i = queue.lastIndexOf('/');
  return i > 0 && queue.slice(0, i).endsWith('.xml');
}

/** InboundXML verbs allowed under <Response>, and the nouns/verbs allowed inside some of them. */
export const RESPONSE_VERBS = new Set([
  'Say',
  'Play',
  'PlayLastRecording',
  'Gather',
  'GetSpeech',
  'Dial',
  'Record',
  'Redirect',
  'Hangup',
  'Reject',
  'Pause',
  'Ping',
  'Answer',
  'Sms',
  'Mms',
  'Connect',
  'Agent',
  'Refer',
]);
const CHILDREN: Record<string, Set<string>> = {
  Gather: new Set(['Say', 'Play', 'Pause', 'PlayLastRecording']),
  GetSpeech: new Set(['Say', 'Play', 'Pause', 'PlayLastRecording']),
  Dial: new Set(['Number', 'Sip', 'User', 'Conference', 'Agent']),
  Connect: new Set(['Agent']),
  Refer: new Set(['Sip']),
};
/** Elements that hold only text (no child elements). */
const TEXT_ONLY = new Set([
  'Say',
  'Play',
  'Redirect',
  'Sms',
  'Mms',
  'Number',
  'Sip',
  'User',
  'Conference',
  'Agent',
  'Ping',
]);

export const MAX_CALL_XML_BYTES = 64 * 1024;

function bad(message: string): PubSubValidationError {
  return new PubSubValidationError('PUBSUB_BAD_CALL_XML', message, { field: 'body' });
}

/**
 * Checks that `xml` is a well-formed InboundXML document: root `<Response>`, known verbs, allowed
 * nesting. No DTD, no entities are expanded. Returns the parsed `<Response>` (element text trimmed).
 * Throws `PUBSUB_BAD_CALL_XML` with an explanation.
 */
export function validateCallXml(xml: string): XmlNode {
  if (Buffer.byteLength(xml) > MAX_CALL_XML_BYTES)
    throw bad(`Call XML is larger than ${MAX_CALL_XML_BYTES} bytes`);
  const trimmed = xml.trim();
  if (trimmed.length === 0)
    throw bad('Call XML is empty; send an InboundXML document such as <Response><Say>Hello</Say></Response>');
  let root: XmlNode;
  try {
    root = readXml(trimmed, { what: 'Call XML', maxBytes: MAX_CALL_XML_BYTES, maxDepth: 32, trimText: true });
  } catch (e) {
    if (e instanceof XmlReadError) throw bad(e.message);
    throw e;
  }
  if (root.name !== 'Response') throw bad(`the root element must be <Response>, not <${root.name}>`);
  walk(root, 0);
  return root;
}

function walk(node: XmlNode, depth: number): void {
  if (depth > 16) throw bad('Call XML is nested too deeply');
  const name = node.name;
  if (name === 'Response' && node.text !== '') {
    throw bad('text directly inside <Response> is not allowed; wrap it in a verb such as <Say>');
  }
  for (const k of node.children) {
    const tag = k.name;
    const allowed = name === 'Response' ? RESPONSE_VERBS : CHILDREN[name];
    if (TEXT_ONLY.has(name) || !allowed) throw bad(`<${name}> cannot contain <${tag}>`);
    if (!allowed.has(tag)) {
      throw bad(
        name === 'Response'
          ? `<${tag}> is not an InboundXML verb; use one of ${[...RESPONSE_VERBS].join(', ')}`
          : `<${tag}> is not allowed inside <${name}>; allowed: ${[...allowed].join(', ')}`,
      );
    }
    walk(k, depth + 1);
  }
}

/**
 * The answer when the application did not post XML in time: keep the call up briefly, then bring the
 * platform back to the same URL (which long-polls again).
 */
export function keepAliveXml(url: string, pauseSeconds = 1): string {
  const pause = pauseSeconds > 0 ? `<Pause length="${pauseSeconds}"/>` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response>${pause}<Redirect method="POST">${escapeXml(url)}</Redirect></Response>\n`;
}

/**
 * Webhook signature in the Twilio style that Zang followed (assumed, unverified against a captured Zang
 * request): base64 HMAC-SHA1, keyed with the signing key, over the full URL followed by every POST
 * parameter sorted by name, each appended as name + value.
 */
export function computeSignature(key: string, url: string, params: Record<string, JsonValue>): string {
  const names = Object.keys(params).sort();
  let data = url;
  for (const n of names) {
    const v = params[n];
    const values = Array.isArray(v) ? v : [v];
    for (const x of values) data += n + (typeof x === 'string' ? x : JSON.stringify(x));
  }
  return createHmac('sha1', key).update(data, 'utf8').digest('base64');
}

export function verifySignature(
  key: string,
  url: string,
  params: Record<string, JsonValue>,
  signature: string,
): boolean {
  if (!key || !signature || signature.length > 200) return false;
  return safeEqual(computeSignature(key, url, params), signature);
}
