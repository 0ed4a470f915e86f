/**
 * `npm run bench -- broadcast [--phones 1000,10000] [--runs 5] [--concurrency 256] [--cisco-share 0.5]
 * [--cisco-keep-alive] [--hub-cpu-prof <dir>] [--store postgres]`: on-site 911 at scale. The real hub
 * (`switchboard serve`, its own process) is linked to the DevLink3 simulator; N simulated phones (real HTTP
 * servers on 127.0.0.1, in this process) are in the security group. The simulator sends the emergency
 * call's Detail record; we measure, per phone, the time from that DevLink3 event to the phone accepting
 * the alert (delivery `acceptedAt` as recorded by the hub, same wall clock), and the hub's CPU and memory
 * (from /proc/<pid>).
 *
 * The phones and the simulator share this machine with the hub, so the figures include their work too.
 *
 * The hub runs from dist/ (`npm run build` first; SWITCHBOARD_BIN=tsx runs the sources). With --runs N one hub
 * and one set of phones take N emergency calls in a row (each a new incident and broadcast); the bench prints
 * each run, the median of first/p50/last over the runs, and a final `SUMMARY broadcast …` line.
 * --cisco-keep-alive: the simulated Cisco phones keep connections alive and their devices opt in
 * (settings.keepAlive); without it every push opens a connection, the hub's default.
 * --store postgres: every size runs twice in the same run, first on the embedded SQLite store, then with the
 * hub on PostgreSQL (`store.url`; a throw-away durable cluster from Debian's binaries, fsync on, a fresh
 * database per size); the `SUMMARY broadcast-store …` line gives PostgreSQL/SQLite of the median last-phone
 * time (the goal: ≤ 1.2). --pg-stats N adds, per run, the N statements that took PostgreSQL the most time.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { type Fleet as AvayaFleet, startFleet as startAvayaFleet } from '../src/sim/avaya/fleet.js';
import { type CiscoSimFleet, startCiscoSim } from '../src/sim/cisco/fleet.js';
import { builtinScenarios } from '../src/sim/ipoffice/scenario.js';
import { Devlink3Simulator } from '../src/sim/ipoffice/server.js';
import { createDatabase, type PostgresCluster, startPostgres } from '../test/helpers/postgres.js';
import { spawnSwitchboard } from '../test/helpers/process.js';
import { freePort, hubApi, hubReady, type Json, until, writeHubConfig } from './_api.js';
import { loadLine, machineLine, percentile } from './_machine.js';
import { pgStatsPrint, pgStatsReset, pgStatsSettings } from './_pgstats.js';
import { cpuMs, postgresPids } from './_proc.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

/** utime+stime (ms) and RSS/peak RSS (MiB) of a process, from /proc. */
function procStats(pid: number): { cpuMs: number; rssMiB: number; hwmMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuMs: (ticks * 1000) / 100, rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
}

interface RunFigures {
  firstMs: number;
  p50Ms: number;
  lastMs: number;
  cpuMs: number;
  /** PostgreSQL's CPU during the run (postmaster and backends), ms; 0 on SQLite. */
  dbCpuMs: number;
  accepted: number;
}

