import { ProtocolError, ValidationError } from '../../core/errors.js';
import { escapeXml } from '../../core/xml.js';
import { attr, childrenNamed, readXml, type XmlElement } from './xml.js';

/**
 * Avaya Push Message (PM): the small XML document a Push Initiator POSTs to a phone's `/forms/push`
 * (form field `XMLData`). Pure builder and parser. Limits from the 4600/9600 Push API guides:
 * href absolute `http://`, at most 1024 characters; message under 5 KB; alert 0–3; `<postfield>`s
 * required when method is `post`.
 */
export const PUSH_TYPES = ['display', 'topline', 'audio', 'subscribe', 'phonexml'] as const;
export type PushType = (typeof PUSH_TYPES)[number];
export const PUSH_MODES = ['normal', 'barge'] as const;
export type PushMode = (typeof PUSH_MODES)[number];
export type PushMethod = 'get' | 'post';
export type PushAlert = 0 | 1 | 2 | 3;

/** Maximum length of the `<go href>` URL (4600 API guide p.34, p.68). */
export const MAX_HREF_LENGTH = 1024;
/** A Push Message must be smaller than 5 KB (x-Push-Status 307 otherwise). */
export const MAX_PUSH_MESSAGE_BYTES = 5 * 1024;
/** Maximum number of postfields we emit or accept (our limit; the guides give none). */
export const MAX_POSTFIELDS = 32;

export interface PostField {
  name: string;
  value: string;
}

export interface PushMessage {
  type: PushType;
  /** Not used for `subscribe` (the guides print the subscribe PM without mode). */
  mode?: PushMode;
  /** Number of "ring pings" played on arrival; not used for `subscribe`. */
  alert?: PushAlert;
  href: string;
  method: PushMethod;
  postfields: PostField[];
}

/** A builder input that violates a documented limit. */
export class PushMessageError extends ValidationError {}

/**
 * A received Push Message that a phone would refuse. `pushStatus` is the x-Push-Status code the Push
 * Agent answers with (301–307 XML errors, 402 security failure, 501 invalid push URI).
 */
export class PushMessageParseError extends ProtocolError {
  readonly pushStatus: number;
  constructor(pushStatus: number, code: string, message: string, field?: string) {
    super(code, message, { status: 400, ...(field ? { field } : {}), details: { pushStatus } });
    this.pushStatus = pushStatus;
  }
}

