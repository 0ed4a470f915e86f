import type { Command } from 'commander';
import type { Devlink3Simulator } from '../sim/ipoffice/server.js';
import { action } from './common.js';

/** `switchboard sim ipoffice` additions: `--var`, waiting for a subscriber, and `sim ipoffice call`. */

/** Default control port of the simulator (`sim ipoffice call` talks to it). */
export const SIM_CONTROL_PORT = 50800;

/** `--var name=value` list → scenario variables. Pure: tested on its own. */
export function parseSimVars(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    const name = item.slice(0, i);
    if (i <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new Error(
        `--var expects name=value (a scenario variable such as ext=201), got ${JSON.stringify(item)}`,
      );
    out[name] = item.slice(i + 1);
  }
  return out;
}

/** Resolves once a DevLink3 client has subscribed (scenarios played before that reach nobody). */
export async function waitForSubscriber(sim: Devlink3Simulator, signal: AbortSignal): Promise<boolean> {
  while (sim.subscriberCount === 0) {
    if (signal.aborted) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

export function registerSimIpofficeCall(simIpoffice: Command): void {
  simIpoffice
    .command('call')
    .description('Place a call on a running `sim ipoffice` (through its control port)')
    .requiredOption('--from <extension>', 'calling extension')
    .requiredOption(
      '--to <number>',
      'dialled number (911, 933 …: the emergency scenario; else an internal call)',
    )
    .option('--name <name>', 'caller name shown by the PBX')
    .option('--control <url>', 'the simulator control URL', `http://127.0.0.1:${SIM_CONTROL_PORT}`)
    .addHelpText(
      'after',
      '\nExamples:\n  switchboard sim ipoffice call --from 201 --to 911\n  switchboard sim ipoffice call --from 4001 --to 933 --name "Alice Able"   # a test call\n  switchboard sim ipoffice call --from 4001 --to 4002 --control http://127.0.0.1:50801\n',
    )
    .action(
      action(async (o: { from: string; to: string; name?: string; control: string }) => {
        let res: Response;
        try {
          res = await fetch(`${o.control.replace(/\/+$/, '')}/call`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ from: o.from, to: o.to, ...(o.name ? { name: o.name } : {}) }),
            signal: AbortSignal.timeout(10_000),
          });
        } catch {
          throw new Error(
            `no simulator control port at ${o.control} (is \`switchboard sim ipoffice\` running?)`,
          );
        }
        const body = (await res.json().catch(() => ({}))) as { error?: string; scenario?: string };
        if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
        process.stdout.write(`placed: ${o.from} → ${o.to} (scenario ${body.scenario})\n`);
      }),
    );
}
