import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Broadcast, BroadcastReport, DeliveryState } from '../alerting/broadcast/types.js';
import { type ApiFlags, action, apiClientOptions, callApi } from './common.js';
import { registerIncidentCommands } from './incidents.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

type Counts = Record<DeliveryState, number>;
interface Status {
  broadcast: Broadcast;
  counts: Counts;
  running: boolean;
  deliveries: Array<{
    deviceId: string;
    state: DeliveryState;
    reason: string | null;
    message: string | null;
    latencyMs: number | null;
  }>;
}

/** A one-line progress bar (for terminals). Pure: tested on its own. */
export function progressLine(counts: Counts, total: number, elapsedMs: number, width = 30): string {
  const done =
    counts.accepted +
    counts.displayed +
    counts.acknowledged +
    counts.failed +
    (counts.cancelled ?? 0) +
    (counts.recalled ?? 0);
  const fill = total === 0 ? width : Math.round((done / total) * width);
  const bar = `${'#'.repeat(fill)}${'-'.repeat(width - fill)}`;
  const ok = counts.accepted + counts.displayed + counts.acknowledged;
  return `[${bar}] ${done}/${total}  ok ${ok}  failed ${counts.failed}  acked ${counts.acknowledged}  ${(elapsedMs / 1000).toFixed(1)}s`;
}

export function reportText(b: Broadcast, counts: Counts, report: BroadcastReport | null): string {
  const lines = [
    `${b.id}  ${b.state}  ${b.priority}  "${b.title || b.text.slice(0, 40)}"`,
    `  phones ${Object.values(counts).reduce((a, x) => a + x, 0)}: ${Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ')}`,
  ];
  if (report) {
    if (report.timeToLastMs !== null)
      lines.push(
        `  time to first ${report.timeToFirstMs} ms, p50 ${report.p50Ms} ms, p99 ${report.p99Ms} ms, last ${report.timeToLastMs} ms`,
      );
    const f = Object.entries(report.failuresByReason);
    if (f.length) lines.push(`  failures: ${f.map(([r, n]) => `${r} ${n}`).join(', ')}`);
    if (report.slowest.length)
      lines.push(
        `  slowest: ${report.slowest
          .slice(0, 5)
          .map((s) => `${s.deviceId} ${s.latencyMs} ms`)
          .join(', ')}`,
      );
  }
  return lines.join('\n');
}

