import type { Location } from '../../core/devices.js';
import type { Incident, LocationEntry } from './types.js';

/**
 * What the security desk reads for a 911 call (phones, email, console): pure functions, no I/O.
 *
 * Kari's Law / RAY BAUM'S Act (research anchors-and-requirements.md): the notification says that a 911 call
 * was made, gives a valid callback number and the dispatchable location (building, floor, room). So:
 * - times are local to the site, with the zone abbreviation (`2026-12-01 20:42:44 EST`); UTC stays stored;
 * - the callback number is the external one (location table, the PBX's CLI when it is not the bare
 *   extension, or the site's main number) and the extension is shown beside it when they differ;
 * - the location says what is known and names what is not ("Main building, floor 1, room unknown"), never a
 *   placeholder such as "room ?";
 * - a 933 test call or a drill says so in the first line (the title every phone shows first).
 */

/** Zones Intl knows (IANA names such as `America/New_York`, or `UTC`). */
export function isValidTimeZone(tz: string): boolean {
  if (tz === '' || tz.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      ...(tz ? { timeZone: tz } : {}),
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    if (formatters.size > 64) formatters.clear();
    formatters.set(tz, f);
  }
  return f;
}

/**
 * `2026-12-01 20:42:44 EST`: the instant in `timeZone` (IANA) with the zone's short name as Intl gives it
 * (`EST`/`EDT`, `PST`; `GMT+1` where en-US has no abbreviation). No zone, an unknown zone or an unparsable
 * time falls back to UTC rather than throwing: an alert must never fail over its clock line.
 */
