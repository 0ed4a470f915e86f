import { ProtocolError, ValidationError } from '../../core/errors.js';
import { escapeXml } from '../../core/xml.js';
import { MAX_HREF_LENGTH } from './push-message.js';
import { checkWml, escapeWml, substituteWmlVariables } from './wml.js';
import { attr, child, childrenNamed, deepText, readXml, type XmlElement } from './xml.js';

/**
 * Push Content (PC): what the phone fetches from the Trusted Push Server after accepting a push.
 * Pure builders (hub side) and tolerant parsers (simulator side). Formats from the 4600 API guide
 * (Top Line p.44, audio p.51–52) and the 9600 API guide (Promptline, Subscribe, 312-character top line).
 */
export const MAX_TOPLINE_CHARS = 312;
export const AUDIO_PACKET_SIZES = [10, 20, 30, 40, 50, 60] as const;
export type AudioPacketSize = (typeof AUDIO_PACKET_SIZES)[number];
export type AudioCodecName = 'PCMU' | 'PCMA';
/** Our cap on content the phone fetches (the phone's own limit is undocumented). */
export const MAX_CONTENT_BYTES = 64 * 1024;

export class PushContentError extends ValidationError {}
export class PushContentParseError extends ProtocolError {}

/**
 * Push content is UTF-8 and says so twice: in the XML declaration and in the Content-Type charset (an RFC
 * 3023 reader takes `text/xml` without charset as US-ASCII). The 9600 guide says the phones accept UTF-8 and
 * ISO-8859-1; nothing public says older firmware needs ISO-8859-1, so we always send UTF-8.
 */
const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
export const CONTENT_TYPE_XML = 'text/xml; charset=utf-8';
export const CONTENT_TYPE_WML = 'text/vnd.wap.wml; charset=utf-8';

/**
 * Characters are counted in Unicode code points on both sides (hub limits and the phone's truncation), so
 * an emoji counts once and a surrogate pair is never split.
 */
export function charLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** The first `max` code points of `text` (never half a surrogate pair). */
export function truncateChars(text: string, max: number): string {
  if (text.length <= max) return text;
  return Array.from(text).slice(0, max).join('');
}

/** `<Response><Topline>…</Topline></Response>`. Text longer than 312 characters is refused. */
export function buildToplineContent(text: string): string {
  if (text.length === 0)
    throw new PushContentError('AVAYA_TOPLINE_EMPTY', 'top line text is empty', { field: 'text' });
  if (charLength(text) > MAX_TOPLINE_CHARS) {
    throw new PushContentError(
      'AVAYA_TOPLINE_TOO_LONG',
      `top line text is longer than ${MAX_TOPLINE_CHARS} characters`,
      {
        field: 'text',
      },
    );
  }
  return `${DECL}<Response>\n  <Topline>${escapeXml(text)}</Topline>\n</Response>`;
}

export interface Softkey {
  label: string;
  /** Absolute URL to follow, or… */
  href?: string;
  /** …a number to dial (WTAI click-to-dial `wtai://wp/mc;<number>`). */
  dial?: string;
}

export interface DisplayDeck {
  title?: string;
  /** Paragraphs of text (each becomes `<p>`; newlines inside become `<br/>`). */
  text: string | string[];
  softkeys?: Softkey[];
  /** Links shown in the card body. */
  links?: Array<{ label: string; href?: string; dial?: string }>;
}

