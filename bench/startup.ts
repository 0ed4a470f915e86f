/**
 * Start-up: the hub's cold start (`switchboard serve` until `/healthz` answers 200, fresh data directory each
 * run), then the CLI: `switchboard settings lint` and `settings eval` on a tiny file and on a ~1 MB CRLF
 * Windows-1252 template, against bare `node -e 0` and `switchboard --help` (which loads every command).
 * Ends with `SUMMARY startup healthz_ms_median=…`.
 * Runs the built CLI (`npm run build` first). Prints wall time and, on Linux, CPU time (user+system of
 * the child, 10 ms resolution: less sensitive than wall time to other processes on a shared machine).
 *
 *   npm run build && npm run bench -- startup [--runs 10] [--quick] [--cli other/dist/switchboard.mjs]
 *   (--quick: the hub's cold start only; --cli: measure another checkout's build)
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodeSettingsText } from '../src/provisioning/encoding.js';
import { freePort } from '../test/helpers/postgres.js';
import { argNumber, argString, loadLine, machineLine, percentile } from './_machine.js';

const runs = Math.max(1, Math.floor(argNumber('runs', 10)));
// --cli <path>: another build's dist/switchboard.mjs (A/B against another checkout).
const main = resolve(argString('cli', join(process.cwd(), 'dist/switchboard.mjs')));
if (!existsSync(main)) {
  console.error('dist/switchboard.mjs not found: run `npm run build` first');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'sb-bench-startup-'));
const tiny = join(dir, 'tiny.txt');
writeFileSync(tiny, 'IF $MODEL4 SEQ J179 GOTO J100\nGOTO END\n# J100\nSET SIPDOMAIN corp.example\n# END\n');
const big = join(dir, 'big.txt');
{
  const lines = ['IF $MODEL4 SEQ J179 GOTO J100', 'IF $MODEL4 SEQ 9611 goto S96'];
  for (let i = 0, size = 0; size < 1_000_000; i++) {
    const block = [
      `# SECTION${i}        ##`,
      `## \u201cSection ${i}\u201d \u2013 the site\u2019s resolver`,
      `SET SNTPSRVR 192.0.2.${i % 250}`,
    ];
    size += block.join('\r\n').length + 2;
    lines.push(...block);
  }
  lines.push('GOTO END', '# S96', 'SET SIPDOMAIN corp.example', '# J100', 'SET ENABLE_OPUS 1', '# END');
  writeFileSync(big, encodeSettingsText(`${lines.join('\r\n')}\r\n`, 'windows-1252'));
}

/** CPU seconds (user + system) of this process's waited-for children, from /proc (Linux); else undefined. */
function childrenCpu(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 16 and 17 of stat(5) (cutime, cstime), counted from field 3 after the command name.
    return (Number(fields[13]) + Number(fields[14])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

function measure(label: string, args: string[]): void {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = childrenCpu();
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
    wall.push(performance.now() - t0);
    const c1 = childrenCpu();
    if (c0 !== undefined && c1 !== undefined) cpu.push((c1 - c0) * 1000);
    if (r.status !== 0) throw new Error(`${label}: exit ${r.status}`);
  }
  const cpuText = cpu.length ? `, CPU p50 ${percentile(cpu, 50).toFixed(0)} ms` : '';
  console.log(
    `${label.padEnd(38)} wall p50 ${percentile(wall, 50).toFixed(0)} ms, p90 ${percentile(wall, 90).toFixed(0)} ms${cpuText}`,
  );
}

/** CPU milliseconds (user + system) used so far by process `pid`, from /proc (Linux); else undefined. */
function processCpu(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / 100) * 1000; // utime, stime (USER_HZ 100)
  } catch {
    return undefined;
  }
}

/**
 * Wall time from spawning `switchboard serve` to the first 200 from /healthz (fresh data directory), and the
 * hub's CPU time by then (less sensitive than wall time to other processes on a shared machine).
 */
async function coldStart(): Promise<{ wall: number; cpu: number | undefined }> {
  const port = await freePort();
  const data = mkdtempSync(join(dir, 'hub-'));
  const cfg = join(data, 'switchboard.yaml');
  writeFileSync(
    cfg,
    `dataDir: ${JSON.stringify(join(data, 'data'))}\nhttp: { host: 127.0.0.1, port: ${port} }\nlog: { level: warn }\n`,
  );
  const t0 = performance.now();
  const proc = spawn(process.execPath, [main, 'serve', '-c', cfg], { stdio: 'ignore' });
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`)
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) return { wall: performance.now() - t0, cpu: processCpu(proc.pid) };
      if (proc.exitCode !== null) throw new Error(`switchboard serve exited with ${proc.exitCode}`);
      if (performance.now() - t0 > 60_000) throw new Error('no /healthz 200 within 60 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
}

console.log(machineLine());
console.log(`hub: ${main}`);
console.log(loadLine('wall times are only comparable on an idle machine'));
const healthz: number[] = [];
const healthzCpu: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const r = await coldStart();
    healthz.push(r.wall);
    if (r.cpu !== undefined) healthzCpu.push(r.cpu);
  }
  const cpuText = healthzCpu.length ? `, CPU p50 ${percentile(healthzCpu, 50).toFixed(0)} ms` : '';
  console.log(
    `${'hub cold start → /healthz 200'.padEnd(38)} wall p50 ${percentile(healthz, 50).toFixed(0)} ms, p90 ${percentile(healthz, 90).toFixed(0)} ms${cpuText}`,
  );
  measure('node -e 0', ['-e', '0']);
  if (!process.argv.includes('--quick')) {
    measure('switchboard --help (all commands)', [main, '--help']);
    measure('settings lint (tiny file)', [main, 'settings', 'lint', tiny]);
    measure('settings eval (tiny file)', [main, 'settings', 'eval', tiny, '--model', 'J179']);
    measure('settings lint (1 MB cp1252 template)', [main, 'settings', 'lint', big]);
    measure('settings eval (1 MB cp1252 template)', [main, 'settings', 'eval', big, '--model', '9641']);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `SUMMARY startup healthz_ms_median=${percentile(healthz, 50).toFixed(0)} healthz_cpu_ms_median=${healthzCpu.length ? percentile(healthzCpu, 50).toFixed(0) : 'n/a'} runs=${healthz.length} load1=${loadavg()[0]!.toFixed(1)}`,
);
