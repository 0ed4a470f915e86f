import type { Command } from 'commander';
import { type ApiFlags, action, apiClientOptions, callApi } from './common.js';

/** `switchboard incidents show|ack`: one 911 incident of a running hub (added to `incidents`). */

interface IncidentView {
  incident: {
    id: string;
    createdAt: string;
    state: string;
    test: boolean;
    drill?: boolean;
    pbx: string;
    caller: { extension: string; name: string; callbackNumber: string; dialled: string };
    location: { building?: string; floor?: string; room?: string; site?: string; from: string };
    broadcasts: string[];
    escalations: number;
    acknowledgedAt: string | null;
    acknowledgedBy: string | null;
    acknowledgedNote?: string | null;
    callEndedAt: string | null;
    timeline?: Array<{ at: string; type: string; detail?: Record<string, unknown> }>;
  };
  deliveries: Array<{
    deviceId: string;
    state: string;
    reason: string | null;
    acknowledgedBy: string | null;
  }>;
}

/** The incident as lines of text. Pure: tested on its own. */
export function incidentText(v: IncidentView): string {
  const i = v.incident;
  const where = [i.location.site, i.location.building, i.location.floor, i.location.room].filter(Boolean);
  const lines = [
    `${i.id}  ${i.state}${i.drill ? '  DRILL' : i.test ? '  TEST' : ''}`,
    `  opened     ${i.createdAt}`,
    `  caller     ext ${i.caller.extension} ${i.caller.name}  (dialled ${i.caller.dialled}, call back ${i.caller.callbackNumber})`,
    `  location   ${where.length ? where.join(' / ') : 'unknown'} (from ${i.location.from})`,
    `  pbx        ${i.pbx}`,
    `  acked      ${i.acknowledgedAt ? `${i.acknowledgedAt} by ${i.acknowledgedBy}${i.acknowledgedNote ? `: ${i.acknowledgedNote}` : ''}` : 'not yet'}`,
    `  escalated  ${i.escalations} time(s)`,
    `  call ended ${i.callEndedAt ?? 'no'}`,
  ];
  if (v.deliveries.length) {
    lines.push(`  phones (${v.deliveries.length}):`);
    for (const d of v.deliveries)
      lines.push(
        `    ${d.deviceId.padEnd(20)} ${d.state}${d.reason ? ` (${d.reason})` : ''}${d.acknowledgedBy ? ` acked by ${d.acknowledgedBy}` : ''}`,
      );
  }
  if (i.timeline?.length) lines.push('  timeline:');
  for (const t of i.timeline ?? [])
    lines.push(`    ${t.at}  ${t.type}  ${t.detail ? JSON.stringify(t.detail) : ''}`.trimEnd());
  return `${lines.join('\n')}\n`;
}

export function registerIncidentCommands(inc: Command): void {
  apiClientOptions(
    inc
      .command('show')
      .description('Show one incident: caller, location, acknowledgement, the phones alerted, its timeline')
      .argument('<id>')
      .option('--json', 'print JSON')
      .addHelpText('after', '\nExample:\n  switchboard incidents show inc_…\n'),
  ).action(
    action(async (id: string, o: ApiFlags & { json?: boolean }) => {
      const v = await callApi<IncidentView>(o, 'GET', `/api/incidents/${encodeURIComponent(id)}`);
      process.stdout.write(o.json ? `${JSON.stringify(v, null, 2)}\n` : incidentText(v));
    }),
  );
  apiClientOptions(
    inc
      .command('ack')
      .description("Acknowledge an incident (stops escalation); recorded under the API key's name")
      .argument('<id>')
      .option('--note <text>', 'what the desk did (stored with the acknowledgement)')
      .addHelpText(
        'after',
        '\nExample:\n  switchboard incidents ack inc_… --note "officer sent to room 214"\n',
      ),
  ).action(
    action(async (id: string, o: ApiFlags & { note?: string }) => {
      const r = await callApi<IncidentView>(
        o,
        'POST',
        `/api/incidents/${encodeURIComponent(id)}/ack`,
        o.note ? { note: o.note } : {},
      );
      process.stdout.write(
        `acknowledged ${r.incident.id} by ${r.incident.acknowledgedBy} at ${r.incident.acknowledgedAt}\n`,
      );
    }),
  );
}