async function watch(o: ApiFlags, id: string, tty: boolean): Promise<Status> {
  const started = Date.now();
  for (let i = 0; i < 36_000; i++) {
    const s = await callApi<Status>(o, 'GET', `/api/broadcasts/${id}`);
    if (tty) process.stdout.write(`\r${progressLine(s.counts, s.deliveries.length, Date.now() - started)}`);
    if (!s.running) {
      if (tty) process.stdout.write('\n');
      return s;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('gave up waiting after 2 hours');
}

/** Follows a broadcast until delivery ends, prints its report (or JSON); exit code 3 when phones failed. */
async function watchAndReport(o: ApiFlags & { json?: boolean }, id: string): Promise<void> {
  const s = await watch(o, id, !o.json && process.stdout.isTTY === true);
  process.stdout.write(
    o.json ? `${JSON.stringify(s, null, 2)}\n` : `${reportText(s.broadcast, s.counts, s.broadcast.report)}\n`,
  );
  if (s.counts.failed > 0) process.exitCode = 3;
}

/** The message and target flags of `broadcast send` and `schedules add`. */
interface MessageFlags {
  text?: string;
  title: string;
  template?: string;
  var?: string[];
  device?: string[];
  group?: string[];
  label?: string[];
  all?: boolean;
  kind?: string[];
  priority: string;
  tones?: string;
  ack?: boolean;
  busy?: string;
  expires?: string;
}

function messageOptions(cmd: Command): Command {
  return apiClientOptions(
    cmd
      .option('--text <text>', 'message text')
      .option('--title <title>', 'title line', '')
      .option('--template <id>', 'use a stored template (title/text with {{variables}})')
      .option('--var <name=value>', 'template variable (repeatable, dotted names allowed)', collect)
      .option('--device <id>', 'target device (repeatable)', collect)
      .option('--group <id>', 'target group (repeatable)', collect)
      .option('--label <label>', 'target label (repeatable)', collect)
      .option('--all', 'every device')
      .option('--kind <kind>', 'only devices of this kind (repeatable)', collect)
      .option('--priority <p>', 'normal, urgent or emergency', 'normal')
      .option('--tones <tone>', 'none, chime, alert, beep, attention or urgent')
      .option('--ack', 'ask phones for an acknowledgement')
      .option('--busy <policy>', 'busy-phone policy: whisper, suppress or retry')
      .option('--expires <seconds>', 'give up and clear after this many seconds'),
  );
}

/** The body of POST /api/broadcasts from the message flags. */
function messageBody(o: MessageFlags): Record<string, unknown> {
  if (!o.text && !o.template) throw new Error('give --text or --template');
  return {
    ...(o.text ? { text: o.text } : {}),
    ...(o.title ? { title: o.title } : {}),
    ...(o.template ? { template: o.template, vars: parseVars(o.var) } : {}),
    ...(o.template && o.priority === 'normal' ? {} : { priority: o.priority }),
    ...(o.tones ? { tones: o.tones } : {}),
    ...(o.ack ? { ack: true } : {}),
    ...(o.busy ? { busyPolicy: o.busy } : {}),
    ...(o.expires ? { expiresInSeconds: Number(o.expires) } : {}),
    targets: {
      ...(o.device ? { devices: o.device } : {}),
      ...(o.group ? { groups: o.group } : {}),
      ...(o.label ? { labels: o.label } : {}),
      ...(o.all ? { all: true } : {}),
      ...(o.kind ? { kinds: o.kind } : {}),
    },
  };
}

interface ScheduleView {
  id: string;
  name: string;
  at: string | null;
  cron: string | null;
  timeZone: string;
  paused: boolean;
  nextRunAt: string | null;
  runs: number;
  missed: number;
  lastError: string | null;
}

/** `switchboard schedules …`: scheduled and recurring broadcasts (/api/schedules). */
function registerScheduleCommands(program: Command): void {
  const sc = program
    .command('schedules')
    .description('Scheduled and recurring broadcasts (through the hub API)')
    .addHelpText(
      'after',
      `
Examples:
  switchboard schedules add --id bells --cron "0 8,15 * * mon-fri" --tz America/Chicago --group classrooms --text "Bell"
  switchboard schedules add --at 2026-12-24T16:00:00Z --all --text "Building closes in one hour"
  switchboard schedules list
  switchboard schedules pause bells
  switchboard schedules resume bells
  switchboard schedules delete bells
`,
    );
  messageOptions(
    sc
      .command('add')
      .description('Schedule a broadcast at a time (--at) or on a cron rule (--cron, --tz)')
      .option('--id <id>', 'schedule id (default: generated)')
      .option('--name <name>', 'a name for lists')
      .option('--at <iso>', 'one-off: ISO time')
      .option('--cron <rule>', 'recurring: minute hour day-of-month month day-of-week')
      .option('--tz <zone>', 'IANA time zone of the rule (default: broadcast.schedules.timeZone)')
      .option('--catch-up <minutes>', 'send a run missed by at most this many minutes, late')
      .option('--paused', 'create it paused')
      .option('--json', 'print JSON'),
  ).action(
    action(
      async (
        o: ApiFlags &
          MessageFlags & {
            id?: string;
            name?: string;
            at?: string;
            cron?: string;
            tz?: string;
            catchUp?: string;
            paused?: boolean;
            json?: boolean;
          },
      ) => {
        const s = await callApi<ScheduleView>(o, 'POST', '/api/schedules', {
          ...(o.id ? { id: o.id } : {}),
          ...(o.name ? { name: o.name } : {}),
          ...(o.at ? { at: o.at } : {}),
          ...(o.cron ? { cron: o.cron } : {}),
          ...(o.tz ? { timeZone: o.tz } : {}),
          ...(o.catchUp !== undefined ? { catchUpMinutes: Number(o.catchUp) } : {}),
          ...(o.paused ? { paused: true } : {}),
          broadcast: messageBody(o),
        });
        process.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : `${scheduleLine(s)}\n`);
      },
    ),
  );
  apiClientOptions(
    sc.command('list').description('List schedules, next run first').option('--json', 'print JSON'),
  ).action(
    action(async (o: ApiFlags & { json?: boolean }) => {
      const r = await callApi<{ schedules: ScheduleView[] }>(o, 'GET', '/api/schedules');
      if (o.json) process.stdout.write(`${JSON.stringify(r.schedules, null, 2)}\n`);
      else if (r.schedules.length === 0) process.stdout.write('no schedules\n');
      else for (const s of r.schedules) process.stdout.write(`${scheduleLine(s)}\n`);
    }),
  );
  for (const [verb, method, path, what] of [
    ['pause', 'POST', '/pause', 'Pause a schedule'],
    ['resume', 'POST', '/resume', 'Resume a schedule (from the next run after now)'],
    ['delete', 'DELETE', '', 'Delete a schedule'],
  ] as const)
    apiClientOptions(sc.command(`${verb} <id>`).description(what)).action(
      action(async (id: string, o: ApiFlags) => {
        const s = await callApi<ScheduleView | undefined>(
          o,
          method,
          `/api/schedules/${encodeURIComponent(id)}${path}`,
        );
        process.stdout.write(s && 'id' in s ? `${scheduleLine(s)}\n` : `${id} deleted\n`);
      }),
    );
}

export function scheduleLine(s: ScheduleView): string {
  const rule = s.cron ? `cron "${s.cron}" ${s.timeZone}` : `at ${s.at}`;
  const state = s.paused ? 'paused' : s.nextRunAt ? `next ${s.nextRunAt}` : 'done';
  return `${s.id}  ${rule}  ${state}  runs ${s.runs}${s.missed ? `  missed ${s.missed}` : ''}${s.name ? `  ${s.name}` : ''}${s.lastError ? `  last error: ${s.lastError}` : ''}`;
}

function parseVars(list: string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    if (i <= 0) throw new Error(`--var expects name=value, got ${JSON.stringify(item)}`);
    let cur = out;
    const path = item.slice(0, i).split('.');
    if (path.some((k) => k === '__proto__' || k === 'constructor' || k === 'prototype' || k === ''))
      throw new Error(`--var: ${JSON.stringify(item.slice(0, i))} is not a usable name`);
    for (const k of path.slice(0, -1)) {
      if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
      cur = cur[k] as Record<string, unknown>;
    }
    cur[path[path.length - 1]!] = item.slice(i + 1);
  }
  return out;
}

