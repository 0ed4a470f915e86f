import { ValidationError } from '../../core/errors.js';
import { escapeXml } from '../../core/xml.js';
import { transliterateLatin1, xmlProlog } from './encoding.js';
import { ALL_OBJECTS, type Charset, type ObjectType } from './models.js';
import { child, childrenNamed, childText, type XmlNode } from './xml-read.js';

/**
 * Cisco XML objects (seed 003): typed model, pure builders with every limit the seed states (each its own
 * error code), and the reverse parser the simulator uses. Every value passes through `escapeXml`.
 */
export interface SoftKey {
  name: string;
  url: string;
  /** Softkey PRESS event: internal URIs only, never an HTTP URL. */
  urlDown?: string;
  position?: number;
}
export interface MenuItem {
  name: string;
  url?: string;
  iconIndex?: number;
  touchArea?: { x1: number; y1: number; x2: number; y2: number };
}
export interface InputItem {
  displayName: string;
  queryStringParam: string;
  defaultValue?: string;
  inputFlags?: string;
}
export interface DirectoryEntry {
  name: string;
  telephone: string;
}
export interface Bitmap {
  width: number;
  height: number;
  depth: number;
  /** Packed pixels, hex. */
  data: string;
}
export interface IconItem {
  index: number;
  width?: number;
  height?: number;
  depth?: number;
  data?: string;
  url?: string;
}
export interface ExecuteItem {
  url: string;
  priority?: 0 | 1 | 2;
}
export interface MediaStreamSpec {
  type: 'audio' | 'video';
  codec: 'G.711' | 'G.729' | 'G.722';
  mode: 'sendReceive' | 'sendOnly' | 'receiveOnly';
  address: string;
  port: number;
  onStopped?: string;
  receiveVolume?: number;
}

interface Screen {
  title?: string;
  prompt?: string;
  softkeys?: SoftKey[];
}
interface Located {
  x?: number;
  y?: number;
}

export type CiscoObject =
  | { type: 'CiscoIPPhoneExecute'; items: ExecuteItem[] }
  | ({ type: 'CiscoIPPhoneMenu'; items: MenuItem[] } & Screen)
  | ({ type: 'CiscoIPPhoneText'; text: string } & Screen)
  | ({ type: 'CiscoIPPhoneInput'; url: string; method?: 'get' | 'post'; items: InputItem[] } & Screen)
  | ({ type: 'CiscoIPPhoneDirectory'; entries: DirectoryEntry[] } & Screen)
  | ({ type: 'CiscoIPPhoneImage' } & Screen & Located & Bitmap)
  | ({ type: 'CiscoIPPhoneImageFile'; url: string } & Screen & Located)
  | ({ type: 'CiscoIPPhoneGraphicMenu'; windowMode?: 'Normal' | 'Wide'; items: MenuItem[] } & Screen &
      Located &
      Bitmap)
  | ({
      type: 'CiscoIPPhoneGraphicFileMenu';
      windowMode?: 'Normal' | 'Wide';
      url: string;
      items: MenuItem[];
    } & Screen &
      Located)
  | ({ type: 'CiscoIPPhoneIconMenu'; items: MenuItem[]; icons: IconItem[] } & Screen)
  | ({ type: 'CiscoIPPhoneIconFileMenu'; items: MenuItem[]; icons: IconItem[] } & Screen)
  | ({ type: 'CiscoIPPhoneStatus'; text: string; timer: number } & Located & Bitmap)
  | ({ type: 'CiscoIPPhoneStatusFile'; text: string; timer: number; url: string } & Located)
  | { type: 'startMedia'; stream: MediaStreamSpec }
  | { type: 'stopMedia'; id: string }
  | { type: 'getDeviceCaps' };

// Limits stated by the seed (and, where marked, the Cisco notes the research cites).
export const LIMITS = {
  executeItems: 3,
  executeHttpUrls: 1,
  menuItems: 100,
  nameLength: 64,
  inputItems: 5,
  directoryEntries: 32,
  iconMenuItems: 32,
  iconMenuIcon: { width: 16, height: 10 },
  iconFileMenuIcon: { width: 18, height: 18 },
  iconIndexMax: 9,
  imageDepthMax: 2,
  /** Cisco XSI notes (the seed states no figure for GraphicMenu). */
  graphicMenuItems: 12,
  /** Inferred (the seed states no figure). */
  graphicFileMenuItems: 32,
  softKeys: 8,
  urlLength: 256,
  statusTextLength: 64,
} as const;

