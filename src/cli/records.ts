import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseAllDocuments, stringify } from 'yaml';
import { type ApiFlags, action, apiClientOptions, callApi } from './common.js';

/**
 * `switchboard rules|templates|groups list|show|put|rm`: the stored records of a running hub, through its
 * API. `show` prints YAML that `put` takes back (edit, then put), so a site keeps its rules in files.
 */

interface RecordKind {
  /** Command and API collection name. */
  name: 'rules' | 'templates' | 'groups';
  singular: string;
  description: string;
  /** Columns of `list`: [header, value]. */
  columns: Array<[string, (r: Record<string, unknown>) => string]>;
  example: string;
}

const text = (v: unknown) => (v === undefined || v === null ? '' : String(v));

const KINDS: RecordKind[] = [
  {
    name: 'rules',
    singular: 'rule',
    description: 'Rules: on an event, send a broadcast, run an action, publish or call a webhook',
    columns: [
      ['ID', (r) => text(r.id)],
      ['EVENT', (r) => text(r.event)],
      ['ENABLED', (r) => (r.enabled === false ? 'no' : 'yes')],
      ['ACTIONS', (r) => (Array.isArray(r.actions) ? r.actions.map((a) => text(a?.type)).join(',') : '')],
      ['ORIGIN', (r) => text(r.origin)],
    ],
    example: `id: hook-911
event: call.emergency
actions:
  - type: webhook
    url: https://example.org/hooks/911
    secret: a-long-shared-secret`,
  },
  {
    name: 'templates',
    singular: 'template',
    description: 'Broadcast templates: title and text with {{variables}}',
    columns: [
      ['ID', (r) => text(r.id)],
      ['PRIORITY', (r) => text(r.priority)],
      ['TITLE', (r) => text(r.title)],
    ],
    example: `id: lockdown
title: "Lockdown: {{building}}"
text: Lockdown in {{building}}. Stay in your room.
priority: emergency
ack: true`,
  },
  {
    name: 'groups',
    singular: 'group',
    description: 'Device groups (a device joins one with `devices set ID --add-group G`)',
    columns: [
      ['ID', (r) => text(r.id)],
      ['MEMBERS', (r) => (Array.isArray(r.members) ? String(r.members.length) : text(r.members))],
      ['NAME', (r) => text(r.name)],
    ],
    example: `id: security
name: Security desk
description: Phones alerted first on a 911 call`,
  },
];

/** Rows with a header, each column as wide as its widest cell. Pure: tested on its own. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/**
 * The records of a YAML or JSON file: one object, a list of objects, or several YAML documents. Each
 * needs an `id` (or `--id` for a single record). Throws naming the file and the record.
 */
export function readRecords(file: string, source: string, id?: string): Array<{ id: string; body: object }> {
  const docs = parseAllDocuments(source);
  const values: unknown[] = [];
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
    const v: unknown = d.toJS();
    if (Array.isArray(v)) values.push(...v);
    else if (v !== null && v !== undefined) values.push(v);
  }
  if (values.length === 0) throw new Error(`${file}: no record in the file`);
  if (id !== undefined && values.length > 1) throw new Error(`${file}: --id needs a file with one record`);
  return values.map((v, i) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new Error(`${file}: record ${i + 1} is not a mapping of fields`);
    const { id: own, ...body } = v as Record<string, unknown>;
    const recordId = id ?? own;
    if (typeof recordId !== 'string' || recordId === '')
      throw new Error(`${file}: record ${i + 1} has no id (add an "id:" field or pass --id)`);
    return { id: recordId, body };
  });
}

function registerKind(program: Command, k: RecordKind): void {
  const path = (id?: string) => `/api/${k.name}${id === undefined ? '' : `/${encodeURIComponent(id)}`}`;
  const cmd = program
    .command(k.name)
    .description(`${k.description} (through the hub API)`)
    .addHelpText(
      'after',
      `\nExamples:\n  switchboard ${k.name} list\n  switchboard ${k.name} show ID > ${k.singular}.yaml\n  switchboard ${k.name} put ${k.singular}.yaml\n  switchboard ${k.name} rm ID\n`,
    );
  apiClientOptions(
    cmd
      .command('list')
      .description(`List ${k.name}`)
      .option('--json', 'print JSON')
      .addHelpText('after', `\nExample:\n  switchboard ${k.name} list --json\n`),
  ).action(
    action(async (o: ApiFlags & { json?: boolean }) => {
      const r = await callApi<Record<string, Array<Record<string, unknown>>>>(o, 'GET', path());
      const list = r[k.name] ?? [];
      if (o.json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      if (list.length === 0) {
        process.stdout.write(`no ${k.name}\n`);
        return;
      }
      process.stdout.write(
        table(
          k.columns.map(([h]) => h),
          list.map((x) => k.columns.map(([, f]) => f(x))),
        ),
      );
    }),
  );
  apiClientOptions(
    cmd
      .command('show')
      .description(`Show a ${k.singular} as YAML (what \`${k.name} put\` takes)`)
      .argument('<id>')
      .option('--json', 'print JSON')
      .addHelpText('after', `\nExample:\n  switchboard ${k.name} show ID > ${k.singular}.yaml\n`),
  ).action(
    action(async (id: string, o: ApiFlags & { json?: boolean }) => {
      const r = await callApi<Record<string, unknown>>(o, 'GET', path(id));
      process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : stringify(r));
    }),
  );
  apiClientOptions(
    cmd
      .command('put')
      .description(
        `Create or replace ${k.name} from YAML or JSON files (one record, a list, or several documents)`,
      )
      .argument('<files...>')
      .option('--id <id>', 'the id, for a file with one record and no id field')
      .addHelpText(
        'after',
        `\nExample file (${k.singular}.yaml):\n${k.example.replace(/^/gm, '  ')}\n\nExample:\n  switchboard ${k.name} put ${k.singular}.yaml\n${
          k.name === 'rules'
            ? '\n`rules show` prints webhook secrets as ********: put the real secret back in the file.\n'
            : ''
        }`,
      ),
  ).action(
    action(async (files: string[], o: ApiFlags & { id?: string }) => {
      if (o.id !== undefined && files.length > 1) throw new Error('--id needs a single file');
      const records = files.flatMap((f) => readRecords(f, readFileSync(f, 'utf8'), o.id));
      for (const r of records) {
        const body = { ...(r.body as Record<string, unknown>) };
        // Fields `show` prints but the API does not take back (timestamps, origin, member lists, a
        // template's variables).
        for (const shown of ['createdAt', 'updatedAt', 'origin', 'members', 'variables']) delete body[shown];
        await callApi(o, 'PUT', path(r.id), body);
        process.stdout.write(`saved ${k.singular} ${r.id}\n`);
      }
    }),
  );
  apiClientOptions(
    cmd
      .command('rm')
      .description(`Remove a ${k.singular}`)
      .argument('<id>')
      .addHelpText('after', `\nExample:\n  switchboard ${k.name} rm ID\n`),
  ).action(
    action(async (id: string, o: ApiFlags) => {
      await callApi(o, 'DELETE', path(id));
      process.stdout.write(`removed ${k.singular} ${id}\n`);
    }),
  );
}

export function registerRecordCommands(program: Command): void {
  for (const k of KINDS) registerKind(program, k);
}
