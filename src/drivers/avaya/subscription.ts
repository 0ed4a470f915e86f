import { BlockList, isIP } from 'node:net';
import { AuthError, ProtocolError } from '../../core/errors.js';

/**
 * The phone's subscription request (4600 API guide p.54, p.63):
 * `GET /<script>?MAC=xxx+Extn=xxx+ip=xxx+SetID=xxx` as printed; real phones are expected to use `&`
 * [inferred], so both separators are accepted, keys case-insensitively. MAC format is unknown: we accept
 * 12 hex digits with or without `:`/`-` separators and normalise to lower-case without separators.
 */
export interface SubscriptionInfo {
  mac: string;
  extension: string;
  ip: string;
  setId: string;
  /** Model derived from the SetID (`4620D01A` → `4620`, `J179…` → `J179`). */
  model: string;
  /** Simulator extension (not sent by real phones): the phone's push port. */
  pushPort?: number;
}

export class SubscriptionParseError extends ProtocolError {
  constructor(message: string, field?: string) {
    super('AVAYA_SUBSCRIPTION_INVALID', message, { status: 400, ...(field ? { field } : {}) });
  }
}

const MAX_QUERY = 2048;

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function normaliseMac(raw: string): string | undefined {
  const hex = raw.replace(/[:.-]/g, '').toLowerCase();
  return /^[0-9a-f]{12}$/.test(hex) ? hex : undefined;
}

/** Model from a SetID: 4600 SetIDs are 4 digits + `D01A`-style suffix; J100/96xx values are unknown. */
export function modelFromSetId(setId: string): string {
  const m = /^(J\d{3}|K\d{3}|\d{4})/i.exec(setId);
  return m ? m[1]!.toUpperCase() : setId.slice(0, 16);
}