const fail = (code: string, message: string, field: string, details?: Record<string, unknown>) =>
  new ValidationError(code, message, { field, ...(details ? { details } : {}) });

const isHttp = (u: string) => /^https?:\/\//i.test(u);

function checkName(name: string, field: string): void {
  if (name.length > LIMITS.nameLength)
    throw fail(
      'CISCO_NAME_TOO_LONG',
      `${field}: ${name.length} characters; a Name holds at most ${LIMITS.nameLength}`,
      field,
    );
}

function checkUrl(url: string | undefined, field: string): void {
  if (url !== undefined && url.length > LIMITS.urlLength)
    throw fail(
      'CISCO_URL_TOO_LONG',
      `${field}: ${url.length} characters; URLs are limited to ${LIMITS.urlLength}`,
      field,
    );
}

function checkSoftkeys(sk: SoftKey[] | undefined): void {
  if (!sk) return;
  if (sk.length > LIMITS.softKeys)
    throw fail(
      'CISCO_TOO_MANY_SOFTKEYS',
      `softkeys: ${sk.length} SoftKeyItems; at most ${LIMITS.softKeys}`,
      'softkeys',
    );
  sk.forEach((k, i) => {
    checkName(k.name, `softkeys.${i}.name`);
    checkUrl(k.url, `softkeys.${i}.url`);
    if (k.urlDown !== undefined && isHttp(k.urlDown)) {
      throw fail(
        'CISCO_URLDOWN_HTTP',
        `softkeys.${i}.url_down: URLDown can only carry internal URIs, never an HTTP URL`,
        `softkeys.${i}.url_down`,
      );
    }
    if (
      k.position !== undefined &&
      (!Number.isInteger(k.position) || k.position < 1 || k.position > LIMITS.softKeys)
    ) {
      throw fail(
        'CISCO_SOFTKEY_POSITION_INVALID',
        `softkeys.${i}.position: ${k.position} is not 1-${LIMITS.softKeys}`,
        `softkeys.${i}.position`,
      );
    }
  });
}

function checkMenuItems(items: MenuItem[], max: number, code: string, what: string): void {
  if (items.length > max)
    throw fail(code, `items: ${items.length} MenuItems; ${what} holds at most ${max}`, 'items', {
      limit: max,
    });
  items.forEach((it, i) => {
    checkName(it.name, `items.${i}.name`);
    checkUrl(it.url, `items.${i}.url`);
    if (
      it.iconIndex !== undefined &&
      (!Number.isInteger(it.iconIndex) || it.iconIndex < 0 || it.iconIndex > LIMITS.iconIndexMax)
    ) {
      throw fail(
        'CISCO_ICON_INDEX_INVALID',
        `items.${i}.icon_index: ${it.iconIndex} is not 0-${LIMITS.iconIndexMax}`,
        `items.${i}.icon_index`,
      );
    }
  });
}

/** Hex digits a packed bitmap needs: each row padded to whole bytes. */
export function bitmapHexLength(width: number, height: number, depth: number): number {
  return Math.ceil((width * depth) / 8) * height * 2;
}

function checkBitmap(b: Bitmap, field: string): void {
  if (!Number.isInteger(b.depth) || b.depth < 1 || b.depth > LIMITS.imageDepthMax) {
    throw fail(
      'CISCO_IMAGE_DEPTH_INVALID',
      `${field}depth: ${b.depth}; Depth is bits per pixel, max value ${LIMITS.imageDepthMax}`,
      `${field}depth`,
    );
  }
  if (!Number.isInteger(b.width) || !Number.isInteger(b.height) || b.width < 1 || b.height < 1) {
    throw fail(
      'CISCO_IMAGE_SIZE_INVALID',
      `${field}width/height: ${b.width}x${b.height} is not a positive size`,
      `${field}width`,
    );
  }
  if (!/^[0-9A-Fa-f]*$/.test(b.data))
    throw fail('CISCO_IMAGE_DATA_INVALID', `${field}data: must be hex digits`, `${field}data`);
  const need = bitmapHexLength(b.width, b.height, b.depth);
  if (b.data.length !== need) {
    throw fail(
      'CISCO_IMAGE_DATA_LENGTH',
      `${field}data: ${b.data.length} hex digits; ${b.width}x${b.height} at depth ${b.depth} needs ${need}`,
      `${field}data`,
    );
  }
}