async function runSize(
  n: number,
  concurrency: number,
  runs: number,
  pg?: { url: string; cluster: PostgresCluster },
): Promise<RunFigures[]> {
  const dir = mkdtempSync(join(os.tmpdir(), 'sb-bench-bc-'));
  // On PostgreSQL nothing else creates the data directory before the hub writes its secrets key there.
  mkdirSync(join(dir, 'data'));
  const key = `sbk_bench_${Math.random().toString(16).slice(2)}${Date.now()}`;
  const port = await freePort();
  const pbx = await new Devlink3Simulator({
    host: '127.0.0.1',
    port: 0,
    credentials: { bench: 'bench-pw' },
  }).start();
  const config = writeHubConfig(dir, port, key, [
    `broadcast: { concurrency: ${concurrency}, actionTimeoutMs: 10000 }`,
    'emergency: { escalateAfterSeconds: 0, queue: "" }',
  ]);
  const profDir = arg('hub-cpu-prof', '');
  const hub = spawnSwitchboard(
    ['serve', '-c', config],
    pg ? { SWITCHBOARD_STORE_URL: pg.url } : {},
    profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
  );
  const fleets: CiscoSimFleet[] = [];
  const avayaFleets: AvayaFleet[] = [];
  const url = `http://127.0.0.1:${port}`;
  const api = hubApi(url, key);
  try {
    await hubReady(url);
    const setupStart = Date.now();
    const nCisco = Math.round(n * mix);
    for (let left = nCisco, k = 0; left > 0; k++) {
      const m = Math.min(5000, left);
      fleets.push(
        await startCiscoSim({
          phones: m,
          model: ['8845', '8861', '7841'],
          username: 'push',
          password: 'pw',
          firstDn: 10_000 + k * 5000,
          ...(keepAlive ? { keepAlive: true } : {}),
        }),
      );
      left -= m;
    }
    for (let left = n - nCisco, k = 0; left > 0; k++) {
      const m = Math.min(5000, left);
      avayaFleets.push(
        await startAvayaFleet({
          phones: m,
          firstExtension: 30_000 + k * 5000,
          model: 'J179',
          startConcurrency: 100,
        }),
      );
      left -= m;
    }
    const targets = [
      ...fleets
        .flatMap((f) => f.phones)
        .map((p, i) => ({
          id: `cisco-${i}`,
          kind: 'cisco',
          address: p.address,
          groups: ['security'],
          settings: {
            model: p.profile.id,
            username: 'push',
            password: 'pw',
            deviceName: p.deviceName,
            extension: p.dn,
            ...(keepAlive ? { keepAlive: true } : {}),
          },
        })),
      ...avayaFleets
        .flatMap((f) => f.phones)
        .map((p, i) => ({
          id: `avaya-${i}`,
          kind: 'avaya',
          address: p.address,
          groups: ['security'],
          settings: { model: p.model, extension: p.extension, mac: p.mac },
        })),
    ];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < targets.length; i = next++) await api('POST', '/api/devices', targets[i]);
      }),
    );
    await api('PUT', '/api/locations/4001', { name: 'Alice Able', building: 'HQ', floor: '3', room: '301' });
    await api('POST', '/api/devices', {
      id: 'ipo',
      kind: 'ipoffice',
      address: `127.0.0.1:${pbx.port}`,
      settings: { user: 'bench', password: 'bench-pw' },
    });
    await until(
      'the DevLink3 link',
      async () =>
        (await api<{ events: Json[] }>('GET', '/api/events?type=pbx.link')).events.some((e) =>
          JSON.stringify(e.data).includes('up'),
        )
          ? true
          : undefined,
      30_000,
    );
    const setupS = (Date.now() - setupStart) / 1000;
    const out: RunFigures[] = [];
    let lastIncident = '';
    for (let run = 1; run <= runs; run++) {
      // Let the hub settle (GC after the registration burst or the last run), then measure from the record.
      await new Promise((r) => setTimeout(r, 1500));
      const before = procStats(hub.proc.pid!);
      if (pg && pgStats) await pgStatsReset(pg.cluster);
      const db0 = pg ? cpuMs(postgresPids(pg.cluster)) : 0;
      const asked = Date.now();
      pbx.playSync(builtinScenarios().get('emergency')!, { ext: '4001', name: 'Alice Able', number: '911' });
      // Times are measured from when the simulated PBX handed the records to its socket (the write runs in
      // this process's next check phase, behind whatever the 1,000s of simulated phones here are doing), not
      // from when the bench asked: a real IP Office is not slowed down by the phones.
      const t0 = await new Promise<number>((r) =>
        setImmediate(() => r(Math.max(asked, pbx.stats.lastWriteAt))),
      );
      const simLagMs = t0 - asked;
      const incident = await until(
        'the incident',
        async () => {
          const i = (
            await api<{ incidents: Array<{ id: string; createdAt: string; broadcasts: string[] }> }>(
              'GET',
              '/api/incidents?limit=1',
            )
          ).incidents[0];
          return i && i.id !== lastIncident ? i : undefined;
        },
        30_000,
      );
      lastIncident = incident.id;
      const bcId = await until(
        'the broadcast',
        async () =>
          (await api<{ incident: { broadcasts: string[] } }>('GET', `/api/incidents/${incident.id}`)).incident
            .broadcasts[0],
        30_000,
      );
      // Poll the cheap summary (counts only) while delivering, so that the measurement does not make the hub
      // serialise every delivery record 40 times a second; read the per-phone records once at the end.
      await until(
        'delivery to finish',
        async () =>
          (
            await api<{ broadcasts: Array<{ id: string; state: string }> }>('GET', '/api/broadcasts?limit=5')
          ).broadcasts.some((b) => b.id === bcId && b.state !== 'delivering')
            ? true
            : undefined,
        300_000,
      );
      const status = await until(
        'the delivery records',
        async () => {
          const s = await api<{
            running: boolean;
            deliveries: Array<{ state: string; acceptedAt: string | null; reason: string | null }>;
          }>('GET', `/api/broadcasts/${bcId}`);
          return s.running ? undefined : s;
        },
        300_000,
      );
      const after = procStats(hub.proc.pid!);
      const dbCpu = pg ? cpuMs(postgresPids(pg.cluster)) - db0 : 0;
      if (pg && pgStats) await pgStatsPrint(pg.cluster, pgStats, `run ${run}`);
      const lat = status.deliveries.filter((d) => d.acceptedAt).map((d) => Date.parse(d.acceptedAt!) - t0);
      const failed = status.deliveries.filter((d) => d.state === 'failed');
      const reasons: Record<string, number> = {};
      for (const d of failed) reasons[d.reason ?? '?'] = (reasons[d.reason ?? '?'] ?? 0) + 1;
      const fig: RunFigures = {
        firstMs: lat.length ? Math.min(...lat) : Number.NaN,
        p50Ms: percentile(lat, 50),
        lastMs: lat.length ? Math.max(...lat) : Number.NaN,
        cpuMs: Math.round(after.cpuMs - before.cpuMs),
        dbCpuMs: dbCpu,
        accepted: lat.length,
      };
      out.push(fig);
      console.log(
        `${pg ? 'PostgreSQL' : 'SQLite'} ${String(n).padStart(6)} phones (${Math.round(n * mix)} Cisco + ${n - Math.round(n * mix)} Avaya sims) run ${run}/${runs}: DevLink3 record → incident ${Date.parse(incident.createdAt) - t0} ms (the simulator sent it ${simLagMs} ms after the bench asked); ` +
          `first phone ${fig.firstMs} ms, p50 ${fig.p50Ms} ms, p99 ${percentile(lat, 99)} ms, last ${fig.lastMs} ms; ` +
          `accepted ${lat.length}/${n}${failed.length ? `, failed ${JSON.stringify(reasons)}` : ''}; ` +
          `hub CPU ${fig.cpuMs} ms${pg ? `, PostgreSQL CPU ${dbCpu} ms` : ''}, RSS ${after.rssMiB.toFixed(0)} MiB (peak ${after.hwmMiB.toFixed(0)} MiB); ` +
          `load ${os.loadavg()[0]!.toFixed(1)}${run === 1 ? `; setup ${setupS.toFixed(1)} s` : ''}`,
      );
      // Acknowledge (stops escalation and repeats), so that the runs after this one measure only their alert.
      await api('POST', `/api/incidents/${incident.id}/ack`, {}).catch(() => undefined);
    }
    return out;
  } finally {
    hub.proc.kill('SIGTERM');
    await hub.exited;
    await Promise.all([...fleets.map((f) => f.stop()), ...avayaFleets.map((f) => f.stop())]);
    await pbx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--help')) {
  console.log(
    'npm run bench -- broadcast [--phones 1000,10000] [--runs 1] [--concurrency 256] [--cisco-share 0.5] [--cisco-keep-alive] [--hub-cpu-prof <dir>] [--store sqlite|postgres] [--pg-stats 10]\n' +
      '  --store postgres: each size on SQLite and then on PostgreSQL (durable throw-away cluster), in the same run\n' +
      '  --pg-stats N: with --store postgres, print the N statements that took PostgreSQL the most time in each run (pg_stat_statements)',
  );
  process.exit(0);
}
const sizes = arg('phones', '1000,10000').split(',').map(Number);
const concurrency = Number(arg('concurrency', '256'));
const runs = Math.max(1, Math.floor(Number(arg('runs', '1')) || 1));
const mix = Math.min(1, Math.max(0, Number(arg('cisco-share', '0.5'))));
const keepAlive = process.argv.includes('--cisco-keep-alive');
const store = arg('store', 'sqlite');
const pgStats = Math.max(0, Math.floor(Number(arg('pg-stats', '0')) || 0));
if (store !== 'sqlite' && store !== 'postgres') {
  console.error(`--store must be sqlite or postgres, not ${store}`);
  process.exit(2);
}
process.env.SWITCHBOARD_BIN ??= 'dist';
if (process.env.SWITCHBOARD_BIN === 'dist' && !existsSync('dist/switchboard.mjs')) {
  console.error('dist/switchboard.mjs not found: run `npm run build` first (or SWITCHBOARD_BIN=tsx)');
  process.exit(2);
}
const median = (xs: number[]) => percentile(xs, 50);
console.log(machineLine());
console.log(
  `${loadLine()}; broadcast.concurrency ${concurrency}; hub from ${process.env.SWITCHBOARD_BIN}; Cisco keep-alive ${keepAlive ? 'on' : 'off'}; store ${store === 'postgres' ? 'SQLite, then PostgreSQL (fsync on)' : 'SQLite'}`,
);