const DIAL_RE = /^[0-9*#+]{1,32}$/;

function target(k: { href?: string; dial?: string }, field: string): string {
  if (k.dial !== undefined) {
    if (!DIAL_RE.test(k.dial))
      throw new PushContentError('AVAYA_BAD_DIAL', `${field}.dial must be digits, *, # or +`, {
        field: `${field}.dial`,
      });
    return `wtai://wp/mc;${k.dial}`;
  }
  if (k.href !== undefined) {
    if (k.href.length > MAX_HREF_LENGTH || !/^https?:\/\/[^\s]+$/i.test(k.href)) {
      throw new PushContentError('AVAYA_BAD_LINK', `${field}.href must be an absolute http(s) URL`, {
        field: `${field}.href`,
      });
    }
    return k.href;
  }
  throw new PushContentError('AVAYA_BAD_LINK', `${field} needs href or dial`, { field });
}

/**
 * A WML 1.3 deck with one card: title, text, links and softkeys (`<do type="accept">` for the first
 * softkey, `type="options"` for the rest [inferred: the 96xx browser maps `<do>` elements to softkeys]).
 * Every `<do>` has its own `name` (`k1`…`k4`; WML 1.3 §9.7: names default to the type and must be unique
 * in a card), and every value is WML-escaped (`$` → `$$`, see wml.ts). The result passes `checkWml`.
 */
export function buildDisplayDeck(d: DisplayDeck): string {
  const paras = (Array.isArray(d.text) ? d.text : [d.text]).map(
    (t) => `    <p>${escapeWml(t).replace(/\r?\n/g, '<br/>')}</p>\n`,
  );
  if ((d.softkeys?.length ?? 0) > 4) {
    throw new PushContentError('AVAYA_TOO_MANY_SOFTKEYS', 'at most 4 softkeys', { field: 'softkeys' });
  }
  const links = (d.links ?? []).map(
    (l, i) => `    <p><a href="${escapeWml(target(l, `links.${i}`))}">${escapeWml(l.label)}</a></p>\n`,
  );
  const keys = (d.softkeys ?? []).map(
    (k, i) =>
      `    <do type="${i === 0 ? 'accept' : 'options'}" name="k${i + 1}" label="${escapeWml(k.label)}">\n      <go href="${escapeWml(target(k, `softkeys.${i}`))}"/>\n    </do>\n`,
  );
  const title = d.title === undefined ? '' : ` title="${escapeWml(d.title)}"`;
  const xml =
    `${DECL}<!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.3//EN" "http://www.wapforum.org/DTD/wml13.dtd">\n` +
    `<wml>\n  <card id="push"${title}>\n${keys.join('')}${paras.join('')}${links.join('')}  </card>\n</wml>`;
  if (Buffer.byteLength(xml) > MAX_CONTENT_BYTES) {
    throw new PushContentError(
      'AVAYA_CONTENT_TOO_LARGE',
      `display deck larger than ${MAX_CONTENT_BYTES} bytes`,
      { field: 'text' },
    );
  }
  return xml;
}

export interface AudioContent {
  codec: AudioCodecName;
  packetSizeMs: AudioPacketSize;
  /** Inter-packet timeout in seconds (5–30, default 20). */
  audioTimerS: number;
  /** `RTPRx://host:port` (unicast/multicast receive), `RTPRx://STOP`, or `RTPTx://host:port` (transmit, [inferred]). */
  url: string;
  promptline?: string;
}

export function rtpRxUrl(host: string, port: number): string {
  return `RTPRx://${host}:${port}`;
}
export function rtpTxUrl(host: string, port: number): string {
  return `RTPTx://${host}:${port}`;
}
export const RTP_STOP_URL = 'RTPRx://STOP';

/** `<Response><Audio packetsize codec><AudioTimer/><Url/><Promptline/></Audio></Response>`. */
export function buildAudioContent(a: AudioContent): string {
  if (!(AUDIO_PACKET_SIZES as readonly number[]).includes(a.packetSizeMs)) {
    throw new PushContentError('AVAYA_BAD_PACKETSIZE', 'packetsize must be 10, 20, 30, 40, 50 or 60 ms', {
      field: 'packetsize',
    });
  }
  if (a.codec !== 'PCMU' && a.codec !== 'PCMA') {
    throw new PushContentError('AVAYA_BAD_CODEC', 'codec must be PCMU or PCMA', { field: 'codec' });
  }
  if (!(Number.isInteger(a.audioTimerS) && a.audioTimerS >= 5 && a.audioTimerS <= 30)) {
    throw new PushContentError('AVAYA_BAD_AUDIOTIMER', 'AudioTimer must be 5–30 seconds', {
      field: 'audioTimer',
    });
  }
  if (!/^RTP(Rx|Tx):\/\/(STOP|[A-Za-z0-9.:[\]-]{1,64}:\d{1,5})$/.test(a.url)) {
    throw new PushContentError(
      'AVAYA_BAD_RTP_URL',
      'Url must be RTPRx://host:port, RTPTx://host:port or RTPRx://STOP',
      {
        field: 'url',
      },
    );
  }
  const prompt =
    a.promptline === undefined ? '' : `    <Promptline>${escapeXml(a.promptline)}</Promptline>\n`;
  return (
    `${DECL}<Response>\n  <Audio packetsize="${a.packetSizeMs}" codec="${a.codec}">\n` +
    `    <AudioTimer value="${a.audioTimerS}"/>\n    <Url href="${escapeXml(a.url)}"/>\n${prompt}  </Audio>\n</Response>`
  );
}

/** Audio content that stops a receive stream (the push carrying it must be barge). */
export function buildAudioStopContent(): string {
  return buildAudioContent({ codec: 'PCMU', packetSizeMs: 40, audioTimerS: 20, url: RTP_STOP_URL });
}

export type SubscribeScope = 'all' | 'me';

/** `<Response><Subscribe type="all|me"><Url href/></Subscribe></Response>`. */
export function buildSubscribeContent(type: SubscribeScope, href?: string): string {
  if (type !== 'all' && type !== 'me')
    throw new PushContentError('AVAYA_BAD_SUBSCRIBE_TYPE', 'type must be all or me', { field: 'type' });
  if (type === 'me' && href === undefined) {
    throw new PushContentError('AVAYA_SUBSCRIBE_NEEDS_URL', 'type "me" needs the subscription URL', {
      field: 'href',
    });
  }
  if (href !== undefined && (href.length > MAX_HREF_LENGTH || !/^http:\/\/\S+$/i.test(href))) {
    throw new PushContentError(
      'AVAYA_BAD_SUBSCRIBE_URL',
      'subscription URL must be http:// and at most 1024 characters',
      {
        field: 'href',
      },
    );
  }
  const url = href === undefined ? '' : `\n    <Url href="${escapeXml(href)}"/>\n  `;
  return `${DECL}<Response>\n  <Subscribe type="${type}">${url}</Subscribe>\n</Response>`;
}

/**
 * Phonexml content. The schema is not public [unknown]: we pass a caller-supplied XML document through
 * after checking that it is well-formed, has no DOCTYPE/entities and fits the size cap.
 */
export function buildPhonexmlContent(xml: string): string {
  if (Buffer.byteLength(xml) > MAX_CONTENT_BYTES) {
    throw new PushContentError('AVAYA_CONTENT_TOO_LARGE', `phonexml larger than ${MAX_CONTENT_BYTES} bytes`, {
      field: 'xml',
    });
  }
  const r = readXml(xml);
  if (!r.ok)
    throw new PushContentError('AVAYA_PHONEXML_INVALID', `phonexml is not usable XML: ${r.message}`, {
      field: 'xml',
    });
  return xml;
}

// ---- parsers (simulator side) -------------------------------------------------------------------

export type ParsedContent =
  | { kind: 'topline'; text: string }
  | {
      kind: 'audio';
      codec: AudioCodecName;
      packetSizeMs: number;
      audioTimerS: number;
      url: ParsedRtpUrl;
      promptline?: string;
    }
  | { kind: 'subscribe'; type: SubscribeScope; href?: string }
  | {
      kind: 'wml';
      title?: string;
      text: string;
      softkeys: Array<{ label: string; href: string }>;
      links: Array<{ label: string; href: string }>;
    }
  | { kind: 'phonexml'; root: string; text: string };

export type ParsedRtpUrl =
  | { direction: 'rx'; stop: true }
  | { direction: 'rx' | 'tx'; stop: false; host: string; port: number };

export function parseRtpUrl(url: string): ParsedRtpUrl {
  if (/^RTPRx:\/\/STOP$/i.test(url.trim())) return { direction: 'rx', stop: true };
  const m = /^RTP(Rx|Tx):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253}):(\d{1,5})$/i.exec(url.trim());
  if (!m)
    throw new PushContentParseError(
      'AVAYA_BAD_RTP_URL',
      `not an RTP URL: ${JSON.stringify(url.slice(0, 80))}`,
      { field: 'Url' },
    );
  const port = Number(m[3]);
  if (port < 1 || port > 65535)
    throw new PushContentParseError('AVAYA_BAD_RTP_URL', 'RTP port out of range', { field: 'Url' });
  return {
    direction: m[1]!.toLowerCase() === 'tx' ? 'tx' : 'rx',
    stop: false,
    host: m[2]!.replace(/^\[|\]$/g, ''),
    port,
  };
}

