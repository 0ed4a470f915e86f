import { Writable } from 'node:stream';

/**
 * `log.pretty`: the hub's JSON log lines made readable in a terminal, in this process (no pino transport,
 * no worker thread, no dependency: pino-pretty is a development tool, and a transport's worker must be
 * flushed on exit). Output for a line:
 *
 *   09:41:07.123 WARN  request failed  reqId=req-1 err.code=DEVICE_UNREACHABLE err.message="connect ECONNREFUSED…"
 *
 * Only for people at a terminal: systemd, Docker and log shippers want the JSON lines (the default).
 */

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const COLOURS: Record<string, string> = {
  WARN: '\x1b[33m',
  ERROR: '\x1b[31m',
  FATAL: '\x1b[41m',
  DEBUG: '\x1b[2m',
};
const RESET = '\x1b[0m';
/** Fields every line has, shown in the line's head or not at all. */
const HEAD = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

function scalar(v: unknown): string {
  if (typeof v === 'string') return /^[\w.:/@+-]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** `key=value` pairs of a (nested) object, `err.message=…`; a stack trace goes on lines of its own. */
function pairs(obj: Record<string, unknown>, prefix: string, out: string[], tail: string[]): void {
  for (const [k, v] of Object.entries(obj)) {
    if (prefix === '' && HEAD.has(k)) continue;
    const key = `${prefix}${k}`;
    if (k === 'stack' && typeof v === 'string') tail.push(v);
    else if (v !== null && typeof v === 'object' && !Array.isArray(v))
      pairs(v as Record<string, unknown>, `${key}.`, out, tail);
    else out.push(`${key}=${scalar(v)}`);
  }
}

function clock(time: unknown): string {
  const d = new Date(typeof time === 'number' || typeof time === 'string' ? time : Number.NaN);
  return Number.isNaN(d.getTime()) ? '--:--:--.---' : d.toISOString().slice(11, 23);
}

/** One JSON log line, pretty; a line that is not a JSON object is returned as it is. */
export function prettyLine(line: string, colour = false): string {
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch {
    return line;
  }
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return line;
  const r = rec as Record<string, unknown>;
  const level = LEVELS[Number(r.level)] ?? String(r.level ?? '?').toUpperCase();
  const out: string[] = [];
  const tail: string[] = [];
  pairs(r, '', out, tail);
  const lvl = colour && COLOURS[level] ? `${COLOURS[level]}${level.padEnd(5)}${RESET}` : level.padEnd(5);
  const head = `${clock(r.time)} ${lvl} ${typeof r.msg === 'string' ? r.msg : ''}`;
  return [
    out.length ? `${head}  ${out.join(' ')}` : head,
    ...tail.map((t) => `    ${t.replaceAll('\n', '\n    ')}`),
  ]
    .join('\n')
    .trimEnd();
}

/** A stream pino writes its JSON lines to; writes them pretty to `to` (stdout). */
export function prettyStream(to: NodeJS.WritableStream, colour: boolean): Writable {
  let buf = '';
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      buf += chunk.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) if (l) to.write(`${prettyLine(l, colour)}\n`);
      done();
    },
    final(done) {
      if (buf) to.write(`${prettyLine(buf, colour)}\n`);
      buf = '';
      done();
    },
  });
}
