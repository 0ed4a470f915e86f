/**
 * PubSub relay benchmark: publish→delivery throughput and latency (p50/p99) with 1, 100 and 1,000
 * concurrent long-polling subscribers, and server memory per idle long-poll at 10,000 connections —
 * against Switchboard (`switchboard serve`, a child process) and Nchan (nginx + Debian's
 * libnginx-mod-nchan, memory store, one worker), same client code, printed side by side.
 *
 *   npm run bench -- pubsub [--quick] [--no-nchan] [--idle 10000]
 *   npm run bench -- pubsub --store postgres [--quick]
 *
 * `--store postgres`: the same throughput runs against Switchboard on its embedded SQLite and on
 * PostgreSQL (a throw-away cluster from Debian's binaries, durable settings: fsync on), in the same run,
 * side by side (no Nchan, no idle-memory run: those do not depend on the store). The hub selects the
 * PostgreSQL PubSub store through the internal SWITCHBOARD_INTERNAL_PUBSUB_POSTGRES_URL option.
 *
 * Pattern: each subscriber long-polls its own queue/channel in a loop; one publisher process keeps 64
 * publishes in flight, spread round-robin over the subscribers' queues; each message carries its send
 * time and latency is measured at the subscriber (same process, same clock).
 * Semantic difference to keep in mind: Switchboard answers a poll with up to 10 messages (seed 001);
 * Nchan's long-poll answers one message per request (multipart off, its default).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpRequest } from '../src/net/http-client.js';
import { Accounts } from '../src/pubsub/accounts.js';
import { PostgresPubSubStore } from '../src/store/postgres/pubsub.js';
import { openDatabase } from '../src/store/sqlite/database.js';
import { SqlitePubSubStore } from '../src/store/sqlite/pubsub.js';
import { freePort, startPostgres } from '../test/helpers/postgres.js';
import { argString, loadLine, machineLine, percentile } from './_machine.js';
import { startNginx } from './_nginx.js';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const STORE = argString('store', 'sqlite');
if (STORE !== 'sqlite' && STORE !== 'postgres') {
  console.error(`--store must be sqlite or postgres, not ${STORE}`);
  process.exit(2);
}
const NCHAN = !args.includes('--no-nchan');
const idleIdx = args.indexOf('--idle');
const IDLE = idleIdx >= 0 ? Number(args[idleIdx + 1]) : QUICK ? 2000 : 10_000;
const SUBSCRIBERS = QUICK ? [1, 100] : [1, 100, 1000];
const MESSAGES: Record<number, number> = QUICK
  ? { 1: 1000, 100: 2000, 1000: 3000 }
  : { 1: 3000, 100: 6000, 1000: 6000 };
const IN_FLIGHT = 64;
const ROOT = fileURLToPath(new URL('../', import.meta.url));

function rssKiB(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      sum += m ? Number(m[1]) : 0;
    } catch {
      /* gone */
    }
  }
  return sum;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await httpRequest({ url, timeoutMs: 2000 });
      return;
    } catch {
      if (Date.now() > until) throw new Error(`${url} did not come up`);
      await sleep(200);
    }
  }
}

interface Target {
  name: string;
  base: string;
  pids(): number[];
  /** Subscriber loop for queue `run`/i; calls onMessage(sentAt) per message; runs until stopped. */
  subscribe(
    run: string,
    i: number,
    agent: http.Agent,
    onMessage: (sentAt: number) => void,
    stopped: () => boolean,
  ): Promise<void>;
  publish(run: string, i: number, body: string, agent: http.Agent): Promise<void>;
  /** One idle long-poll (never answered during the measurement). */
  idle(i: number, agent: http.Agent): http.ClientRequest;
  stop(): Promise<void>;
}