function checkLocation(o: Located): void {
  for (const k of ['x', 'y'] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isInteger(v) || v < -1))
      throw fail(
        'CISCO_LOCATION_INVALID',
        `location_${k}: ${v}; use pixels >= 0 or -1 (centered)`,
        `location_${k}`,
      );
  }
}

const INPUT_FLAGS = /^[ATNEUL]?P?$/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/**
 * The digits a phone dials for a directory `<Telephone>` (Dial/EditDial softkeys): the display punctuation
 * real directories use (spaces, `-`, `(`, `)`, `.`, `/`) is dropped; what remains must then pass the
 * dial-string rule of the URI it goes into.
 */
export function telephoneDialString(telephone: string): string {
  return telephone.replace(/[\s\-()./]/g, '');
}

/** Validates an object against every limit of the seed. Throws ValidationError with a CISCO_* code. */
export function validateObject(o: CiscoObject, opts: { inputPost?: boolean } = {}): void {
  switch (o.type) {
    case 'CiscoIPPhoneExecute': {
      if (o.items.length === 0)
        throw fail(
          'CISCO_EXECUTE_EMPTY',
          'items: a CiscoIPPhoneExecute needs at least one ExecuteItem',
          'items',
        );
      if (o.items.length > LIMITS.executeItems) {
        throw fail(
          'CISCO_TOO_MANY_EXECUTE_ITEMS',
          `items: ${o.items.length} ExecuteItems; a CiscoIPPhoneExecute holds at most 3 (one HTTP URL + two URIs, or three URIs)`,
          'items',
        );
      }
      const http = o.items.filter((i) => isHttp(i.url)).length;
      if (http > LIMITS.executeHttpUrls)
        throw fail(
          'CISCO_TOO_MANY_HTTP_URLS',
          `items: ${http} HTTP URLs; an Execute object may hold at most one HTTP URL`,
          'items',
        );
      o.items.forEach((it, i) => {
        if (it.url === '') throw fail('CISCO_URI_INVALID', `items.${i}.uri: empty`, `items.${i}.uri`);
        checkUrl(it.url, `items.${i}.uri`);
        if (/^Notify:/i.test(it.url))
          throw fail(
            'CISCO_NOTIFY_IN_EXECUTE',
            `items.${i}.uri: Notify URIs are not allowed inside an Execute object (only in event handlers and softkeys)`,
            `items.${i}.uri`,
          );
        if (it.priority !== undefined && ![0, 1, 2].includes(it.priority))
          throw fail(
            'CISCO_PRIORITY_INVALID',
            `items.${i}.priority: ${it.priority} is not 0, 1 or 2`,
            `items.${i}.priority`,
          );
      });
      return;
    }
    case 'CiscoIPPhoneMenu':
      checkMenuItems(o.items, LIMITS.menuItems, 'CISCO_TOO_MANY_MENU_ITEMS', 'a CiscoIPPhoneMenu');
      checkSoftkeys(o.softkeys);
      return;
    case 'CiscoIPPhoneText':
      checkSoftkeys(o.softkeys);
      return;
    case 'CiscoIPPhoneInput':
      if (o.items.length > LIMITS.inputItems)
        throw fail(
          'CISCO_TOO_MANY_INPUT_ITEMS',
          `items: ${o.items.length} InputItems; at most ${LIMITS.inputItems}`,
          'items',
        );
      checkUrl(o.url, 'url');
      if (o.method === 'post' && opts.inputPost === false) {
        throw fail(
          'CISCO_INPUT_POST_UNSUPPORTED',
          'method: HTTP POST input is supported only on 7800, 8800, 7832 and 8832 phones',
          'method',
        );
      }
      o.items.forEach((it, i) => {
        checkName(it.displayName, `items.${i}.display_name`);
        // An empty <InputFlags/> means absent (the phone's default, A): real services write it.
        if (
          it.inputFlags !== undefined &&
          it.inputFlags.trim() !== '' &&
          !INPUT_FLAGS.test(it.inputFlags.trim())
        ) {
          throw fail(
            'CISCO_INPUT_FLAGS_INVALID',
            `items.${i}.input_flags: ${JSON.stringify(it.inputFlags)}; use one of A, T, N, E, U, L optionally followed by P (e.g. AP)`,
            `items.${i}.input_flags`,
          );
        }
      });
      checkSoftkeys(o.softkeys);
      return;
    case 'CiscoIPPhoneDirectory':
      if (o.entries.length > LIMITS.directoryEntries) {
        throw fail(
          'CISCO_TOO_MANY_DIRECTORY_ENTRIES',
          `entries: ${o.entries.length} DirectoryEntry objects; at most ${LIMITS.directoryEntries}`,
          'entries',
        );
      }
      o.entries.forEach((e, i) => {
        checkName(e.name, `entries.${i}.name`);
        // Seed 003 sets no alphabet for <Telephone>: it is what the phone displays (real directories hold
        // `+1 (555) 010-2000`, `555.010.2000`, `x2000`). Only control characters are refused; dialling
        // strings (Dial/EditDial/SendDigits URIs) keep the seed's rule, see telephoneDialString().
        if (CONTROL_CHARS.test(e.telephone))
          throw fail(
            'CISCO_TELEPHONE_INVALID',
            `entries.${i}.telephone: ${JSON.stringify(e.telephone)} contains control characters`,
            `entries.${i}.telephone`,
          );
      });
      checkSoftkeys(o.softkeys);
      return;
    case 'CiscoIPPhoneImage':
      checkLocation(o);
      checkBitmap(o, '');
      checkSoftkeys(o.softkeys);
      return;
    case 'CiscoIPPhoneImageFile':
      checkLocation(o);
      checkUrl(o.url, 'url');
      checkSoftkeys(o.softkeys);
      return;
    case 'CiscoIPPhoneGraphicMenu':
      checkLocation(o);
      checkBitmap(o, '');
      checkMenuItems(
        o.items,
        LIMITS.graphicMenuItems,
        'CISCO_TOO_MANY_GRAPHIC_MENU_ITEMS',
        'a CiscoIPPhoneGraphicMenu',
      );
      checkSoftkeys(o.softkeys);
      return;
    case 'CiscoIPPhoneGraphicFileMenu':
      checkLocation(o);
      checkUrl(o.url, 'url');
      checkMenuItems(
        o.items,
        LIMITS.graphicFileMenuItems,
        'CISCO_TOO_MANY_GRAPHIC_MENU_ITEMS',
        'a CiscoIPPhoneGraphicFileMenu',
      );
      checkSoftkeys(o.softkeys);
      return;
    case 'CiscoIPPhoneIconMenu':
    case 'CiscoIPPhoneIconFileMenu': {
      checkMenuItems(o.items, LIMITS.iconMenuItems, 'CISCO_TOO_MANY_ICON_MENU_ITEMS', `a ${o.type}`);
      const max = o.type === 'CiscoIPPhoneIconMenu' ? LIMITS.iconMenuIcon : LIMITS.iconFileMenuIcon;
      if (o.icons.length > LIMITS.iconIndexMax + 1)
        throw fail('CISCO_TOO_MANY_ICONS', `icons: ${o.icons.length} IconItems; indexes run 0-9`, 'icons');
      o.icons.forEach((ic, i) => {
        if (!Number.isInteger(ic.index) || ic.index < 0 || ic.index > LIMITS.iconIndexMax) {
          throw fail(
            'CISCO_ICON_INDEX_INVALID',
            `icons.${i}.index: ${ic.index} is not 0-${LIMITS.iconIndexMax}`,
            `icons.${i}.index`,
          );
        }
        if ((ic.width ?? 0) > max.width || (ic.height ?? 0) > max.height) {
          throw fail(
            'CISCO_ICON_TOO_LARGE',
            `icons.${i}: ${ic.width}x${ic.height} px; ${o.type} icons are at most ${max.width}x${max.height} px`,
            `icons.${i}`,
          );
        }
        if (o.type === 'CiscoIPPhoneIconMenu')
          checkBitmap(
            { width: ic.width ?? 0, height: ic.height ?? 0, depth: ic.depth ?? 0, data: ic.data ?? '' },
            `icons.${i}.`,
          );
        else checkUrl(ic.url, `icons.${i}.url`);
      });
      checkSoftkeys(o.softkeys);
      return;
    }
    case 'CiscoIPPhoneStatus':
    case 'CiscoIPPhoneStatusFile':
      if (o.text.length > LIMITS.statusTextLength)
        throw fail(
          'CISCO_STATUS_TEXT_TOO_LONG',
          `text: ${o.text.length} characters; at most ${LIMITS.statusTextLength}`,
          'text',
        );
      if (!Number.isInteger(o.timer) || o.timer < 0)
        throw fail(
          'CISCO_STATUS_TIMER_INVALID',
          `timer: ${o.timer} is not a whole number of seconds >= 0`,
          'timer',
        );
      checkLocation(o);
      if (o.type === 'CiscoIPPhoneStatus') checkBitmap(o, '');
      else checkUrl(o.url, 'url');
      return;
    case 'startMedia': {
      const s = o.stream;
      if (!['G.711', 'G.729', 'G.722'].includes(s.codec))
        throw fail(
          'CISCO_CODEC_INVALID',
          `codec: ${s.codec}; only G.711, G.729 and G.722 are supported`,
          'codec',
        );
      if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535)
        throw fail('CISCO_PORT_INVALID', `port: ${s.port} is not 1-65535`, 'port');
      if (
        s.receiveVolume !== undefined &&
        (!Number.isInteger(s.receiveVolume) || s.receiveVolume < 0 || s.receiveVolume > 100)
      ) {
        throw fail('CISCO_VOLUME_INVALID', `volume: ${s.receiveVolume} is not 0-100`, 'volume');
      }
      checkUrl(s.onStopped, 'notifyURI');
      return;
    }
    case 'stopMedia':
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(o.id))
        throw fail(
          'CISCO_STREAM_ID_INVALID',
          `streamId: ${JSON.stringify(o.id)} is not a stream id`,
          'streamId',
        );
      return;
    case 'getDeviceCaps':
      return;
  }
}

