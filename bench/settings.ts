/**
 * Settings server throughput: auto-generated 46xxsettings.txt requests per second over HTTP (one
 * connection per request, as phones fetch; and with keep-alive, as Workplace clients may), the load
 * generator in its own process (bench/_load.ts), plus the pure generator and evaluator. The hub runs from
 * dist/ in its own process (`npm run build` first; SWITCHBOARD_BIN=tsx runs the sources). The anchor, in the
 * same run with the same client: nginx (one worker) serving a static file of the same bytes, when
 * /usr/sbin/nginx is installed (`apt-get install nginx-light`). Ends with a `SUMMARY settings …` line.
 *
 *   npm run build && npm run bench -- settings [--seconds 5] [--concurrency 8] [--warmup-seconds 1]
 *     [--hub-cpu-prof <dir>]
 *
 * Every measured load (hub and nginx alike) follows an unmeasured one of --warmup-seconds against the same
 * URL (0: none): the first target measured otherwise paid the hub's JIT warm-up alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpRequest } from '../src/net/http-client.js';
import { generateSettingsFile } from '../src/provisioning/autogen.js';
import { provisioningConfig } from '../src/provisioning/config.js';
import { evaluateSettings } from '../src/provisioning/evaluate.js';
import { freePort } from '../test/helpers/postgres.js';
import { spawnSwitchboard } from '../test/helpers/process.js';
import { argNumber, argString, loadLine, machineLine } from './_machine.js';
import { nginxInstalled, startNginx, waitHttp200 } from './_nginx.js';

const seconds = argNumber('seconds', 5);
const concurrency = Math.floor(argNumber('concurrency', 8));
const warmupSeconds = Number(argString('warmup-seconds', '1'));
/** --hub-cpu-prof <dir>: a V8 CPU profile of the hub (not of the load generator) is written there. */
const profDir = argString('hub-cpu-prof', '');
if (!(warmupSeconds >= 0)) {
  console.error('--warmup-seconds takes a number of seconds (0: no warm-up)');
  process.exit(2);
}
const prov = {
  pushNotifications: true,
  noUserSourceNumbers: ['SET_CDNL="911","9911"', 'EQNX_CONTACT_MATCHING_MIN_DIGITS=8'],
  userAgentRules: [
    {
      match: 'Avaya J1.*',
      label: 'J100',
      settings: [{ name: 'PHY2_AUTOMDIX_ENABLED', value: '1', family: 'all' }],
    },
  ],
};

console.log(machineLine());
console.log(loadLine('figures are only comparable on an idle machine'));

// Pure generator and evaluator.
{
  const cfg = provisioningConfig(prov);
  const hub = { publicUrl: 'http://192.0.2.10:8080', version: 'bench' };
  for (let i = 0; i < 300; i++) generateSettingsFile(cfg, { hub }); // warm-up
  let n = 0;
  let bytes = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 1000) {
    bytes += generateSettingsFile(cfg, { hub }).length;
    n++;
  }
  const genRate = n / ((performance.now() - t0) / 1000);
  const text = generateSettingsFile(cfg, { hub });
  for (let i = 0; i < 300; i++) await evaluateSettings({ name: '46xxsettings.txt', text }, { MODEL4: 'aci' }); // warm-up
  let m = 0;
  const t1 = performance.now();
  while (performance.now() - t1 < 1000) {
    await evaluateSettings({ name: '46xxsettings.txt', text }, { MODEL4: m % 2 ? 'aci' : 'J179' });
    m++;
  }
  const evalRate = m / ((performance.now() - t1) / 1000);
  console.log(
    `generate 46xxsettings.txt (pure): ${genRate.toFixed(0)} files/s (${(bytes / n).toFixed(0)} bytes each)`,
  );
  console.log(`evaluate 46xxsettings.txt (pure): ${evalRate.toFixed(0)} evaluations/s`);
}