/** Prints the medians of a size's runs and its `SUMMARY broadcast` line; answers the medians. */
function report(n: number, storeName: string, figs: RunFigures[]): (k: keyof RunFigures) => number {
  const m = (k: keyof RunFigures) => median(figs.map((f) => f[k]));
  console.log(
    `${storeName} ${String(n).padStart(6)} phones, median of ${figs.length} runs: first ${m('firstMs')} ms, p50 ${m('p50Ms')} ms, last ${m('lastMs')} ms, hub CPU ${m('cpuMs')} ms (${(m('cpuMs') / n).toFixed(2)} ms per phone)${storeName === 'PostgreSQL' ? `, PostgreSQL CPU ${m('dbCpuMs')} ms` : ''}`,
  );
  console.log(
    `SUMMARY broadcast phones=${n} runs=${figs.length} first_ms_median=${m('firstMs')} p50_ms_median=${m('p50Ms')} last_ms_median=${m('lastMs')} hub_cpu_ms_median=${m('cpuMs')} accepted_min=${Math.min(...figs.map((f) => f.accepted))} keep_alive=${keepAlive ? 1 : 0} store=${storeName === 'PostgreSQL' ? 'postgres' : 'sqlite'} load1=${os.loadavg()[0]!.toFixed(1)}`,
  );
  return m;
}

