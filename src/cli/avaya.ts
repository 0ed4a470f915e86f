import { networkInterfaces } from 'node:os';
import type { Command } from 'commander';
import type { ActionResult } from '../core/driver.js';
import { startStandalonePushServer } from '../drivers/avaya/standalone.js';
import { startFleet } from '../sim/avaya/fleet.js';
import { type ApiFlags, action, apiClientOptions, callApi, commandGroup, simCommand } from './common.js';

/**
 * `switchboard sim avaya` — simulated Avaya phones; `switchboard push <type>` — push to Avaya phones,
 * either through a running hub (`--device <id>`, uses the API) or directly (`--phone host[:port]`, with a
 * built-in trusted push server for the duration of the command).
 */
function firstIPv4(): string {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',').filter(Boolean)];

interface PushFlags extends ApiFlags {
  phone?: string[];
  device?: string[];
  listen?: string;
  publicUrl?: string;
  pushPort?: string;
  wait?: string;
  json?: boolean;
}

function pushCommand(
  push: Command,
  name: string,
  actionId: string,
  description: string,
  example: string,
  build: (o: Record<string, unknown>) => Record<string, unknown>,
  extra: (c: Command) => Command,
): void {
  const c = push
    .command(name)
    .description(description)
    .option(
      '--phone <host[:port]>',
      'phone address, repeatable or comma-separated (direct push with a built-in content server)',
      collect,
    )
    .option(
      '--device <id>',
      'device id of a running hub, repeatable or comma-separated (push through its API)',
      collect,
    )
    .option('--listen <host:port>', 'direct mode: address of the built-in content server', '0.0.0.0:0')
    .option(
      '--public-url <url>',
      'direct mode: URL phones use to reach the built-in content server (default http://<listen address>)',
    )
    .option('--push-port <port>', "direct mode: the phones' PUSHPORT when --phone has no port", '80')
    .option('--wait <ms>', 'direct mode: how long to keep serving content (and audio) after pushing', '15000')
    .option('--json', 'print results as JSON');
  extra(c);
  apiClientOptions(c).addHelpText('after', `\nExamples:\n${example}\n`);
  c.action(
    action(async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const o = { ...cmd.opts(), arg: cmd.args[0] } as PushFlags & Record<string, unknown>;
      const params = build(o);
      const results: Array<{ target: string; result: ActionResult }> = [];
      if (o.device?.length) {
        for (const id of o.device) {
          results.push({
            target: id,
            result: await callApi<ActionResult>(
              o,
              'POST',
              `/api/devices/${encodeURIComponent(id)}/actions/${actionId}`,
              params,
            ),
          });
        }
      }
      if (o.phone?.length) {
        const [host, port] = (o.listen ?? '0.0.0.0:0').split(/:(?=\d+$)/);
        const wildcard = !host || host === '0.0.0.0' || host === '::';
        const srv = await startStandalonePushServer({
          host: host || '0.0.0.0',
          port: Number(port ?? 0),
          ...(o.publicUrl ? { publicUrl: o.publicUrl } : wildcard ? { publicHost: firstIPv4() } : {}),
        });
        if (!o.publicUrl && wildcard) {
          process.stderr.write(
            `note: phones will fetch content from ${srv.url}; pass --public-url if they cannot reach that address\n`,
          );
        }
        try {
          const settings = { pushPort: Number(o.pushPort ?? 80) };
          await Promise.all(
            o.phone.map(async (p) =>
              results.push({ target: p, result: await srv.run(p, actionId, params, settings) }),
            ),
          );
          await srv.settle(Number(o.wait ?? 15000));
        } finally {
          await srv.stop();
        }
      }
      if (results.length === 0) throw new Error('name at least one --phone or --device');
      if (o.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      else
        for (const r of results)
          process.stdout.write(
            `${r.target}: ${r.result.ok ? 'ok' : 'FAILED'} ${r.result.outcome ?? ''} ${r.result.message ?? ''}\n`,
          );
      if (results.some((r) => !r.result.ok)) process.exitCode = 1;
    }),
  );
}

const common = (o: Record<string, unknown>) => ({
  ...(o.mode ? { mode: o.mode } : {}),
  ...(o.alert !== undefined ? { alert: Number(o.alert) } : {}),
  ...(o.retryAsBarge ? { retry_as_barge: true } : {}),
});
const modeOpts = (c: Command) =>
  c
    .option('--mode <mode>', 'normal or barge')
    .option('--alert <n>', 'ring pings 0–3')
    .option('--retry-as-barge', 'if the phone is busy (205/208), push again as barge');
const audioOpts = (c: Command) =>
  modeOpts(c)
    .option('--tone <name>', 'chime, alert, beep or attention')
    .option('--repeat <n>', 'tone repetitions')
    .option('--file <wav>', 'WAV file in the media directory')
    .option('--say <text>', 'text to speak (espeak-ng)')
    .option('--codec <codec>', 'PCMU or PCMA')
    .option('--packetsize <ms>', '10–60 ms per packet')
    .option('--promptline <text>', 'prompt line text');
const audioParams = (o: Record<string, unknown>) => ({
  ...common(o),
  source: o.file ? 'file' : o.say ? 'tts' : 'tone',
  ...(o.tone ? { tone: o.tone } : {}),
  ...(o.repeat ? { repeat: Number(o.repeat) } : {}),
  ...(o.file ? { file: o.file } : {}),
  ...(o.say ? { text: o.say } : {}),
  ...(o.codec ? { codec: o.codec } : {}),
  ...(o.packetsize ? { packetsize: Number(o.packetsize) } : {}),
  ...(o.promptline ? { promptline: o.promptline } : {}),
});

