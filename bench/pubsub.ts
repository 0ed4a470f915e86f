/**
 * PubSub relay benchmark: publish→delivery throughput and latency (p50/p99) with 1, 100 and 1,000
 * concurrent long-polling subscribers, and server memory per idle long-poll at 10,000 connections —
 * against Switchboard (`switchboard serve`, a child process) and Nchan (nginx + Debian's
 * libnginx-mod-nchan, memory store, one worker), same client code, printed side by side.
 *
 *   npm run bench -- pubsub [--quick] [--no-nchan] [--idle 10000] [--clients 1]
 *   npm run bench -- pubsub --store postgres [--quick] [--clients 1]
 *   npm run bench -- pubsub --cluster [--quick] [--rounds 3] [--clients 2] [--subscribers 100,1000]
 *
 * `--store postgres`: the same throughput runs against Switchboard on its embedded SQLite and on
 * PostgreSQL (a throw-away cluster from Debian's binaries, durable settings: fsync on), in the same run,
 * side by side (no Nchan, no idle-memory run: those do not depend on the store).
 *
 * `--cluster`: in one run, one hub on SQLite, one hub on PostgreSQL, three hubs on one PostgreSQL database,
 * and three nginx instances with Nchan on one Redis (Debian's redis-server, started here on 127.0.0.1 in a
 * throw-away directory) as the distributed anchor. Subscriber i long-polls server i mod 3, and every message
 * is published on another server than the one its subscriber polls, so each message crosses servers
 * (LISTEN/NOTIFY between hubs, Redis between nginx instances). All servers are started first; the targets
 * then take turns, `--rounds` times, and the medians are reported (a fairer comparison when the machine's
 * load drifts).
 *
 * Pattern: each subscriber long-polls its own queue/channel in a loop; publishers keep 64 publishes in
 * flight, spread round-robin over the subscribers' queues. The load runs in `--clients` separate processes
 * (bench/_pubsub-load.ts), each subscribing to and publishing on its own share of the queues, so each
 * message's latency is measured on one clock. Semantic difference to keep in mind: Switchboard answers a
 * poll with up to 10 messages (seed 001); Nchan's long-poll answers one message per request (multipart
 * off, its default).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { httpRequest } from '../src/net/http-client.js';
import { Accounts } from '../src/pubsub/accounts.js';
import { PostgresPubSubStore } from '../src/store/postgres/pubsub.js';
import { openDatabase } from '../src/store/sqlite/database.js';
import { SqlitePubSubStore } from '../src/store/sqlite/pubsub.js';
import { createDatabase, freePort, type PostgresCluster, startPostgres } from '../test/helpers/postgres.js';
import { argNumber, argString, loadLine, machineLine, percentile } from './_machine.js';
import { type RunningNginx, startNginx } from './_nginx.js';
import { pgStatsPrint, pgStatsReset, pgStatsSettings } from './_pgstats.js';
import { cpuMs, postgresPids, withChildren } from './_proc.js';
import { type PubSubTargetSpec, switchboardSession } from './_pubsub-client.js';
import type { LoadJob, LoadResult } from './_pubsub-load.js';

const args = process.argv.slice(2);
if (args.includes('--help')) {
  process.stdout.write(
    [
      'npm run bench -- pubsub [options]',
      '  (default)            Switchboard (one hub, SQLite) against Nchan (memory store, one worker), plus idle long-poll memory',
      '  --store postgres     one hub on SQLite against one hub on PostgreSQL (durable throw-away cluster)',
      '  --cluster            one hub SQLite, one hub PostgreSQL, three hubs on one PostgreSQL, and three nginx+Nchan on one Redis',
      '  --quick              fewer subscribers and messages',
      '  --rounds N           --cluster: each target runs N times, in turns; medians are reported (default 1 with --quick, else 3)',
      '  --subscribers A,B    --cluster: subscriber counts (default 100, or 100,1000 without --quick)',
      '  --clients N          load processes (default 2 with --cluster, else 1)',
      '  --pg-stats N         --cluster: after each PostgreSQL run, the N statements that took PostgreSQL the most time (pg_stat_statements)',
      '  --messages N         messages per run (default 1000-6000 by subscriber count)',
      '  --warmup N           messages sent to each target before it is measured, not measured (default 1000; 0: none)',
      '  --no-nchan           default mode: leave Nchan out',
      '  --idle N             default mode: idle long-polls for the memory figure (default 10000, 2000 with --quick)',
      'env: PUBSUB_BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the hubs',
      "     PUBSUB_BENCH_HUB_LOG_DIR=/tmp/logs keeps each hub's log (warn and above) in that folder",
      '',
    ].join('\n'),
  );
  process.exit(0);
}
const QUICK = args.includes('--quick');
const CLUSTER = args.includes('--cluster');
const PG_STATS = Math.max(0, Math.floor(Number(argString('pg-stats', '0')) || 0));
const STORE = argString('store', 'sqlite');
if (STORE !== 'sqlite' && STORE !== 'postgres') {
  console.error(`--store must be sqlite or postgres, not ${STORE}`);
  process.exit(2);
}
const NCHAN = !args.includes('--no-nchan');
const IDLE = argNumber('idle', QUICK ? 2000 : 10_000);
const CLIENTS = Math.floor(argNumber('clients', CLUSTER ? 2 : 1));
const ROUNDS = Math.floor(argNumber('rounds', QUICK ? 1 : 3));
const SUBSCRIBERS = CLUSTER
  ? argString('subscribers', QUICK ? '100' : '100,1000')
      .split(',')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0)
  : QUICK
    ? [1, 100]
    : [1, 100, 1000];
const MESSAGES_ARG = Math.floor(argNumber('messages', 0));
/** Messages per run: `--messages`, else by subscriber count. */
function MESSAGES(n: number): number {
  if (MESSAGES_ARG) return MESSAGES_ARG;
  if (QUICK) return n === 1 ? 1000 : n === 100 ? 2000 : 3000;
  return n === 1 ? 3000 : 6000;
}
const IN_FLIGHT = 64;
/**
 * Messages sent to every target (Nchan too) before its measured runs, not measured: a freshly started hub
 * compiles its hot paths (V8's JIT, the route schemas it compiles on first use) during its first thousand
 * messages; a hub in service has done so long ago. `--warmup 0` measures from the first message.
 */