function parseResponse(root: XmlElement): ParsedContent {
  const top = child(root, 'Topline');
  if (top) return { kind: 'topline', text: top.text };
  const audio = child(root, 'Audio');
  if (audio) {
    const codecRaw = (attr(audio, 'codec') ?? 'PCMU').toUpperCase();
    if (codecRaw !== 'PCMU' && codecRaw !== 'PCMA')
      throw new PushContentParseError('AVAYA_BAD_CODEC', `codec ${codecRaw.slice(0, 20)}`);
    const ps = Number(attr(audio, 'packetsize') ?? '40');
    if (!(AUDIO_PACKET_SIZES as readonly number[]).includes(ps))
      throw new PushContentParseError('AVAYA_BAD_PACKETSIZE', `packetsize ${ps}`);
    const timerEl = child(audio, 'AudioTimer');
    let timer = Number(timerEl ? (attr(timerEl, 'value') ?? '20') : '20');
    if (!Number.isFinite(timer)) timer = 20;
    timer = Math.min(30, Math.max(5, Math.round(timer)));
    const urlEl = child(audio, 'Url');
    const href = urlEl ? attr(urlEl, 'href') : undefined;
    if (href === undefined) throw new PushContentParseError('AVAYA_NO_RTP_URL', '<Audio> has no <Url href>');
    const prompt = child(audio, 'Promptline');
    return {
      kind: 'audio',
      codec: codecRaw,
      packetSizeMs: ps,
      audioTimerS: timer,
      url: parseRtpUrl(href),
      ...(prompt ? { promptline: prompt.text } : {}),
    };
  }
  const sub = child(root, 'Subscribe');
  if (sub) {
    const t = (attr(sub, 'type') ?? '').toLowerCase();
    if (t !== 'all' && t !== 'me')
      throw new PushContentParseError('AVAYA_BAD_SUBSCRIBE_TYPE', 'Subscribe type must be all or me');
    const u = child(sub, 'Url');
    const href = u ? attr(u, 'href') : undefined;
    return { kind: 'subscribe', type: t, ...(href !== undefined ? { href } : {}) };
  }
  throw new PushContentParseError('AVAYA_UNKNOWN_CONTENT', '<Response> has no Topline, Audio or Subscribe');
}