/** The hub (`switchboard serve`, from dist/ unless SWITCHBOARD_BIN=tsx) in its own process. */
async function startHubProcess(): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.SWITCHBOARD_BIN !== 'tsx' && !existsSync('dist/switchboard.mjs')) {
    console.error('dist/switchboard.mjs not found: run `npm run build` first (or SWITCHBOARD_BIN=tsx)');
    process.exit(2);
  }
  process.env.SWITCHBOARD_BIN ??= 'dist';
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-settings-'));
  const port = await freePort();
  const cfg = join(dir, 'switchboard.yaml');
  // JSON is YAML: the bench's provisioning settings as they are.
  writeFileSync(
    cfg,
    JSON.stringify({
      dataDir: join(dir, 'data'),
      http: { host: '127.0.0.1', port },
      log: { level: 'warn' },
      provisioning: prov,
    }),
  );
  const hub = spawnSwitchboard(
    ['serve', '-c', cfg],
    {},
    profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
  );
  const url = `http://127.0.0.1:${port}`;
  await waitHttp200(`${url}/healthz`);
  return {
    url,
    async stop() {
      hub.proc.kill('SIGTERM');
      await hub.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Over HTTP from the running hub.
const running = await startHubProcess();
const LOAD = fileURLToPath(new URL('./_load.ts', import.meta.url));
/** Runs the load generator in its own process against `url` (after its warm-up); resolves with its figures. */
async function load(
  url: string,
  ua: string,
  keepAlive: boolean,
): Promise<{ ok: number; failed: number; seconds: number; p50: number; p99: number }> {
  if (warmupSeconds > 0) await loadFor(url, ua, keepAlive, warmupSeconds);
  return loadFor(url, ua, keepAlive, seconds);
}
function loadFor(
  url: string,
  ua: string,
  keepAlive: boolean,
  secs: number,
): Promise<{ ok: number; failed: number; seconds: number; p50: number; p99: number }> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', LOAD, url, String(secs), String(concurrency), ua];
    if (keepAlive) args.push('keepalive');
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop()!))
        : reject(new Error(`load exited ${code}`)),
    );
  });
}
const summary: string[] = [];
const rates: Record<string, number> = {};
/** The bytes the hub served to each client profile (the nginx anchor serves the same). */
const served: Record<string, Buffer> = {};
try {
  for (const [key, label, path, ua, keepAlive] of [
    [
      'j179',
      'generated 46xxsettings.txt, J179 (UA rule)',
      '/46xxsettings.txt',
      'Avaya J179 SIPJ100-4.0.13',
      false,
    ],
    [
      'workplace',
      'generated 46xxsettings.txt, Workplace',
      '/46xxsettings.txt',
      'Avaya Communicator/3.36 (iOS)',
      false,
    ],
    [
      'workplace_keepalive',
      'generated 46xxsettings.txt, Workplace, keep-alive',
      '/46xxsettings.txt',
      'Avaya Communicator/3.36 (iOS)',
      true,
    ],
    ['specials', 'generated 46xxspecials.txt', '/46xxspecials.txt', 'Avaya J179 SIPJ100-4.0.13', false],
  ] as const) {
    served[key] = (
      await httpRequest({ url: `${running.url}${path}`, headers: { 'user-agent': ua }, timeoutMs: 5000 })
    ).body;
    const r = await load(`${running.url}${path}`, ua, keepAlive);
    const rate = r.ok / r.seconds;
    rates[key] = rate;
    summary.push(`req_per_s_${key}=${rate.toFixed(0)}`);
    console.log(
      `${label}: ${rate.toFixed(0)} req/s over HTTP (load generator in its own process, concurrency ${concurrency}, ` +
        `${keepAlive ? 'keep-alive' : 'a connection per request'}, ${seconds}s after ${warmupSeconds}s unmeasured), p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, failed ${r.failed}`,
    );
  }
} finally {
  await running.stop();
}
// The anchor: nginx serving the same bytes as a static file, same client, same run.
let ratio = 'n/a';
let ratioKeepAlive = 'n/a';
if (!nginxInstalled()) {
  console.log('nginx is not installed here: no anchor in this run (ratio_vs_nginx=n/a)');
} else {
  // One worker, like the hub's one thread.
  const nginx = await startNginx({
    http: 'default_type text/plain;',
    server: 'root {www};',
    files: { 'j179.txt': served.j179!, 'workplace.txt': served.workplace_keepalive! },
  });
  try {
    const a = await load(`${nginx.url}/j179.txt`, 'Avaya J179 SIPJ100-4.0.13', false);
    const b = await load(`${nginx.url}/workplace.txt`, 'Avaya Communicator/3.36 (iOS)', true);
    const rateA = a.ok / a.seconds;
    const rateB = b.ok / b.seconds;
    ratio = (rates.j179! / rateA).toFixed(2);
    ratioKeepAlive = (rates.workplace_keepalive! / rateB).toFixed(2);
    summary.push(`nginx_req_per_s=${rateA.toFixed(0)}`, `nginx_req_per_s_keepalive=${rateB.toFixed(0)}`);
    console.log(
      `nginx static file of the same ${served.j179!.length} bytes: ${rateA.toFixed(0)} req/s (a connection per request), ` +
        `${rateB.toFixed(0)} req/s (keep-alive), same client; hub/nginx ${ratio} and ${ratioKeepAlive} (keep-alive)`,
    );
  } finally {
    await nginx.stop();
  }
}
console.log(
  `SUMMARY settings ratio_vs_nginx=${ratio} ratio_vs_nginx_keepalive=${ratioKeepAlive} ${summary.join(' ')} load1=${loadavg()[0]!.toFixed(1)}`,
);
