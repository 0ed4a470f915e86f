import { ProtocolError } from '../../core/errors.js';
import { escapeXml } from '../../core/xml.js';
import { xmlProlog } from './encoding.js';
import type { Charset } from './models.js';
import { decodeEntities, readXml } from './xml-read.js';

/**
 * The phones' read-only information pages (seed admin_endpoints): `/DeviceInformationX` and friends
 * (flat XML: one element per field; a field may repeat) and their HTML twins. Builders for the simulator,
 * parsers for the driver: XML → typed JSON, every field optional (real pages vary per model and firmware;
 * research A8: trust the prolog, tolerate both encodings).
 */
export type InfoPage =
  | 'DeviceInformation'
  | 'NetworkConfiguration'
  | 'EthernetInformation'
  | 'PortInformation'
  | 'DeviceLog'
  | 'StreamingStatistics';
export const INFO_PAGES: InfoPage[] = [
  'DeviceInformation',
  'NetworkConfiguration',
  'EthernetInformation',
  'PortInformation',
  'DeviceLog',
  'StreamingStatistics',
];

export type InfoFields = Array<[string, string]>;

export function buildInfoXml(page: InfoPage, fields: InfoFields, charset: Charset = 'utf-8'): string {
  const body = fields.map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join('\n');
  return `${xmlProlog(charset)}\n<${page}>\n${body}\n</${page}>\n`;
}

export function buildInfoHtml(page: InfoPage, title: string, fields: InfoFields): string {
  const rows = fields
    .map(([k, v]) => `<tr><td><b>${escapeXml(k)}</b></td><td>${escapeXml(v)}</td></tr>`)
    .join('\n');
  return `<html><head><title>${escapeXml(title)}</title></head><body><h2>${escapeXml(page)}</h2>\n<table>\n${rows}\n</table></body></html>\n`;
}

export interface InfoRecord {
  page: string;
  /** Every field as text; repeated fields become arrays. */
  fields: Record<string, string | string[]>;
}

const MAX_FIELDS = 500;

export function parseInfoXml(body: Buffer | string, expected?: InfoPage): InfoRecord {
  const root = readXml(body, {
    code: 'CISCO_INFO_INVALID',
    what: 'information page',
    maxBytes: 512 * 1024,
    maxDepth: 8,
  });
  if (expected && root.name !== expected)
    throw new ProtocolError('CISCO_INFO_INVALID', `expected <${expected}>, got <${root.name.slice(0, 64)}>`);
  const fields: Record<string, string | string[]> = {};
  let n = 0;
  for (const c of root.children) {
    if (++n > MAX_FIELDS)
      throw new ProtocolError('CISCO_INFO_INVALID', `information page has more than ${MAX_FIELDS} fields`);
    const v = c.text.trim();
    const cur = fields[c.name];
    if (cur === undefined) fields[c.name] = v;
    else if (Array.isArray(cur)) cur.push(v);
    else fields[c.name] = [cur, v];
  }
  return { page: root.name, fields };
}

/** Reads `<tr><td>label</td><td>value</td></tr>` rows of an HTML twin page (tags stripped, bounded). */
export function parseInfoHtml(html: string): { title: string; fields: Record<string, string> } {
  const text = html.slice(0, 512 * 1024);
  const title = decodeEntities(/<title>([^<]{0,200})<\/title>/i.exec(text)?.[1] ?? '').trim();
  const fields: Record<string, string> = {};
  const strip = (s: string) =>
    decodeEntities(s.replace(/<[^>]{0,500}>/g, ''))
      .replace(/\s+/g, ' ')
      .trim();
  const rowRe = /<tr[^>]{0,200}>([\s\S]{0,4000}?)<\/tr>/gi;
  let count = 0;
  for (let m = rowRe.exec(text); m !== null && count < MAX_FIELDS; m = rowRe.exec(text)) {
    const cells = [...m[1]!.matchAll(/<td[^>]{0,200}>([\s\S]{0,2000}?)<\/td>/gi)].map((c) => strip(c[1]!));
    if (cells.length >= 2 && cells[0]) {
      fields[cells[0]] = cells.slice(1).join(' ');
      count++;
    }
  }
  return { title, fields };
}

const str = (f: InfoRecord['fields'], k: string): string | undefined => {
  const v = f[k];
  return Array.isArray(v) ? v[0] : v;
};
const numOrUndef = (f: InfoRecord['fields'], k: string): number | undefined => {
  const v = str(f, k);
  if (v === undefined || v === '') return undefined;
  const n = Number(v.replace(/[^0-9.-]/g, ''));
  return Number.isFinite(n) ? n : undefined;
};
const yes = (v: string | undefined): boolean | undefined => {
  if (v === undefined || v.trim() === '') return undefined;
  return /^(yes|true|1|oui|ja|si|sí|on|enabled)$/i.test(v.trim());
};
const list = (f: InfoRecord['fields'], prefix: string): string[] => {
  const out: string[] = [];
  for (let i = 1; i <= 5; i++) {
    const v = str(f, `${prefix}${i}`);
    if (v) out.push(v);
  }
  return out;
};
const clean = <T extends Record<string, unknown>>(o: T): T => {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
};

