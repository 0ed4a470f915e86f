import { ProtocolError } from '../../core/errors.js';
import { escapeXml } from '../../core/xml.js';
import { xmlProlog } from './encoding.js';
import type { Charset } from './models.js';
import { child, childrenNamed, childText, readXml, type XmlNode } from './xml-read.js';

/**
 * What phones answer (seed Feedbacks): CiscoIPPhoneResponse items, CiscoIPPhoneError 1-4, the RTP Streaming
 * API's mediaStream, getDeviceCapsResponse, and the notifyApplicationEvent / notifyMediaEvent posts. Builders
 * (used by the simulator, byte for byte) and parsers (used by the driver and the hub routes).
 */
export interface ResponseItem {
  status: number;
  data: string;
  url: string;
}

export const ERROR_MEANINGS: Record<number, string> = {
  1: 'Error parsing CiscoIPPhoneExecute object',
  2: 'Error framing CiscoIPPhoneResponse object',
  3: 'Internal file error',
  4: 'Authentication error',
};

/** What each error usually means on the device side (for messages). */
export const ERROR_HINTS: Record<number, string> = {
  1: 'the phone could not parse the pushed object (malformed XML, unknown element, or a limit exceeded)',
  2: 'the phone failed to build its CiscoIPPhoneResponse',
  3: 'the phone hit an internal file error (e.g. a referenced file could not be read)',
  4: "the phone's authentication URL did not answer AUTHORIZED for these credentials (check user, password, device association and the authentication URL)",
};

/** Status values of ResponseItem (seed: 0 = Success, 1 = parse error "Invalid URI", 6 = internal error). */
export const STATUS = { success: 0, parseError: 1, internalError: 6 } as const;

export function buildResponse(items: ResponseItem[], charset: Charset = 'utf-8'): string {
  const lines = items.map(
    (i) => `<ResponseItem Status="${i.status}" Data="${escapeXml(i.data)}" URL="${escapeXml(i.url)}"/>`,
  );
  return `${xmlProlog(charset)}\n<CiscoIPPhoneResponse>\n${lines.map((l) => `${l}\n`).join('')}</CiscoIPPhoneResponse>\n`;
}

export type ExecuteAnswer =
  | { kind: 'response'; items: ResponseItem[] }
  | { kind: 'error'; number: number; meaning: string }
  | { kind: 'mediaStream'; id: string }
  | { kind: 'deviceCaps'; caps: DeviceCaps }
  | { kind: 'mediaError'; error: string };

export interface DeviceCaps {
  modelNumber: string;
  display: { width: number; height: number; bitDepth: number; isColor: boolean };
  sdkVersion: string;
  browser: Record<string, string>;
}

export function buildDeviceCapsResponse(c: DeviceCaps, charset: Charset = 'utf-8'): string {
  const browser = Object.entries(c.browser)
    .map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`)
    .join('');
  return (
    `${xmlProlog(charset)}\n<getDeviceCapsResponse>\n<physical>\n<modelNumber>${escapeXml(c.modelNumber)}</modelNumber>\n` +
    `<display width="${c.display.width}" height="${c.display.height}" bitDepth="${c.display.bitDepth}" isColor="${c.display.isColor}"/>\n</physical>\n` +
    `<services sdkVersion="${escapeXml(c.sdkVersion)}"><browser>${browser}</browser></services>\n</getDeviceCapsResponse>\n`
  );
}

export function buildMediaStreamResponse(id: string, charset: Charset = 'utf-8'): string {
  return `${xmlProlog(charset)}\n<mediaStream id="${escapeXml(id)}"/>\n`;
}

/** RTP Streaming API errors (seed rtp_error_response): the phone answers HTTP 400 with this body (format inferred). */
export const MEDIA_ERRORS = [
  'InvalidURL',
  'InvalidResource',
  'InvalidResourceID',
  'UnavailableResource',
  'InvalidXML',
] as const;
export type MediaErrorName = (typeof MEDIA_ERRORS)[number];
export function buildMediaError(error: MediaErrorName, charset: Charset = 'utf-8'): string {
  return `${xmlProlog(charset)}\n<mediaStreamError type="${error}"/>\n`;
}

const num = (s: string | undefined, what: string): number => {
  const n = Number(s);
  if (s === undefined || s.trim() === '' || !Number.isInteger(n))
    throw new ProtocolError('CISCO_RESPONSE_INVALID', `${what}: ${JSON.stringify(s)} is not a number`);
  return n;
};

/** Parses whatever a phone answers a POST to /CGI/Execute with. Throws ProtocolError CISCO_RESPONSE_INVALID. */
export function parseExecuteAnswer(body: Buffer | string): ExecuteAnswer {
  const root = readXml(body, {
    code: 'CISCO_RESPONSE_INVALID',
    what: 'phone response',
    maxBytes: 256 * 1024,
    maxDepth: 16,
  });
  return answerFromXml(root);
}

export function answerFromXml(root: XmlNode): ExecuteAnswer {
  switch (root.name) {
    case 'CiscoIPPhoneResponse': {
      const items = childrenNamed(root, 'ResponseItem').map((i) => ({
        status: num(i.attrs.Status, 'ResponseItem Status'),
        data: i.attrs.Data ?? '',
        url: i.attrs.URL ?? '',
      }));
      if (items.length > 16)
        throw new ProtocolError('CISCO_RESPONSE_INVALID', `phone response has ${items.length} ResponseItems`);
      return { kind: 'response', items };
    }
    case 'CiscoIPPhoneError': {
      const n = num(root.attrs.Number, 'CiscoIPPhoneError Number');
      return { kind: 'error', number: n, meaning: ERROR_MEANINGS[n] ?? `undocumented error ${n}` };
    }
    case 'mediaStream':
      return { kind: 'mediaStream', id: root.attrs.id ?? '' };
    case 'mediaStreamError':
      return { kind: 'mediaError', error: root.attrs.type ?? 'unknown' };
    case 'getDeviceCapsResponse': {
      const phys = child(root, 'physical');
      const d = phys ? child(phys, 'display') : undefined;
      const svc = child(root, 'services');
      const browser: Record<string, string> = {};
      const b = svc ? child(svc, 'browser') : undefined;
      for (const c of b?.children ?? []) browser[c.name] = c.text;
      return {
        kind: 'deviceCaps',
        caps: {
          modelNumber: (phys && childText(phys, 'modelNumber')) ?? '',
          display: {
            width: Number(d?.attrs.width ?? 0),
            height: Number(d?.attrs.height ?? 0),
            bitDepth: Number(d?.attrs.bitDepth ?? 0),
            isColor: d?.attrs.isColor === 'true',
          },
          sdkVersion: svc?.attrs.sdkVersion ?? '',
          browser,
        },
      };
    }
    default:
      throw new ProtocolError(
        'CISCO_RESPONSE_INVALID',
        `unexpected root element <${root.name.slice(0, 64)}> in the phone's answer`,
      );
  }
}

