import type { Clock } from '../../core/clock.js';
import { MODEL_IDS } from '../../drivers/cisco/models.js';
import { SimPhone, type SimPhoneOptions } from './phone.js';

/** Many simulated phones in one process: one HTTP server each (own port, optionally own 127.x address). */
/** First directory number of `sim cisco` and the demo's Cisco phones: disjoint from `sim avaya` (2001 …). */
export const CISCO_SIM_FIRST_EXTENSION = 3001;

export interface CiscoSimOptions {
  phones: number;
  /** One model for all, or a list used round-robin. */
  model?: string | string[];
  host?: string;
  /** Give each phone its own loopback address (127.0.<1+k/250>.<1+k%250>) instead of sharing `host`. */
  distinctHosts?: boolean;
  /** First port; phones use basePort + k (0 = ephemeral ports). */
  basePort?: number;
  authUrl?: string;
  username?: string;
  password?: string;
  servicesUrl?: string;
  appEventUrl?: string;
  clock?: Clock;
  prtDelayMs?: number;
  /** First directory number (phones get dn, dn+1 …). */
  firstDn?: number;
  /** Every phone serves HTTPS with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Every phone checks push credentials with HTTP Digest against the local user and password. */
  digest?: boolean;
  /** Every phone keeps connections alive when the client asks (see SimPhoneOptions.keepAlive). */
  keepAlive?: boolean;
  /** Every phone answers pushes this many ms late (see SimPhoneOptions.executeDelayMs). */
  executeDelayMs?: number;
}

export class CiscoSimFleet {
  readonly phones: SimPhone[] = [];
  constructor(opts: CiscoSimOptions) {
    const models = Array.isArray(opts.model) ? opts.model : [opts.model ?? '8845'];
    for (const m of models)
      if (!MODEL_IDS.includes(m))
        throw new Error(`unknown Cisco model ${JSON.stringify(m)} (known: ${MODEL_IDS.join(', ')})`);
    if (!(opts.phones >= 1 && opts.phones <= 5000)) throw new Error('phones must be 1-5000');
    for (let k = 0; k < opts.phones; k++) {
      const o: SimPhoneOptions = {
        model: models[k % models.length]!,
        host: opts.distinctHosts
          ? `127.0.${1 + Math.floor(k / 250)}.${1 + (k % 250)}`
          : (opts.host ?? '127.0.0.1'),
        port: opts.basePort ? opts.basePort + k : 0,
        mac: `00CAFE${k.toString(16).toUpperCase().padStart(6, '0')}`,
        dn: String((opts.firstDn ?? 2000) + k),
      };
      for (const key of [
        'authUrl',
        'username',
        'password',
        'servicesUrl',
        'appEventUrl',
        'clock',
        'prtDelayMs',
        'tls',
        'digest',
        'keepAlive',
        'executeDelayMs',
      ] as const) {
        if (opts[key] !== undefined) (o as Record<string, unknown>)[key] = opts[key];
      }
      this.phones.push(new SimPhone(o));
    }
  }

  async start(): Promise<void> {
    // Start in batches so a large fleet does not open thousands of listen() calls at once.
    for (let i = 0; i < this.phones.length; i += 100)
      await Promise.all(this.phones.slice(i, i + 100).map((p) => p.start()));
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.phones.map((p) => p.stop()));
  }

  summary(): Array<{ deviceName: string; model: string; address: string; dn: string; url: string }> {
    return this.phones.map((p) => ({
      deviceName: p.deviceName,
      model: p.profile.id,
      address: p.address,
      dn: p.dn,
      url: p.url,
    }));
  }
}

export async function startCiscoSim(opts: CiscoSimOptions): Promise<CiscoSimFleet> {
  const f = new CiscoSimFleet(opts);
  try {
    await f.start();
  } catch (e) {
    await f.stop();
    throw e;
  }
  return f;
}