// ---------------------------------------------------------------------------------------------- builder

const el = (name: string, value: unknown) =>
  value === undefined || value === null || value === '' ? '' : `<${name}>${escapeXml(value)}</${name}>`;
const att = (name: string, value: unknown) =>
  value === undefined || value === null ? '' : ` ${name}="${escapeXml(value)}"`;

function softkeysXml(sk: SoftKey[] | undefined): string[] {
  return (sk ?? []).map(
    (k, i) =>
      `<SoftKeyItem>${el('Name', k.name)}${el('URL', k.url)}${el('URLDown', k.urlDown)}<Position>${k.position ?? i + 1}</Position></SoftKeyItem>`,
  );
}

function menuItemXml(it: MenuItem): string {
  const touch = it.touchArea
    ? `<TouchArea${att('X1', it.touchArea.x1)}${att('Y1', it.touchArea.y1)}${att('X2', it.touchArea.x2)}${att('Y2', it.touchArea.y2)}/>`
    : '';
  return `<MenuItem>${el('IconIndex', it.iconIndex)}${el('Name', it.name)}${el('URL', it.url)}${touch}</MenuItem>`;
}

function screenHead(o: Screen): string[] {
  return [el('Title', o.title), el('Prompt', o.prompt)];
}
function location(o: Located): string[] {
  return [el('LocationX', o.x ?? 0), el('LocationY', o.y ?? 0)];
}
function bitmap(b: Bitmap): string[] {
  return [
    el('Width', b.width),
    el('Height', b.height),
    el('Depth', b.depth),
    el('Data', b.data.toUpperCase()),
  ];
}