// --------------------------------------------------------------------------------- phone → server posts

export type AppEventType = 'focusLost' | 'focusGained' | 'minimized' | 'closed';
export const APP_EVENT_TYPES: AppEventType[] = ['focusLost', 'focusGained', 'minimized', 'closed'];

export function buildApplicationEvent(appId: string, type: AppEventType): string {
  return `<notifyApplicationEvent appId="${escapeXml(appId)}" type="${type}"/>`;
}

export function buildMediaEvent(id: string, type = 'stopped', origin = 'user'): string {
  return `<notifyMediaEvent type="${escapeXml(type)}" origin="${escapeXml(origin)}">\n<mediaStream id="${escapeXml(id)}"/>\n</notifyMediaEvent>`;
}

export interface ApplicationEvent {
  appId: string;
  type: AppEventType;
}
export interface MediaEvent {
  type: string;
  origin: string;
  streamId: string;
}

export function parseApplicationEvent(xml: string | Buffer): ApplicationEvent {
  const root = readXml(xml, {
    code: 'CISCO_EVENT_INVALID',
    what: 'notifyApplicationEvent',
    maxBytes: 8192,
    maxDepth: 4,
    // A phone's (or anyone's) posted event: bad input is the caller's fault (400), not a gateway error.
    status: 400,
  });
  if (root.name !== 'notifyApplicationEvent')
    throw new ProtocolError(
      'CISCO_EVENT_INVALID',
      `expected <notifyApplicationEvent>, got <${root.name.slice(0, 64)}>`,
      { status: 400 },
    );
  const type = root.attrs.type as AppEventType;
  if (!APP_EVENT_TYPES.includes(type))
    throw new ProtocolError(
      'CISCO_EVENT_INVALID',
      `notifyApplicationEvent type ${JSON.stringify(root.attrs.type)} is not one of ${APP_EVENT_TYPES.join(', ')}`,
      { status: 400 },
    );
  return { appId: root.attrs.appId ?? '', type };
}

export function parseMediaEvent(xml: string | Buffer): MediaEvent {
  const root = readXml(xml, {
    code: 'CISCO_EVENT_INVALID',
    what: 'notifyMediaEvent',
    maxBytes: 8192,
    maxDepth: 4,
    status: 400,
  });
  if (root.name !== 'notifyMediaEvent')
    throw new ProtocolError(
      'CISCO_EVENT_INVALID',
      `expected <notifyMediaEvent>, got <${root.name.slice(0, 64)}>`,
      { status: 400 },
    );
  const ms = child(root, 'mediaStream');
  return { type: root.attrs.type ?? '', origin: root.attrs.origin ?? '', streamId: ms?.attrs.id ?? '' };
}

// ------------------------------------------------------------------------------------ PRT (8821) answers

export type PrtStatus =
  | { state: 'generating' }
  | { state: 'generated'; url: string }
  | { state: 'no_pending' }
  | { state: 'unknown'; data: string };

/** Reads a Device:PRTStatus ResponseItem (seed prt_status_response). */
export function prtStatusFrom(item: ResponseItem): PrtStatus {
  if (item.status === 0 && item.data === 'Generating PRT') return { state: 'generating' };
  const m = /^Generated PRT at (https:\/\/\S+)$/.exec(item.data);
  if (item.status === 0 && m) return { state: 'generated', url: m[1]! };
  if (item.status === 6 && item.data === 'There is no pending PRT invoked from XSI')
    return { state: 'no_pending' };
  return { state: 'unknown', data: item.data };
}
