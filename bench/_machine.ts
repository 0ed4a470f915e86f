import os from 'node:os';

/** One line describing the machine a benchmark ran on (printed by every bench). */
export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `machine: ${cpu} × ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

/** p-th percentile (0..100) of a numeric list. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

/** "load average at start: …" with a note on what it means for the figures. */
export function loadLine(note = 'other processes share these cores'): string {
  return `load average at start: ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} (${note})`;
}

/** The value after `--<name>` on the command line, or `def`. */
export function argString(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  return v === undefined || v === '' || v.startsWith('--') ? def : v;
}

/** A positive number after `--<name>`, or `def` when it is missing or not a positive number. */
export function argNumber(name: string, def: number): number {
  const v = Number(argString(name, String(def)));
  return Number.isFinite(v) && v > 0 ? v : def;
}