function wrap(open: string, close: string, parts: string[]): string {
  return `${open}\n${parts.filter((p) => p !== '').join('\n')}${parts.some((p) => p !== '') ? '\n' : ''}${close}\n`;
}

function body(o: CiscoObject): string {
  switch (o.type) {
    case 'CiscoIPPhoneExecute':
      return wrap(
        '<CiscoIPPhoneExecute>',
        '</CiscoIPPhoneExecute>',
        o.items.map((i) => `<ExecuteItem${att('Priority', i.priority ?? 0)}${att('URL', i.url)}/>`),
      );
    case 'CiscoIPPhoneMenu':
      return wrap('<CiscoIPPhoneMenu>', '</CiscoIPPhoneMenu>', [
        ...screenHead(o),
        ...o.items.map(menuItemXml),
        ...softkeysXml(o.softkeys),
      ]);
    case 'CiscoIPPhoneText':
      return wrap('<CiscoIPPhoneText>', '</CiscoIPPhoneText>', [
        ...screenHead(o),
        el('Text', o.text),
        ...softkeysXml(o.softkeys),
      ]);
    case 'CiscoIPPhoneInput':
      return wrap('<CiscoIPPhoneInput>', '</CiscoIPPhoneInput>', [
        ...screenHead(o),
        `<URL${o.method === 'post' ? ' method="post"' : ''}>${escapeXml(o.url)}</URL>`,
        ...o.items.map(
          (i) =>
            `<InputItem>${el('DisplayName', i.displayName)}${el('QueryStringParam', i.queryStringParam)}<DefaultValue>${escapeXml(i.defaultValue ?? '')}</DefaultValue>${el('InputFlags', i.inputFlags?.trim() || 'A')}</InputItem>`,
        ),
        ...softkeysXml(o.softkeys),
      ]);
    case 'CiscoIPPhoneDirectory':
      return wrap('<CiscoIPPhoneDirectory>', '</CiscoIPPhoneDirectory>', [
        ...screenHead(o),
        ...o.entries.map(
          (e) => `<DirectoryEntry>${el('Name', e.name)}${el('Telephone', e.telephone)}</DirectoryEntry>`,
        ),
        ...softkeysXml(o.softkeys),
      ]);
    case 'CiscoIPPhoneImage':
      return wrap('<CiscoIPPhoneImage>', '</CiscoIPPhoneImage>', [
        ...screenHead(o),
        ...location(o),
        ...bitmap(o),
        ...softkeysXml(o.softkeys),
      ]);
    case 'CiscoIPPhoneImageFile':
      return wrap('<CiscoIPPhoneImageFile>', '</CiscoIPPhoneImageFile>', [
        ...screenHead(o),
        ...location(o),
        el('URL', o.url),
        ...softkeysXml(o.softkeys),
      ]);
    case 'CiscoIPPhoneGraphicMenu':
      return wrap(
        `<CiscoIPPhoneGraphicMenu${att('WindowMode', o.windowMode)}>`,
        '</CiscoIPPhoneGraphicMenu>',
        [
          ...screenHead(o),
          ...location(o),
          ...bitmap(o),
          ...o.items.map(menuItemXml),
          ...softkeysXml(o.softkeys),
        ],
      );
    case 'CiscoIPPhoneGraphicFileMenu':
      return wrap(
        `<CiscoIPPhoneGraphicFileMenu${att('WindowMode', o.windowMode)}>`,
        '</CiscoIPPhoneGraphicFileMenu>',
        [
          ...screenHead(o),
          ...location(o),
          el('URL', o.url),
          ...o.items.map(menuItemXml),
          ...softkeysXml(o.softkeys),
        ],
      );
    case 'CiscoIPPhoneIconMenu':
      return wrap('<CiscoIPPhoneIconMenu>', '</CiscoIPPhoneIconMenu>', [
        ...screenHead(o),
        ...o.items.map(menuItemXml),
        ...o.icons.map(
          (i) =>
            `<IconItem>${el('Index', i.index)}${el('Height', i.height)}${el('Width', i.width)}${el('Depth', i.depth)}${el('Data', i.data?.toUpperCase())}</IconItem>`,
        ),
        ...softkeysXml(o.softkeys),
      ]);
    case 'CiscoIPPhoneIconFileMenu':
      return wrap('<CiscoIPPhoneIconFileMenu>', '</CiscoIPPhoneIconFileMenu>', [
        ...screenHead(o),
        ...o.items.map(menuItemXml),
        ...o.icons.map((i) => `<IconItem>${el('Index', i.index)}${el('URL', i.url)}</IconItem>`),
        ...softkeysXml(o.softkeys),
      ]);
    case 'CiscoIPPhoneStatus':
      return wrap('<CiscoIPPhoneStatus>', '</CiscoIPPhoneStatus>', [
        el('Text', o.text),
        el('Timer', o.timer),
        ...location(o),
        ...bitmap(o),
      ]);
    case 'CiscoIPPhoneStatusFile':
      return wrap('<CiscoIPPhoneStatusFile>', '</CiscoIPPhoneStatusFile>', [
        el('Text', o.text),
        el('Timer', o.timer),
        ...location(o),
        el('URL', o.url),
      ]);
    case 'startMedia': {
      const s = o.stream;
      return wrap('<startMedia>', '</startMedia>', [
        `<mediaStream${att('onStopped', s.onStopped)}${att('receiveVolume', s.receiveVolume)}>`,
        el('type', s.type),
        el('codec', s.codec),
        el('mode', s.mode),
        el('address', s.address),
        el('port', s.port),
        '</mediaStream>',
      ]);
    }
    case 'stopMedia':
      return wrap('<stopMedia>', '</stopMedia>', [`<mediaStream${att('id', o.id)}/>`]);
    case 'getDeviceCaps':
      return '<getDeviceCaps/>\n';
  }
}