export function registerAvayaCommands(program: Command): void {
  const sim = simCommand(program);
  sim
    .command('avaya')
    .description(
      'Simulated Avaya deskphones: each is a Push Agent HTTP server on 127.0.0.1 that fetches content and receives RTP',
    )
    .option('--phones <n>', 'number of phones', '10')
    .option('--model <model>', 'model (SetID prefix)', 'J179')
    .option('--first-extension <n>', 'extension of the first phone', '2001')
    .option('--tpslist <list>', 'TPSLIST (comma-separated; "/" trusts every server)', '/')
    .option('--subscribe <url>', 'SUBSCRIBELIST entry, e.g. http://127.0.0.1:8080/avaya/subscribe', collect)
    .option('--pushcap <digits>', 'PUSHCAP (phonexml, transmit, receive, display, top line)', '22222')
    .option('--control-port <port>', 'port of the JSON control server (/sim/state)', '0')
    .addHelpText(
      'after',
      '\nExamples:\n  switchboard sim avaya --phones 50 --model J179\n  switchboard sim avaya --phones 5 --subscribe http://127.0.0.1:8080/avaya/subscribe\n  curl http://127.0.0.1:<control-port>/sim/state/2001\n',
    )
    .action(
      action(
        async (o: {
          phones: string;
          model: string;
          firstExtension: string;
          tpslist: string;
          subscribe?: string[];
          pushcap: string;
          controlPort: string;
        }) => {
          const fleet = await startFleet({
            phones: Number(o.phones),
            model: o.model,
            firstExtension: Number(o.firstExtension),
            tpsList: o.tpslist.split(','),
            subscribeList: o.subscribe ?? [],
            pushCap: o.pushcap,
            controlPort: Number(o.controlPort),
          });
          process.stdout.write(
            `${fleet.phones.length} simulated ${o.model} phones; state: ${fleet.controlUrl}/sim/state\n`,
          );
          for (const p of fleet.phones.slice(0, 20))
            process.stdout.write(`  x${p.extension}  ${p.mac}  push: http://${p.address}/forms/push\n`);
          if (fleet.phones.length > 20) process.stdout.write(`  … and ${fleet.phones.length - 20} more\n`);
          const stop = async () => {
            await fleet.stop();
            process.exit(0);
          };
          process.once('SIGINT', () => void stop());
          process.once('SIGTERM', () => void stop());
        },
      ),
    );

  const push = commandGroup(program, 'push', 'Push to desk phones');
  const ex = (rest: string) =>
    `  switchboard push ${rest} --phone 127.0.0.1:18080\n  switchboard push ${rest} --device avaya-001b4f0a0b0c --url http://hub:8080 --key sbk_…`;
  pushCommand(
    push,
    'topline',
    'push_topline',
    'Avaya: one line of text on the top line (30 s)',
    ex('topline "Fire drill at 3 pm" --alert 1'),
    (o) => ({ ...common(o), text: String(o.arg ?? '') }),
    (c) => modeOpts(c.argument('<text>', 'text (up to 312 characters)')),
  );
  pushCommand(
    push,
    'display',
    'push_display',
    'Avaya: a full-screen page (WML) with title, text and softkeys',
    ex('display "Lunch: soup and fish" --title Canteen --dial 4455'),
    (o) => ({
      ...common(o),
      text: String(o.arg ?? ''),
      ...(o.title ? { title: o.title } : {}),
      ...(o.dial ? { dial: o.dial } : {}),
    }),
    (c) =>
      modeOpts(
        c
          .argument('<text>', 'page text')
          .option('--title <title>')
          .option('--dial <number>', 'add a Call link'),
      ),
  );
  pushCommand(
    push,
    'audio',
    'push_audio',
    'Avaya: play a tone, WAV or speech on the phone (unicast RTP)',
    ex('audio --tone chime --promptline "Announcement"'),
    audioParams,
    audioOpts,
  );
  pushCommand(
    push,
    'audio-multicast',
    'push_audio_multicast',
    'Avaya: play audio to many phones from one multicast stream',
    '  switchboard push audio-multicast --group 239.1.1.1 --port 40000 --tone alert --phone 10.0.0.5,10.0.0.6',
    (o) => ({ ...audioParams(o), group: o.group, port: Number(o.port) }),
    (c) =>
      audioOpts(
        c
          .requiredOption('--group <ip>', 'multicast group 224.0.0.0/4')
          .requiredOption('--port <port>', 'even UDP port'),
      ),
  );
  pushCommand(
    push,
    'audio-stop',
    'push_audio_stop',
    'Avaya: stop pushed audio (barge RTPRx://STOP)',
    ex('audio-stop'),
    () => ({}),
    (c) => c,
  );
  pushCommand(
    push,
    'subscribe',
    'push_subscribe',
    'Avaya: ask phones to subscribe again (discovery)',
    ex('subscribe --type all'),
    (o) => ({ type: o.type ?? 'all', ...(o.subscribeUrl ? { url: o.subscribeUrl } : {}) }),
    (c) =>
      c
        .option('--type <type>', 'all or me')
        .option('--subscribe-url <url>', 'for type me: the SUBSCRIBELIST entry'),
  );
  pushCommand(
    push,
    'phonexml',
    'push_phonexml',
    'Avaya: push a phonexml document',
    ex("phonexml '<PhoneXML>…</PhoneXML>'"),
    (o) => ({ ...common(o), xml: String(o.arg ?? '') }),
    (c) => modeOpts(c.argument('<xml>', 'phonexml document')),
  );
}
