/**
 * `npm run bench -- broadcast [--phones 1000,10000] [--concurrency 256] [--cisco-share 0.5]`: on-site 911 at scale. The real hub
 * (`switchboard serve`, its own process) is linked to the DevLink3 simulator; N simulated phones (real HTTP
 * servers on 127.0.0.1, in this process) are in the security group. The simulator sends the emergency
 * call's Detail record; we measure, per phone, the time from that DevLink3 event to the phone accepting
 * the alert (delivery `acceptedAt` as recorded by the hub, same wall clock), and the hub's CPU and memory
 * (from /proc/<pid>).
 *
 * The phones and the simulator share this machine with the hub, so the figures include their work too.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { type Fleet as AvayaFleet, startFleet as startAvayaFleet } from '../src/sim/avaya/fleet.js';
import { type CiscoSimFleet, startCiscoSim } from '../src/sim/cisco/fleet.js';
import { builtinScenarios } from '../src/sim/ipoffice/scenario.js';
import { Devlink3Simulator } from '../src/sim/ipoffice/server.js';
import { spawnSwitchboard } from '../test/helpers/process.js';
import { machineLine, percentile } from './_machine.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

type Json = Record<string, unknown>;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
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

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function runOnce(n: number, concurrency: number): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'sb-bench-bc-'));
  const key = `sbk_bench_${Math.random().toString(16).slice(2)}${Date.now()}`;
  const port = await freePort();
  const pbx = await new Devlink3Simulator({
    host: '127.0.0.1',
    port: 0,
    credentials: { bench: 'bench-pw' },
  }).start();
  writeFileSync(
    join(dir, 'switchboard.yaml'),
    [
      `dataDir: ${JSON.stringify(join(dir, 'data'))}`,
      `http: { host: 127.0.0.1, port: ${port} }`,
      'log: { level: warn }',
      `auth: { apiKeys: [${JSON.stringify(key)}] }`,
      `broadcast: { concurrency: ${concurrency}, actionTimeoutMs: 10000 }`,
      'emergency: { escalateAfterSeconds: 0, queue: "" }',
      '',
    ].join('\n'),
  );
  const hub = spawnSwitchboard(['serve', '-c', join(dir, 'switchboard.yaml')]);
  const fleets: CiscoSimFleet[] = [];
  const avayaFleets: AvayaFleet[] = [];
  const url = `http://127.0.0.1:${port}`;
  const api = async <T = Json>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : {}) as T;
  };
  try {
    await until(
      'the hub',
      async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined),
      180_000,
    );
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
    // Let the hub settle (GC after the registration burst), then measure from the emergency record.
    await new Promise((r) => setTimeout(r, 1500));
    const before = procStats(hub.proc.pid!);
    const t0 = Date.now();
    pbx.playSync(builtinScenarios().get('emergency')!, { ext: '4001', name: 'Alice Able', number: '911' });
    const incident = await until(
      'the incident',
      async () =>
        (
          await api<{ incidents: Array<{ id: string; createdAt: string; broadcasts: string[] }> }>(
            'GET',
            '/api/incidents?limit=1',
          )
        ).incidents[0],
      30_000,
    );
    const bcId = await until(
      'the broadcast',
      async () =>
        (await api<{ incident: { broadcasts: string[] } }>('GET', `/api/incidents/${incident.id}`)).incident
          .broadcasts[0],
      30_000,
    );
    const status = await until(
      'delivery to finish',
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
    const lat = status.deliveries.filter((d) => d.acceptedAt).map((d) => Date.parse(d.acceptedAt!) - t0);
    const failed = status.deliveries.filter((d) => d.state === 'failed');
    const reasons: Record<string, number> = {};
    for (const d of failed) reasons[d.reason ?? '?'] = (reasons[d.reason ?? '?'] ?? 0) + 1;
    const first = lat.length ? Math.min(...lat) : Number.NaN;
    const last = lat.length ? Math.max(...lat) : Number.NaN;
    console.log(
      `${String(n).padStart(6)} phones (${Math.round(n * mix)} Cisco + ${n - Math.round(n * mix)} Avaya sims): DevLink3 event → incident ${Date.parse(incident.createdAt) - t0} ms; ` +
        `first phone ${first} ms, p50 ${percentile(lat, 50)} ms, p99 ${percentile(lat, 99)} ms, last ${last} ms; ` +
        `accepted ${lat.length}/${n}${failed.length ? `, failed ${JSON.stringify(reasons)}` : ''}; ` +
        `hub CPU ${Math.round(after.cpuMs - before.cpuMs)} ms, RSS ${after.rssMiB.toFixed(0)} MiB (peak ${after.hwmMiB.toFixed(0)} MiB); ` +
        `setup ${setupS.toFixed(1)} s`,
    );
  } finally {
    hub.proc.kill('SIGTERM');
    await hub.exited;
    await Promise.all([...fleets.map((f) => f.stop()), ...avayaFleets.map((f) => f.stop())]);
    await pbx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const sizes = arg('phones', '1000,10000').split(',').map(Number);
const concurrency = Number(arg('concurrency', '256'));
const mix = Math.min(1, Math.max(0, Number(arg('cisco-share', '0.5'))));
console.log(machineLine());
console.log(
  `load average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}; broadcast.concurrency ${concurrency}`,
);
for (const n of sizes) await runOnce(n, concurrency);
