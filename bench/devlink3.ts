/**
 * DevLink3 benchmark.
 *  1. records/s through frame decode + packet decode + Delta3 parse + call tracking, on one core (in-process).
 *  2. latency from simulator write to bus event (call.started) over a real TCP socket: p50/p99.
 * Usage: npm run bench -- devlink3 [--records 200000] [--calls 2000]
 */
import { performance } from 'node:perf_hooks';
import { decodeEventRecords } from '../src/drivers/ipoffice/event-records.js';
import { encodeFrame, FrameDecoder } from '../src/drivers/ipoffice/frame.js';
import { Devlink3Monitor } from '../src/drivers/ipoffice/monitor.js';
import { decodePacket, encodePacket, TupleCode, utf8Tuple } from '../src/drivers/ipoffice/packets.js';
import { CallTracker } from '../src/drivers/ipoffice/tracker.js';
import { randomCall } from '../src/sim/ipoffice/generator.js';
import { renderStep, type TemplateContext } from '../src/sim/ipoffice/scenario.js';
import { Devlink3Simulator } from '../src/sim/ipoffice/server.js';
import { argNumber, loadLine, machineLine, percentile } from './_machine.js';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function buildStream(records: number): { stream: Buffer; count: number } {
  const rnd = seeded(42);
  let callId = 1;
  let end = 1;
  const ctx: TemplateContext = {
    node: 'c0a82a03',
    vars: {},
    newCallId: () => callId++,
    newEndSuffix: () => end++,
    now: () => 1_700_000_000_000,
  };
  const frames: Buffer[] = [];
  let counter = 0;
  while (frames.length < records) {
    const sc = randomCall({ random: rnd, timeScaleMs: 0 });
    const ids = new Map<string, string>();
    for (const st of sc.steps) {
      const text = renderStep(st.delta3!, ctx, ids);
      frames.push(
        encodeFrame(
          encodePacket({
            type: 'event',
            pbxIp: '192.168.42.3',
            counter: ++counter,
            tuples: [utf8Tuple(TupleCode.CallDelta3, text)],
          }),
        ),
      );
    }
  }
  return { stream: Buffer.concat(frames), count: frames.length };
}

function throughput(records: number): {
  rps: number;
  cpuRps: number;
  cpuMs: number;
  count: number;
  bytes: number;
  ms: number;
  events: number;
} {
  const { stream, count } = buildStream(records);
  let best = { rps: 0, ms: 0, events: 0, cpuRps: 0, cpuMs: 0 };
  for (let round = 0; round < 3; round++) {
    let events = 0;
    const tracker = new CallTracker({ emit: () => void events++ });
    const dec = new FrameDecoder();
    let n = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let off = 0; off < stream.length; off += 65536) {
      for (const f of dec.push(stream.subarray(off, off + 65536))) {
        const p = decodePacket(f);
        if (p.type !== 'event') continue;
        tracker.noteCounter(p.pbxIp, p.counter);
        for (const r of decodeEventRecords(p)) {
          n++;
          tracker.onRecord(r);
        }
      }
    }
    const ms = performance.now() - t0;
    const cu = process.cpuUsage(c0);
    const cpuMs = (cu.user + cu.system) / 1000;
    if (n !== count) throw new Error(`decoded ${n} of ${count}`);
    if (tracker.size !== 0) throw new Error(`${tracker.size} calls left open`);
    const rps = n / (ms / 1000);
    if (rps > best.rps) best = { rps, ms, events, cpuRps: n / (cpuMs / 1000), cpuMs };
  }
  return { ...best, count, bytes: stream.length };
}

async function latency(calls: number): Promise<{ p50: number; p99: number; max: number; n: number }> {
  const sim = await new Devlink3Simulator({ credentials: { b: 'b' } }).start();
  const sent = new Map<number, number>();
  const lat: number[] = [];
  const m = new Devlink3Monitor({
    client: { host: '127.0.0.1', port: sim.port, user: 'b', password: 'b', keepaliveMs: 0 },
    loadUsers: false,
    resyncQuietMs: 10,
    emit: (type, data) => {
      if (type !== 'call.started') return;
      const t = sent.get(data.callId as number);
      if (t !== undefined) lat.push(performance.now() - t);
    },
  });
  m.start();
  while (m.link.state !== 'up') await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 50));
  const node = sim.nodeId;
  for (let i = 1; i <= calls; i++) {
    const e = (n: number) => `${node}${(i * 4 + n).toString(16).padStart(8, '0')}`;
    sent.set(i, performance.now());
    sim.emitDelta3(
      `<Detail><Call>${node},${i},,,,0,,,,,,0,0,0,0,0,,0</Call><PartyA>${e(1)},1,7,1,3,0,0,0,1,8,106,,4001,0,0,,,,,,,4001,0,5,"Alice",</PartyA></Detail>`,
    );
    sim.emitDelta3(`<CallLost>${node},${e(1)},1,16,0</CallLost>`);
    if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1)); // paced: ~10 calls per ms tick
  }
  const deadline = Date.now() + 10_000;
  while (lat.length < calls && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await m.stop();
  await sim.stop();
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), max: Math.max(...lat), n: lat.length };
}

async function run(): Promise<void> {
  const records = argNumber('records', 200_000);
  const calls = argNumber('calls', 2000);
  console.log('devlink3 benchmark');
  console.log(machineLine());
  const t = throughput(records);
  console.log(loadLine('wall-clock figures suffer on a shared machine'));
  console.log(
    `decode+parse+track: ${Math.round(t.rps).toLocaleString('en-US')} records/s wall, ${Math.round(t.cpuRps).toLocaleString('en-US')} records per CPU-second (${t.count} records, ${(t.bytes / 2 ** 20).toFixed(1)} MiB, best of 3: ${t.ms.toFixed(0)} ms, ${t.events} bus events) — goal >= 100,000`,
  );
  const l = await latency(calls);
  console.log(
    `simulator write -> call.started over TCP: p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, max ${l.max.toFixed(2)} ms (${l.n} calls)`,
  );
}

await run();
