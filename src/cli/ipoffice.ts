import { existsSync, readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { ClientOptions } from '../drivers/ipoffice/client.js';
import { readFile } from '../drivers/ipoffice/connection.js';
import { splitHostPort } from '../drivers/ipoffice/driver.js';
import { Devlink3Monitor } from '../drivers/ipoffice/monitor.js';
import { decodeFileText, parseUserList } from '../drivers/ipoffice/users.js';
import { startRandomCalls } from '../sim/ipoffice/generator.js';
import { builtinScenarios, loadScenarioFile, type Scenario } from '../sim/ipoffice/scenario.js';
import { Devlink3Simulator } from '../sim/ipoffice/server.js';
import { action, simCommand } from './common.js';

interface ConnFlags {
  host: string;
  port?: string;
  user: string;
  password?: string;
  tls?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  flags?: string;
  timeout?: string;
}

function connOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--host <host[:port]>', 'IP Office address (host, host:port or [v6]:port)')
    .option('--port <port>', 'port (default 50797, or 50796 with --tls)')
    .requiredOption('--user <user>', 'DevLink3 service user')
    .option('--password <password>', 'password (default: $SWITCHBOARD_DEVLINK_PASSWORD)')
    .option('--tls', 'use TLS (port 50796)')
    .option('--ca <file>', 'PEM CA file that signed the PBX certificate')
    .option('--cert <file>', 'PEM client certificate (mutual TLS)')
    .option('--key <file>', 'PEM client key (mutual TLS)')
    .option('--insecure', 'accept a self-signed PBX certificate without verifying it')
    .option('--timeout <ms>', 'per-request timeout in ms', '10000');
}

/** `--host H`, `--host H:PORT` (as device addresses are written) and `--port`. Pure: tested on its own. */
export function hostAndPort(hostFlag: string, portFlag?: string): { host: string; port?: number } {
  const a = splitHostPort(hostFlag);
  if (portFlag === undefined) return a;
  if (!/^\d{1,5}$/.test(portFlag) || Number(portFlag) > 65535)
    throw new Error(`--port: ${JSON.stringify(portFlag)} is not a port number`);
  if (a.port !== undefined && a.port !== Number(portFlag))
    throw new Error(`--host ${hostFlag} names port ${a.port} but --port says ${portFlag}: give one`);
  return { host: a.host, port: Number(portFlag) };
}

function clientFrom(o: ConnFlags): ClientOptions {
  const password = o.password ?? process.env.SWITCHBOARD_DEVLINK_PASSWORD;
  if (password === undefined)
    throw new Error('no password: pass --password or set SWITCHBOARD_DEVLINK_PASSWORD');
  const tlsOn = o.tls || o.ca || o.cert || o.insecure;
  const { host, port } = hostAndPort(o.host, o.port);
  return {
    host,
    ...(port !== undefined ? { port } : {}),
    user: o.user,
    password,
    applicationName: 'Switchboard CLI',
    requestTimeoutMs: Number(o.timeout ?? 10000),
    ...(tlsOn
      ? {
          tls: {
            ...(o.ca ? { ca: readFileSync(o.ca) } : {}),
            ...(o.cert ? { cert: readFileSync(o.cert) } : {}),
            ...(o.key ? { key: readFileSync(o.key) } : {}),
            allowSelfSigned: o.insecure ?? false,
          },
        }
      : {}),
  };
}

function pretty(type: string, d: Record<string, unknown>): string {
  const t = new Date().toISOString().slice(11, 23);
  const pad = type.padEnd(17);
  if (type.startsWith('call.')) {
    const extra =
      type === 'call.emergency'
        ? ` EMERGENCY${d.test ? ' (TEST)' : ''} caller=${d.callerExtension} "${d.callerName}" cli=${d.cli} location=${d.emergencyLocationId ?? '-'}`
        : type === 'call.ended'
          ? ` reason=${d.reason} duration=${d.durationSeconds}s`
          : '';
    return `${t} ${pad} ${String(d.callKey ?? '').padEnd(14)} ${String(d.direction ?? '').padEnd(8)} ${String(d.state ?? '').padEnd(9)} ${d.from ?? ''}${d.fromName ? ` (${d.fromName})` : ''} -> ${d.to ?? ''}${d.toName ? ` (${d.toName})` : ''}${d.huntGroup ? ` hg=${d.huntGroup}` : ''}${extra}`;
  }
  if (type === 'pbx.link')
    return `${t} ${pad} ${d.state}${d.pbxType ? ` ${d.pbxType}` : ''}${d.reason ? ` (${d.reason})` : ''}${(d.refusedFlags as string[] | undefined)?.length ? ` refused=${(d.refusedFlags as string[]).join(' ')}` : ''}`;
  return `${t} ${pad} ${JSON.stringify(d)}`;
}