export interface DeviceInformation {
  macAddress?: string;
  hostName?: string;
  phoneDN?: string;
  appLoadID?: string;
  bootLoadID?: string;
  versionID?: string;
  modelNumber?: string;
  serialNumber?: string;
  hardwareRevision?: string;
  udi?: string;
  messageWaiting?: boolean;
  fields: InfoRecord['fields'];
}

export function toDeviceInformation(r: InfoRecord): DeviceInformation {
  const f = r.fields;
  return clean({
    macAddress: str(f, 'MACAddress'),
    hostName: str(f, 'HostName'),
    phoneDN: str(f, 'phoneDN'),
    appLoadID: str(f, 'appLoadID'),
    bootLoadID: str(f, 'bootLoadID'),
    versionID: str(f, 'versionID'),
    modelNumber: str(f, 'modelNumber'),
    serialNumber: str(f, 'serialNumber'),
    hardwareRevision: str(f, 'hardwareRevision'),
    udi: str(f, 'udi'),
    messageWaiting: yes(str(f, 'MessageWaiting')),
    fields: f,
  });
}

export interface NetworkConfiguration {
  macAddress?: string;
  hostName?: string;
  domainName?: string;
  ipAddress?: string;
  subnetMask?: string;
  dhcpEnabled?: boolean;
  dhcpServer?: string;
  tftpServer1?: string;
  tftpServer2?: string;
  defaultRouters: string[];
  dnsServers: string[];
  callManagers: string[];
  vlanId?: number;
  authenticationUrl?: string;
  servicesUrl?: string;
  fields: InfoRecord['fields'];
}

export function toNetworkConfiguration(r: InfoRecord): NetworkConfiguration {
  const f = r.fields;
  return clean({
    macAddress: str(f, 'MACAddress'),
    hostName: str(f, 'HostName'),
    domainName: str(f, 'DomainName'),
    ipAddress: str(f, 'IPAddress'),
    subnetMask: str(f, 'SubNetMask'),
    dhcpEnabled: yes(str(f, 'DHCPEnabled')),
    dhcpServer: str(f, 'DHCPServer'),
    tftpServer1: str(f, 'TFTPServer1'),
    tftpServer2: str(f, 'TFTPServer2'),
    defaultRouters: list(f, 'DefaultRouter'),
    dnsServers: list(f, 'DNSServer'),
    callManagers: list(f, 'CallManager'),
    vlanId: numOrUndef(f, 'OperationalVLANId') ?? numOrUndef(f, 'VLANId'),
    authenticationUrl: str(f, 'AuthenticationURL'),
    servicesUrl: str(f, 'ServicesURL'),
    fields: f,
  });
}

export interface StreamingStatistics {
  remoteAddr?: string;
  localAddr?: string;
  streamStatus?: string;
  rcvrCodec?: string;
  senderCodec?: string;
  rcvrPackets?: number;
  rcvrOctets?: number;
  rcvrLostPackets?: number;
  senderPackets?: number;
  senderOctets?: number;
  avgJitter?: number;
  fields: InfoRecord['fields'];
}

export function toStreamingStatistics(r: InfoRecord): StreamingStatistics {
  const f = r.fields;
  return clean({
    remoteAddr: str(f, 'RemoteAddr'),
    localAddr: str(f, 'LocalAddr'),
    streamStatus: str(f, 'StreamStatus'),
    rcvrCodec: str(f, 'RcvrCodec'),
    senderCodec: str(f, 'SenderCodec'),
    rcvrPackets: numOrUndef(f, 'RcvrPackets'),
    rcvrOctets: numOrUndef(f, 'RcvrOctets'),
    rcvrLostPackets: numOrUndef(f, 'RcvrLostPackets'),
    senderPackets: numOrUndef(f, 'SenderPackets'),
    senderOctets: numOrUndef(f, 'SenderOctets'),
    avgJitter: numOrUndef(f, 'AvgJitter'),
    fields: f,
  });
}

/** Generic typed view for the other pages: numbers where the text is a number. */
export function toTypedFields(r: InfoRecord): Record<string, string | number | string[]> {
  const out: Record<string, string | number | string[]> = {};
  for (const [k, v] of Object.entries(r.fields)) {
    out[k] = Array.isArray(v) ? v : /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  return out;
}
