import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Device } from '../core/devices.js';
import { type ApiFlags, action, apiClientOptions, callApi } from './common.js';
import { registerDeviceSetCommand } from './devices-set.js';
import { table } from './records.js';

/**
 * `--set key=value` and `--set-file key=path` into a settings object. Dotted keys nest (`tls.enabled=true` →
 * `{ tls: { enabled: 'true' } }`); values are sent as text and the hub converts them to the types the
 * driver's settings schema asks for. `--set-file` reads the value from a file (a PEM certificate …).
 */
export function parseKv(
  list: string[] | undefined,
  files: string[] | undefined = [],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (item: string, fromFile: boolean) => {
    const i = item.indexOf('=');
    if (i <= 0) throw new Error(`expected key=value, got ${JSON.stringify(item)}`);
    const path = item.slice(0, i).split('.');
    if (path.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype'))
      throw new Error(`${JSON.stringify(item.slice(0, i))} is not a usable setting name`);
    const v = fromFile ? readFileSync(item.slice(i + 1), 'utf8') : item.slice(i + 1);
    let at = out;
    for (const k of path.slice(0, -1)) {
      const next = at[k];
      if (next !== undefined && (typeof next !== 'object' || next === null))
        throw new Error(`${path.join('.')}: ${k} is already set to a value`);
      at[k] ??= {};
      at = at[k] as Record<string, unknown>;
    }
    at[path.at(-1)!] = v;
  };
  for (const item of list ?? []) put(item, false);
  for (const item of files ?? []) put(item, true);
  return out;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerDevicesCommands(program: Command): void {
  const devices = program
    .command('devices')
    .description('List, add and remove devices of a running hub (through its API)')
    .addHelpText(
      'after',
      '\nExamples:\n  export SWITCHBOARD_API_KEY=sbk_…\n  switchboard devices list --kind cisco\n  switchboard devices add --kind cisco --id lobby --address 10.1.2.3 --group security --set model=8845 --set username=push --set password=secret --set deviceName=SEP0011223344AA --room "Lobby"\n  (deviceName: the phone SEP+MAC, needed when the phone uses the hub as authentication URL; read from the phone when omitted)\n  switchboard devices rm lobby\n',
    );
  apiClientOptions(
    devices
      .command('list')
      .description('List devices')
      .option('--kind <kind>')
      .option('--group <group>')
      .option('--label <label>')
      .option('--site <site>')
      .option('--json', 'print JSON'),
  ).action(
    action(
      async (
        o: ApiFlags & { kind?: string; group?: string; label?: string; site?: string; json?: boolean },
      ) => {
        const q = new URLSearchParams();
        for (const k of ['kind', 'group', 'label', 'site'] as const) if (o[k]) q.set(k, o[k]!);
        const { devices: list } = await callApi<{ devices: Device[] }>(
          o,
          'GET',
          `/api/devices${q.size ? `?${q}` : ''}`,
        );
        if (o.json) {
          process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
          return;
        }
        if (list.length === 0) {
          process.stdout.write('no devices\n');
          return;
        }
        process.stdout.write(
          table(
            ['ID', 'KIND', 'ADDRESS', 'GROUPS', 'LOCATION'],
            list.map((d) => [
              d.id,
              d.kind,
              d.address,
              d.groups.join(','),
              [d.location.building, d.location.floor, d.location.room].filter(Boolean).join(' / '),
            ]),
          ),
        );
      },
    ),
  );
  apiClientOptions(
    devices
      .command('add')
      .description('Add a device')
      .requiredOption('--kind <kind>', 'device kind (ipoffice, cisco, avaya …)')
      .requiredOption('--address <host[:port]>', 'address of the device')
      .option('--id <id>', 'id (default: generated)')
      .option('--name <name>')
      .option('--label <label>', 'label (repeatable)', collect)
      .option('--group <group>', 'group (repeatable)', collect)
      .option('--site <site>')
      .option('--building <building>')
      .option('--floor <floor>')
      .option('--room <room>')
      .option('--set <key=value>', 'driver setting (repeatable; dotted keys nest: tls.enabled=true)', collect)
      .option(
        '--set-file <key=path>',
        'driver setting read from a file (repeatable), e.g. tls.ca=phone-ca.pem',
        collect,
      ),
  ).action(
    action(async (o: ApiFlags & Record<string, string | string[] | undefined>) => {
      const location: Record<string, string> = {};
      for (const k of ['site', 'building', 'floor', 'room'] as const)
        if (typeof o[k] === 'string') location[k] = o[k] as string;
      const body = {
        kind: o.kind,
        address: o.address,
        ...(o.id ? { id: o.id } : {}),
        ...(o.name ? { name: o.name } : {}),
        ...(o.label ? { labels: o.label } : {}),
        ...(o.group ? { groups: o.group } : {}),
        ...(Object.keys(location).length ? { location } : {}),
        settings: parseKv(o.set as string[] | undefined, o.setFile as string[] | undefined),
      };
      const d = await callApi<Device>(o, 'POST', '/api/devices', body);
      process.stdout.write(`added ${d.id} (${d.kind} at ${d.address})\n`);
    }),
  );
  registerDeviceSetCommand(devices);
  apiClientOptions(devices.command('rm').description('Remove a device').argument('<id>')).action(
    action(async (id: string, o: ApiFlags) => {
      await callApi(o, 'DELETE', `/api/devices/${encodeURIComponent(id)}`);
      process.stdout.write(`removed ${id}\n`);
    }),
  );
}
