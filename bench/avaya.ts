/**
 * Avaya push benchmark: time to push a Top Line message to 100 and 1,000 simulated phones through the
 * real hub (API → action runner → SQLite content store → Push Message → phone → content fetch), and RTP
 * pacing jitter for one unicast audio push.
 *
 *   npm run bench -- avaya [--sizes 100,1000] [--concurrency 64] [--audio-seconds 10]
 *
 * Three processes: the hub (`switchboard serve`, from dist/ — `npm run build` first; SWITCHBOARD_BIN=tsx runs
 * the sources), the simulated phones (`switchboard sim avaya`, a new process per round, from the same binary as
 * the hub) and this bench, which only talks HTTP: it registers the phones (`POST /api/devices`), pushes the Top
 * Line to each (`POST /api/devices/:id/actions/push_topline`, --concurrency in flight) and reads the hub's
 * event stream (`GET /api/events/stream?type=device.displayed,avaya.audio.streamed`, opened before the first
 * push). A 20-phone warm-up round comes first, unreported.
 *
 * "acknowledged": the action's HTTP answer, i.e. the phone answered the push (x-Push-Status); HTTP ≥ 400 or
 * `ok: false` is a push failure. "on screen": the phone fetched the content from the hub — the hub's
 * `device.displayed` event whose `ref` is the `contentId` of the action's answer, as received on the event
 * stream (so it includes the stream's delivery to this process); 30 s without it is "not fetched".
 * RTP pacing: one more sim process with one phone, one `push_audio` over the API; the sender's figures come
 * from the hub's `avaya.audio.streamed` event, the phone's from the simulator's `/sim/state`.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Semaphore } from '../src/core/serial.js';
import type { PhoneStateJson } from '../src/sim/avaya/phone.js';
import { type SpawnedHub, spawnSwitchboard } from '../test/helpers/process.js';
import { freePort, hubApi, hubReady, type Json, writeHubConfig } from './_api.js';
import { argString, loadLine, machineLine, percentile } from './_machine.js';

if (process.argv.includes('--help')) {
  console.log(
    'npm run bench -- avaya [--sizes 100,1000] [--concurrency 64] [--audio-seconds 10] [--hub-cpu-prof <dir>]\n' +
      '  --sizes: phones per measured round (after a 20-phone warm-up round); a new simulator process per round\n' +
      '  --concurrency: Top Line pushes in flight (one at a time per phone)\n' +
      '  --audio-seconds: length of the unicast audio push for the RTP pacing figures\n' +
      '  --hub-cpu-prof: writes a V8 CPU profile of the hub (not the simulator or this bench) into <dir>\n' +
      '  The hub runs from dist/ (npm run build first); SWITCHBOARD_BIN=tsx runs it (and the simulator) from the sources',
  );
  process.exit(0);
}

const sizes = argString('sizes', '100,1000').split(',').map(Number);
const concurrency = Number(argString('concurrency', '64'));
const audioSeconds = Number(argString('audio-seconds', '10'));
const profDir = argString('hub-cpu-prof', '');
if (!sizes.every((n) => Number.isInteger(n) && n > 0) || !(concurrency >= 1) || !(audioSeconds > 0)) {
  console.error(
    '--sizes takes positive integers (100,1000), --concurrency and --audio-seconds positive numbers',
  );
  process.exit(2);
}
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
process.env.SWITCHBOARD_BIN ??= 'dist';
if (process.env.SWITCHBOARD_BIN === 'dist' && !existsSync('dist/switchboard.mjs')) {
  console.error('dist/switchboard.mjs not found: run `npm run build` first (or SWITCHBOARD_BIN=tsx)');
  process.exit(2);
}
const bin = process.env.SWITCHBOARD_BIN === 'dist' ? 'dist' : 'tsx';

/** Starts `switchboard sim avaya` (same binary as the hub) in its own process; resolves with its control URL. */
async function simProcess(phones: number, firstExtension: number): Promise<{ sim: SpawnedHub; url: string }> {
  const sim = spawnSwitchboard([
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
  ]);
  try {
    const m = await sim.waitFor(/state: (http:\/\/\S+)\/sim\/state/, 60_000);
    return { sim, url: m[1]! };
  } catch (e) {
    await stopProc(sim);
    throw e;
  }
}

async function stopProc(p: SpawnedHub): Promise<void> {
  if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGTERM');
  await p.exited;
}

/**
 * The hub's event stream (SSE) for the given types, parsed; `ready` resolves once the hub answered (the
 * subscription exists from then on). `close()` ends it.
 */
