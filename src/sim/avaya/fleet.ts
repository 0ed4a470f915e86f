import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../core/clock.js';
import { SimPhone, type SimPhoneOptions } from './phone.js';
import type { CallState, PhoneActivity } from './pushcap.js';

/**
 * Many simulated phones in one process (one push port each on 127.0.0.1) plus a small JSON control
 * server: `GET /sim/state` (all phones), `GET /sim/state/<id|extension>` (one phone) and
 * `POST /sim/phones/<id|extension>/activity` with `{ call, textEdit, localProcedure }`. The phones'
 * own push servers stay faithful (403 for anything but POST /forms/push), so inspection lives here.
 */
export interface FleetOptions {
  phones: number;
  model?: string;
  firstExtension?: number;
  tpsList?: string[];
  subscribeList?: string[];
  pushCap?: string;
  host?: string;
  /** Control server port (0 = ephemeral, undefined = no control server). */
  controlPort?: number;
  clock?: Clock;
  phoneOptions?: Partial<SimPhoneOptions>;
  /** Phones started concurrently (keeps 1,000-phone fleets from opening 1,000 sockets at once). */
  startConcurrency?: number;
}

export interface Fleet {
  phones: SimPhone[];
  controlUrl: string | undefined;
  find(idOrExtension: string): SimPhone | undefined;
  stop(): Promise<void>;
}

/** Deterministic MAC for the i-th simulated phone (locally administered prefix 02:5b:00). */
export function simMac(i: number): string {
  const b = [0x02, 0x5b, 0x00, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  if (!(Number.isInteger(o.phones) && o.phones >= 0 && o.phones <= 5000))
    throw new RangeError('phones must be 0..5000');
  const first = o.firstExtension ?? 2001;
  const phones: SimPhone[] = [];
  for (let i = 0; i < o.phones; i++) {
    phones.push(
      new SimPhone({
        model: o.model ?? 'J179',
        extension: String(first + i),
        mac: simMac(i + 1),
        host: o.host ?? '127.0.0.1',
        tpsList: o.tpsList ?? ['/'],
        subscribeList: o.subscribeList ?? [],
        pushCap: o.pushCap ?? '22222',
        ...(o.clock ? { clock: o.clock } : {}),
        ...o.phoneOptions,
      }),
    );
  }
  const conc = Math.max(1, o.startConcurrency ?? 64);
  for (let i = 0; i < phones.length; i += conc)
    await Promise.all(phones.slice(i, i + conc).map((p) => p.start()));
  const find = (key: string) => phones.find((p) => p.id === key || p.extension === key || p.mac === key);
  let control: http.Server | undefined;
  let controlUrl: string | undefined;
  if (o.controlPort !== undefined) {
    control = http.createServer((req, res) => {
      const send = (status: number, body: unknown) => {
        const s = JSON.stringify(body);
        res.writeHead(status, {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(s),
          Connection: 'close',
        });
        res.end(s);
      };
      const url = new URL(req.url ?? '/', 'http://sim');
      const parts = url.pathname.split('/').filter(Boolean);
      if (req.method === 'GET' && parts[0] === 'sim' && parts[1] === 'state') {
        if (parts.length === 2) return send(200, { phones: phones.map((p) => p.state()) });
        const p = find(decodeURIComponent(parts[2] ?? ''));
        return p
          ? send(200, p.state())
          : send(404, { error: { code: 'SIM_NO_SUCH_PHONE', message: 'no such phone' } });
      }
      if (req.method === 'POST' && parts[0] === 'sim' && parts[1] === 'phones' && parts[3] === 'activity') {
        const p = find(decodeURIComponent(parts[2] ?? ''));
        if (!p) return send(404, { error: { code: 'SIM_NO_SUCH_PHONE', message: 'no such phone' } });
        let body = '';
        req.on('data', (c: Buffer) => {
          if (body.length < 4096) body += c.toString('utf8');
        });
        req.on('end', () => {
          let patch: Partial<PhoneActivity>;
          try {
            patch = JSON.parse(body || '{}') as Partial<PhoneActivity>;
          } catch {
            return send(400, { error: { code: 'SIM_BAD_JSON', message: 'body is not JSON' } });
          }
          const calls: CallState[] = ['idle', 'alerting', 'in_call'];
          if (patch.call !== undefined && !calls.includes(patch.call)) {
            return send(400, {
              error: {
                code: 'SIM_BAD_CALL',
                message: 'call must be idle, alerting or in_call',
                field: 'call',
              },
            });
          }
          p.setActivity({
            ...(patch.call !== undefined ? { call: patch.call } : {}),
            ...(typeof patch.textEdit === 'boolean' ? { textEdit: patch.textEdit } : {}),
            ...(typeof patch.localProcedure === 'boolean' ? { localProcedure: patch.localProcedure } : {}),
          });
          send(200, p.state());
        });
        return;
      }
      send(404, {
        error: { code: 'SIM_NOT_FOUND', message: 'GET /sim/state[/<id>] or POST /sim/phones/<id>/activity' },
      });
    });
    await new Promise<void>((r) => control!.listen(o.controlPort, o.host ?? '127.0.0.1', r));
    const a = control.address() as AddressInfo;
    controlUrl = `http://${a.address}:${a.port}`;
  }
  return {
    phones,
    controlUrl,
    find,
    async stop() {
      if (control) await new Promise<void>((r) => control!.close(() => r()));
      for (let i = 0; i < phones.length; i += conc)
        await Promise.all(phones.slice(i, i + conc).map((p) => p.stop()));
    },
  };
}
