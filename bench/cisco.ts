/**
 * `npm run bench -- cisco [--phones 100,1000] [--concurrency 64]`: time to push a CiscoIPPhoneText to N
 * simulated phones (real HTTP servers on 127.0.0.1, one per phone, in this process) through the driver's
 * push client (POST /CGI/Execute, form field XML, Basic auth, one request at a time per phone), with a
 * bounded number of pushes in flight. Prints per-phone p50/p99 and total wall time.
 *
 * Note: phones and the hub share this process (and the machine's cores), so the figures include the
 * simulators' work; a real deployment spreads that over the phones.
 */
import { KeyedSerialQueue, Semaphore } from '../src/core/serial.js';
import { standaloneContext, standaloneDevice } from '../src/core/standalone.js';
import { CiscoSession, type CiscoSettings } from '../src/drivers/cisco/driver.js';
import { startCiscoSim } from '../src/sim/cisco/fleet.js';
import { argString, loadLine, machineLine, percentile } from './_machine.js';

const ctx = standaloneContext({ version: 'bench' });

async function round(n: number, concurrency: number, model: string): Promise<void> {
  const fleet = await startCiscoSim({ phones: n, model, username: 'push', password: 'secret' });
  try {
    const queue = new KeyedSerialQueue();
    const sessions = fleet.phones.map((p, k) => {
      const d = standaloneDevice<Partial<CiscoSettings>>({
        kind: 'cisco',
        address: p.address,
        settings: { model, username: 'push', password: 'secret' },
        id: `p${k}`,
        name: p.deviceName,
      });
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

const phones = argString('phones', '100,1000').split(',').map(Number);
const concurrencies = argString('concurrency', '64').split(',').map(Number);
const model = argString('model', '8845');
console.log(
  `cisco push bench: CiscoIPPhoneText (${model}) via POST /CGI/Execute, simulated phones in-process`,
);
console.log(machineLine());
console.log(loadLine('other processes share these cores'));
for (const n of phones) for (const c of concurrencies) await round(n, c, model);