/** Checks an href the way the phone does; returns the x-Push-Status refusal code or undefined when fine. */
export function hrefProblem(href: string): { pushStatus: 402 | 501; message: string } | undefined {
  if (href.length > MAX_HREF_LENGTH) {
    return { pushStatus: 501, message: `href is ${href.length} characters (at most ${MAX_HREF_LENGTH})` };
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(href)) {
    return { pushStatus: 501, message: 'href must be a fully qualified URL (http://host/path)' };
  }
  if (!/^http:\/\//i.test(href)) return { pushStatus: 402, message: 'href must start with http://' };
  let u: URL;
  try {
    u = new URL(href);
  } catch {
    return { pushStatus: 501, message: 'href is not a valid URL' };
  }
  if (u.hostname === '') return { pushStatus: 501, message: 'href has no host' };
  return undefined;
}

/** Builds the Push Message XML. Throws PushMessageError naming the bad field. */
export function buildPushMessage(m: PushMessage): string {
  if (!(PUSH_TYPES as readonly string[]).includes(m.type)) {
    throw new PushMessageError('AVAYA_PUSH_BAD_TYPE', `type must be one of ${PUSH_TYPES.join(', ')}`, {
      field: 'type',
    });
  }
  if (m.mode !== undefined && !(PUSH_MODES as readonly string[]).includes(m.mode)) {
    throw new PushMessageError('AVAYA_PUSH_BAD_MODE', 'mode must be normal or barge', { field: 'mode' });
  }
  if (m.alert !== undefined && !(Number.isInteger(m.alert) && m.alert >= 0 && m.alert <= 3)) {
    throw new PushMessageError('AVAYA_PUSH_BAD_ALERT', 'alert must be an integer from 0 to 3', {
      field: 'alert',
    });
  }
  if (m.method !== 'get' && m.method !== 'post') {
    throw new PushMessageError('AVAYA_PUSH_BAD_METHOD', 'method must be get or post', { field: 'method' });
  }
  const hp = hrefProblem(m.href);
  if (hp) {
    throw new PushMessageError(
      hp.pushStatus === 501 ? 'AVAYA_PUSH_BAD_HREF' : 'AVAYA_PUSH_HREF_NOT_HTTP',
      hp.message,
      {
        field: 'href',
      },
    );
  }
  if (m.method === 'post' && m.postfields.length === 0) {
    throw new PushMessageError('AVAYA_PUSH_EMPTY_POST', 'method post needs at least one postfield', {
      field: 'postfields',
    });
  }
  if (m.postfields.length > MAX_POSTFIELDS) {
    throw new PushMessageError('AVAYA_PUSH_TOO_MANY_POSTFIELDS', `at most ${MAX_POSTFIELDS} postfields`, {
      field: 'postfields',
    });
  }
  m.postfields.forEach((p, i) => {
    if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(p.name)) {
      throw new PushMessageError(
        'AVAYA_PUSH_BAD_POSTFIELD',
        `postfield name ${JSON.stringify(p.name)} is not a valid name`,
        {
          field: `postfields.${i}.name`,
        },
      );
    }
  });
  const attrs: string[] = [];
  if (m.type !== 'subscribe' && m.alert !== undefined) attrs.push(`alert="${m.alert}"`);
  attrs.push(`type="${m.type}"`);
  if (m.type !== 'subscribe') attrs.push(`mode="${m.mode ?? 'normal'}"`);
  const fields = m.postfields
    .map((p) => `    <postfield name="${escapeXml(p.name)}" value="${escapeXml(p.value)}"/>\n`)
    .join('');
  const go = `  <go href="${escapeXml(m.href)}" method="${m.method}">${fields ? `\n${fields}  ` : ''}</go>`;
  const xml = `<?xml version="1.0"?>\n<Push ${attrs.join(' ')}>\n${go}\n</Push>`;
  const size = Buffer.byteLength(xml, 'utf8');
  if (size >= MAX_PUSH_MESSAGE_BYTES) {
    throw new PushMessageError(
      'AVAYA_PUSH_TOO_LARGE',
      `push message is ${size} bytes (must be under ${MAX_PUSH_MESSAGE_BYTES})`,
      {
        field: 'postfields',
        details: { size },
      },
    );
  }
  return xml;
}

const ENCODINGS = new Set(['utf-8', 'utf8', 'iso-8859-1', 'latin1', 'us-ascii', 'ascii']);

/** Normalises the `type` attribute. Accepts `topline` and the 9600 guide's `Top Line`, case-insensitively. */
export function normalisePushType(raw: string): PushType | undefined {
  const t = raw
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');
  return (PUSH_TYPES as readonly string[]).includes(t) ? (t as PushType) : undefined;
}

/**
 * Parses a Push Message as a Push Agent does. Throws PushMessageParseError with the x-Push-Status code:
 * 307 too large, 303 no element, 302 not well-formed, 304 unknown encoding, 305 root is not `<Push>`,
 * 301 not valid (bad type/mode/alert/method, no `<go>`), 306 post without postfields, 501/402 bad href.
 */
export function parsePushMessage(xml: string): PushMessage {
  const size = Buffer.byteLength(xml, 'utf8');
  if (size >= MAX_PUSH_MESSAGE_BYTES) {
    throw new PushMessageParseError(
      307,
      'AVAYA_PM_TOO_LARGE',
      `push message is ${size} bytes (must be under 5 KB)`,
    );
  }
  const r = readXml(xml);
  if (!r.ok) {
    if (r.reason === 'empty') throw new PushMessageParseError(303, 'AVAYA_PM_NO_ELEMENT', 'no element found');
    if (r.reason === 'doctype') throw new PushMessageParseError(301, 'AVAYA_PM_NOT_VALID', r.message);
    throw new PushMessageParseError(
      302,
      'AVAYA_PM_NOT_WELL_FORMED',
      `XML document not well-formed: ${r.message}`,
    );
  }
  if (r.encoding !== undefined && !ENCODINGS.has(r.encoding.toLowerCase())) {
    throw new PushMessageParseError(
      304,
      'AVAYA_PM_UNKNOWN_ENCODING',
      `unknown encoding ${JSON.stringify(r.encoding.slice(0, 40))}`,
    );
  }
  const root = r.root;
  if (root.name !== 'Push') {
    throw new PushMessageParseError(
      305,
      'AVAYA_PM_INVALID_ROOT',
      `root element is <${root.name.slice(0, 40)}>, expected <Push>`,
    );
  }
  return interpretPush(root);
}

