import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ActionResult } from '../core/driver.js';
import { KeyedSerialQueue } from '../core/serial.js';
import { standaloneContext, standaloneDevice } from '../core/standalone.js';
import { CiscoSession, type CiscoSettings } from '../drivers/cisco/driver.js';
import { MODEL_IDS, MODELS } from '../drivers/cisco/models.js';
import { CISCO_SIM_FIRST_EXTENSION, startCiscoSim } from '../sim/cisco/fleet.js';
import { type ApiFlags, action, apiClientOptions, callApi, simCommand } from './common.js';

/** The flags of the commands that talk straight to a phone (see directOptions). */
interface DirectFlags {
  model?: string;
  user?: string;
  password?: string;
  timeout?: string;
  https?: boolean;
  ca?: string;
  insecure?: boolean;
  servername?: string;
  auth?: string;
}

/** A session straight to a phone (no hub): for trying a real phone or a simulator from the shell. */
function directSession(address: string, o: DirectFlags): CiscoSession {
  if (o.auth !== undefined && !['auto', 'basic', 'digest'].includes(o.auth))
    throw new Error(`--auth: ${JSON.stringify(o.auth)} is not basic, digest or auto`);
  const settings: Partial<CiscoSettings> = {
    model: o.model ?? '8845',
    username: o.user ?? process.env.CISCO_PUSH_USER ?? '',
    password: o.password ?? process.env.CISCO_PUSH_PASSWORD ?? '',
    ...(o.timeout ? { timeoutMs: Number(o.timeout) } : {}),
    ...(o.auth === 'basic' || o.auth === 'digest' ? { authScheme: o.auth } : {}),
    ...(o.https || o.ca || o.insecure || o.servername
      ? {
          tls: {
            enabled: true,
            ...(o.ca ? { ca: readFileSync(o.ca, 'utf8') } : {}),
            ...(o.insecure ? { allowSelfSigned: true } : {}),
            ...(o.servername ? { servername: o.servername } : {}),
          },
        }
      : {}),
  };
  const device = standaloneDevice<Partial<CiscoSettings>>({ kind: 'cisco', address, settings, id: 'cli' });
  const ctx = standaloneContext({ version: 'cli' });
  return new CiscoSession(device, ctx, new KeyedSerialQueue());
}

function print(r: unknown, json: boolean | undefined): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  const a = r as ActionResult;
  process.stdout.write(`${a.ok ? 'ok' : 'FAILED'}  ${a.outcome ?? ''}  ${a.message ?? ''}\n`);
  if (a.data !== undefined) process.stdout.write(`${JSON.stringify(a.data, null, 2)}\n`);
  if (!a.ok) process.exitCode = 1;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];
const directOptions = (c: Command) =>
  c
    .option('-m, --model <model>', `model profile (${MODEL_IDS.join(', ')})`, '8845')
    .option('-u, --user <user>', 'push user (default $CISCO_PUSH_USER)')
    .option('-P, --password <password>', 'push password (default $CISCO_PUSH_PASSWORD)')
    .option('--timeout <ms>', 'request timeout in ms')
    .option('--https', 'talk HTTPS to the phone (Web Access set to HTTPS only; port default 443)')
    .option(
      '--ca <file>',
      "PEM CA (or the phone's own certificate) to verify the phone with; implies --https",
    )
    .option('--insecure', 'accept a certificate that cannot be verified; implies --https')
    .option(
      '--servername <name>',
      "name the phone's certificate carries if not the address; implies --https",
    );

