/**
 * `npm run bench -- cisco [--phones 100,1000] [--concurrency 64]`: time to push a CiscoIPPhoneText to N
 * simulated phones (real HTTP servers on 127.0.0.1, one per phone, in this process) through the driver's
 * push client (POST /CGI/Execute, form field XML, Basic auth, one request at a time per phone), with a
 * bounded number of pushes in flight. Prints per-phone p50/p99 and total wall time.
 *
 * Note: phones and the hub share this process (and the machine's cores), so the figures include the
 * simulators' work; a real deployment spreads that over the phones.
 */
import os from 'node:os';
import { systemClock } from '../src/core/clock.js';
import type { Device } from '../src/core/devices.js';
import type { DriverContext } from '../src/core/driver.js';
import type { EventInput, HubEvent } from '../src/core/events.js';
import { silentLogger } from '../src/core/logger.js';
import { KeyedSerialQueue, Semaphore } from '../src/core/serial.js';
import { CiscoSession, type CiscoSettings } from '../src/drivers/cisco/driver.js';
import { startCiscoSim } from '../src/sim/cisco/fleet.js';
import { machineLine, percentile } from './_machine.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const ctx: DriverContext = {
  bus: {
    emit: <D extends Record<string, unknown>>(e: EventInput<D>) =>
      ({ ...e, seq: 0, id: 'bench', time: '' }) as HubEvent<D>,
  },
  logger: silentLogger,
  clock: systemClock,
  hub: { publicUrl: '', version: 'bench' },
  kv: { get: () => undefined, set: () => {}, delete: () => {}, list: () => [] },
  signal: new AbortController().signal,
};

async function round(n: number, concurrency: number, model: string): Promise<void> {
  const fleet = await startCiscoSim({ phones: n, model, username: 'push', password: 'secret' });
  try {
    const queue = new KeyedSerialQueue();
    const now = new Date().toISOString();
    const sessions = fleet.phones.map((p, k) => {
      const d: Device<Partial<CiscoSettings>> = {
        id: `p${k}`,
        kind: 'cisco',
        name: p.deviceName,
        address: p.address,
        labels: [],
        groups: [],
        location: {},
        settings: { model, username: 'push', password: 'secret' },
        createdAt: now,
        updatedAt: now,
      };
      return new CiscoSession(d, ctx, queue);
    });
    const params = {
      title: 'EMERGENCY',
      prompt: '911 call in progress',
      text: 'Ext 2001 (Jane Doe) dialled 911.\nBuilding A, floor 2, room 214.\nCallback: +1 555 0100',
    };
    // Warm-up (JIT, sockets) on a few phones.
    await Promise.all(sessions.slice(0, 5).map((s) => s.execute('object_text', params)));
    const sem = new Semaphore(concurrency);
    const lat: number[] = [];
    let failed = 0;
    const t0 = performance.now();
    await Promise.all(
      sessions.map((s) =>
        sem.run(async () => {
          const a = performance.now();
          const r = await s.execute('object_text', params).catch(() => ({ ok: false }));
          lat.push(performance.now() - a);
          if (!r.ok) failed++;
        }),
      ),
    );
    const total = performance.now() - t0;
    const shown = fleet.phones.filter(
      (p) => (p.state().screen as { title: string }).title === 'EMERGENCY',
    ).length;
    console.log(
      `${String(n).padStart(5)} phones  concurrency ${String(concurrency).padStart(4)}  per phone p50 ${percentile(lat, 50).toFixed(1)} ms  p99 ${percentile(lat, 99).toFixed(1)} ms  max ${Math.max(...lat).toFixed(1)} ms  total ${total.toFixed(0)} ms  (${((n / total) * 1000).toFixed(0)} phones/s)  failed ${failed}  screens showing it ${shown}/${n}`,
    );
  } finally {
    await fleet.stop();
  }
}

const phones = arg('phones', '100,1000').split(',').map(Number);
const concurrencies = arg('concurrency', '64').split(',').map(Number);
const model = arg('model', '8845');
console.log(
  `cisco push bench: CiscoIPPhoneText (${model}) via POST /CGI/Execute, simulated phones in-process`,
);
console.log(machineLine());
console.log(
  `load average at start: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} (other processes share these cores)`,
);
for (const n of phones) for (const c of concurrencies) await round(n, c, model);