const WARMUP = Math.max(0, Math.floor(argNumber('warmup', 1000)));
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
  spec: PubSubTargetSpec;
  /** The server processes (hubs, or nginx master and workers). */
  pids(): number[];
  /** Processes of the shared backend (PostgreSQL, Redis), for its CPU share. */
  backendPids(): number[];
  /** One idle long-poll (never answered during the measurement). */
  idle(i: number, agent: http.Agent): http.ClientRequest;
  stop(): Promise<void>;
}

/**
 * `hubs` real `switchboard serve` processes on SQLite (one hub) or on one PostgreSQL database (`pg`).
 */
async function startSwitchboard(
  name: string,
  pg?: { url: string; cluster: PostgresCluster },
  hubs = 1,
): Promise<Target> {
  const dirs = Array.from({ length: hubs }, () => mkdtempSync(join(tmpdir(), 'sb-bench-pubsub-')));
  let acc: { accountSid: string; authToken: string };
  if (pg) {
    const store = new PostgresPubSubStore({ url: pg.url });
    acc = await new Accounts(store).create('bench');
    await store.close();
  } else {
    if (hubs !== 1) throw new Error('several hubs need PostgreSQL');
    const db = openDatabase({ dataDir: dirs[0]! });
    acc = await new Accounts(new SqlitePubSubStore(db)).create('bench');
    db.close();
  }
  const useDist = existsSync(join(ROOT, 'dist/switchboard.mjs')) && process.env.SWITCHBOARD_BIN !== 'tsx';
  const cmd = useDist
    ? [join(ROOT, 'dist/switchboard.mjs')]
    : ['--import', 'tsx', join(ROOT, 'src/cli/main.ts')];
  // PUBSUB_BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server.
  const nodeArgs = (process.env.PUBSUB_BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const procs: ChildProcess[] = [];
  const bases: string[] = [];
  // PUBSUB_BENCH_HUB_LOG_DIR=/tmp/logs keeps each hub's log (warn and above) as <dir>/<target>-<n>.log.
  const logDir = process.env.PUBSUB_BENCH_HUB_LOG_DIR;
  for (const [n, dataDir] of dirs.entries()) {
    const port = await freePort();
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
          // Every subscriber and idle long-poll comes from 127.0.0.1: the per-address cap (512 by default,
          // a LAN safeguard) would close the 1,000-subscriber run's and the idle run's connections.
          SWITCHBOARD_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '100000',
          ...(pg ? { SWITCHBOARD_STORE_URL: pg.url } : {}),
        },
        stdio: ['ignore', logDir ? 'pipe' : 'ignore', 'inherit'],
      },
    );
    if (logDir) {
      mkdirSync(logDir, { recursive: true });
      proc.stdout!.pipe(
        createWriteStream(join(logDir, `${name.replace(/\W+/g, '_')}-${n}.log`), { flags: 'a' }),
      );
    }
    procs.push(proc);
    bases.push(`http://127.0.0.1:${port}`);
  }
  await Promise.all(bases.map((b) => waitHttp(`${b}/healthz`, 120_000)));
  const agent = new http.Agent({ keepAlive: true });
  const sid = acc.accountSid;
  // The idle-memory run's polls share one session.
  const idleSession = await switchboardSession(agent, bases[0]!, sid, acc.authToken);
  return {
    spec: { kind: 'switchboard', name, bases, sid, authToken: acc.authToken },
    pids: () => procs.flatMap((p) => (p.pid ? [p.pid] : [])),
    backendPids: () => (pg ? postgresPids(pg.cluster) : []),
    idle(i, ag) {
      const req = http.get(
        `${bases[0]}/${sid}/idle/${i}?timeout=5m&session=${idleSession}`,
        { agent: ag },
        (res) => res.resume(),
      );
      req.on('error', () => {});
      return req;
    },
    async stop() {
      agent.destroy();
      for (const proc of procs) {
        if (proc.exitCode === null && proc.signalCode === null) {
          proc.kill('SIGTERM');
          await new Promise((r) => proc.once('exit', r));
        }
      }
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
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

/** A throw-away redis-server on 127.0.0.1 (no persistence: Nchan's usual deployment keeps Redis in memory). */
async function startRedis(): Promise<{ url: string; pid(): number[]; stop(): Promise<void> }> {
  if (!existsSync('/usr/bin/redis-server'))
    throw new Error('redis-server is not installed: apt-get install redis-server');
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-redis-'));
  const port = await freePort();
  const proc = spawn(
    '/usr/bin/redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const pong = () =>
    new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.setTimeout(1000);
      s.on('connect', () => s.write('PING\r\n'));
      s.on('data', (d) => {
        resolve(d.toString().startsWith('+PONG'));
        s.destroy();
      });
      s.on('error', () => resolve(false));
      s.on('timeout', () => {
        resolve(false);
        s.destroy();
      });
    });
  const end = Date.now() + 30_000;
  while (!(await pong())) {
    if (Date.now() > end || proc.exitCode !== null) {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error('redis-server did not come up');
    }
    await sleep(100);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: () => (proc.pid ? [proc.pid] : []),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `instances` nginx+Nchan servers (one worker each), on Nchan's memory store or on one Redis. */
async function startNchan(
  mod: string,
  name: string,
  o: { instances?: number; redis?: { url: string; pid(): number[] } } = {},
): Promise<Target> {
  // Nchan 1.3's way to name a Redis server: an upstream block, and nchan_redis_pass in the locations.
  const useRedis = o.redis ? '\n      nchan_redis_pass nchan_redis;' : '';
  const servers: RunningNginx[] = [];
  for (let k = 0; k < (o.instances ?? 1); k++) {
    servers.push(
      await startNginx({
        top: `load_module ${mod};\nworker_rlimit_nofile 40000;`,
        events: 'worker_connections 30000;',
        http: `keepalive_requests 1000000;\n  keepalive_timeout 120s;${o.redis ? `\n  upstream nchan_redis { nchan_redis_server ${o.redis.url}; }` : ''}`,
        server: `location ~ ^/pub/(\\w+)$ {
      nchan_publisher;
      nchan_channel_id $1;
      nchan_message_buffer_length 10000;
      nchan_message_timeout 7d;${useRedis}
    }
    location ~ ^/sub/(\\w+)$ {
      nchan_subscriber longpoll;
      nchan_channel_id $1;
      nchan_subscriber_timeout 30s;
      nchan_subscriber_first_message oldest;${useRedis}
    }`,
      }),
    );
  }
  return {
    spec: { kind: 'nchan', name, bases: servers.map((s) => s.url) },
    pids: () => servers.flatMap((s) => withChildren(s.proc.pid)),
    backendPids: () => o.redis?.pid() ?? [],
    idle(i, ag) {
      const req = http.get(`${servers[0]!.url}/sub/idle${i}`, { agent: ag }, (res) => res.resume());
      req.on('error', () => {});
      return req;
    },
    async stop() {
      for (const s of servers) await s.stop();
    },
  };
}

interface RunResult {
  subscribers: number;
  messages: number;
  delivered: number;
  duplicates: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** Server CPU (all hubs or nginx processes) and backend CPU (PostgreSQL, Redis) per delivered message, µs. */
  serverUsPerMsg: number;
  backendUsPerMsg: number;
  /** The load processes' CPU per delivered message, µs. */
  loadUsPerMsg: number;
  /** Share of the machine's CPU time (all cores, from /proc/stat) that was busy during the run, 0..1. */
  machineBusy: number;
}

/** Busy and total jiffies of all cores (/proc/stat's first line): busy = everything but idle and iowait. */
function machineJiffies(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

/** Starts one load process and resolves once it reports ready. */
function startLoad(job: LoadJob): Promise<{ go(): void; result: Promise<LoadResult> }> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench/_pubsub-load.ts'), JSON.stringify(job)],
    {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: proc.stdout! });
  let resolveResult!: (r: LoadResult) => void;
  let rejectResult!: (e: Error) => void;
  const result = new Promise<LoadResult>((res, rej) => {
    resolveResult = res;
    rejectResult = rej;
  });
  return new Promise((resolve, reject) => {
    let ready = false;
    lines.on('line', (l) => {
      let v: { ready?: boolean } & LoadResult;
      try {
        v = JSON.parse(l) as { ready?: boolean } & LoadResult;
      } catch {
        process.stderr.write(`load process: ${l}\n`);
        return;
      }
      if (v.ready) {
        ready = true;
        resolve({ go: () => proc.stdin!.write('go\n'), result });
      } else resolveResult(v);
    });
    proc.once('exit', (code) => {
      // After a result this settles nothing; before ready the caller sees the rejection of this promise.
      if (ready) rejectResult(new Error(`load process exited with ${code} before its result`));
      else reject(new Error(`load process exited with ${code} before ready`));
    });
  });
}

async function throughput(t: Target, n: number, messages: number): Promise<RunResult> {
  const run = `r${n}x${Date.now()}`;
  const k = Math.max(1, Math.min(CLIENTS, n));
  const jobs: LoadJob[] = Array.from({ length: k }, (_, c) => ({
    spec: t.spec,
    run,
    queues: Array.from({ length: n }, (_, i) => i).filter((i) => i % k === c),
    messages: Math.floor(messages / k) + (c < messages % k ? 1 : 0),
    inFlight: Math.max(1, Math.round(IN_FLIGHT / k)),
    settleMs: Math.min(5000, 500 + n * 3),
    timeoutMs: 60_000,
  }));
  const loads = await Promise.all(jobs.map(startLoad));
  const cpu0 = cpuMs(t.pids());
  const db0 = cpuMs(t.backendPids());
  const m0 = machineJiffies();
  for (const l of loads) l.go();
  const results = await Promise.all(loads.map((l) => l.result));
  const cpu1 = cpuMs(t.pids());
  const db1 = cpuMs(t.backendPids());
  const m1 = machineJiffies();
  for (const r of results)
    if (r.publishErrors)
      process.stderr.write(`${t.spec.name}: ${r.publishErrors} publishes failed: ${r.firstError}\n`);
  const lat = results.flatMap((r) => r.latencies);
  const delivered = lat.length;
  const seconds =
    (Math.max(...results.map((r) => r.endMs)) - Math.min(...results.map((r) => r.startMs))) / 1000;
  return {
    subscribers: n,
    messages,
    delivered,
    duplicates: results.reduce((s, r) => s + r.duplicates, 0),
    seconds,
    perSecond: delivered / seconds,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    serverUsPerMsg: ((cpu1 - cpu0) * 1000) / Math.max(1, delivered),
    // PostgreSQL backends that exit during the run take their CPU time with them: a lower bound, never < 0.
    backendUsPerMsg: (Math.max(0, db1 - db0) * 1000) / Math.max(1, delivered),
    loadUsPerMsg: (results.reduce((sum, r) => sum + r.cpuMs, 0) * 1000) / Math.max(1, delivered),
    // Includes the settle after the last message; a figure near 1 means the cores were the limit.
    machineBusy: (m1.busy - m0.busy) / Math.max(1, m1.total - m0.total),
  };
}

function runLine(name: string, r: RunResult): string {
  return `  ${name.padEnd(16)} ${String(r.subscribers).padStart(5)} subs: ${r.delivered}/${r.messages} msgs${r.duplicates ? ` (+${r.duplicates} redelivered)` : ''} in ${r.seconds.toFixed(2)} s = ${r.perSecond.toFixed(0)} msg/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms; CPU per msg: servers ${r.serverUsPerMsg.toFixed(0)} µs, backend ${r.backendUsPerMsg.toFixed(0)} µs, load processes ${r.loadUsPerMsg.toFixed(0)} µs; machine ${(100 * r.machineBusy).toFixed(0)}% busy; load ${loadavg()[0]!.toFixed(1)}\n`;
}

/** The unmeasured warm-up run of a target (see WARMUP). */
async function warmUp(t: Target): Promise<void> {
  if (WARMUP === 0) return;
  const r = await throughput(t, 100, WARMUP);
  process.stdout.write(
    `  ${t.spec.name.padEnd(16)} warm-up, not measured: ${r.delivered}/${WARMUP} msgs, ${r.perSecond.toFixed(0)} msg/s\n`,
  );
}

async function throughputRuns(t: Target): Promise<RunResult[]> {
  await warmUp(t);
  const runs: RunResult[] = [];
  for (const n of SUBSCRIBERS) {
    const r = await throughput(t, n, MESSAGES(n));
    runs.push(r);
    process.stdout.write(runLine(t.spec.name, r));
  }
  return runs;
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
    `  ${t.spec.name.padEnd(11)} ${idle.count} idle long-polls: RSS ${idle.baseKiB} → ${idle.loadedKiB} KiB = ${idle.kibPer.toFixed(2)} KiB each\n`,
  );
  return { runs, idle };
}

const patternLine = (where: string) =>
  `pattern: ${CLIENTS} load process(es), ${IN_FLIGHT} publishes in flight in all, N subscribers long-polling their own queue; ${where}; ${WARMUP ? `each target first gets ${WARMUP} messages, not measured (--warmup)` : 'no warm-up'}; all on 127.0.0.1\n\n`;

/** `--store postgres`: SQLite and PostgreSQL behind the same hub code, in one run. */
async function compareStores(): Promise<void> {
  process.stdout.write(
    `PubSub relay benchmark: SQLite vs PostgreSQL store\n${machineLine()}\n${loadLine()}\n`,
  );
  process.stdout.write(patternLine('one hub'));
  const cluster = await startPostgres({ durable: true });
  let sqlite: RunResult[];
  let postgres: RunResult[];
  try {
    const a = await startSwitchboard('SB/SQLite');
    try {
      sqlite = await throughputRuns(a);
    } finally {
      await a.stop();
    }
    const b = await startSwitchboard('SB/Postgres', { url: cluster.url, cluster });
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

/** The median run (by msg/s) of several rounds; its p50/p99 are the medians of the rounds' too. */
function medianRun(rs: RunResult[]): RunResult {
  const med = (f: (r: RunResult) => number) => percentile(rs.map(f), 50);
  return {
    ...rs[0]!,
    delivered: Math.min(...rs.map((r) => r.delivered)),
    duplicates: rs.reduce((s, r) => s + r.duplicates, 0),
    seconds: med((r) => r.seconds),
    perSecond: med((r) => r.perSecond),
    p50: med((r) => r.p50),
    p99: med((r) => r.p99),
    serverUsPerMsg: med((r) => r.serverUsPerMsg),
    backendUsPerMsg: med((r) => r.backendUsPerMsg),
    loadUsPerMsg: med((r) => r.loadUsPerMsg),
    machineBusy: med((r) => r.machineBusy),
  };
}

/** `--cluster`: one hub (SQLite, PostgreSQL), three hubs on one PostgreSQL, three Nchan on one Redis. */
async function cluster(): Promise<void> {
  process.stdout.write(
    `PubSub relay benchmark: hubs on one PostgreSQL, Nchan on Redis\n${machineLine()}\n${loadLine()}\n`,
  );
  process.stdout.write(
    patternLine(
      `${ROUNDS} round(s) in turns; with 3 servers subscriber i polls server i mod 3 and each message is published on another server`,
    ),
  );
  const mod = ensureNchan();
  if (!mod) throw new Error('Nchan is not available (apt-get install nginx-light libnginx-mod-nchan)');
  const stops: Array<() => Promise<void>> = [];
  const targets: Target[] = [];
  // Ctrl-C or a timeout: stop what was started (PostgreSQL, Redis, the hubs, nginx) before leaving.
  const onSignal = () => {
    void (async () => {
      for (const stop of stops.reverse()) await stop().catch(() => {});
      process.exit(130);
    })();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const pg = await startPostgres({ durable: true, ...(PG_STATS ? { settings: pgStatsSettings } : {}) });
    stops.push(() => pg.stop());
    const redis = await startRedis();
    stops.push(() => redis.stop());
    const add = async (t: Promise<Target>) => {
      const x = await t;
      stops.push(() => x.stop());
      targets.push(x);
    };
    await add(startSwitchboard('SB 1 hub SQLite'));
    await add(startSwitchboard('SB 1 hub PG', { url: await createDatabase(pg, 'sb_one'), cluster: pg }));
    await add(
      startSwitchboard('SB 3 hubs PG', { url: await createDatabase(pg, 'sb_three'), cluster: pg }, 3),
    );
    await add(startNchan(mod, 'Nchan 3 on Redis', { instances: 3, redis }));
    for (const t of targets) await warmUp(t);
    const all = new Map<string, RunResult[]>();
    for (let round = 1; round <= ROUNDS; round++) {
      if (ROUNDS > 1) process.stdout.write(`round ${round}/${ROUNDS}\n`);
      for (const n of SUBSCRIBERS)
        for (const t of targets) {
          const onPg = PG_STATS > 0 && t.spec.name.includes('PG');
          if (onPg) await pgStatsReset(pg);
          const r = await throughput(t, n, MESSAGES(n));
          process.stdout.write(runLine(t.spec.name, r));
          if (onPg) await pgStatsPrint(pg, PG_STATS, `${t.spec.name}, ${n} subscribers`);
          const key = `${t.spec.name}|${n}`;
          all.set(key, [...(all.get(key) ?? []), r]);
        }
    }
    const get = (name: string, n: number) => medianRun(all.get(`${name}|${n}`)!);
    process.stdout.write(
      `\nmedians of ${ROUNDS} round(s); CPU µs per message (servers + backend) from /proc\n` +
        'subscribers | target           |  msg/s  p50 ms  p99 ms | server µs/msg  backend µs/msg  load µs/msg  machine busy\n',
    );
    for (const n of SUBSCRIBERS)
      for (const t of targets) {
        const r = get(t.spec.name, n);
        process.stdout.write(
          `${String(n).padStart(11)} | ${t.spec.name.padEnd(16)} | ${r.perSecond.toFixed(0).padStart(6)} ${r.p50.toFixed(1).padStart(7)} ${r.p99.toFixed(1).padStart(7)} | ` +
            `${r.serverUsPerMsg.toFixed(0).padStart(13)} ${r.backendUsPerMsg.toFixed(0).padStart(15)} ${r.loadUsPerMsg.toFixed(0).padStart(12)} ${(100 * r.machineBusy).toFixed(0).padStart(12)}%\n`,
        );
      }
    const n = SUBSCRIBERS.includes(100) ? 100 : SUBSCRIBERS[0]!;
    const [lite, one, three, nchan] = targets.map((t) => get(t.spec.name, n)) as [
      RunResult,
      RunResult,
      RunResult,
      RunResult,
    ];
    const f = (r: RunResult) => `${r.perSecond.toFixed(0)}`;
    process.stdout.write(
      `SUMMARY pubsub-cluster subs=${n} rounds=${ROUNDS} clients=${CLIENTS} sqlite_1=${f(lite)} pg_1=${f(one)} pg_3=${f(three)} nchan_redis_3=${f(nchan)} ` +
        `three_vs_one=${(three.perSecond / one.perSecond).toFixed(2)} three_vs_sqlite=${(three.perSecond / lite.perSecond).toFixed(2)} ` +
        `three_vs_nchan_redis=${(three.perSecond / nchan.perSecond).toFixed(2)} pg_3_p50_ms=${three.p50.toFixed(1)} pg_3_p99_ms=${three.p99.toFixed(1)} ` +
        `nchan_redis_p50_ms=${nchan.p50.toFixed(1)} nchan_redis_p99_ms=${nchan.p99.toFixed(1)} pg_1_machine_busy=${one.machineBusy.toFixed(2)} pg_3_machine_busy=${three.machineBusy.toFixed(2)} load1=${loadavg()[0]!.toFixed(1)}\n`,
    );
    process.stdout.write(
      'notes: the hubs commit every publish to disk before answering (PostgreSQL fsync on, synchronous_commit on; lease moves do not wait for the flush) and NOTIFY the other hubs; Nchan keeps messages in Redis memory (no persistence). Backend CPU is a lower bound (PostgreSQL backends that exit during a run are not counted). Goals: three_vs_one ≥ 1.4, three_vs_nchan_redis ≥ 1.0.\n',
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => console.error(e));
  }
}

async function main(): Promise<void> {
  if (CLUSTER) return cluster();
  if (STORE === 'postgres') return compareStores();
  process.stdout.write(`PubSub relay benchmark\n${machineLine()}\n`);
  process.stdout.write(patternLine('one server'));
  const sb = await startSwitchboard('Switchboard');
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
      const nc = await startNchan(mod, 'Nchan');
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
