import { statfsSync } from 'node:fs';

/** Free space of the data directory's file system. */
export interface DiskState {
  /** `full`: below the configured minimum (`events.minFreeDiskMb`); `unknown`: statfs failed. */
  state: 'ok' | 'full' | 'unknown';
  freeMb?: number;
}

/** Free space of the data directory's file system against a minimum in MB (`full` below it). */
export function diskState(dataDir: string, minFreeMb: number): DiskState {
  if (dataDir === ':memory:') return { state: 'ok' };
  try {
    const s = statfsSync(dataDir);
    const freeMb = Math.floor((s.bavail * s.bsize) / (1024 * 1024));
    return { state: freeMb < minFreeMb ? 'full' : 'ok', freeMb };
  } catch {
    return { state: 'unknown' };
  }
}