export function registerIpofficeCommands(program: Command): void {
  const devlink = program
    .command('devlink')
    .description('Talk to an Avaya IP Office over DevLink3 (TCP 50797 / TLS 50796)');

  connOptions(
    devlink
      .command('tail')
      .description('Connect, subscribe and print call events as JSON lines (or a table with --pretty)')
      .option('--flags <flags>', 'event flags: -SCN -CD2 -SIPTrack -CMExtn -CONN -TEXT', '-CMExtn')
      .option('--pretty', 'readable one-line-per-event output')
      .option('--raw', 'include the parsed record and raw XML in JSON output')
      .option('--records', 'also print every decoded tuple (Delta2, SIPTrack, CMExtn …)')
      .option('--emergency-numbers <list>', 'comma-separated emergency numbers', '911,9911')
      .option('--test-numbers <list>', 'comma-separated emergency test numbers', '933,9933')
      .option('--no-reconnect', 'exit when the link drops instead of reconnecting')
      .addHelpText(
        'after',
        '\nExamples:\n  switchboard devlink tail --host 10.0.0.5 --user devlink --password secret --pretty\n  switchboard devlink tail --host ipo.example --tls --ca ipo-ca.pem --user devlink --flags "-CMExtn -SIPTrack"\n  switchboard sim ipoffice --port 50797 --user U --password P --loop &  switchboard devlink tail --host 127.0.0.1 --user U --password P --pretty\n',
      ),
  ).action(
    action(
      async (
        o: ConnFlags & {
          pretty?: boolean;
          raw?: boolean;
          records?: boolean;
          emergencyNumbers: string;
          testNumbers: string;
          reconnect: boolean;
        },
      ) => {
        const out = (type: string, data: Record<string, unknown>) => {
          if (o.pretty) {
            process.stdout.write(`${pretty(type, data)}\n`);
            return;
          }
          const { record, raw, ...rest } = data;
          process.stdout.write(
            `${JSON.stringify({ type, data: o.raw ? { ...rest, record, raw } : rest })}\n`,
          );
        };
        const m = new Devlink3Monitor({
          client: {
            ...clientFrom(o),
            flags: o.flags ?? '-CMExtn',
            ...(o.reconnect ? {} : { reconnect: false }),
          },
          emit: (type, data) => {
            out(type, data);
            if (type === 'pbx.link' && (data.fatal || (!o.reconnect && data.state === 'down'))) {
              process.exitCode = data.state === 'up' ? 0 : 1;
              void m.stop().then(() => process.exit());
            }
          },
          emergencyNumbers: o.emergencyNumbers.split(',').filter(Boolean),
          testNumbers: o.testNumbers.split(',').filter(Boolean),
          ...(o.records
            ? {
                onRecord: (r) => {
                  if (r.kind === 'delta3') return;
                  const { ...rec } = r as unknown as Record<string, unknown>;
                  if (rec.data instanceof Buffer) rec.data = (rec.data as Buffer).toString('hex');
                  process.stdout.write(`${JSON.stringify({ type: `devlink.${r.kind}`, data: rec })}\n`);
                },
              }
            : {}),
        });
        m.start();
        const stop = () => void m.stop().then(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      },
    ),
  );

  connOptions(
    devlink
      .command('users')
      .description('Read nasystem/user_list with ReadFile and print the users')
      .option('--json', 'print JSON')
      .option('--file <name>', 'another pseudo-file to read and print verbatim')
      .addHelpText(
        'after',
        '\nExamples:\n  switchboard devlink users --host 10.0.0.5 --user devlink --password secret\n  switchboard devlink users --host 10.0.0.5 --user devlink --file nasystem/hunt_list\n',
      ),
  ).action(
    action(async (o: ConnFlags & { json?: boolean; file?: string }) => {
      const buf = await readFile(clientFrom(o), o.file ?? 'nasystem/user_list');
      const text = decodeFileText(buf);
      if (o.file) {
        process.stdout.write(text);
        return;
      }
      const users = parseUserList(text);
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify(
            users.map(({ fields: _f, ...u }) => u),
            null,
            2,
          )}\n`,
        );
        return;
      }
      process.stdout.write(`${'EXTENSION'.padEnd(12)}${'NAME'.padEnd(20)}FULL NAME\n`);
      for (const u of users)
        process.stdout.write(`${u.extension.padEnd(12)}${u.name.padEnd(20)}${u.fullName}\n`);
    }),
  );

  const sim = simCommand(program);
  sim
    .command('ipoffice')
    .description('Run an IP Office DevLink3 simulator (TCP and optionally TLS) playing call scenarios')
    .option('--host <host>', 'listen address (127.0.0.0/8 only)', '127.0.0.1')
    .option('--port <port>', 'TCP port (0 = any free port)', '50797')
    .option('--tls-port <port>', 'also listen with TLS on this port (needs --tls-cert and --tls-key)')
    .option('--tls-cert <file>', 'PEM server certificate')
    .option('--tls-key <file>', 'PEM server key')
    .option('--user <user>', 'DevLink3 service user', 'devlink')
    .option('--password <password>', 'its password', 'devlink')
    .option(
      '--scenario <name|file...>',
      'built-in scenario name or YAML file (repeatable); default: all built-in',
    )
    .option('--loop', 'repeat the scenarios until stopped')
    .option('--speed <factor>', 'playback speed factor (2 = twice as fast)', '1')
    .option('--calls-per-second <n>', 'random call generator rate (0 = off)', '0')
    .option('--split-writes <octets>', 'fault: write frames in chunks of this size')
    .option('--large-frames', 'fault: pad events to use the 3-octet frame length')
    .option('--slow-ms <ms>', 'fault: delay every response')
    .option('--lockout <n>', 'failed authentications before lockout', '3')
    .option('--smdr <host:port>', 'send SMDR records of the calls played to this collector (e.g. the hub)')
    .addOption(new Option('--list-scenarios', 'list the built-in scenarios and exit'))
    .addHelpText(
      'after',
      '\nExamples:\n  switchboard sim ipoffice --port 50797 --user U --password P --loop\n  switchboard sim ipoffice --port 0 --scenario emergency --smdr 127.0.0.1:5150\n  switchboard sim ipoffice --port 0 --scenario emergency --scenario transfer\n  switchboard sim ipoffice --calls-per-second 50 --speed 10\n',
    )
    .action(
      action(
        async (o: {
          host: string;
          port: string;
          tlsPort?: string;
          tlsCert?: string;
          tlsKey?: string;
          user: string;
          password: string;
          scenario?: string[];
          loop?: boolean;
          speed: string;
          callsPerSecond: string;
          splitWrites?: string;
          largeFrames?: boolean;
          slowMs?: string;
          lockout: string;
          smdr?: string;
          listScenarios?: boolean;
        }) => {
          const all = builtinScenarios();
          if (o.listScenarios) {
            for (const s of all.values())
              process.stdout.write(
                `${s.name.padEnd(20)}${(s.description ?? '').replace(/\s+/g, ' ').trim()}\n`,
              );
            return;
          }
          if (!/^127\./.test(o.host) && o.host !== 'localhost')
            throw new Error('--host: the simulator only listens on 127.0.0.0/8');
          if (o.tlsPort && !(o.tlsCert && o.tlsKey))
            throw new Error('--tls-port needs --tls-cert and --tls-key');
          const scenarios: Scenario[] = (o.scenario ?? [...all.keys()]).map((n) => {
            const s = all.get(n);
            if (s) return s;
            if (existsSync(n)) return loadScenarioFile(n);
            throw new Error(
              `--scenario: ${JSON.stringify(n)} is neither a built-in scenario (${[...all.keys()].join(', ')}) nor a file`,
            );
          });
          const s = await new Devlink3Simulator({
            host: o.host,
            port: Number(o.port),
            ...(o.tlsPort
              ? {
                  tlsPort: Number(o.tlsPort),
                  tls: { cert: readFileSync(o.tlsCert!), key: readFileSync(o.tlsKey!) },
                }
              : {}),
            credentials: { [o.user]: o.password },
            lockoutThreshold: Number(o.lockout),
            faults: {
              ...(o.splitWrites ? { splitWrites: Number(o.splitWrites) } : {}),
              ...(o.largeFrames ? { largeFrames: true } : {}),
              ...(o.slowMs ? { slowMs: Number(o.slowMs) } : {}),
            },
          }).start();
          process.stdout.write(
            `IP Office simulator on ${o.host}:${s.port}${o.tlsPort ? ` (TLS ${s.tlsPort})` : ''} node ${s.nodeId}, user ${o.user}\n`,
          );
          if (o.smdr) {
            const m = /^(.+):(\d{1,5})$/.exec(o.smdr);
            if (!m) throw new Error('--smdr: use host:port');
            if (!/^127\./.test(m[1]!) && m[1] !== 'localhost')
              throw new Error('--smdr: the simulator only sends to 127.0.0.0/8');
            s.enableSmdr({ host: m[1]!, port: Number(m[2]) });
            process.stdout.write(`SMDR records go to ${o.smdr}\n`);
          }
          const ac = new AbortController();
          const rate = Number(o.callsPerSecond);
          const gen =
            rate > 0
              ? startRandomCalls(s, { callsPerSecond: rate, timeScaleMs: Math.round(1000 / Number(o.speed)) })
              : undefined;
          const stop = () => {
            ac.abort();
            gen?.stop();
            void s.stop().then(() => process.exit(0));
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          do {
            for (const sc of scenarios) {
              if (ac.signal.aborted) return;
              await s.play(sc, {}, { speed: Number(o.speed), signal: ac.signal });
              await new Promise((r) => setTimeout(r, Math.round(1000 / Number(o.speed))));
            }
          } while (o.loop && !ac.signal.aborted);
          if (!gen) process.stdout.write('scenarios done; still serving (Ctrl-C to stop)\n');
        },
      ),
    );
}