function invalid(message: string, field: string): PushMessageParseError {
  return new PushMessageParseError(301, 'AVAYA_PM_NOT_VALID', `XML document not valid: ${message}`, field);
}

function interpretPush(root: XmlElement): PushMessage {
  const typeRaw = attr(root, 'type');
  if (typeRaw === undefined) throw invalid('<Push> has no type', 'type');
  const type = normalisePushType(typeRaw);
  if (!type) throw invalid(`unknown type ${JSON.stringify(typeRaw.slice(0, 40))}`, 'type');
  const modeRaw = attr(root, 'mode');
  let mode: PushMode | undefined;
  if (modeRaw !== undefined) {
    const m = modeRaw.trim().toLowerCase();
    if (m !== 'normal' && m !== 'barge')
      throw invalid(`unknown mode ${JSON.stringify(modeRaw.slice(0, 40))}`, 'mode');
    mode = m;
  }
  const alertRaw = attr(root, 'alert');
  let alert: PushAlert | undefined;
  if (alertRaw !== undefined) {
    if (!/^\s*[0-3]\s*$/.test(alertRaw)) throw invalid('alert must be 0, 1, 2 or 3', 'alert');
    alert = Number(alertRaw.trim()) as PushAlert;
  }
  const gos = childrenNamed(root, 'go');
  if (gos.length !== 1) throw invalid(`<Push> needs exactly one <go> (has ${gos.length})`, 'go');
  const go = gos[0]!;
  const href = attr(go, 'href');
  if (href === undefined || href.trim() === '') {
    throw new PushMessageParseError(
      501,
      'AVAYA_PM_INVALID_URI',
      'Invalid Push URI: <go> has no href',
      'href',
    );
  }
  const hp = hrefProblem(href.trim());
  if (hp) {
    throw new PushMessageParseError(
      hp.pushStatus,
      hp.pushStatus === 501 ? 'AVAYA_PM_INVALID_URI' : 'AVAYA_PM_SECURITY_FAILURE',
      hp.message,
      'href',
    );
  }
  const methodRaw = (attr(go, 'method') ?? 'get').trim().toLowerCase();
  if (methodRaw !== 'get' && methodRaw !== 'post') throw invalid('method must be get or post', 'method');
  const pfs = childrenNamed(go, 'postfield');
  if (pfs.length > MAX_POSTFIELDS) throw invalid(`more than ${MAX_POSTFIELDS} postfields`, 'postfield');
  const postfields: PostField[] = [];
  for (const p of pfs) {
    const name = attr(p, 'name');
    if (name === undefined || name === '') throw invalid('<postfield> without name', 'postfield');
    postfields.push({ name, value: attr(p, 'value') ?? '' });
  }
  if (methodRaw === 'post' && postfields.length === 0) {
    throw new PushMessageParseError(
      306,
      'AVAYA_PM_EMPTY_POST',
      'Empty Post Content: method post without postfields',
      'postfield',
    );
  }
  return {
    type,
    ...(mode !== undefined ? { mode } : {}),
    ...(alert !== undefined ? { alert } : {}),
    href: href.trim(),
    method: methodRaw,
    postfields,
  };
}

/** The form body a Push Initiator POSTs: `XMLData=<url-encoded PM>`. */
export function encodePushForm(xml: string): string {
  return new URLSearchParams({ XMLData: xml }).toString();
}

/** Extracts `XMLData` from a form body. Returns undefined when the field is absent. */
export function decodePushForm(body: string): string | undefined {
  const v = new URLSearchParams(body).get('XMLData');
  return v === null ? undefined : v;
}