const cluster =
  store === 'postgres'
    ? await startPostgres({ durable: true, ...(pgStats ? { settings: pgStatsSettings } : {}) })
    : undefined;
try {
  for (const n of sizes) {
    const lite = report(n, 'SQLite', await runSize(n, concurrency, runs));
    if (!cluster) continue;
    const url = await createDatabase(cluster, `bench_broadcast_${n}`);
    const pg = report(n, 'PostgreSQL', await runSize(n, concurrency, runs, { url, cluster }));
    const ratio = (k: keyof RunFigures) => (pg(k) / lite(k)).toFixed(2);
    console.log(
      `SUMMARY broadcast-store phones=${n} runs=${runs} sqlite_first_ms=${lite('firstMs')} sqlite_p50_ms=${lite('p50Ms')} sqlite_last_ms=${lite('lastMs')} ` +
        `pg_first_ms=${pg('firstMs')} pg_p50_ms=${pg('p50Ms')} pg_last_ms=${pg('lastMs')} pg_vs_sqlite_last=${ratio('lastMs')} pg_vs_sqlite_p50=${ratio('p50Ms')} ` +
        `hub_cpu_ms_sqlite=${lite('cpuMs')} hub_cpu_ms_pg=${pg('cpuMs')} pg_server_cpu_ms=${pg('dbCpuMs')} load1=${os.loadavg()[0]!.toFixed(1)}`,
    );
  }
} finally {
  await cluster?.stop();
}