/**
 * Validates and serializes an object with an encoding declaration for the phone's charset. Latin-1 phones
 * get transliterated text (the declared encoding always matches the bytes the push client sends).
 */
export function buildObject(o: CiscoObject, opts: { charset?: Charset; inputPost?: boolean } = {}): string {
  validateObject(o, opts);
  const charset = opts.charset ?? 'utf-8';
  // Transliterate values before escaping, so that a produced quote is escaped like any other.
  const obj = charset === 'iso-8859-1' ? (mapStrings(o, transliterateLatin1) as CiscoObject) : o;
  return `${xmlProlog(charset)}\n${body(obj)}`;
}

function mapStrings(v: unknown, fn: (s: string) => string): unknown {
  if (typeof v === 'string') return fn(v);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, fn));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapStrings(x, fn)]));
  return v;
}

/** A CiscoIPPhoneError object (what the hub answers a phone with, and what a phone answers a push with). */
export function buildErrorObject(n: 1 | 2 | 3 | 4, charset: Charset = 'utf-8'): string {
  return `${xmlProlog(charset)}\n<CiscoIPPhoneError Number="${n}"/>\n`;
}

// ----------------------------------------------------------------------------------------------- parser

const int = (s: string | undefined): number | undefined => {
  if (s === undefined || s.trim() === '') return undefined;
  const n = Number(s.trim());
  return Number.isInteger(n) ? n : Number.NaN;
};

