import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** utime+stime of the processes, ms (from /proc; a process gone meanwhile counts 0). */
export function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      /* gone */
    }
  }
  return ticks * 10;
}

/** A process and its children (nginx master + workers, postmaster + backends). */
export function withChildren(pid: number | undefined): number[] {
  if (!pid) return [];
  const out = [pid];
  try {
    for (const p of execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n'))
      if (p.trim()) out.push(Number(p));
  } catch {
    /* no children */
  }
  return out;
}

/** The postmaster and its backends of a cluster whose data directory is `<dir>/data` (test/helpers/postgres.ts). */
export function postgresPids(cluster: { dir: string }): number[] {
  try {
    return withChildren(
      Number(readFileSync(join(cluster.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]),
    );
  } catch {
    return [];
  }
}
