import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SwitchboardError } from '../../core/errors.js';

export const LOCK_FILE = 'switchboard.lock';

/** Another hub already runs on this data directory (two hubs on one directory lose events). */
export class DataDirLockedError extends SwitchboardError {
  constructor(dir: string, pid: number) {
    super(
      'DATA_DIR_LOCKED',
      `data directory ${dir} is in use by another Switchboard hub (pid ${pid}); stop it or use another --data-dir`,
      { status: 503, details: { dataDir: dir, pid } },
    );
  }
}

/** Directories this process holds (a second hub in the same process is refused too). */
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the exclusive lock of a data directory: `switchboard.lock` created with O_EXCL (mode 0600) holding
 * the pid. A lock left by a process that no longer runs (kill -9, power loss) is taken over. Returns the
 * release function. Throws DataDirLockedError naming the directory and the holder's pid.
 */
export function lockDataDir(dataDir: string): () => void {
  const dir = resolve(dataDir);
  const path = join(dir, LOCK_FILE);
  if (held.has(dir)) throw new DataDirLockedError(dir, process.pid);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let pid = Number.NaN;
      try {
        pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      } catch {
        // vanished meanwhile: try again
      }
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid))
        throw new DataDirLockedError(dir, pid);
      // Stale (the holder is gone) or unreadable: remove and retry; O_EXCL decides any race.
      try {
        unlinkSync(path);
      } catch {
        // another starter removed it first
      }
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    held.add(dir);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      held.delete(dir);
      try {
        if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
      } catch {
        // already gone
      }
    };
  }
  throw new DataDirLockedError(dir, Number.NaN);
}