function request(
  agent: http.Agent,
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { ...(opts.headers ?? {}) };
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = http.request(url, { method: opts.method ?? 'GET', agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function startSwitchboard(pgUrl?: string): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-bench-pubsub-'));
  let acc: { accountSid: string; authToken: string };
  if (pgUrl) {
    const store = new PostgresPubSubStore({ url: pgUrl });
    acc = await new Accounts(store).create('bench');
    await store.close();
  } else {
    const db = openDatabase({ dataDir });
    acc = await new Accounts(new SqlitePubSubStore(db)).create('bench');
    db.close();
  }
  const port = await freePort();
  const useDist = existsSync(join(ROOT, 'dist/cli/main.js')) && process.env.SWITCHBOARD_BIN !== 'tsx';
  const cmd = useDist ? [join(ROOT, 'dist/cli/main.js')] : ['--import', 'tsx', join(ROOT, 'src/cli/main.ts')];
  // PUBSUB_BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server.
  const nodeArgs = (process.env.PUBSUB_BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(
    process.execPath,
    [
      ...nodeArgs,
      ...cmd,
      'serve',
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--log-level',
      'warn',
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        SWITCHBOARD_PUBSUB_MAX_SESSIONS_PER_ACCOUNT: '100000',
        SWITCHBOARD_PUBSUB_MAX_POLLS_PER_SESSION: '100000',
        SWITCHBOARD_PUBSUB_MAX_QUEUES_PER_ACCOUNT: '100000',
        SWITCHBOARD_PUBSUB_DEDUP_WINDOW: '0',
        ...(pgUrl ? { SWITCHBOARD_STORE_URL: pgUrl } : {}),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const base = `http://127.0.0.1:${port}`;
  await waitHttp(`${base}/healthz`);
  const agent = new http.Agent({ keepAlive: true });
  const auth = `Basic ${Buffer.from(`${acc.accountSid}:${acc.authToken}`).toString('base64')}`;
  const session = (await request(agent, `${base}/auth?ttl=2h`, { headers: { authorization: auth } })).body;
  agent.destroy();
  const sid = acc.accountSid;
  return {
    name: pgUrl ? 'SB/Postgres' : STORE === 'postgres' ? 'SB/SQLite' : 'Switchboard',
    base,
    pids: () => (proc.pid ? [proc.pid] : []),
    async subscribe(run, i, ag, onMessage, stopped) {
      while (!stopped()) {
        let r: { status: number; body: string };
        try {
          r = await request(ag, `${base}/${sid}/${run}/${i}?timeout=30s&session=${session}`);
        } catch {
          return;
        }
        if (r.status !== 200) throw new Error(`subscribe HTTP ${r.status}: ${r.body.slice(0, 200)}`);
        for (const m of JSON.parse(r.body) as Array<{ FormParams: { t: string } }>)
          onMessage(Number(m.FormParams.t));
      }
    },
    async publish(run, i, body, ag) {
      const r = await request(ag, `${base}/${sid}/${run}/${i}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      if (r.status !== 200) throw new Error(`publish HTTP ${r.status}: ${r.body.slice(0, 200)}`);
    },
    idle(i, ag) {
      const req = http.get(`${base}/${sid}/idle/${i}?timeout=5m&session=${session}`, { agent: ag }, (res) =>
        res.resume(),
      );
      req.on('error', () => {});
      return req;
    },
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function ensureNchan(): string | undefined {
  const mod = '/usr/lib/nginx/modules/ngx_nchan_module.so';
  if (existsSync('/usr/sbin/nginx') && existsSync(mod)) return mod;
  process.stdout.write('installing nginx-light + libnginx-mod-nchan with apt-get …\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const u = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const i = spawnSync('apt-get', ['install', '-y', '-qq', 'nginx-light', 'libnginx-mod-nchan'], {
    stdio: 'inherit',
    env,
  });
  if (u.status !== 0 || i.status !== 0 || !existsSync(mod)) return undefined;
  return mod;
}

async function startNchan(mod: string): Promise<Target> {
  const nginx = await startNginx({
    top: `load_module ${mod};\nworker_rlimit_nofile 40000;`,
    events: 'worker_connections 30000;',
    http: 'keepalive_requests 1000000;\n  keepalive_timeout 120s;',
    server: `location ~ ^/pub/(\\w+)$ {
      nchan_publisher;
      nchan_channel_id $1;
      nchan_message_buffer_length 10000;
      nchan_message_timeout 7d;
    }
    location ~ ^/sub/(\\w+)$ {
      nchan_subscriber longpoll;
      nchan_channel_id $1;
      nchan_subscriber_timeout 30s;
      nchan_subscriber_first_message oldest;
    }`,
  });
  const { proc, url: base } = nginx;
  const pids = () => {
    const out: number[] = [];
    if (proc.pid) out.push(proc.pid);
    try {
      for (const p of execFileSync('pgrep', ['-P', String(proc.pid)], { encoding: 'utf8' }).split('\n'))
        if (p.trim()) out.push(Number(p));
    } catch {
      /* no workers */
    }
    return out;
  };
  return {
    name: 'Nchan',
    base,
    pids,
    async subscribe(run, i, ag, onMessage, stopped) {
      let lm: string | undefined;
      let etag: string | undefined;
      while (!stopped()) {
        const headers: Record<string, string> = {};
        if (lm) headers['if-modified-since'] = lm;
        if (etag) headers['if-none-match'] = etag;
        let r: { status: number; headers: http.IncomingHttpHeaders; body: string };
        try {
          r = await request(ag, `${base}/sub/${run}c${i}`, { headers });
        } catch {
          return;
        }
        if (r.status === 200) {
          lm = r.headers['last-modified'];
          etag = r.headers.etag;
          onMessage(Number(new URLSearchParams(r.body).get('t')));
        } else if (r.status !== 408 && r.status !== 304) throw new Error(`nchan subscribe HTTP ${r.status}`);
      }
    },
    async publish(run, i, body, ag) {
      const r = await request(ag, `${base}/pub/${run}c${i}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      if (r.status !== 201 && r.status !== 202) throw new Error(`nchan publish HTTP ${r.status}`);
    },
    idle(i, ag) {
      const req = http.get(`${base}/sub/idle${i}`, { agent: ag }, (res) => res.resume());
      req.on('error', () => {});
      return req;
    },
    stop: () => nginx.stop(),
  };
}

interface RunResult {
  subscribers: number;
  messages: number;
  delivered: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

async function throughput(t: Target, n: number, messages: number): Promise<RunResult> {
  const subAgent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const pubAgent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const lat: number[] = [];
  let stopped = false;
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => {
    resolveAll = r;
  });
  const onMessage = (sentAt: number) => {
    if (!Number.isFinite(sentAt)) return;
    lat.push(performance.now() - sentAt);
    if (lat.length >= messages) resolveAll();
  };
  const run = `r${n}x${Date.now()}`;
  const subs = Array.from({ length: n }, (_, i) =>
    t
      .subscribe(run, i, subAgent, onMessage, () => stopped)
      .catch((e) => console.error(`${t.name} subscriber: ${(e as Error).message}`)),
  );
  await sleep(Math.min(5000, 500 + n * 3));
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < messages) {
      const k = next++;
      await t.publish(run, k % n, `t=${performance.now()}&k=${k}`, pubAgent);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  await Promise.race([all, sleep(60_000)]);
  const seconds = (performance.now() - start) / 1000;
  stopped = true;
  subAgent.destroy();
  pubAgent.destroy();
  await Promise.race([Promise.all(subs), sleep(2000)]);
  return {
    subscribers: n,
    messages,
    delivered: lat.length,
    seconds,
    perSecond: lat.length / seconds,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
  };
}

async function idleMemory(
  t: Target,
  count: number,
): Promise<{ count: number; kibPer: number; baseKiB: number; loadedKiB: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  await sleep(1000);
  const before = rssKiB(t.pids());
  const reqs: http.ClientRequest[] = [];
  for (let i = 0; i < count; i++) {
    reqs.push(t.idle(i, agent));
    if (i % 250 === 249) await sleep(30);
  }
  await sleep(4000);
  const after = rssKiB(t.pids());
  for (const r of reqs) r.destroy();
  agent.destroy();
  await sleep(1500);
  return { count, kibPer: (after - before) / count, baseKiB: before, loadedKiB: after };
}

async function measure(
  t: Target,
): Promise<{ runs: RunResult[]; idle: Awaited<ReturnType<typeof idleMemory>> }> {
  const runs = await throughputRuns(t);
  const idle = await idleMemory(t, IDLE);
  process.stdout.write(
    `  ${t.name.padEnd(11)} ${idle.count} idle long-polls: RSS ${idle.baseKiB} → ${idle.loadedKiB} KiB = ${idle.kibPer.toFixed(2)} KiB each\n`,
  );
  return { runs, idle };
}

async function throughputRuns(t: Target): Promise<RunResult[]> {
  const runs: RunResult[] = [];
  for (const n of SUBSCRIBERS) {
    const r = await throughput(t, n, MESSAGES[n]!);
    runs.push(r);
    process.stdout.write(
      `  ${t.name.padEnd(11)} ${String(n).padStart(5)} subs: ${r.delivered}/${r.messages} msgs in ${r.seconds.toFixed(2)} s = ${r.perSecond.toFixed(0)} msg/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms\n`,
    );
  }
  return runs;
}

/** `--store postgres`: SQLite and PostgreSQL behind the same hub code, in one run. */
async function compareStores(): Promise<void> {
  process.stdout.write(
    `PubSub relay benchmark: SQLite vs PostgreSQL store\n${machineLine()}\n${loadLine()}\n`,
  );
  process.stdout.write(
    `pattern: 1 publisher with ${IN_FLIGHT} in flight, N subscribers long-polling their own queue; one hub; client, hub and PostgreSQL on 127.0.0.1\n\n`,
  );
  const cluster = await startPostgres({ durable: true });
  let sqlite: RunResult[];
  let postgres: RunResult[];
  try {
    const a = await startSwitchboard();
    try {
      sqlite = await throughputRuns(a);
    } finally {
      await a.stop();
    }
    const b = await startSwitchboard(cluster.url);
    try {
      postgres = await throughputRuns(b);
    } finally {
      await b.stop();
    }
  } finally {
    await cluster.stop();
  }
  process.stdout.write(
    '\nsubscribers |    SQLite msg/s  p50 ms  p99 ms | PostgreSQL msg/s  p50 ms  p99 ms | PG/SQLite msg/s\n',
  );
  for (const [i, r] of sqlite.entries()) {
    const p = postgres[i]!;
    process.stdout.write(
      `${String(r.subscribers).padStart(11)} | ${r.perSecond.toFixed(0).padStart(15)} ${r.p50.toFixed(1).padStart(7)} ${r.p99.toFixed(1).padStart(7)} | ` +
        `${p.perSecond.toFixed(0).padStart(16)} ${p.p50.toFixed(1).padStart(7)} ${p.p99.toFixed(1).padStart(7)} | ${(p.perSecond / r.perSecond).toFixed(2).padStart(15)}\n`,
    );
  }
  const s100 = sqlite.find((r) => r.subscribers === 100) ?? sqlite[sqlite.length - 1]!;
  const p100 = postgres.find((r) => r.subscribers === s100.subscribers)!;
  process.stdout.write(
    `SUMMARY pubsub --store postgres, ${s100.subscribers} subscribers: SQLite ${s100.perSecond.toFixed(0)} msg/s (p50 ${s100.p50.toFixed(1)} ms, p99 ${s100.p99.toFixed(1)} ms); ` +
      `PostgreSQL ${p100.perSecond.toFixed(0)} msg/s (p50 ${p100.p50.toFixed(1)} ms, p99 ${p100.p99.toFixed(1)} ms); PostgreSQL/SQLite ${(p100.perSecond / s100.perSecond).toFixed(2)}× throughput\n`,
  );
  process.stdout.write(
    'notes: both commit every publish before answering (SQLite WAL synchronous=NORMAL; PostgreSQL fsync on, synchronous_commit on) and every delivery lease; PostgreSQL also NOTIFYs each publish for other hubs.\n',
  );
}

async function main(): Promise<void> {
  if (STORE === 'postgres') return compareStores();
  process.stdout.write(`PubSub relay benchmark\n${machineLine()}\n`);
  process.stdout.write(
    `pattern: 1 publisher with ${IN_FLIGHT} in flight, N subscribers long-polling their own queue; client and servers on 127.0.0.1\n\n`,
  );
  const sb = await startSwitchboard();
  let ours: Awaited<ReturnType<typeof measure>>;
  try {
    ours = await measure(sb);
  } finally {
    await sb.stop();
  }
  let theirs: Awaited<ReturnType<typeof measure>> | undefined;
  if (NCHAN) {
    const mod = ensureNchan();
    if (!mod) process.stdout.write('Nchan unavailable (apt-get failed); skipping the comparison\n');
    else {
      const nc = await startNchan(mod);
      try {
        theirs = await measure(nc);
      } finally {
        await nc.stop();
      }
    }
  }
  process.stdout.write(
    '\nsubscribers | Switchboard msg/s  p50 ms  p99 ms |  Nchan msg/s  p50 ms  p99 ms | ratio SB/Nchan: msg/s  p50  p99\n',
  );
  for (const [i, r] of ours.runs.entries()) {
    const n = theirs?.runs[i];
    const ratio = (a: number, b: number | undefined) =>
      b && Number.isFinite(b) ? (a / b).toFixed(2) : 'n/a';
    process.stdout.write(
      `${String(r.subscribers).padStart(11)} | ${r.perSecond.toFixed(0).padStart(17)} ${r.p50.toFixed(1).padStart(7)} ${r.p99.toFixed(1).padStart(7)} | ` +
        `${(n ? n.perSecond.toFixed(0) : '-').padStart(12)} ${(n ? n.p50.toFixed(1) : '-').padStart(7)} ${(n ? n.p99.toFixed(1) : '-').padStart(7)} | ` +
        `${ratio(r.perSecond, n?.perSecond).padStart(20)} ${ratio(r.p50, n?.p50).padStart(4)} ${ratio(r.p99, n?.p99).padStart(4)}\n`,
    );
  }
  const ti = theirs?.idle;
  process.stdout.write(
    `idle long-poll memory (${ours.idle.count} connections): Switchboard ${ours.idle.kibPer.toFixed(2)} KiB each` +
      (ti
        ? `, Nchan ${ti.kibPer.toFixed(2)} KiB each, ratio ${(ours.idle.kibPer / ti.kibPer).toFixed(2)}\n`
        : '\n'),
  );
  process.stdout.write(
    'notes: Switchboard stores every publish durably in SQLite (WAL) before answering; Nchan keeps messages in memory only.\n',
  );
  // One machine-readable line: the worst throughput ratio against Nchan (the goal is >= 1.0), or n/a.
  const ratios = ours.runs
    .map((r, i) => (theirs?.runs[i] ? r.perSecond / theirs.runs[i]!.perSecond : Number.NaN))
    .filter((x) => Number.isFinite(x));
  process.stdout.write(
    `SUMMARY pubsub ratio_vs_nchan_min=${ratios.length ? Math.min(...ratios).toFixed(2) : 'n/a'} ` +
      ours.runs.map((r) => `msg_per_s_${r.subscribers}=${r.perSecond.toFixed(0)}`).join(' ') +
      ` load1=${loadavg()[0]!.toFixed(1)}\n`,
  );
}

await main();
