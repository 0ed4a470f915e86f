import { ValidationError } from '../../core/errors.js';
import { escapeXml } from '../../core/xml.js';
import { readXml, type XmlNode, XmlReadError } from '../../core/xml-read.js';
import {
  CAP_CATEGORY,
  CAP_CERTAINTY,
  CAP_MSG_TYPE,
  CAP_NS,
  CAP_RESPONSE_TYPE,
  CAP_SCOPE,
  CAP_SEVERITY,
  CAP_STATUS,
  CAP_URGENCY,
  type CapAlert,
  type CapArea,
  type CapCircle,
  type CapInfo,
  type CapReference,
  type CapResource,
  type CapValue,
  type LatLon,
} from './types.js';

/**
 * The CAP 1.2 codec: pure functions from XML text (or bytes) to a checked `CapAlert` and back. It applies
 * the rules of the standard's data dictionary and schema (required elements, enumerations, the date-time
 * form, identifier characters, `references` triples, polygon closure, restriction/addresses by scope,
 * ceiling only with altitude). Element order is not enforced (producers in the field get it wrong and
 * nothing depends on it). Failures are `ValidationError`s with code `CAP_INVALID` (or `CAP_NOT_CAP`,
 * `CAP_TOO_LARGE`) naming the element (`info[1].severity`).
 */

/** Largest CAP document accepted (bytes). Real alerts are a few KiB; polygons of a county can reach 100s. */
export const CAP_MAX_BYTES = 512 * 1024;
/** Bounds on what a peer controls inside one alert. */
export const CAP_LIMITS = {
  infos: 32,
  areas: 64,
  polygons: 64,
  points: 10_000,
  repeated: 256,
  text: 16_384,
} as const;

export interface ParseCapOptions {
  maxBytes?: number;
}

export interface ParsedCap {
  alert: CapAlert;
  /** Departures from the standard that were tolerated (e.g. a `Z` time zone). */
  warnings: string[];
}

const fail = (field: string, message: string, code = 'CAP_INVALID'): ValidationError =>
  new ValidationError(code, `${field}: ${message}`, { field });

/** `2002-05-24T16:49:00-07:00`; CAP forbids `Z` (UTC is `-00:00`), tolerated with a warning. */
const CAP_DATE_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?([+-]\d{2}:\d{2}|Z)$/;

/** Milliseconds since the epoch of a CAP date-time, or NaN. */
export function capTime(s: string): number {
  return CAP_DATE_RE.test(s) ? Date.parse(s) : Number.NaN;
}