function eventStream(
  url: string,
  key: string,
  types: string[],
  onEvent: (e: { type: string; data: Json }) => void,
): { ready: Promise<void>; close: () => void } {
  const ac = new AbortController();
  let closing = false;
  const ready = (async () => {
    const res = await fetch(`${url}/api/events/stream?type=${types.join(',')}`, {
      headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
      signal: ac.signal,
    });
    if (res.status !== 200 || !res.body) throw new Error(`event stream: HTTP ${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    // The hub writes its `: connected` comment right after subscribing: wait for it, read the rest in the background.
    const first = await reader.read();
    const take = (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (data) onEvent(JSON.parse(data) as { type: string; data: Json });
      }
    };
    if (first.done) throw new Error('event stream ended at once');
    take(first.value);
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          take(value);
        }
        if (!closing) console.error('event stream ended');
      } catch (e) {
        if (!closing) console.error(`event stream failed: ${String(e)}`);
      }
    })();
  })();
  return {
    ready,
    close: () => {
      closing = true;
      ac.abort();
    },
  };
}

console.log('avaya push benchmark');
console.log(machineLine());
console.log(loadLine('the machine is shared'));
console.log(
  `hub=${bin}: hub (switchboard serve), phones (switchboard sim avaya) and this bench in three processes, all over HTTP; ${concurrency} pushes in flight (one at a time per phone)`,
);

const summary: string[] = [];
const dir = mkdtempSync(join(os.tmpdir(), 'sb-bench-avaya-'));
const key = `sbk_bench_${Math.random().toString(16).slice(2)}${Date.now()}`;
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const hub = spawnSwitchboard(
  ['serve', '-c', writeHubConfig(dir, port, key, ['avaya: { contentTtlS: 600 }'])],
  {},
  profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
);
const sims = new Set<SpawnedHub>();
let stopping = false;
let hubGone = false;
void hub.exited.then((code) => {
  hubGone = true;
  if (!stopping) console.error(`the hub exited (${code}): ${hub.stderr.slice(-5).join(' | ')}`);
});
let stream: { ready: Promise<void>; close: () => void } | undefined;

const api = hubApi(url, key);

/** Registers the simulator's phones as `<prefix>-<i>`, 16 requests in flight. */
async function register(prefix: string, phones: PhoneStateJson[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < phones.length; i = next++) {
        const p = phones[i]!;
        await api('POST', '/api/devices', {
          id: `${prefix}-${i}`,
          kind: 'avaya',
          address: p.address,
          settings: { model: p.model, extension: p.extension, mac: p.mac },
        });
      }
    }),
  );
}

// Content id → its waiter; ids displayed before their push's answer arrived wait here.
const waiting = new Map<string, () => void>();
const displayedEarly = new Set<string>();
let onStreamed: ((d: Json) => void) | undefined;

try {
  await hubReady(url);
  stream = eventStream(url, key, ['device.displayed', 'avaya.audio.streamed'], (e) => {
    if (e.type === 'avaya.audio.streamed') {
      onStreamed?.(e.data);
      return;
    }
    const ref = String(e.data.ref ?? '');
    const w = waiting.get(ref);
    if (w) w();
    else displayedEarly.add(ref);
  });
  await stream.ready;

  let round = 0;
  for (const n of [20, ...sizes]) {
    const warmUp = round++ === 0;
    const { sim, url: simUrl } = await simProcess(n, 10_000 + round * 10_000);
    sims.add(sim);
    try {
      const st = (await fetch(`${simUrl}/sim/state`).then((r) => r.json())) as { phones: PhoneStateJson[] };
      await register(`bench-${round}`, st.phones);
      const sem = new Semaphore(concurrency);
      const ack: number[] = [];
      const fetched: number[] = [];
      let failures = 0;
      let notFetched = 0;
      let acked = 0;
      const fetches: Array<Promise<void>> = [];
      const t0 = performance.now();
      // A phone's slot is released once it acknowledged the push (as the broadcast engine does); its content
      // fetch (the text on screen) is tracked apart, from the hub's `device.displayed` event on the stream.
      await Promise.all(
        st.phones.map((_, i) =>
          sem.run(async () => {
            const start = performance.now();
            let r: { ok?: boolean; data?: { contentId?: string } } | undefined;
            try {
              const res = await fetch(`${url}/api/devices/bench-${round}-${i}/actions/push_topline`, {
                method: 'POST',
                headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
                body: JSON.stringify({ text: `Bench ${n} #${i}` }),
              });
              const text = await res.text();
              if (res.status < 400) r = JSON.parse(text) as typeof r;
            } catch {
              r = undefined;
            }
            ack.push(performance.now() - start);
            const id = r?.data?.contentId;
            if (!r?.ok || !id) {
              failures++;
              return;
            }
            acked++;
            fetches.push(
              new Promise<void>((resolve) => {
                const done = () => {
                  clearTimeout(timer);
                  waiting.delete(id);
                  fetched.push(performance.now() - start);
                  resolve();
                };
                const timer = setTimeout(() => {
                  waiting.delete(id);
                  notFetched++;
                  resolve();
                }, 30_000);
                // The fetch may have happened before the push's answer arrived.
                if (displayedEarly.delete(id)) done();
                else waiting.set(id, done);
              }),
            );
          }),
        ),
      );
      const ackedAll = performance.now() - t0;
      await Promise.all(fetches);
      const total = performance.now() - t0;
      if (hubGone) throw new Error('the hub exited during the round');
      if (warmUp) continue;
      console.log(
        `top line → ${n} phones: all acknowledged after ${fmt(ackedAll)} (${((acked / ackedAll) * 1000).toFixed(0)} phones/s), all on screen after ${fmt(total)} (${((n / total) * 1000).toFixed(0)} phones/s), push failures ${failures}, not fetched ${notFetched}; load ${os.loadavg()[0]!.toFixed(1)}\n` +
          `  acknowledged per phone: p50 ${fmt(percentile(ack, 50))}  p99 ${fmt(percentile(ack, 99))}\n` +
          `  content fetched (on screen) per phone: p50 ${fmt(percentile(fetched, 50))}  p99 ${fmt(percentile(fetched, 99))}`,
      );
      summary.push(
        `SUMMARY avaya phones=${n} acked_per_s=${((acked / ackedAll) * 1000).toFixed(0)} on_screen_per_s=${((n / total) * 1000).toFixed(0)} failures=${failures} not_fetched=${notFetched}`,
      );
    } finally {
      displayedEarly.clear();
      sims.delete(sim);
      await stopProc(sim);
    }
  }

  // RTP pacing: one unicast audio push, 20 ms packets, to one phone in its own simulator process (over the API
  // too); the phone's receive stats are read from the simulator's /sim/state.
  const { sim, url: simUrl } = await simProcess(1, 9000);
  sims.add(sim);
  const st = (await fetch(`${simUrl}/sim/state`).then((r) => r.json())) as { phones: PhoneStateJson[] };
  await register('bench-audio', st.phones);
  const repeat = Math.max(1, Math.round(audioSeconds / 1.5));
  const streamed = new Promise<Json>((resolve) => {
    onStreamed = resolve;
  });
  const r = await api<{ ok: boolean; message: string; data: { seconds: number } }>(
    'POST',
    '/api/devices/bench-audio-0/actions/push_audio',
    { tone: 'alert', repeat, packetsize: 20, mode: 'barge' },
  );
  if (!r.ok) throw new Error(`push_audio failed: ${r.message}`);
  const rep = await Promise.race([
    streamed,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('no avaya.audio.streamed event')), (r.data.seconds + 30) * 1000),
    ),
  ]);
  await new Promise((res) => setTimeout(res, 200));
  const a = ((await fetch(`${simUrl}/sim/state`).then((res) => res.json())) as { phones: PhoneStateJson[] })
    .phones[0]!.audio!;
  console.log(
    `RTP pacing, one audio push over the API (${Number(r.data.seconds).toFixed(1)} s, 20 ms packets, ${rep.packets} packets; hub=${bin}, phone in its own simulator process):\n` +
      `  sender: sent ${rep.sent}, lateness vs schedule p50 ${fmt(Number(rep.latenessP50Ms))} p99 ${fmt(Number(rep.latenessP99Ms))} max ${fmt(Number(rep.latenessMaxMs))}, inter-departure jitter ${fmt(Number(rep.jitterMs))}\n` +
      `  phone: received ${a.packets}, sequence errors ${a.sequenceErrors}, timestamp errors ${a.timestampErrors}, RFC 3550 jitter ${fmt(a.jitterMs)}, max gap ${fmt(a.maxGapMs)}`,
  );
} finally {
  stopping = true;
  stream?.close();
  await Promise.all([...sims].map(stopProc));
  await stopProc(hub);
  rmSync(dir, { recursive: true, force: true });
}
for (const line of summary) console.log(line);