export function registerCiscoCommands(program: Command): void {
  // `switchboard sim cisco`: shares the `sim` command with the other simulators.
  const sim = simCommand(program);
  sim
    .command('cisco')
    .description(
      'Run simulated Cisco IP phones: one HTTP server per phone with /CGI/Execute, /CGI/Screenshot, /DeviceInformationX …',
    )
    .option('-n, --phones <n>', 'number of phones', '5')
    .option(
      '-m, --model <models>',
      `model profile, or a comma-separated list used round-robin (${MODEL_IDS.join(', ')})`,
      '8845',
    )
    .option('--host <host>', 'loopback address the phones listen on', '127.0.0.1')
    .option(
      '--first-extension <n>',
      'directory number of the first phone (the next ones count up; sim avaya starts at 2001)',
      String(CISCO_SIM_FIRST_EXTENSION),
    )
    .option('--distinct-hosts', 'give each phone its own 127.0.x.y address')
    .option('--base-port <port>', 'first TCP port (phones use base+k; default: ephemeral ports)')
    .option(
      '--auth-url <url>',
      'authentication URL the phones check push credentials with (e.g. http://127.0.0.1:8080/cisco/authenticate)',
    )
    .option('--services-url <url>', 'services URL for Key:Services (#DEVICENAME# is substituted)')
    .option('-u, --user <user>', 'local push user when no --auth-url', 'admin')
    .option('-P, --password <password>', 'local push password when no --auth-url', 'cisco')
    .option('--digest', 'check push credentials with HTTP Digest (Multiplatform "Local Credential" mode)')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--register', 'register the phones as devices of a running hub (uses --url/--key)')
    .option('--url <url>', 'hub URL for --register (default: $SWITCHBOARD_URL or http://127.0.0.1:8080)')
    .option('--key <key>', 'API key for --register (default: $SWITCHBOARD_API_KEY)')
    .option('--json', 'print the phone list as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  switchboard sim cisco --phones 50 --model 8845\n  switchboard sim cisco --phones 5 --first-extension 4001\n  switchboard sim cisco -n 6 -m 8845,7841,8821,8875,7960,8845-mpp --auth-url http://127.0.0.1:8080/cisco/authenticate --register\n  curl -u admin:cisco -d "XML=<CiscoIPPhoneExecute><ExecuteItem URL=\'Key:Services\'/></CiscoIPPhoneExecute>" http://127.0.0.1:<port>/CGI/Execute\n  curl http://127.0.0.1:<port>/sim/state\n\nRuns until Ctrl-C.\n',
    )
    .action(
      action(
        async (
          o: {
            phones: string;
            model: string;
            host: string;
            firstExtension: string;
            distinctHosts?: boolean;
            basePort?: string;
            authUrl?: string;
            servicesUrl?: string;
            user: string;
            password: string;
            register?: boolean;
            json?: boolean;
            tlsCert?: string;
            tlsKey?: string;
            digest?: boolean;
          } & ApiFlags,
        ) => {
          if (Boolean(o.tlsCert) !== Boolean(o.tlsKey))
            throw new Error('--tls-cert and --tls-key go together');
          const cert = o.tlsCert ? readFileSync(o.tlsCert, 'utf8') : undefined;
          if (!/^\d{1,9}$/.test(o.firstExtension))
            throw new Error(`--first-extension: ${JSON.stringify(o.firstExtension)} is not a number`);
          const fleet = await startCiscoSim({
            firstDn: Number(o.firstExtension),
            ...(cert && o.tlsKey ? { tls: { cert, key: readFileSync(o.tlsKey, 'utf8') } } : {}),
            ...(o.digest ? { digest: true } : {}),
            phones: Number(o.phones),
            model: o.model.split(',').map((s) => s.trim()),
            host: o.host,
            ...(o.distinctHosts ? { distinctHosts: true } : {}),
            ...(o.basePort ? { basePort: Number(o.basePort) } : {}),
            ...(o.authUrl ? { authUrl: o.authUrl } : {}),
            ...(o.servicesUrl ? { servicesUrl: o.servicesUrl } : {}),
            username: o.user,
            password: o.password,
          });
          const list = fleet.summary();
          if (o.register) {
            for (const p of list) {
              await callApi(o, 'POST', '/api/devices', {
                id: `sim-${p.deviceName.toLowerCase()}`,
                kind: 'cisco',
                name: `${p.model} ${p.dn}`,
                address: p.address,
                settings: {
                  model: p.model,
                  username: o.user,
                  password: o.password,
                  deviceName: p.deviceName,
                  extension: p.dn,
                  // The simulator's certificate is its own CA (self-signed).
                  ...(cert ? { tls: { enabled: true, ca: cert } } : {}),
                  ...(o.digest ? { authScheme: 'digest' } : {}),
                },
              });
            }
          }
          if (o.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
          else {
            for (const p of list)
              process.stdout.write(`${p.deviceName}  ${p.model.padEnd(9)} ${p.dn}  ${p.url}/\n`);
            process.stdout.write(
              `${list.length} simulated Cisco phones running${o.authUrl ? ` (auth URL ${o.authUrl})` : ` (push credentials ${o.user}:${'*'.repeat(o.password.length)})`}. Ctrl-C to stop.\n`,
            );
          }
          const stop = async () => {
            await fleet.stop();
            process.exit(0);
          };
          process.once('SIGINT', () => void stop());
          process.once('SIGTERM', () => void stop());
        },
      ),
    );

  const cisco = program
    .command('cisco')
    .description('Cisco IP phones: push text and URIs, query information pages, take screenshots')
    .addHelpText(
      'after',
      '\nThrough a running hub (device ids):\n  switchboard cisco text lobby "Fire drill at 10:00" --title Notice\n  switchboard cisco execute lobby Key:Services Key:NavDwn\n\nStraight to a phone (address):\n  switchboard cisco push 10.1.2.3 --text "Hello" -u push -P secret\n  switchboard cisco push 10.1.2.3 --uri Play:chime.raw --uri Key:Services -u push -P secret\n  switchboard cisco info 10.1.2.3 --page NetworkConfiguration\n  switchboard cisco screenshot 10.1.2.3 -o phone.png -u push -P secret\n  switchboard cisco models\n',
    );

  apiClientOptions(
    cisco
      .command('text <device> <text...>')
      .description('Show a CiscoIPPhoneText on a phone registered in the hub')
      .option('--title <title>')
      .option('--prompt <prompt>')
      .option('--json', 'print the raw result'),
  ).action(
    action(
      async (
        device: string,
        text: string[],
        o: ApiFlags & { title?: string; prompt?: string; json?: boolean },
      ) => {
        const r = await callApi(o, 'POST', `/api/cisco/${encodeURIComponent(device)}/text`, {
          text: text.join(' '),
          ...(o.title ? { title: o.title } : {}),
          ...(o.prompt ? { prompt: o.prompt } : {}),
        });
        print(r, o.json);
      },
    ),
  );

  apiClientOptions(
    cisco
      .command('execute <device> <uris...>')
      .description('Push a CiscoIPPhoneExecute with 1-3 URIs to a phone registered in the hub')
      .option('--priority <n>', '0 = now, 1 = when idle, 2 = only if idle (HTTP URLs only)', '0')
      .option('--json', 'print the raw result'),
  ).action(
    action(async (device: string, uris: string[], o: ApiFlags & { priority: string; json?: boolean }) => {
      const r = await callApi(o, 'POST', `/api/cisco/${encodeURIComponent(device)}/execute`, {
        uris,
        priority: Number(o.priority),
      });
      print(r, o.json);
    }),
  );

  directOptions(
    cisco
      .command('push <address>')
      .description('Push straight to a phone (host[:port]): a text, or 1-3 URIs')
      .option('--text <text>', 'CiscoIPPhoneText body')
      .option('--title <title>')
      .option('--uri <uri>', 'URI or URL (repeat up to 3 times)', collect)
      .option('--json', 'print the raw result'),
  ).action(
    action(
      async (
        address: string,
        o: DirectFlags & {
          text?: string;
          title?: string;
          uri?: string[];
          json?: boolean;
        },
      ) => {
        const s = directSession(address, o);
        if (o.text !== undefined)
          print(
            await s.execute('object_text', { text: o.text, ...(o.title ? { title: o.title } : {}) }),
            o.json,
          );
        else if (o.uri?.length) {
          const [first, ...more] = o.uri;
          print(
            await s.execute('push_execute', {
              uri: first,
              priority: 0,
              ...(more.length ? { more: more.map((uri) => ({ uri })) } : {}),
            }),
            o.json,
          );
        } else throw new Error('give --text or --uri');
      },
    ),
  );

  directOptions(
    cisco
      .command('info <address>')
      .description('Read an information page of a phone as typed JSON')
      .option(
        '--page <page>',
        'DeviceInformation, NetworkConfiguration, EthernetInformation, PortInformation, DeviceLog, StreamingStatistics',
        'DeviceInformation',
      )
      .option('-n <n>', 'port/log/stream number for PortInformation, DeviceLog, StreamingStatistics', '1'),
  ).action(
    action(async (address: string, o: DirectFlags & { page: string; n: string }) => {
      const ids: Record<string, string> = {
        DeviceInformation: 'query_device_information_xml',
        NetworkConfiguration: 'query_network_configuration_xml',
        EthernetInformation: 'query_ethernet_information_xml',
        PortInformation: 'query_port_information_xml',
        DeviceLog: 'query_device_log_xml',
        StreamingStatistics: 'query_streaming_statistics_xml',
      };
      const id = ids[o.page];
      if (!id) throw new Error(`--page: one of ${Object.keys(ids).join(', ')}`);
      const withN = ['PortInformation', 'DeviceLog', 'StreamingStatistics'].includes(o.page);
      print(await directSession(address, o).query(id, withN ? { n: Number(o.n) } : {}), true);
    }),
  );

  directOptions(
    cisco
      .command('screenshot <address>')
      .description('Save the phone screen (GET /CGI/Screenshot) to a file')
      .requiredOption('-o, --out <file>', 'output file'),
  ).action(
    action(async (address: string, o: DirectFlags & { out: string }) => {
      const r = await directSession(address, o).query('get_screenshot', {});
      if (!r.ok) return print(r, false);
      const d = r.data as { base64: string; contentType: string; width?: number; height?: number };
      writeFileSync(o.out, Buffer.from(d.base64, 'base64'));
      process.stdout.write(`${o.out}: ${d.contentType}${d.width ? ` ${d.width}x${d.height}` : ''}\n`);
    }),
  );

  cisco
    .command('models')
    .description('List the model profiles (charset, soft keys, XML responses, display)')
    .action(() => {
      for (const m of MODELS) {
        process.stdout.write(
          `${m.id.padEnd(9)} ${m.modelNumber.padEnd(13)} ${m.firmware.padEnd(13)} ${m.charset.padEnd(10)} softkeys=${m.softKeys} ${m.display.width}x${m.display.height}x${m.display.depth}${m.display.color ? 'C' : 'G'}${m.xmlResponses ? '' : ' (no CiscoIPPhoneResponse)'}\n`,
        );
      }
    });
}