export function registerBroadcastCommands(program: Command): void {
  const bc = program
    .command('broadcast')
    .description('Send broadcasts to phones and follow their delivery (through the hub API)')
    .addHelpText(
      'after',
      `
Examples:
  export SWITCHBOARD_API_KEY=sbk_…
  switchboard broadcast send --group security --title "Drill" --text "Fire drill at 3 pm" --ack
  switchboard broadcast send --all --priority urgent --text "Building closes at 6 pm"
  switchboard broadcast send --template visitor --var visitor.name=Bob --device lobby-1
  switchboard broadcast status bc_… --watch
  switchboard broadcast list
  switchboard broadcast cancel bc_…      # stop phones not yet served
  switchboard broadcast recall bc_…      # also clear it from the phones that show it
  switchboard broadcast retry bc_…       # send again to the phones that failed
`,
    );
  messageOptions(
    bc
      .command('send')
      .description('Send a broadcast and show its progress (a progress bar on a terminal) and report')
      .option('--no-wait', 'return at once with the broadcast id')
      .option('--json', 'print JSON'),
  ).action(
    action(async (o: ApiFlags & MessageFlags & { wait: boolean; json?: boolean }) => {
      const body = messageBody(o);
      const r = await callApi<{ broadcast: Broadcast; total: number }>(o, 'POST', '/api/broadcasts', body);
      if (!o.wait) {
        process.stdout.write(
          o.json ? `${JSON.stringify(r, null, 2)}\n` : `${r.broadcast.id} (${r.total} phones)\n`,
        );
        return;
      }
      await watchAndReport(o, r.broadcast.id);
    }),
  );
  apiClientOptions(
    bc
      .command('status <id>')
      .description('Show a broadcast: counts, report, failed phones')
      .option('--watch', 'follow until delivery has finished')
      .option('--json', 'print JSON'),
  ).action(
    action(async (id: string, o: ApiFlags & { watch?: boolean; json?: boolean }) => {
      const s = o.watch
        ? await watch(o, id, !o.json && process.stdout.isTTY === true)
        : await callApi<Status>(o, 'GET', `/api/broadcasts/${id}`);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${reportText(s.broadcast, s.counts, s.broadcast.report)}\n`);
      for (const d of s.deliveries.filter((x) => x.state === 'failed').slice(0, 50))
        process.stdout.write(`  failed ${d.deviceId.padEnd(20)} ${d.reason ?? ''}  ${d.message ?? ''}\n`);
    }),
  );
  apiClientOptions(
    bc
      .command('list')
      .description('List recent broadcasts')
      .option('--limit <n>', 'how many', '20')
      .option('--json', 'print JSON'),
  ).action(
    action(async (o: ApiFlags & { limit: string; json?: boolean }) => {
      const r = await callApi<{ broadcasts: Array<Broadcast & { counts: Counts }> }>(
        o,
        'GET',
        `/api/broadcasts?limit=${Number(o.limit)}`,
      );
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r.broadcasts, null, 2)}\n`);
        return;
      }
      if (r.broadcasts.length === 0) process.stdout.write('no broadcasts\n');
      for (const b of r.broadcasts) {
        const total = Object.values(b.counts).reduce((a, x) => a + x, 0);
        const ok = b.counts.accepted + b.counts.displayed + b.counts.acknowledged;
        process.stdout.write(
          `${b.id}  ${b.createdAt.slice(0, 19)}  ${b.state.padEnd(10)} ${b.priority.padEnd(9)} ${String(ok).padStart(5)}/${String(total).padEnd(5)} ${b.title || b.text.slice(0, 40)}\n`,
        );
      }
    }),
  );

  apiClientOptions(
    bc
      .command('cancel <id>')
      .description('Stop a broadcast that is still delivering (phones not yet served are cancelled)')
      .option('--json', 'print JSON'),
  ).action(
    action(async (id: string, o: ApiFlags & { json?: boolean }) => {
      const r = await callApi<{ broadcast: Broadcast; cancelled: number }>(
        o,
        'POST',
        `/api/broadcasts/${encodeURIComponent(id)}/cancel`,
      );
      process.stdout.write(
        o.json
          ? `${JSON.stringify(r, null, 2)}\n`
          : `${r.broadcast.id} cancelled: ${r.cancelled} phones not served\n`,
      );
    }),
  );
  apiClientOptions(
    bc
      .command('recall <id>')
      .description('Cancel a broadcast if needed and clear it from the phones that show it')
      .option('--json', 'print JSON'),
  ).action(
    action(async (id: string, o: ApiFlags & { json?: boolean }) => {
      const r = await callApi<{ broadcast: Broadcast; phones: number; cleared: number; failed: number }>(
        o,
        'POST',
        `/api/broadcasts/${encodeURIComponent(id)}/recall`,
      );
      process.stdout.write(
        o.json
          ? `${JSON.stringify(r, null, 2)}\n`
          : `${r.broadcast.id} recalled: ${r.cleared} of ${r.phones} phones cleared${r.failed ? `, ${r.failed} could not be cleared (recall again to retry them)` : ''}\n`,
      );
      if (r.failed > 0) process.exitCode = 3;
    }),
  );
  apiClientOptions(
    bc
      .command('retry <id>')
      .description('Send a finished broadcast again to the phones whose delivery failed')
      .option('--no-wait', 'return at once')
      .option('--json', 'print JSON'),
  ).action(
    action(async (id: string, o: ApiFlags & { wait: boolean; json?: boolean }) => {
      const r = await callApi<{ broadcast: Broadcast; phones: number }>(
        o,
        'POST',
        `/api/broadcasts/${encodeURIComponent(id)}/retry`,
      );
      if (!o.wait) {
        process.stdout.write(
          o.json ? `${JSON.stringify(r, null, 2)}\n` : `${r.broadcast.id}: retrying ${r.phones} phones\n`,
        );
        return;
      }
      await watchAndReport(o, r.broadcast.id);
    }),
  );

  registerScheduleCommands(program);

  const loc = program
    .command('locations')
    .description('The extension → location table used by on-site 911 alerts')
    .addHelpText(
      'after',
      '\nExamples:\n  switchboard locations import locations.csv\n  switchboard locations list\n\nCSV header: extension,name,building,floor,room,site,description,callback\n',
    );
  apiClientOptions(
    loc.command('import <file>').description('Import a CSV file (rows replace the same extensions)'),
  ).action(
    action(async (file: string, o: ApiFlags) => {
      const r = await callApi<{ imported: number }>(o, 'POST', '/api/locations/import', {
        csv: readFileSync(file, 'utf8'),
      });
      process.stdout.write(`imported ${r.imported} locations\n`);
    }),
  );
  apiClientOptions(
    loc.command('list').description('List the location table').option('--json', 'print JSON'),
  ).action(
    action(async (o: ApiFlags & { json?: boolean }) => {
      const r = await callApi<{ locations: Array<Record<string, string>> }>(o, 'GET', '/api/locations');
      if (o.json) process.stdout.write(`${JSON.stringify(r.locations, null, 2)}\n`);
      else
        for (const l of r.locations)
          process.stdout.write(
            `${(l.extension ?? '').padEnd(8)} ${(l.name ?? '').padEnd(20)} ${[l.building, l.floor, l.room].filter(Boolean).join(' / ')}\n`,
          );
    }),
  );
  const inc = program
    .command('incidents')
    .description('The 911 incident log')
    .addHelpText(
      'after',
      '\nExamples:\n  switchboard incidents list\n  switchboard incidents export > incidents.csv\n  switchboard incidents export --real-only > compliance.csv   # no drills, no 933 test calls\n',
    );
  apiClientOptions(
    inc
      .command('list')
      .description('Recent incidents')
      .option('--limit <n>', 'how many', '20')
      .option('--real-only', 'leave out drills and 933 test calls (the compliance record)'),
  ).action(
    action(async (o: ApiFlags & { limit: string; realOnly?: boolean }) => {
      const r = await callApi<{
        incidents: Array<{
          id: string;
          createdAt: string;
          test: boolean;
          drill?: boolean;
          state: string;
          caller: { extension: string; name: string };
          location: { building?: string; floor?: string; room?: string };
          acknowledgedBy: string | null;
        }>;
      }>(o, 'GET', `/api/incidents?limit=${Number(o.limit)}${o.realOnly ? '&drills=exclude' : ''}`);
      if (r.incidents.length === 0) process.stdout.write('no incidents\n');
      for (const i of r.incidents)
        process.stdout.write(
          `${i.id}  ${i.createdAt.slice(0, 19)}  ${i.drill ? 'DRILL ' : i.test ? 'TEST ' : ''}${i.state.padEnd(14)} ext ${i.caller.extension} ${i.caller.name}  ${[i.location.building, i.location.floor, i.location.room].filter(Boolean).join(' / ')}  ${i.acknowledgedBy ? `acked by ${i.acknowledgedBy}` : ''}\n`,
        );
    }),
  );
  registerIncidentCommands(inc);
  apiClientOptions(
    inc
      .command('export')
      .description('Export the incident log as CSV')
      .option('--limit <n>', 'how many', '10000')
      .option('--real-only', 'leave out drills and 933 test calls (the compliance record)'),
  ).action(
    action(async (o: ApiFlags & { limit: string; realOnly?: boolean }) => {
      const base = (o.url ?? process.env.SWITCHBOARD_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
      const key = o.key ?? process.env.SWITCHBOARD_API_KEY ?? '';
      const q = `format=csv&limit=${Number(o.limit)}${o.realOnly ? '&drills=exclude' : ''}`;
      const res = await fetch(`${base}/api/incidents?${q}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
      process.stdout.write(await res.text());
    }),
  );
}