function parseSoftkeys(n: XmlNode): SoftKey[] | undefined {
  const list = childrenNamed(n, 'SoftKeyItem').map((k) => {
    const sk: SoftKey = { name: childText(k, 'Name') ?? '', url: childText(k, 'URL') ?? '' };
    const down = childText(k, 'URLDown');
    if (down !== undefined) sk.urlDown = down;
    const pos = int(childText(k, 'Position'));
    if (pos !== undefined) sk.position = pos;
    return sk;
  });
  return list.length ? list : undefined;
}

function parseMenuItems(n: XmlNode): MenuItem[] {
  return childrenNamed(n, 'MenuItem').map((m) => {
    const it: MenuItem = { name: childText(m, 'Name') ?? '' };
    const url = childText(m, 'URL');
    if (url !== undefined) it.url = url;
    const ii = int(childText(m, 'IconIndex'));
    if (ii !== undefined) it.iconIndex = ii;
    const t = child(m, 'TouchArea');
    if (t)
      it.touchArea = {
        x1: int(t.attrs.X1) ?? 0,
        y1: int(t.attrs.Y1) ?? 0,
        x2: int(t.attrs.X2) ?? 0,
        y2: int(t.attrs.Y2) ?? 0,
      };
    return it;
  });
}

function screen(n: XmlNode): Screen {
  const s: Screen = {};
  const t = childText(n, 'Title');
  const p = childText(n, 'Prompt');
  const sk = parseSoftkeys(n);
  if (t !== undefined) s.title = t;
  if (p !== undefined) s.prompt = p;
  if (sk) s.softkeys = sk;
  return s;
}
function located(n: XmlNode): Located {
  return { x: int(childText(n, 'LocationX')) ?? 0, y: int(childText(n, 'LocationY')) ?? 0 };
}
function bits(n: XmlNode): Bitmap {
  return {
    width: int(childText(n, 'Width')) ?? 0,
    height: int(childText(n, 'Height')) ?? 0,
    depth: int(childText(n, 'Depth')) ?? 0,
    data: (childText(n, 'Data') ?? '').trim(),
  };
}

/** Object types a phone accepts at /CGI/Execute (the root element names). */
export const PUSHABLE_ROOTS = new Set<string>(ALL_OBJECTS);

/**
 * Reads a parsed XML tree back into a typed object (the simulator's side of the codec). Returns undefined
 * for a root that is not a Cisco object; throws ValidationError (code from validateObject) on a limit.
 */
