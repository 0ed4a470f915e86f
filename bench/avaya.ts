/**
 * Avaya push benchmark: time to push a Top Line message to 100 and 1,000 simulated phones through the
 * real hub (action runner → SQLite content store → Push Message → phone → content fetch), and RTP pacing
 * jitter for one unicast audio push.
 *
 *   npm run bench -- avaya [--sizes 100,1000] [--concurrency 64] [--audio-seconds 10]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub } from '../src/cli/serve.js';
import { defaultConfig } from '../src/config/load.js';
import { silentLogger } from '../src/core/logger.js';
import { Semaphore } from '../src/core/serial.js';
import { startFleet } from '../src/sim/avaya/fleet.js';
import { machineLine, percentile } from './_machine.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? def) : def;
}
const sizes = arg('sizes', '100,1000').split(',').map(Number);
const concurrency = Number(arg('concurrency', '64'));
const audioSeconds = Number(arg('audio-seconds', '10'));
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

console.log('avaya push benchmark');
console.log(machineLine());
console.log(
  `load average at start: ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} (the machine is shared)`,
);
console.log(`concurrency ${concurrency} pushes in flight (one at a time per phone)`);

const dataDir = mkdtempSync(join(tmpdir(), 'sb-bench-avaya-'));
const config = defaultConfig({
  dataDir,
  'http.host': '127.0.0.1',
  'http.port': 0,
  'log.level': 'silent',
  'avaya.contentTtlS': 600,
});
const running = await startHub(config, { logger: silentLogger });
const hub = running.hub;
try {
  // Warm-up (JIT, SQLite statements, sockets): 20 pushes not counted.
  {
    const warm = await startFleet({ phones: 20, firstExtension: 90_000, tpsList: ['127.0.0.1'] });
    for (const [i, p] of warm.phones.entries())
      hub.devices.upsert({ id: `warm-${i}`, kind: 'avaya', address: p.address });
    await Promise.all(
      warm.phones.map((_, i) => hub.actions.execute(`warm-${i}`, 'push_topline', { text: 'warm-up' })),
    );
    await warm.stop();
  }
  for (const n of sizes) {
    const fleet = await startFleet({ phones: n, firstExtension: 10_000, tpsList: ['127.0.0.1'] });
    for (const [i, p] of fleet.phones.entries()) {
      hub.devices.upsert({ id: `bench-${n}-${i}`, kind: 'avaya', address: p.address });
    }
    const sem = new Semaphore(concurrency);
    const ack: number[] = [];
    const shown: number[] = [];
    let failures = 0;
    const t0 = performance.now();
    await Promise.all(
      fleet.phones.map((p, i) =>
        sem.run(async () => {
          const start = performance.now();
          const text = `Bench ${n} #${i}`;
          const r = await hub.actions.execute(`bench-${n}-${i}`, 'push_topline', { text });
          ack.push(performance.now() - start);
          if (!r.ok) {
            failures++;
            return;
          }
          await p.waitFor((x) => x.screen.topline?.text === text, 30_000);
          shown.push(performance.now() - start);
        }),
      ),
    );
    const total = performance.now() - t0;
    console.log(
      `top line → ${n} phones: total ${fmt(total)} (${((n / total) * 1000).toFixed(0)} phones/s), failures ${failures}\n` +
        `  push acknowledged per phone: p50 ${fmt(percentile(ack, 50))}  p99 ${fmt(percentile(ack, 99))}\n` +
        `  displayed (content fetched) per phone: p50 ${fmt(percentile(shown, 50))}  p99 ${fmt(percentile(shown, 99))}`,
    );
    await fleet.stop();
  }

  // RTP pacing: one unicast audio push, 20 ms packets.
  const fleet = await startFleet({ phones: 1, tpsList: ['/'] });
  const p = fleet.phones[0]!;
  hub.devices.upsert({ id: 'bench-audio', kind: 'avaya', address: p.address });
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
    `RTP pacing, one audio push (${(Number((r.data as { seconds: number }).seconds)).toFixed(1)} s, 20 ms packets, ${rep.packets} packets):\n` +
      `  sender: sent ${rep.sent}, lateness vs schedule p50 ${fmt(Number(rep.latenessP50Ms))} p99 ${fmt(Number(rep.latenessP99Ms))} max ${fmt(Number(rep.latenessMaxMs))}, inter-departure jitter ${fmt(Number(rep.jitterMs))}\n` +
      `  phone: received ${a.packets}, sequence errors ${a.sequenceErrors}, timestamp errors ${a.timestampErrors}, RFC 3550 jitter ${fmt(a.jitterMs)}, max gap ${fmt(a.maxGapMs)}`,
  );
  await fleet.stop();
} finally {
  await running.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
