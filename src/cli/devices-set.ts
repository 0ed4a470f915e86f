import type { Command } from 'commander';
import type { Device, Location } from '../core/devices.js';
import { type ApiFlags, action, apiClientOptions, callApi } from './common.js';
import { parseKv } from './devices.js';

/** `switchboard devices set ID …`: change a device of a running hub (PATCH /api/devices/{id}). */

const collect = (v: string, prev: string[] = []) => [...prev, v];
const LOCATION_KEYS = ['site', 'building', 'floor', 'room', 'description'] as const;

export interface SetFlags {
  name?: string;
  address?: string;
  group?: string[];
  addGroup?: string[];
  removeGroup?: string[];
  label?: string[];
  addLabel?: string[];
  removeLabel?: string[];
  location?: string[];
  site?: string;
  building?: string;
  floor?: string;
  room?: string;
  set?: string[];
  setFile?: string[];
}

const change = (cur: string[], replace?: string[], add: string[] = [], remove: string[] = []) => {
  if (!replace && add.length === 0 && remove.length === 0) return undefined;
  const drop = new Set(remove);
  return [...new Set([...(replace ?? cur), ...add])].filter((x) => !drop.has(x));
};

/**
 * The PATCH body for `devices set` from the device as it is and the flags. Pure: tested on its own.
 * Location fields merge into the current location (`--room 215` keeps the building); `--location k=v`
 * sets any location field, `--location k=` clears it.
 */
export function devicePatch(cur: Device, o: SetFlags): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  if (o.name !== undefined) patch.name = o.name;
  if (o.address !== undefined) patch.address = o.address;
  const groups = change(cur.groups, o.group, o.addGroup, o.removeGroup);
  if (groups) patch.groups = groups;
  const labels = change(cur.labels, o.label, o.addLabel, o.removeLabel);
  if (labels) patch.labels = labels;
  const loc: Record<string, string | undefined> = {};
  for (const item of o.location ?? []) {
    const i = item.indexOf('=');
    const key = item.slice(0, i);
    if (i <= 0 || !(LOCATION_KEYS as readonly string[]).includes(key))
      throw new Error(
        `--location expects one of ${LOCATION_KEYS.join(', ')}=value, got ${JSON.stringify(item)}`,
      );
    loc[key] = item.slice(i + 1);
  }
  for (const k of ['site', 'building', 'floor', 'room'] as const) if (o[k] !== undefined) loc[k] = o[k];
  if (Object.keys(loc).length) {
    const merged: Record<string, string> = { ...(cur.location as Record<string, string>) };
    for (const [k, v] of Object.entries(loc)) {
      if (v === undefined || v === '') delete merged[k];
      else merged[k] = v;
    }
    patch.location = merged as Location;
  }
  const settings = parseKv(o.set, o.setFile);
  if (Object.keys(settings).length) patch.settings = settings;
  if (Object.keys(patch).length === 0)
    throw new Error('nothing to change: give at least one option (see --help)');
  return patch;
}

export function registerDeviceSetCommand(devices: Command): void {
  apiClientOptions(
    devices
      .command('set')
      .description('Change a device: name, address, groups, labels, location, settings (settings merge)')
      .argument('<id>')
      .option('--name <name>')
      .option('--address <host[:port]>')
      .option('--group <group>', 'set the groups to these (repeatable)', collect)
      .option('--add-group <group>', 'join a group (repeatable)', collect)
      .option('--remove-group <group>', 'leave a group (repeatable)', collect)
      .option('--label <label>', 'set the labels to these (repeatable)', collect)
      .option('--add-label <label>', 'add a label (repeatable)', collect)
      .option('--remove-label <label>', 'remove a label (repeatable)', collect)
      .option(
        '--location <key=value>',
        'location field: site, building, floor, room or description (repeatable)',
        collect,
      )
      .option('--site <site>')
      .option('--building <building>')
      .option('--floor <floor>')
      .option('--room <room>')
      .option('--set <key=value>', 'driver setting (repeatable; merged into the current settings)', collect)
      .option('--set-file <key=path>', 'driver setting read from a file (repeatable)', collect)
      .addHelpText(
        'after',
        '\nExamples:\n  switchboard devices set lobby --add-group security --room "Lobby"\n  switchboard devices set lobby --group security --group managers --location building=Main --location floor=1\n  switchboard devices set lobby --set password=new-secret\n',
      ),
  ).action(
    action(async (id: string, o: ApiFlags & SetFlags) => {
      const path = `/api/devices/${encodeURIComponent(id)}`;
      const cur = await callApi<Device>(o, 'GET', path);
      const d = await callApi<Device>(o, 'PATCH', path, devicePatch(cur, o));
      const loc = [d.location.site, d.location.building, d.location.floor, d.location.room].filter(Boolean);
      process.stdout.write(
        `changed ${d.id}: groups ${d.groups.join(',') || '-'}, labels ${d.labels.join(',') || '-'}, location ${loc.join(' / ') || '-'}\n`,
      );
    }),
  );
}
