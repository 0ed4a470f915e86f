/**
 * Issue 13, attack 3: slow bodies and idle long-polls must not starve the hub. Starts the real hub
 * (`dist/switchboard.mjs serve`, its own process), then from this process opens `--slow` connections that
 * send a request head and trickle a body one byte every 10 s (spread over 127.0.0.2–5, under the
 * per-address cap) and `--polls` idle PubSub long-polls (127.0.0.6–9). While they are open it times
 * `--probes` sequential requests each to /healthz, the API (GET /api/devices) and a PubSub publish, against
 * the same figures measured before the attack. Then it waits for http.requestTimeoutMs and counts how many
 * slow bodies the hub cut (408 or closed) and how many long-polls are still open (they must be).
 *
 *   npm run build && npm run bench -- slow-clients [--slow 1000] [--polls 1000] [--probes 200] [--request-timeout-ms 10000]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argNumber, loadLine, machineLine, percentile } from './_machine.js';

const SLOW = Math.floor(argNumber('slow', 1000));
const POLLS = Math.floor(argNumber('polls', 1000));
const PROBES = Math.floor(argNumber('probes', 200));
const REQUEST_TIMEOUT_MS = Math.floor(argNumber('request-timeout-ms', 10_000));
const main = join(process.cwd(), 'dist/switchboard.mjs');
if (!existsSync(main)) {
  console.error('dist/switchboard.mjs not found: run `npm run build` first');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'sb-bench-slow-'));
const cli = (args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args, '--data-dir', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`switchboard ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, string>;
};
const apiKey = cli(['keys', 'create', '--name', 'bench', '--json']).key!;
const account = cli(['pubsub', 'accounts', 'create', '--name', 'bench', '--json']);
const sid = account.accountSid!;

const hub = spawn(
  process.execPath,
  [main, 'serve', '--data-dir', dir, '--port', '0', '--host', '127.0.0.1', '--log-level', 'info'],
  {
    env: {
      ...process.env,
      SWITCHBOARD_HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      SWITCHBOARD_HTTP_HEADERS_TIMEOUT_MS: String(Math.min(REQUEST_TIMEOUT_MS, 10_000)),
      // One session holds all the idle long-polls (the default allows 10 per session token).
      SWITCHBOARD_PUBSUB_MAX_POLLS_PER_SESSION: String(POLLS + 10),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const base = await new Promise<string>((resolve, reject) => {
  let buf = '';
  hub.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(buf);
    if (m) resolve(m[1]!);
  });
  hub.once('exit', (code) => reject(new Error(`hub exited ${code}`)));
});
const { port } = new URL(base);

function timed(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers, agent: false, timeout: 30_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode && res.statusCode < 400 ? performance.now() - t0 : -1));
      },
    );
    req.on('error', () => resolve(-1));
    req.on('timeout', () => req.destroy());
    if (body !== undefined) req.write(body);
    req.end();
  });
}
const session = await new Promise<string>((resolve, reject) => {
  const req = request(
    {
      host: '127.0.0.1',
      port,
      path: '/auth?ttl=1h',
      headers: { authorization: `Basic ${Buffer.from(`${sid}:${account.authToken}`).toString('base64')}` },
    },
    (res) => {
      let t = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        t += d;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(t.trim()) : reject(new Error(`auth ${res.statusCode}`)),
      );
    },
  );
  req.on('error', reject);
  req.end();
});

interface Probe {
  name: string;
  run: () => Promise<number>;
}
const probes: Probe[] = [
  { name: 'healthz', run: () => timed('GET', '/healthz', {}) },
  { name: 'api', run: () => timed('GET', '/api/devices', { authorization: `Bearer ${apiKey}` }) },
  {
    name: 'publish',
    run: () =>
      timed('POST', `/${sid}/bench/probe`, { 'content-type': 'application/x-www-form-urlencoded' }, 'x=1'),
  },
];
async function measure(): Promise<Record<string, { p50: number; p99: number; errors: number }>> {
  const out: Record<string, { p50: number; p99: number; errors: number }> = {};
  for (const p of probes) {
    const ms: number[] = [];
    let errors = 0;
    for (let i = 0; i < PROBES; i++) {
      const t = await p.run();
      if (t < 0) errors++;
      else ms.push(t);
    }
    out[p.name] = { p50: percentile(ms, 50), p99: percentile(ms, 99), errors };
  }
  return out;
}
const fmt = (r: Record<string, { p50: number; p99: number; errors: number }>) =>
  Object.entries(r)
    .map(([k, v]) => `${k} p50 ${v.p50.toFixed(1)} ms p99 ${v.p99.toFixed(1)} ms errors ${v.errors}`)
    .join('; ');

console.log(machineLine());
console.log(loadLine());
console.log(
  `hub: ${base} (own process), http.requestTimeoutMs ${REQUEST_TIMEOUT_MS}; ${SLOW} slow bodies, ${POLLS} idle long-polls, ${PROBES} probes each`,
);
const before = await measure();
console.log(`before the attack: ${fmt(before)}`);

// The attack. Connections are opened in batches so the accept queue is not the bottleneck measured.
const slow: Array<{ socket: Socket; cut: boolean; answered408: boolean }> = [];
const trickle = setInterval(() => {
  for (const s of slow) if (!s.socket.destroyed) s.socket.write('a');
}, 10_000);
async function openSlow(i: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port), localAddress: `127.0.0.${2 + (i % 4)}` });
    const entry = { socket, cut: false, answered408: false };
    slow.push(entry);
    socket.on('connect', () => {
      socket.write(
        `POST /api/devices HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`,
      );
      resolve();
    });
    socket.on('data', (d: Buffer) => {
      if (d.toString('latin1').startsWith('HTTP/1.1 408')) entry.answered408 = true;
    });
    socket.on('close', () => {
      entry.cut = true;
      resolve();
    });
    socket.on('error', () => {});
  });
}
const polls: Array<{ open: boolean; status: number }> = [];
function openPoll(i: number): Promise<void> {
  return new Promise((resolve) => {
    const entry = { open: true, status: 0 };
    polls.push(entry);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: `/${sid}/idle/q${i}?timeout=5m&session=${session}`,
        agent: false,
        localAddress: `127.0.0.${6 + (i % 4)}`,
      },
      (res) => {
        entry.status = res.statusCode ?? 0;
        res.resume();
        res.on('close', () => {
          entry.open = false;
        });
      },
    );
    req.on('error', () => {
      entry.open = false;
    });
    req.on('socket', (s) => s.once('connect', () => resolve()));
    req.end();
  });
}
const t0 = performance.now();
for (let i = 0; i < SLOW; i += 100)
  await Promise.all(Array.from({ length: Math.min(100, SLOW - i) }, (_, k) => openSlow(i + k)));
for (let i = 0; i < POLLS; i += 100)
  await Promise.all(Array.from({ length: Math.min(100, POLLS - i) }, (_, k) => openPoll(i + k)));
console.log(
  `opened ${slow.length} slow bodies and ${polls.length} long-polls in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
const openAtStart = slow.filter((s) => !s.cut).length;
const during = await measure();
const openAtEnd = slow.filter((s) => !s.cut).length;
console.log(
  `during the attack (slow bodies open: ${openAtStart} when the probes began, ${openAtEnd} when they ended): ${fmt(during)}`,
);

// Wait past requestTimeoutMs (+ the 1 s check interval and some slack): every slow body must be cut.
const deadline = performance.now() + REQUEST_TIMEOUT_MS + 5_000;
while (performance.now() < deadline && slow.some((s) => !s.cut)) await new Promise((r) => setTimeout(r, 250));
const cut = slow.filter((s) => s.cut).length;
const with408 = slow.filter((s) => s.answered408).length;
const pollsOpen = polls.filter((p) => p.open).length;
const pollStatus = new Map<number, number>();
for (const p of polls) if (!p.open) pollStatus.set(p.status, (pollStatus.get(p.status) ?? 0) + 1);
if (pollStatus.size > 0)
  console.log(
    `long-polls that ended, by status: ${[...pollStatus].map(([s, n]) => `${s || 'no answer'}: ${n}`).join(', ')}`,
  );
console.log(
  `after ${((REQUEST_TIMEOUT_MS + 5000) / 1000).toFixed(0)} s: ${cut}/${slow.length} slow bodies cut by the hub (${with408} with 408), ${pollsOpen}/${polls.length} long-polls still open (not affected)`,
);
clearInterval(trickle);
for (const s of slow) s.socket.destroy();
const worstP99 = Math.max(...Object.values(during).map((v) => v.p99));
const errors = Object.values(during).reduce((n, v) => n + v.errors, 0);
console.log(
  `SUMMARY slow-clients slow=${SLOW} polls=${POLLS} healthz_p99_ms=${during.healthz!.p99.toFixed(1)} api_p99_ms=${during.api!.p99.toFixed(1)} publish_p99_ms=${during.publish!.p99.toFixed(1)} worst_p99_ms=${worstP99.toFixed(1)} errors=${errors} slow_cut=${cut} polls_open=${pollsOpen}`,
);
hub.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
process.exit(0);