export function objectFromXml(root: XmlNode): CiscoObject | undefined {
  const n = root;
  switch (n.name as ObjectType) {
    case 'CiscoIPPhoneExecute':
      return {
        type: 'CiscoIPPhoneExecute',
        items: childrenNamed(n, 'ExecuteItem').map((i) => {
          const p = int(i.attrs.Priority);
          return { url: i.attrs.URL ?? '', ...(p !== undefined ? { priority: p as 0 | 1 | 2 } : {}) };
        }),
      };
    case 'CiscoIPPhoneMenu':
      return { type: 'CiscoIPPhoneMenu', ...screen(n), items: parseMenuItems(n) };
    case 'CiscoIPPhoneText':
      return { type: 'CiscoIPPhoneText', ...screen(n), text: childText(n, 'Text') ?? '' };
    case 'CiscoIPPhoneInput': {
      const u = child(n, 'URL');
      return {
        type: 'CiscoIPPhoneInput',
        ...screen(n),
        url: u?.text ?? '',
        method: u?.attrs.method?.toLowerCase() === 'post' ? 'post' : 'get',
        items: childrenNamed(n, 'InputItem').map((i) => ({
          displayName: childText(i, 'DisplayName') ?? '',
          queryStringParam: childText(i, 'QueryStringParam') ?? '',
          defaultValue: childText(i, 'DefaultValue') ?? '',
          inputFlags: childText(i, 'InputFlags')?.trim() || 'A',
        })),
      };
    }
    case 'CiscoIPPhoneDirectory':
      return {
        type: 'CiscoIPPhoneDirectory',
        ...screen(n),
        entries: childrenNamed(n, 'DirectoryEntry').map((e) => ({
          name: childText(e, 'Name') ?? '',
          telephone: childText(e, 'Telephone') ?? '',
        })),
      };
    case 'CiscoIPPhoneImage':
      return { type: 'CiscoIPPhoneImage', ...screen(n), ...located(n), ...bits(n) };
    case 'CiscoIPPhoneImageFile':
      return { type: 'CiscoIPPhoneImageFile', ...screen(n), ...located(n), url: childText(n, 'URL') ?? '' };
    case 'CiscoIPPhoneGraphicMenu':
      return {
        type: 'CiscoIPPhoneGraphicMenu',
        ...wm(n),
        ...screen(n),
        ...located(n),
        ...bits(n),
        items: parseMenuItems(n),
      };
    case 'CiscoIPPhoneGraphicFileMenu':
      return {
        type: 'CiscoIPPhoneGraphicFileMenu',
        ...wm(n),
        ...screen(n),
        ...located(n),
        url: childText(n, 'URL') ?? '',
        items: parseMenuItems(n),
      };
    case 'CiscoIPPhoneIconMenu':
    case 'CiscoIPPhoneIconFileMenu':
      return {
        type: n.name as 'CiscoIPPhoneIconMenu',
        ...screen(n),
        items: parseMenuItems(n),
        icons: childrenNamed(n, 'IconItem').map((i) => {
          const ic: IconItem = { index: int(childText(i, 'Index')) ?? 0 };
          const w = int(childText(i, 'Width'));
          const h = int(childText(i, 'Height'));
          const d = int(childText(i, 'Depth'));
          if (w !== undefined) ic.width = w;
          if (h !== undefined) ic.height = h;
          if (d !== undefined) ic.depth = d;
          const data = childText(i, 'Data');
          const url = childText(i, 'URL');
          if (data !== undefined) ic.data = data.trim();
          if (url !== undefined) ic.url = url;
          return ic;
        }),
      };
    case 'CiscoIPPhoneStatus':
      return {
        type: 'CiscoIPPhoneStatus',
        text: childText(n, 'Text') ?? '',
        timer: int(childText(n, 'Timer')) ?? 0,
        ...located(n),
        ...bits(n),
      };
    case 'CiscoIPPhoneStatusFile':
      return {
        type: 'CiscoIPPhoneStatusFile',
        text: childText(n, 'Text') ?? '',
        timer: int(childText(n, 'Timer')) ?? 0,
        ...located(n),
        url: childText(n, 'URL') ?? '',
      };
    case 'startMedia': {
      const m = child(n, 'mediaStream');
      if (!m) return undefined;
      const vol = int(m.attrs.receiveVolume);
      return {
        type: 'startMedia',
        stream: {
          type: (childText(m, 'type') ?? '').trim() as MediaStreamSpec['type'],
          codec: (childText(m, 'codec') ?? '').trim() as MediaStreamSpec['codec'],
          mode: (childText(m, 'mode') ?? '').trim() as MediaStreamSpec['mode'],
          address: (childText(m, 'address') ?? '').trim(),
          port: int(childText(m, 'port')) ?? Number.NaN,
          ...(m.attrs.onStopped !== undefined ? { onStopped: m.attrs.onStopped } : {}),
          ...(vol !== undefined ? { receiveVolume: vol } : {}),
        },
      };
    }
    case 'stopMedia':
      return { type: 'stopMedia', id: child(n, 'mediaStream')?.attrs.id ?? '' };
    case 'getDeviceCaps':
      return { type: 'getDeviceCaps' };
    default:
      return undefined;
  }
}

function wm(n: XmlNode): { windowMode?: 'Normal' | 'Wide' } {
  const w = n.attrs.WindowMode;
  return w === 'Normal' || w === 'Wide' ? { windowMode: w } : {};
}