/** Parses the raw query string (without `?`). */
export function parseSubscriptionQuery(rawQuery: string): SubscriptionInfo {
  if (rawQuery.length > MAX_QUERY)
    throw new SubscriptionParseError(`subscription query longer than ${MAX_QUERY} characters`);
  const fields = new Map<string, string>();
  for (const part of rawQuery.split(/[&+;]/)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = decode(part.slice(0, eq)).trim().toLowerCase();
    if (!fields.has(key)) fields.set(key, decode(part.slice(eq + 1)).trim());
  }
  const get = (...names: string[]) => {
    for (const n of names) {
      const v = fields.get(n);
      if (v !== undefined && v !== '') return v;
    }
    return undefined;
  };
  const macRaw = get('mac', 'macaddr');
  if (macRaw === undefined) throw new SubscriptionParseError('MAC is missing', 'MAC');
  const mac = normaliseMac(macRaw);
  if (!mac) throw new SubscriptionParseError('MAC must be 12 hexadecimal digits', 'MAC');
  const extension = get('extn', 'ext', 'extension') ?? '';
  if (!/^[0-9A-Za-z*#+._@-]{0,64}$/.test(extension))
    throw new SubscriptionParseError('Extn has invalid characters', 'Extn');
  const ip = get('ip', 'ipadd', 'ipaddr') ?? '';
  if (ip !== '' && !/^[0-9A-Fa-f.:]{2,45}$/.test(ip))
    throw new SubscriptionParseError('ip is not an IP address', 'ip');
  const setId = get('setid') ?? '';
  if (!/^[A-Za-z0-9._-]{0,32}$/.test(setId))
    throw new SubscriptionParseError('SetID has invalid characters', 'SetID');
  const portRaw = get('pushport');
  let pushPort: number | undefined;
  if (portRaw !== undefined) {
    const p = Number(portRaw);
    if (!(Number.isInteger(p) && p >= 1 && p <= 65535))
      throw new SubscriptionParseError('PushPort out of range', 'PushPort');
    pushPort = p;
  }
  return {
    mac,
    extension,
    ip,
    setId,
    model: setId ? modelFromSetId(setId) : 'unknown',
    ...(pushPort ? { pushPort } : {}),
  };
}

/** Builds the query a phone sends (simulator side). */
export function buildSubscriptionQuery(
  info: { mac: string; extension: string; ip: string; setId: string; pushPort?: number },
  separator: '&' | '+' = '&',
): string {
  const parts = [
    `MAC=${encodeURIComponent(info.mac)}`,
    `Extn=${encodeURIComponent(info.extension)}`,
    `ip=${encodeURIComponent(info.ip)}`,
    `SetID=${encodeURIComponent(info.setId)}`,
  ];
  if (info.pushPort !== undefined) parts.push(`PushPort=${info.pushPort}`);
  return parts.join(separator);
}

/** Who may register which address at /avaya/subscribe (config `avaya.subscription`). */
export interface SubscriptionPolicy {
  trustedProxies: string[];
  allowLoopback: boolean;
  allowLinkLocal: boolean;
}

/** `::ffff:10.0.0.1` → `10.0.0.1`. */
export function plainIp(a: string | undefined): string {
  return (a ?? '').replace(/^::ffff:(?=\d+\.)/i, '');
}

function blockList(entries: string[]): BlockList {
  const b = new BlockList();
  for (const e of entries) {
    const [addr, bits] = e.split('/');
    const family = isIP(addr ?? '') === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) b.addAddress(addr!, family);
    else b.addSubnet(addr!, Number(bits), family);
  }
  return b;
}

const LOOPBACK = blockList(['127.0.0.0/8', '::1/128']);
const LINK_LOCAL = blockList(['169.254.0.0/16', 'fe80::/10']);
/** Never a phone: unspecified, multicast, broadcast, cloud metadata. */
const NEVER = blockList([
  '0.0.0.0/8',
  '224.0.0.0/4',
  '255.255.255.255/32',
  '::/128',
  'ff00::/8',
  '169.254.169.254/32',
  'fd00:ec2::254/128',
]);

function contains(list: BlockList, ip: string): boolean {
  const v = isIP(ip);
  return v !== 0 && list.check(ip, v === 6 ? 'ipv6' : 'ipv4');
}

/** A refused subscription (HTTP 403): the request may not register that address. */
export class SubscriptionRefusedError extends AuthError {
  constructor(code: string, message: string) {
    super(code, message, { status: 403, field: 'ip' });
  }
}

/**
 * The address a subscription registers. Only the phone itself may move its registration: `ip=` must equal
 * the socket address unless the request comes from a trusted proxy (`trustedProxies`); loopback and
 * link-local addresses need `allowLoopback`/`allowLinkLocal`; metadata, multicast and unspecified
 * addresses are never accepted. Throws SubscriptionRefusedError (403).
 */
export function subscriptionAddress(claimed: string, socketIp: string, policy: SubscriptionPolicy): string {
  const socket = plainIp(socketIp);
  const want = plainIp(claimed) || socket;
  if (want.toLowerCase() !== socket.toLowerCase()) {
    const proxies = blockList(policy.trustedProxies);
    if (!contains(proxies, socket))
      throw new SubscriptionRefusedError(
        'AVAYA_SUBSCRIBE_ADDRESS_MISMATCH',
        'ip must be the address the request comes from (only the phone itself may register its address)',
      );
  }
  if (isIP(want) === 0)
    throw new SubscriptionRefusedError('AVAYA_SUBSCRIBE_ADDRESS_INVALID', 'ip is not an IP address');
  if (contains(NEVER, want))
    throw new SubscriptionRefusedError(
      'AVAYA_SUBSCRIBE_ADDRESS_REFUSED',
      `${want} cannot be a phone address`,
    );
  if (!policy.allowLoopback && contains(LOOPBACK, want))
    throw new SubscriptionRefusedError(
      'AVAYA_SUBSCRIBE_ADDRESS_REFUSED',
      `${want} is a loopback address (set avaya.subscription.allowLoopback for simulators)`,
    );
  if (!policy.allowLinkLocal && contains(LINK_LOCAL, want))
    throw new SubscriptionRefusedError(
      'AVAYA_SUBSCRIBE_ADDRESS_REFUSED',
      `${want} is a link-local address (set avaya.subscription.allowLinkLocal to accept it)`,
    );
  return want;
}
