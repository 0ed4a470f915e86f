import { ValidationError } from './errors.js';

/**
 * A 5-field cron matcher (`minute hour day-of-month month day-of-week`) evaluated in an IANA time zone with
 * Intl (no dependency). Fields take `*`, numbers, ranges `a-b`, steps `*\/n` and `a-b/n`, lists `a,b`, and
 * English names for months (`jan`) and weekdays (`mon`); day of week 0 and 7 are Sunday. As in Vixie cron,
 * when both day of month and day of week are restricted, a day matching either runs.
 * Time zone changes: a local time skipped by a spring-forward does not run that day; a local time that occurs
 * twice in a fall-back runs once (the first time). Pure: no clock, no timers.
 */
export interface CronRule {
  source: string;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  weekdays: ReadonlySet<number>;
  /** Day of month / day of week restricted (not `*`). */
  domRestricted: boolean;
  dowRestricted: boolean;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const FIELDS: Array<{ name: string; min: number; max: number; names?: string[]; nameBase?: number }> = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAYS, nameBase: 0 },
];

function bad(field: string, expr: string, why: string): ValidationError {
  return new ValidationError('CRON_INVALID', `${field}: ${JSON.stringify(expr)} ${why}`, { field: 'cron' });
}

function parseField(expr: string, f: (typeof FIELDS)[number]): Set<number> {
  const out = new Set<number>();
  const num = (s: string): number => {
    const i = f.names?.indexOf(s.toLowerCase()) ?? -1;
    if (i >= 0) return i + (f.nameBase ?? 0);
    if (!/^\d{1,2}$/.test(s)) throw bad(f.name, expr, `is not a number from ${f.min} to ${f.max}`);
    const n = Number(s);
    if (n < f.min || n > f.max) throw bad(f.name, expr, `is out of range ${f.min}-${f.max}`);
    return n;
  };
  for (const part of expr.split(',')) {
    const [range, stepS, extra] = part.split('/');
    if (extra !== undefined || range === undefined || range === '') throw bad(f.name, expr, 'is not valid');
    let step = 1;
    if (stepS !== undefined) {
      if (!/^\d{1,2}$/.test(stepS) || Number(stepS) === 0) throw bad(f.name, expr, 'has a bad step');
      step = Number(stepS);
    }
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = f.min;
      hi = f.name === 'day of week' ? 6 : f.max;
    } else if (range.includes('-')) {
      const [a, b, more] = range.split('-');
      if (more !== undefined || !a || !b) throw bad(f.name, expr, 'has a bad range');
      lo = num(a);
      hi = num(b);
      if (lo > hi) throw bad(f.name, expr, 'has a range that runs backwards');
    } else {
      lo = num(range);
      hi = stepS !== undefined ? (f.name === 'day of week' ? 6 : f.max) : lo;
    }
    for (let v = lo; v <= hi; v += step) out.add(f.name === 'day of week' && v === 7 ? 0 : v);
  }
  return out;
}

/** Parses a 5-field rule; throws CRON_INVALID naming the bad field. */
export function parseCron(source: string): CronRule {
  const parts = source.trim().split(/\s+/);
  if (parts.length !== 5)
    throw new ValidationError(
      'CRON_INVALID',
      `cron: ${JSON.stringify(source)} needs 5 fields (minute hour day-of-month month day-of-week)`,
      { field: 'cron' },
    );
  const [mi, h, dom, mo, dow] = parts.map((p, i) => parseField(p, FIELDS[i]!)) as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  return {
    source: parts.join(' '),
    minutes: mi,
    hours: h,
    days: dom,
    months: mo,
    weekdays: dow,
    domRestricted: parts[2] !== '*',
    dowRestricted: parts[4] !== '*',
  };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Is `tz` an IANA time zone this Node.js knows? */
export function isTimeZone(tz: string): boolean {
  try {
    wallClock(0, tz);
    return true;
  } catch {
    return false;
  }
}

/** The local wall-clock fields of an instant in a time zone. */
export function wallClock(
  ms: number,
  tz: string,
): { year: number; month: number; day: number; hour: number; minute: number; weekday: number } {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    formatters.set(tz, f);
  }
  const p: Record<string, string> = {};
  for (const x of f.formatToParts(ms)) p[x.type] = x.value;
  return {
    year: Number(p.year),
    month: Number(p.month),
    day: Number(p.day),
    hour: Number(p.hour) % 24,
    minute: Number(p.minute),
    weekday: DAYS.indexOf((p.weekday ?? '').slice(0, 3).toLowerCase()),
  };
}

function dayMatches(r: CronRule, w: ReturnType<typeof wallClock>): boolean {
  if (!r.months.has(w.month)) return false;
  const dom = r.days.has(w.day);
  const dow = r.weekdays.has(w.weekday);
  if (r.domRestricted && r.dowRestricted) return dom || dow;
  return dom && dow;
}

const MINUTE = 60_000;

/**
 * The first run strictly after `afterMs` (an instant, ms), or null when none comes within `horizonDays`
 * (e.g. `0 0 31 2 *`). Steps a day, an hour or a minute at a time, so a year ahead costs a few thousand
 * Intl lookups at most.
 */
export function nextRun(r: CronRule, tz: string, afterMs: number, horizonDays = 400): number | null {
  let t = Math.floor(afterMs / MINUTE) * MINUTE + MINUTE;
  const end = afterMs + horizonDays * 86_400_000;
  let prevKey = '';
  while (t <= end) {
    const w = wallClock(t, tz);
    if (!dayMatches(r, w)) {
      // Towards the next local midnight, an hour short of it (a day is 23-25 hours long): never past it.
      t += Math.max(60 - w.minute, (22 - w.hour) * 60 + (60 - w.minute)) * MINUTE;
      continue;
    }
    if (!r.hours.has(w.hour)) {
      t += (60 - w.minute) * MINUTE;
      continue;
    }
    const key = `${w.year}-${w.month}-${w.day} ${w.hour}:${w.minute}`;
    if (r.minutes.has(w.minute) && key !== prevKey && !repeatsEarlierWallTime(t, tz, key)) return t;
    prevKey = key;
    t += MINUTE;
  }
  return null;
}

/** In a fall-back hour, the second occurrence of a local time: it ran an hour ago already. */
function repeatsEarlierWallTime(t: number, tz: string, key: string): boolean {
  const w = wallClock(t - 3_600_000, tz);
  return `${w.year}-${w.month}-${w.day} ${w.hour}:${w.minute}` === key;
}