/** A CAP date-time for an instant, in UTC written as `-00:00` as the standard asks. */
export function formatCapDate(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}-00:00`;
}

/** Local name of an element or attribute (`cap:alert` → `alert`). */
const local = (n: string): string => n.slice(n.indexOf(':') + 1);

/** Parses and checks one CAP 1.2 document. */
export function parseCap(input: string | Buffer, opts: ParseCapOptions = {}): ParsedCap {
  let root: XmlNode;
  try {
    root = readXml(input, {
      maxBytes: opts.maxBytes ?? CAP_MAX_BYTES,
      maxDepth: 16,
      code: 'CAP_INVALID',
      what: 'CAP document',
      status: 400,
      trimText: true,
    });
  } catch (e) {
    if (e instanceof XmlReadError && e.reason === 'too_large')
      throw new ValidationError('CAP_TOO_LARGE', e.message, { status: 413 });
    if (e instanceof XmlReadError) throw new ValidationError('CAP_INVALID', e.message);
    throw e;
  }
  return fromXml(root);
}

/** Checks an already-read `<alert>` element (e.g. inline in an Atom entry). */
export function fromXml(root: XmlNode, inherited: Record<string, string> = {}): ParsedCap {
  const warnings: string[] = [];
  const ns = namespaces(root, inherited);
  const prefix = root.name.includes(':') ? root.name.slice(0, root.name.indexOf(':')) : '';
  const uri = ns[prefix] ?? '';
  if (local(root.name) !== 'alert')
    throw fail('alert', `the root element is <${root.name}>, not a CAP <alert>`, 'CAP_NOT_CAP');
  if (uri !== CAP_NS)
    throw fail(
      'alert',
      uri
        ? `namespace ${JSON.stringify(uri)} is not CAP 1.2 (${CAP_NS})`
        : `<alert> has no namespace (CAP 1.2 is ${CAP_NS})`,
      'CAP_NOT_CAP',
    );
  const r = new Reader(root, 'alert', prefix, ns);
  const date = (field: string, v: string | undefined): string | undefined => {
    if (v === undefined) return undefined;
    if (!CAP_DATE_RE.test(v) || Number.isNaN(Date.parse(v)))
      throw fail(
        field,
        `${JSON.stringify(v.slice(0, 40))} is not a CAP date-time (2002-05-24T16:49:00-07:00)`,
      );
    if (v.endsWith('Z')) warnings.push(`${field}: "Z" time zone (CAP asks for -00:00)`);
    return v;
  };
  const identifier = r.one('identifier', true)!;
  const sender = r.one('sender', true)!;
  for (const [f, v] of [
    ['alert.identifier', identifier],
    ['alert.sender', sender],
  ] as const)
    if (/[\s,<&]/.test(v)) throw fail(f, 'must not contain spaces, commas, < or &');
  const sent = date('alert.sent', r.one('sent', true))!;
  const status = r.enumOne('status', CAP_STATUS);
  const msgType = r.enumOne('msgType', CAP_MSG_TYPE);
  const scope = r.enumOne('scope', CAP_SCOPE);
  const restriction = r.one('restriction');
  const addresses = r.one('addresses');
  if (scope === 'Restricted' && !restriction)
    throw fail('alert.restriction', 'is required when scope is Restricted');
  if (scope === 'Private' && !addresses) throw fail('alert.addresses', 'is required when scope is Private');
  const references = parseReferences(r.one('references'));
  if ((msgType === 'Update' || msgType === 'Cancel' || msgType === 'Ack') && references.length === 0)
    warnings.push(`alert.references: a ${msgType} without references`);
  const infoNodes = r.all('info');
  if (infoNodes.length > CAP_LIMITS.infos)
    throw fail('alert.info', `${infoNodes.length} info blocks, above the limit of ${CAP_LIMITS.infos}`);
  const infos = infoNodes.map((n, i) => parseInfo(r.child(n, `info[${i}]`), date));
  const alert: CapAlert = {
    identifier,
    sender,
    sent,
    status,
    msgType,
    ...opt('source', r.one('source')),
    scope,
    ...opt('restriction', restriction),
    ...opt('addresses', addresses),
    codes: r.texts('code'),
    ...opt('note', r.one('note')),
    references,
    ...opt('incidents', r.one('incidents')),
    infos,
  };
  return { alert, warnings };
}

function opt<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}

/** The namespace bindings in scope at `n` (prefix → URI; '' is the default namespace). */
export function namespaces(n: XmlNode, inherited: Record<string, string>): Record<string, string> {
  const out = { ...inherited };
  for (const [k, v] of Object.entries(n.attrs)) {
    if (k === 'xmlns') out[''] = v;
    else if (k.startsWith('xmlns:')) out[k.slice(6)] = v;
  }
  return out;
}

/** Reads the CAP children of one element: same namespace prefix, bounded text, named fields. */
class Reader {
  constructor(
    private readonly node: XmlNode,
    readonly path: string,
    private readonly prefix: string,
    private readonly ns: Record<string, string>,
  ) {}

  child(n: XmlNode, path: string): Reader {
    const ns = namespaces(n, this.ns);
    return new Reader(n, path, this.prefix, ns);
  }

  all(name: string): XmlNode[] {
    const want = this.prefix ? `${this.prefix}:${name}` : name;
    return this.node.children.filter((c) => c.name === want);
  }

  /** The elements `name`, at most CAP_LIMITS.repeated of them. */
  private limited(name: string): XmlNode[] {
    const list = this.all(name);
    if (list.length > CAP_LIMITS.repeated)
      throw fail(
        `${this.path}.${name}`,
        `${list.length} elements, above the limit of ${CAP_LIMITS.repeated}`,
      );
    return list;
  }

  texts(name: string): string[] {
    return this.limited(name)
      .map((n, i) => this.bounded(`${this.path}.${name}[${i}]`, n.text))
      .filter((t) => t !== '');
  }

  one(name: string, required = false): string | undefined {
    const list = this.all(name);
    const field = `${this.path}.${name}`;
    if (list.length > 1) throw fail(field, 'appears more than once');
    const t = list[0] ? this.bounded(field, list[0].text) : '';
    if (t === '') {
      if (required) throw fail(field, 'is required');
      return undefined;
    }
    return t;
  }

  enumOne<T extends string>(name: string, values: readonly T[]): T {
    const v = this.one(name, true)!;
    if (!(values as readonly string[]).includes(v))
      throw fail(
        `${this.path}.${name}`,
        `${JSON.stringify(v.slice(0, 40))} is not one of ${values.join(', ')}`,
      );
    return v as T;
  }

  enumAll<T extends string>(name: string, values: readonly T[]): T[] {
    return this.texts(name).map((v, i) => {
      if (!(values as readonly string[]).includes(v))
        throw fail(
          `${this.path}.${name}[${i}]`,
          `${JSON.stringify(v.slice(0, 40))} is not one of ${values.join(', ')}`,
        );
      return v as T;
    });
  }

  values(name: string): CapValue[] {
    return this.limited(name).map((n, i) => {
      const r = this.child(n, `${this.path}.${name}[${i}]`);
      return { valueName: r.one('valueName', true)!, value: r.one('value') ?? '' };
    });
  }

  private bounded(field: string, t: string): string {
    if (t.length > CAP_LIMITS.text) throw fail(field, `longer than ${CAP_LIMITS.text} characters`);
    return t;
  }
}

function parseReferences(v: string | undefined): CapReference[] {
  if (!v) return [];
  const parts = v.split(/\s+/).filter(Boolean);
  if (parts.length > CAP_LIMITS.repeated)
    throw fail('alert.references', `${parts.length} references, above the limit of ${CAP_LIMITS.repeated}`);
  return parts.map((p, i) => {
    const [sender, identifier, sent, extra] = p.split(',');
    if (!sender || !identifier || !sent || extra !== undefined || !CAP_DATE_RE.test(sent))
      throw fail(`alert.references[${i}]`, `${JSON.stringify(p.slice(0, 80))} is not sender,identifier,sent`);
    return { sender, identifier, sent };
  });
}

function parseInfo(r: Reader, date: (f: string, v: string | undefined) => string | undefined): CapInfo {
  const p = r.path;
  const categories = r.enumAll('category', CAP_CATEGORY);
  if (categories.length === 0) throw fail(`${p}.category`, 'is required');
  const resources = r.all('resource').map((n, i): CapResource => {
    const c = r.child(n, `${p}.resource[${i}]`);
    const size = c.one('size');
    if (size !== undefined && !/^\d{1,15}$/.test(size))
      throw fail(`${p}.resource[${i}].size`, 'must be a whole number of bytes');
    return {
      resourceDesc: c.one('resourceDesc', true)!,
      mimeType: c.one('mimeType', true)!,
      ...(size !== undefined ? { size: Number(size) } : {}),
      ...opt('uri', c.one('uri')),
      ...opt('derefUri', c.one('derefUri')),
      ...opt('digest', c.one('digest')),
    };
  });
  const areaNodes = r.all('area');
  if (areaNodes.length > CAP_LIMITS.areas)
    throw fail(`${p}.area`, `${areaNodes.length} areas, above the limit of ${CAP_LIMITS.areas}`);
  const areas = areaNodes.map((n, i) => parseArea(r.child(n, `${p}.area[${i}]`), `${p}.area[${i}]`));
  return {
    language: r.one('language') ?? 'en-US',
    categories,
    event: r.one('event', true)!,
    responseTypes: r.enumAll('responseType', CAP_RESPONSE_TYPE),
    urgency: r.enumOne('urgency', CAP_URGENCY),
    severity: r.enumOne('severity', CAP_SEVERITY),
    certainty: certainty(r, p),
    ...opt('audience', r.one('audience')),
    eventCodes: r.values('eventCode'),
    ...opt('effective', date(`${p}.effective`, r.one('effective'))),
    ...opt('onset', date(`${p}.onset`, r.one('onset'))),
    ...opt('expires', date(`${p}.expires`, r.one('expires'))),
    ...opt('senderName', r.one('senderName')),
    ...opt('headline', r.one('headline')),
    ...opt('description', r.one('description')),
    ...opt('instruction', r.one('instruction')),
    ...opt('web', r.one('web')),
    ...opt('contact', r.one('contact')),
    parameters: r.values('parameter'),
    resources,
    areas,
  };
}

/** CAP 1.0's "Very Likely" is read as "Likely", as CAP 1.1/1.2 say receivers should. */
function certainty(r: Reader, p: string): CapInfo['certainty'] {
  const v = r.one('certainty', true)!;
  if (v === 'Very Likely') return 'Likely';
  if (!(CAP_CERTAINTY as readonly string[]).includes(v))
    throw fail(
      `${p}.certainty`,
      `${JSON.stringify(v.slice(0, 40))} is not one of ${CAP_CERTAINTY.join(', ')}`,
    );
  return v as CapInfo['certainty'];
}

function num(field: string, s: string, min: number, max: number): number {
  const n = Number(s);
  if (s === '' || !Number.isFinite(n) || n < min || n > max)
    throw fail(field, `${JSON.stringify(s.slice(0, 40))} is not a number between ${min} and ${max}`);
  return n;
}

function point(field: string, s: string): LatLon {
  const [a, b, extra] = s.split(',');
  if (a === undefined || b === undefined || extra !== undefined)
    throw fail(field, `${JSON.stringify(s.slice(0, 40))} is not lat,lon`);
  return { lat: num(field, a.trim(), -90, 90), lon: num(field, b.trim(), -180, 180) };
}

/** `lat,lon lat,lon …`: at least 4 pairs, the first and last the same (CAP 1.2 §3.3.2). */
export function parsePolygon(field: string, s: string): LatLon[] {
  const pairs = s.trim().split(/\s+/).filter(Boolean);
  if (pairs.length > CAP_LIMITS.points)
    throw fail(field, `${pairs.length} points, above the limit of ${CAP_LIMITS.points}`);
  const pts = pairs.map((p) => point(field, p));
  if (pts.length < 4) throw fail(field, `a polygon needs at least 4 points, got ${pts.length}`);
  const a = pts[0]!;
  const z = pts[pts.length - 1]!;
  if (a.lat !== z.lat || a.lon !== z.lon) throw fail(field, 'the first and last points must be the same');
  return pts;
}

/** `lat,lon radius` (kilometres). */
export function parseCircle(field: string, s: string): CapCircle {
  const [c, radius, extra] = s.trim().split(/\s+/);
  if (c === undefined || radius === undefined || extra !== undefined)
    throw fail(field, `${JSON.stringify(s.slice(0, 60))} is not "lat,lon radius"`);
  return { center: point(field, c), radiusKm: num(field, radius, 0, 40_075) };
}

function parseArea(r: Reader, p: string): CapArea {
  const polys = r.texts('polygon');
  if (polys.length > CAP_LIMITS.polygons)
    throw fail(`${p}.polygon`, `${polys.length} polygons, above the limit of ${CAP_LIMITS.polygons}`);
  const altitude = r.one('altitude');
  const ceiling = r.one('ceiling');
  if (ceiling !== undefined && altitude === undefined)
    throw fail(`${p}.ceiling`, 'is only allowed together with altitude');
  return {
    areaDesc: r.one('areaDesc', true)!,
    polygons: polys.map((s, i) => parsePolygon(`${p}.polygon[${i}]`, s)),
    circles: r.texts('circle').map((s, i) => parseCircle(`${p}.circle[${i}]`, s)),
    geocodes: r.values('geocode'),
    ...(altitude !== undefined ? { altitude: num(`${p}.altitude`, altitude, -1e6, 1e6) } : {}),
    ...(ceiling !== undefined ? { ceiling: num(`${p}.ceiling`, ceiling, -1e6, 1e6) } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// Building

const el = (name: string, v: string | number | undefined, ind: string): string =>
  v === undefined ? '' : `${ind}<${name}>${escapeXml(v)}</${name}>\n`;

const pairs = (name: string, list: CapValue[], ind: string): string =>
  list
    .map(
      (x) =>
        `${ind}<${name}>\n${el('valueName', x.valueName, `${ind}  `)}${el('value', x.value, `${ind}  `)}${ind}</${name}>\n`,
    )
    .join('');

const pt = (p: LatLon) => `${p.lat},${p.lon}`;

/** The XML of a CAP 1.2 alert (UTF-8, default namespace, elements in the schema's order). */
export function buildCap(a: CapAlert, opts: { declaration?: boolean } = {}): string {
  const i1 = '  ';
  const i2 = '    ';
  const i3 = '      ';
  const infos = a.infos
    .map((f) => {
      const resources = f.resources
        .map(
          (r) =>
            `${i2}<resource>\n${el('resourceDesc', r.resourceDesc, i3)}${el('mimeType', r.mimeType, i3)}${el('size', r.size, i3)}${el('uri', r.uri, i3)}${el('derefUri', r.derefUri, i3)}${el('digest', r.digest, i3)}${i2}</resource>\n`,
        )
        .join('');
      const areas = f.areas
        .map(
          (ar) =>
            `${i2}<area>\n${el('areaDesc', ar.areaDesc, i3)}${ar.polygons
              .map((p) => el('polygon', p.map(pt).join(' '), i3))
              .join('')}${ar.circles
              .map((c) => el('circle', `${pt(c.center)} ${c.radiusKm}`, i3))
              .join(
                '',
              )}${pairs('geocode', ar.geocodes, i3)}${el('altitude', ar.altitude, i3)}${el('ceiling', ar.ceiling, i3)}${i2}</area>\n`,
        )
        .join('');
      return `${i1}<info>\n${el('language', f.language, i2)}${f.categories.map((c) => el('category', c, i2)).join('')}${el('event', f.event, i2)}${f.responseTypes.map((c) => el('responseType', c, i2)).join('')}${el('urgency', f.urgency, i2)}${el('severity', f.severity, i2)}${el('certainty', f.certainty, i2)}${el('audience', f.audience, i2)}${pairs('eventCode', f.eventCodes, i2)}${el('effective', f.effective, i2)}${el('onset', f.onset, i2)}${el('expires', f.expires, i2)}${el('senderName', f.senderName, i2)}${el('headline', f.headline, i2)}${el('description', f.description, i2)}${el('instruction', f.instruction, i2)}${el('web', f.web, i2)}${el('contact', f.contact, i2)}${pairs('parameter', f.parameters, i2)}${resources}${areas}${i1}</info>\n`;
    })
    .join('');
  const refs = a.references.length
    ? a.references.map((r) => `${r.sender},${r.identifier},${r.sent}`).join(' ')
    : undefined;
  const body = `<alert xmlns="${CAP_NS}">\n${el('identifier', a.identifier, i1)}${el('sender', a.sender, i1)}${el('sent', a.sent, i1)}${el('status', a.status, i1)}${el('msgType', a.msgType, i1)}${el('source', a.source, i1)}${el('scope', a.scope, i1)}${el('restriction', a.restriction, i1)}${el('addresses', a.addresses, i1)}${a.codes.map((c) => el('code', c, i1)).join('')}${el('note', a.note, i1)}${el('references', refs, i1)}${el('incidents', a.incidents, i1)}${infos}</alert>\n`;
  return opts.declaration === false ? body : `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}
