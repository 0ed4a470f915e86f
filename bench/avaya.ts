/**
 * Avaya push benchmark: time to push a Top Line message to 100 and 1,000 simulated phones through the
 * real hub (action runner → SQLite content store → Push Message → phone → content fetch), and RTP pacing
 * jitter for one unicast audio push. The phones run in a separate process (`switchboard sim avaya`), as
 * real phones would be separate from the hub.
 *
 *   npm run bench -- avaya [--sizes 100,1000] [--concurrency 64] [--audio-seconds 10]
 *
 * "acknowledged": the phone answered the push (x-Push-Status). "fetched": the phone fetched the content
 * from the hub (measured on the hub's content store), i.e. the text is on the screen.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Semaphore } from '../src/core/serial.js';
import { avayaServiceOf } from '../src/drivers/avaya/module.js';
import { startFleet } from '../src/sim/avaya/fleet.js';
import type { PhoneStateJson } from '../src/sim/avaya/phone.js';
import { startBenchHub } from './_hub.js';
import { argString, loadLine, machineLine, percentile } from './_machine.js';

const sizes = argString('sizes', '100,1000').split(',').map(Number);
const concurrency = Number(argString('concurrency', '64'));
const audioSeconds = Number(argString('audio-seconds', '10'));
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

/** Starts `switchboard sim avaya` in a child process; resolves with its control URL. */
function simProcess(phones: number, firstExtension: number): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      MAIN,
      'sim',
      'avaya',
      '--phones',
      String(phones),
      '--first-extension',
      String(firstExtension),
      '--tpslist',
      '127.0.0.1',
      '--control-port',
      '0',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('simulator did not start within 60 s')), 60_000);
    proc.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = /state: (http:\/\/\S+)\/sim\/state/.exec(buf);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.removeAllListeners('data');
        proc.stdout!.resume();
        resolve({ proc, url: m[1]! });
      }
    });
    proc.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
}

console.log('avaya push benchmark');
console.log(machineLine());
console.log(loadLine('the machine is shared'));
console.log(
  `hub and phones in separate processes; ${concurrency} pushes in flight (one at a time per phone)`,
);

const summary: string[] = [];
const running = await startBenchHub('avaya', { 'avaya.contentTtlS': 600 });
const hub = running.hub;
const store = avayaServiceOf(hub).store;
try {
  let round = 0;
  for (const n of [20, ...sizes]) {
    const warmUp = round++ === 0;
    const sim = await simProcess(n, 10_000 + round * 10_000);
    try {
      const st = (await fetch(`${sim.url}/sim/state`).then((r) => r.json())) as { phones: PhoneStateJson[] };
      for (const [i, p] of st.phones.entries())
        await hub.devices.upsert({ id: `bench-${round}-${i}`, kind: 'avaya', address: p.address });
      const sem = new Semaphore(concurrency);
      const ack: number[] = [];
      const fetched: number[] = [];
      let failures = 0;
      let notFetched = 0;
      const t0 = performance.now();
      // A phone's slot is released once it acknowledged the push (as the broadcast engine does); its content
      // fetch (the text on screen) is tracked apart, from the hub's `device.displayed` event.
      const pending = new Map<string, { start: number; resolve: () => void }>();
      const sub = hub.bus.subscribe(
        (e) => {
          const w = pending.get(String(e.data.ref ?? ''));
          w?.resolve();
        },
        { filter: { types: ['device.displayed'] } },
      );
      const fetches: Array<Promise<void>> = [];
      let acked = 0;
      await Promise.all(
        st.phones.map((_, i) =>
          sem.run(async () => {
            const start = performance.now();
            const r = await hub.actions.execute(`bench-${round}-${i}`, 'push_topline', {
              text: `Bench ${n} #${i}`,
            });
            ack.push(performance.now() - start);
            if (!r.ok) {
              failures++;
              return;
            }
            acked++;
            const id = (r.data as { contentId: string }).contentId;
            fetches.push(
              new Promise<void>((resolve) => {
                const timer = setTimeout(() => {
                  pending.delete(id);
                  notFetched++;
                  resolve();
                }, 30_000);
                const done = () => {
                  clearTimeout(timer);
                  pending.delete(id);
                  fetched.push(performance.now() - start);
                  resolve();
                };
                // The fetch may have happened before the push's answer arrived.
                pending.set(id, { start, resolve: done });
                void store.get(id).then((it) => {
                  if ((it?.fetches ?? 0) > 0 && pending.has(id)) done();
                });
              }),
            );
          }),
        ),
      );
      const ackedAll = performance.now() - t0;
      await Promise.all(fetches);
      sub.unsubscribe();
      const total = performance.now() - t0;
      if (warmUp) continue;
      console.log(
        `top line → ${n} phones: all acknowledged after ${fmt(ackedAll)} (${((acked / ackedAll) * 1000).toFixed(0)} phones/s), all on screen after ${fmt(total)} (${((n / total) * 1000).toFixed(0)} phones/s), push failures ${failures}, not fetched ${notFetched}\n` +
          `  acknowledged per phone: p50 ${fmt(percentile(ack, 50))}  p99 ${fmt(percentile(ack, 99))}\n` +
          `  content fetched (on screen) per phone: p50 ${fmt(percentile(fetched, 50))}  p99 ${fmt(percentile(fetched, 99))}`,
      );
      summary.push(
        `SUMMARY avaya phones=${n} acked_per_s=${((acked / ackedAll) * 1000).toFixed(0)} on_screen_per_s=${((n / total) * 1000).toFixed(0)} failures=${failures} not_fetched=${notFetched}`,
      );
    } finally {
      sim.proc.kill('SIGTERM');
      await new Promise((r) => sim.proc.once('exit', r));
    }
  }

  // RTP pacing: one unicast audio push, 20 ms packets (phone in this process to read its receive stats).
  const fleet = await startFleet({ phones: 1, tpsList: ['/'] });
  const p = fleet.phones[0]!;
  await hub.devices.upsert({ id: 'bench-audio', kind: 'avaya', address: p.address });
  const repeat = Math.max(1, Math.round(audioSeconds / 1.5));
  const done = new Promise<Record<string, unknown>>((resolve) => {
    const sub = hub.bus.subscribe(
      (e) => {
        sub.unsubscribe();
        resolve(e.data);
      },
      { filter: { types: ['avaya.audio.streamed'] } },
    );
  });
  const r = await hub.actions.execute('bench-audio', 'push_audio', {
    tone: 'alert',
    repeat,
    packetsize: 20,
    mode: 'barge',
  });
  const rep = await done;
  await new Promise((res) => setTimeout(res, 200));
  const a = p.audio!;
  console.log(
    `RTP pacing, one audio push (${Number((r.data as { seconds: number }).seconds).toFixed(1)} s, 20 ms packets, ${rep.packets} packets):\n` +
      `  sender: sent ${rep.sent}, lateness vs schedule p50 ${fmt(Number(rep.latenessP50Ms))} p99 ${fmt(Number(rep.latenessP99Ms))} max ${fmt(Number(rep.latenessMaxMs))}, inter-departure jitter ${fmt(Number(rep.jitterMs))}\n` +
      `  phone: received ${a.packets}, sequence errors ${a.sequenceErrors}, timestamp errors ${a.timestampErrors}, RFC 3550 jitter ${fmt(a.jitterMs)}, max gap ${fmt(a.maxGapMs)}`,
  );
  await fleet.stop();
} finally {
  await running.stop();
}
for (const line of summary) console.log(line);
