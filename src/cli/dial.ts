import type { Command } from 'commander';
import { type ApiFlags, action, apiClientOptions, callApi } from './common.js';

/**
 * `switchboard call …`: click-to-dial, call keys and call back from an incident, through the hub's API
 * (docs/click-to-dial.md). The API key needs `devices:dial` (operator or admin).
 */
interface DialResult {
  deviceId: string;
  number?: string;
  key?: string;
  mode?: string;
  result: { ok: boolean; outcome?: string; message?: string };
}

function print(r: DialResult, json: boolean | undefined): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  const what = r.key
    ? `key ${r.key}`
    : `${r.mode === 'prompted' ? 'Call prompt for' : 'dialled'} ${r.number}`;
  process.stdout.write(
    `${r.deviceId}: ${what}: ${r.result.ok ? 'ok' : `refused (${r.result.outcome ?? r.result.message ?? 'failed'})`}\n`,
  );
  if (!r.result.ok) process.exitCode = 1;
}

export function registerDialCommands(program: Command): void {
  const call = program
    .command('call')
    .description('Click-to-dial, call keys and call back on desk phones registered in the hub');
  apiClientOptions(
    call
      .command('dial <device> <number>')
      .description('The phone dials a number (Cisco Dial: URI; Avaya: a Call prompt with --prompt)')
      .option('--prompt', 'Avaya: show a page with a Call softkey (the Push API cannot dial)')
      .option('--json', 'print the raw result'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  switchboard call dial desk-214 "+1 (555) 010-4001"\n  switchboard call dial avaya-lobby 4001 --prompt\n',
    )
    .action(
      action(async (device: string, number: string, o: ApiFlags & { prompt?: boolean; json?: boolean }) => {
        print(
          await callApi<DialResult>(o, 'POST', `/api/devices/${encodeURIComponent(device)}/dial`, {
            number,
            ...(o.prompt ? { prompt: true } : {}),
          }),
          o.json,
        );
      }),
    );
  apiClientOptions(
    call
      .command('key <device> <key>')
      .description('Press a key on a Cisco phone (Hold, Release, Transfer, Line2, Soft1 …)')
      .option('--json', 'print the raw result'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  switchboard call key desk-214 Hold\n  switchboard call key desk-214 Line2\n',
    )
    .action(
      action(async (device: string, key: string, o: ApiFlags & { json?: boolean }) => {
        print(
          await callApi<DialResult>(o, 'POST', `/api/devices/${encodeURIComponent(device)}/keys`, { key }),
          o.json,
        );
      }),
    );
  apiClientOptions(
    call
      .command('back <incident>')
      .description("Call back an incident's caller from your desk phone (dial.deskPhones) or --from")
      .option('--from <device>', 'the phone to dial from')
      .option('--json', 'print the raw result'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  switchboard call back inc_01HX… --from desk-214\n  switchboard call back inc_01HX…   # from dial.deskPhones of the key name\n',
    )
    .action(
      action(async (incident: string, o: ApiFlags & { from?: string; json?: boolean }) => {
        print(
          await callApi<DialResult>(o, 'POST', `/api/incidents/${encodeURIComponent(incident)}/callback`, {
            ...(o.from ? { deviceId: o.from } : {}),
          }),
          o.json,
        );
      }),
    );
}