export function localTime(iso: string | number, timeZone = 'UTC'): string {
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  if (!Number.isFinite(t)) return String(iso);
  const tz = timeZone !== '' && isValidTimeZone(timeZone) ? timeZone : 'UTC';
  const parts: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(new Date(t))) parts[p.type] = p.value;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName ?? 'UTC'}`;
}

/** `2026-12-02 01:42:44 UTC` (the stored instant, for records and mail footers). */
export function utcTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? `${new Date(t).toISOString().replace('T', ' ').slice(0, 19)} UTC` : iso;
}

/**
 * The caller's zone: the location-table row, else `emergency.timeZone`, else the hub's own zone (as Intl
 * reports it, e.g. from TZ), so that every incident records the zone its times were shown in.
 */
export function resolveTimeZone(
  entry: Pick<LocationEntry, 'timeZone'> | undefined,
  configured: string,
): string {
  if (entry?.timeZone && isValidTimeZone(entry.timeZone)) return entry.timeZone;
  if (configured && isValidTimeZone(configured)) return configured;
  return new Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export type CallbackSource = 'table' | 'pbx' | 'site' | 'extension';

/**
 * The number a PSAP (or the guard) can call back: the location table's `callback` for the extension, else
 * the PBX's calling number when it is more than the bare extension (an outgoing CLI / DID), else the site's
 * main number (`emergency.callbackNumber`), else only the extension.
 */
export function resolveCallback(p: {
  extension: string;
  tableCallback?: string | undefined;
  pbxNumber?: string | undefined;
  siteNumber?: string | undefined;
}): { number: string; source: CallbackSource } {
  const ext = p.extension.trim();
  const table = p.tableCallback?.trim();
  if (table) return { number: table, source: 'table' };
  const pbx = p.pbxNumber?.trim();
  if (pbx && pbx !== ext && digitsOf(pbx).length > Math.max(ext.length, 6))
    return { number: pbx, source: 'pbx' };
  const site = p.siteNumber?.trim();
  if (site) return { number: site, source: 'site' };
  return { number: ext, source: 'extension' };
}

function digitsOf(s: string): string {
  return s.replace(/[^0-9]/g, '');
}

/** `+1 555 010 4001 (ext 4001)`, or the extension alone, saying that no external number is on file. */
export function callbackText(extension: string, number: string): string {
  const ext = extension.trim();
  const n = number.trim();
  if (n && n !== ext) return ext ? `${n} (ext ${ext})` : n;
  return ext ? `ext ${ext} (no external number on file)` : 'unknown (no number on file)';
}

/**
 * The digits the security phone's "Call back" key dials: the caller's extension (an on-site call, the
 * default) or the external number with an optional outside-line prefix. Only what a Dial URI (seed 003:
 * 0-9 # * ABCD and comma) and a WTAI link accept; '' when nothing dialable is left.
 */
export function callbackDial(
  caller: { extension: string; callbackNumber: string },
  o: { dial: 'extension' | 'external'; prefix: string },
): string {
  const ext = caller.extension.trim();
  if (o.dial === 'extension' && /^[0-9*#]{1,32}$/.test(ext)) return ext;
  const ext2 = digitsOf(caller.callbackNumber);
  if (!ext2) return /^[0-9*#]{1,32}$/.test(ext) ? ext : '';
  if (ext2 === ext) return ext;
  const d = `${digitsOf(o.prefix)}${ext2}`;
  return d.length <= 32 ? d : '';
}

const BUILDING_WORD =
  /\b(building|bldg|hall|tower|house|wing|block|annex|center|centre|campus|plant|warehouse|hq)\b/i;
const FLOOR_WORD = /\b(floor|fl|level|lvl|basement|ground|mezzanine|roof)\b/i;
const ROOM_WORD =
  /\b(room|rm|suite|office|lobby|desk|lab|hall|area|kitchen|closet|bay|dock|reception|cafeteria|patrol)\b/i;

/** Placeholders people type into location tables ("?", "-", "n/a", "TBD"): treated as not known. */
const PLACEHOLDER = /^(\?+|-+|_+|\.+|n\/?a|tbd|tba|unknown|none|null|undefined)$/i;

/** A location value, or '' when it is empty or a placeholder. */
function known(v: string | undefined): string {
  const t = (v ?? '').trim();
  return PLACEHOLDER.test(t) ? '' : t;
}

/** The parts of a dispatchable location that are missing (`building`, `floor`, `room`). */
export function missingLocationParts(l: Partial<Location>): Array<'building' | 'floor' | 'room'> {
  const out: Array<'building' | 'floor' | 'room'> = [];
  if (!known(l.building)) out.push('building');
  if (!known(l.floor)) out.push('floor');
  if (!known(l.room)) out.push('room');
  return out;
}

/**
 * `HQ: Main building, floor 1, room 101`: every part that is known, and "<part> unknown" for the ones that
 * are not ("Main building, floor 1, room unknown"). Values that already name their kind ("Room 301",
 * "Security office", "Level 2", "North Tower") are kept as they are. Nothing known at all: "Location
 * unknown".
 */
export function locationText(l: Partial<Location>): string {
  const b = known(l.building);
  const f = known(l.floor);
  const r = known(l.room);
  const site = known(l.site);
  if (!b && !f && !r) return site ? `${site}: building, floor and room unknown` : 'Location unknown';
  const parts = [
    b ? (BUILDING_WORD.test(b) ? b : `${b} building`) : 'building unknown',
    f ? (FLOOR_WORD.test(f) ? f : `floor ${f}`) : 'floor unknown',
    r ? (ROOM_WORD.test(r) ? r : `room ${r}`) : 'room unknown',
  ];
  const where = parts.join(', ');
  return site && site.toLowerCase() !== b.toLowerCase() ? `${site}: ${where}` : where;
}

/** Kind of call, for the first line: a real emergency, a 933 test call, or a drill. */
export function callKind(
  i: Pick<Incident, 'test' | 'drill'> & { caller: { detectedBy: string } },
): 'real' | 'test' | 'drill' {
  if (i.drill === true || i.caller.detectedBy === 'drill') return 'drill';
  return i.test ? 'test' : 'real';
}

/**
 * The first line every phone shows: `911 CALL`, `TEST CALL 933 - NOT AN EMERGENCY`, or `DRILL - 911 CALL`.
 * The marker comes first so that even a 20-character title bar (Cisco 7940/7960) starts with it.
 */
export function alertHeadline(
  i: Pick<Incident, 'test' | 'drill'> & { caller: { dialled: string; detectedBy: string } },
): string {
  const n = /^[0-9*#]{2,15}$/.test(i.caller.dialled) ? i.caller.dialled : '';
  switch (callKind(i)) {
    case 'drill':
      return `DRILL - ${n || '911'} CALL`;
    case 'test':
      return `TEST CALL ${n || '933'} - NOT AN EMERGENCY`;
    default:
      return '911 CALL';
  }
}

/**
 * A title that starts with the marker of a test call or a drill whatever the (editable) template says: the
 * template's title is kept, prefixed with `TEST - ` / `DRILL - ` when it does not already begin with it.
 */
export function markFirstLine(title: string, i: Parameters<typeof callKind>[0]): string {
  const k = callKind(i);
  if (k === 'real') return title;
  const marker = k === 'test' ? 'TEST' : 'DRILL';
  return new RegExp(`^\\s*${marker}\\b`, 'i').test(title) ? title : `${marker} - ${title}`.trim();
}

/**
 * The template context of an incident's alert: the stored fields (caller, location, incident) plus
 * `alert.*`, the ready-made lines (headline, caller, callback, location, note, time) and `time` (local).
 */
export function alertContext(i: Incident, o: { timeZone?: string } = {}): Record<string, unknown> {
  const opened = i.timeline[0]?.at ?? i.createdAt;
  const tz = i.timeZone ?? o.timeZone ?? 'UTC';
  const time = localTime(opened, tz);
  const kind = callKind(i);
  const who = `${i.caller.name || 'Unknown caller'}${i.caller.extension ? `, ext ${i.caller.extension}` : ''}`;
  const note =
    i.location.from === 'pbx'
      ? (i.location.description ?? '')
      : i.location.description && i.location.description !== locationText(i.location)
        ? i.location.description
        : '';
  return {
    caller: i.caller,
    location: i.location,
    time,
    timeUtc: utcTime(opened),
    test: kind === 'test' ? 'TEST ' : kind === 'drill' ? 'DRILL ' : '',
    drill: kind === 'drill',
    incident: { id: i.id, escalation: i.escalations },
    alert: {
      headline: alertHeadline(i),
      caller: who,
      callback: callbackText(i.caller.extension, i.caller.callbackNumber),
      location: locationText(i.location),
      note,
      time,
      timeUtc: utcTime(opened),
    },
  };
}

/**
 * The alert for a 20-column display (Cisco 7940/7960: two text rows, a prompt row): the location first
 * (where to go), then who; the callback number on the prompt row. Short forms only: `Main fl 1 rm 101`,
 * and "no room" rather than a placeholder.
 */
export function compactAlert(i: Incident): { text: string; prompt: string } {
  const l = i.location;
  const b = known(l.building);
  const f = known(l.floor);
  const r = known(l.room);
  const where =
    !b && !f && !r
      ? 'Location unknown'
      : [
          b || 'no bldg',
          f ? (FLOOR_WORD.test(f) ? f : `fl ${f}`) : 'no floor',
          r ? (ROOM_WORD.test(r) ? r : `rm ${r}`) : 'no room',
        ].join(' ');
  const who = `${i.caller.name || 'Unknown'}${i.caller.extension ? ` x${i.caller.extension}` : ''}`;
  const n = i.caller.callbackNumber.trim();
  const prompt = n && n !== i.caller.extension ? `CB ${n}` : `CB x${i.caller.extension} only`;
  return { text: `${where}\n${who}`, prompt };
}

export interface CoverageReport {
  /** Extensions known to the hub (location table rows and phones with an extension). */
  extensions: number;
  /** Extensions whose dispatchable location lacks a part (what a 911 alert would call "unknown"). */
  missingLocation: Array<{ extension: string; missing: string[] }>;
  /** Extensions whose alert would carry no external callback number. */
  missingCallback: string[];
  /** Rows whose `timeZone` Intl does not know (the alert falls back to `emergency.timeZone`). */
  badTimeZone: string[];
}

/**
 * Before any emergency: which extensions an admin must complete in the location table. `locate` is the
 * service's own lookup (table, then device registry), so the report says exactly what an alert would show.
 */
export function coverageReport(p: {
  rows: LocationEntry[];
  deviceExtensions: string[];
  locate: (extension: string) => Partial<Location>;
  siteNumber: string;
  limit?: number;
}): CoverageReport {
  const limit = p.limit ?? 500;
  const all = [...new Set([...p.rows.map((r) => r.extension), ...p.deviceExtensions].filter(Boolean))].sort(
    (a, b) => a.localeCompare(b, 'en', { numeric: true }),
  );
  const byExt = new Map(p.rows.map((r) => [r.extension, r]));
  const missingLocation: CoverageReport['missingLocation'] = [];
  const missingCallback: string[] = [];
  for (const ext of all) {
    const missing = missingLocationParts(p.locate(ext));
    if (missing.length > 0 && missingLocation.length < limit)
      missingLocation.push({ extension: ext, missing });
    if (!byExt.get(ext)?.callback?.trim() && !p.siteNumber.trim() && missingCallback.length < limit)
      missingCallback.push(ext);
  }
  const badTimeZone = p.rows
    .filter((r) => r.timeZone !== undefined && r.timeZone !== '' && !isValidTimeZone(r.timeZone))
    .map((r) => r.extension)
    .slice(0, limit);
  return { extensions: all.length, missingLocation, missingCallback, badTimeZone };
}
