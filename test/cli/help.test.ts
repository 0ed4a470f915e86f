import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerAvayaCommands } from '../../src/cli/avaya.js';
import { registerBroadcastCommands } from '../../src/cli/broadcast.js';
import { registerCiscoCommands } from '../../src/cli/cisco.js';
import { registerDemoCommand } from '../../src/cli/demo.js';
import { registerDevicesCommands } from '../../src/cli/devices.js';
import { addExamples, EXAMPLES } from '../../src/cli/examples.js';
import { registerIpofficeCommands } from '../../src/cli/ipoffice.js';
import { registerKeysCommands } from '../../src/cli/keys.js';
import { registerPubsubCommands } from '../../src/cli/pubsub.js';
import { registerRecordCommands } from '../../src/cli/records.js';
import { registerSettingsCommands } from '../../src/cli/settings.js';
import { registerSmdrCommands } from '../../src/cli/smdr.js';
import { registerStoreCommands } from '../../src/cli/store.js';
import { registerUsersCommands } from '../../src/cli/users.js';
import { spawnSwitchboard } from '../helpers/process.js';

/**
 * `switchboard <command> … --help` for every leaf command has a description and examples of its own
 * (issue 17: serve, demo, devices add, broadcast send, cisco text had none). `serve` is registered in
 * main.ts; test/cli/errors.test.ts runs the real process, this walks the command tree.
 */

async function program(): Promise<Command> {
  const p = new Command('switchboard');
  for (const r of [
    registerDemoCommand,
    registerKeysCommands,
    registerUsersCommands,
    registerDevicesCommands,
    registerIpofficeCommands,
    registerAvayaCommands,
    registerSettingsCommands,
    registerCiscoCommands,
    registerPubsubCommands,
    registerBroadcastCommands,
    registerSmdrCommands,
    registerRecordCommands,
    registerStoreCommands,
  ])
    await r(p);
  addExamples(p);
  return p;
}

function leaves(c: Command, path: string[] = []): Array<{ path: string; cmd: Command }> {
  const here = [...path, c.name()];
  if (c.commands.length === 0) return [{ path: here.join(' '), cmd: c }];
  return c.commands.flatMap((s) => leaves(s, here));
}

/** The full `--help` text of a command, its own `addHelpText` included. */
function helpOf(c: Command): string {
  let out = '';
  c.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  c.outputHelp();
  return out;
}

/** The problems of one leaf's help. Pure: also run on a bad command below. */
function helpProblems(path: string, c: Command): string[] {
  const problems: string[] = [];
  if (!c.description().trim()) problems.push(`${path}: no description`);
  const help = helpOf(c);
  if (!/\nExamples?:\n(?: {2}.*\n)*? {2}switchboard \S/.test(help))
    problems.push(`${path}: no "Example:" section with a switchboard command line`);
  return problems;
}

describe('switchboard --help', () => {
  it('every leaf command has a description and an example of its own', async () => {
    const all = leaves(await program());
    expect(all.length).toBeGreaterThan(40);
    expect(all.flatMap((l) => helpProblems(l.path, l.cmd))).toEqual([]);
  });

  it('every EXAMPLES entry names a command that exists (serve: the real process)', async () => {
    const paths = new Set(leaves(await program()).map((l) => l.path.replace(/^switchboard /, '')));
    expect(Object.keys(EXAMPLES).filter((k) => k !== 'serve' && !paths.has(k))).toEqual([]);
    const p = spawnSwitchboard(['serve', '--help']);
    expect(await p.exited).toBe(0);
    expect(p.stdout.join('\n')).toMatch(/Examples:\n {2}switchboard serve -c /);
  }, 60_000);

  it('the walk catches a leaf without examples', () => {
    const c = new Command('bare').description('');
    expect(helpProblems('switchboard bare', c)).toEqual([
      'switchboard bare: no description',
      'switchboard bare: no "Example:" section with a switchboard command line',
    ]);
    c.description('Does a thing').addHelpText('after', '\nExample:\n  switchboard bare --now\n');
    expect(helpProblems('switchboard bare', c)).toEqual([]);
  });
});