/**
 * What the phone's WML browser shows: the deck must pass the WML 1.3 checks (else the browser refuses it),
 * then variable references are substituted (no variables are set on a pushed deck, so they are empty).
 */
function parseWml(xml: string): ParsedContent {
  const check = checkWml(xml);
  if (!check.ok) {
    throw new PushContentParseError(
      'AVAYA_WML_INVALID',
      `not valid WML 1.3: ${check.problems
        .slice(0, 3)
        .map((p) => p.message)
        .join('; ')}`,
    );
  }
  const root = check.root;
  const show = (s: string) => substituteWmlVariables(s);
  const card = child(root, 'card');
  const softkeys: Array<{ label: string; href: string }> = [];
  const links: Array<{ label: string; href: string }> = [];
  const walk = (e: XmlElement, depth: number) => {
    if (depth > 16) return;
    for (const c of e.children) {
      const n = c.name.toLowerCase();
      if (n === 'do') {
        const go = child(c, 'go');
        softkeys.push({ label: show(attr(c, 'label') ?? ''), href: go ? show(attr(go, 'href') ?? '') : '' });
      } else if (n === 'a') links.push({ label: show(deepText(c)), href: show(attr(c, 'href') ?? '') });
      else walk(c, depth + 1);
    }
  };
  if (card) walk(card, 0);
  const paras = card ? childrenNamed(card, 'p').map((p) => show(p.text)) : [];
  const title = card ? attr(card, 'title') : undefined;
  return {
    kind: 'wml',
    ...(title !== undefined ? { title: show(title) } : {}),
    text: paras.filter(Boolean).join('\n'),
    softkeys,
    links,
  };
}

/**
 * The text of fetched push content as a phone's HTTP client and XML parser read it: the Content-Type charset
 * decides (RFC 3023: `text/*` without a charset is US-ASCII, whatever the XML declaration says); UTF-8 and
 * ISO-8859-1 are accepted (9600 API guide). Non-ASCII bytes without a declared charset, bytes that are not
 * valid UTF-8, or another charset are refused.
 */
export function decodePushContentBody(body: Buffer, contentType: string | undefined): string {
  const charset = /;\s*charset\s*=\s*"?([A-Za-z0-9._-]+)"?/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset === undefined) {
    if (body.some((b) => b > 0x7f)) {
      throw new PushContentParseError(
        'AVAYA_CONTENT_CHARSET',
        `non-ASCII content served as ${JSON.stringify(contentType ?? '')} without a charset (read as US-ASCII)`,
      );
    }
    return body.toString('latin1');
  }
  if (charset === 'utf-8' || charset === 'utf8') {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      throw new PushContentParseError('AVAYA_CONTENT_CHARSET', 'content declared UTF-8 is not valid UTF-8');
    }
  }
  if (charset === 'iso-8859-1' || charset === 'latin1' || charset === 'us-ascii')
    return body.toString('latin1');
  throw new PushContentParseError('AVAYA_CONTENT_CHARSET', `unsupported charset ${charset.slice(0, 40)}`);
}

/** Parses any push content the phone may fetch. Throws PushContentParseError. */
export function parsePushContent(text: string): ParsedContent {
  if (Buffer.byteLength(text) > MAX_CONTENT_BYTES)
    throw new PushContentParseError('AVAYA_CONTENT_TOO_LARGE', 'push content too large');
  // A WML browser breaks the line at <br/>: keep that as a newline in the card's text.
  const r = readXml(/<wml[\s>]/i.test(text) ? text.replace(/<br\s*\/?>/gi, '&#10;') : text);
  if (!r.ok)
    throw new PushContentParseError('AVAYA_CONTENT_NOT_XML', `push content is not XML: ${r.message}`);
  const name = r.root.name.toLowerCase();
  if (name === 'response') return parseResponse(r.root);
  if (name === 'wml') return parseWml(text);
  return { kind: 'phonexml', root: r.root.name, text: deepText(r.root).slice(0, 1000) };
}
