#!/usr/bin/env node
import { Command } from 'commander';
import { checkNodeRuntime } from '../store/sqlite/runtime.js';
import { VERSION } from '../version.js';
import { COMMAND_MODULES } from './commands.js';
import { action, type ConfigFlags, withConfigOptions } from './run.js';

/**
 * The `switchboard` command. Each top-level command lives in its own module, imported only when that
 * command runs (or for `--help` and unknown commands, all of them): `settings lint` must not pay for
 * the HTTP server, the drivers and the database at start-up.
 */

type Register = (program: Command) => void | Promise<void>;
/** Each command module, in the order `--help` lists their commands. */
const MODULES: Record<string, () => Promise<Register>> = {
  serve: async () => registerServe,
  demo: async () => (await import('./demo.js')).registerDemoCommand,
  keys: async () => (await import('./keys.js')).registerKeysCommands,
  users: async () => (await import('./users.js')).registerUsersCommands,
  devices: async () => (await import('./devices.js')).registerDevicesCommands,
  ipoffice: async () => (await import('./ipoffice.js')).registerIpofficeCommands,
  avaya: async () => (await import('./avaya.js')).registerAvayaCommands,
  settings: async () => (await import('./settings.js')).registerSettingsCommands,
  cisco: async () => (await import('./cisco.js')).registerCiscoCommands,
  pubsub: async () => (await import('./pubsub.js')).registerPubsubCommands,
  broadcast: async () => (await import('./broadcast.js')).registerBroadcastCommands,
  smdr: async () => (await import('./smdr.js')).registerSmdrCommands,
  backup: async () => (await import('./backup.js')).registerBackupCommands,
  records: async () => (await import('./records.js')).registerRecordCommands,
  store: async () => (await import('./store.js')).registerStoreCommands,
  dial: async () => (await import('./dial.js')).registerDialCommands,
};

async function registerServe(program: Command): Promise<void> {
  const { configKeys } = await import('../config/load.js');
  withConfigOptions(
    program
      .command('serve')
      .description('Run the hub')
      .option('-p, --port <port>', 'HTTP port (overrides http.port)')
      .option('--host <host>', 'listen address (overrides http.host)')
      .option('--log-level <level>', 'trace, debug, info, warn, error or silent')
      .option('--log-pretty', 'readable log lines for a terminal instead of JSON (log.pretty)')
      .addHelpText(
        'after',
        `\nConfiguration keys (YAML path, environment variable):\n${configKeys()
          .map((k) => `  ${k.path.padEnd(28)} ${k.env}`)
          .join('\n')}\n`,
      ),
  ).action(
    action(async (o: ConfigFlags) => {
      const { configFromFlags } = await import('./common.js');
      const { startHub } = await import('./serve.js');
      const config = configFromFlags(o);
      const running = await startHub(config, { handleSignals: true });
      running.hub.logger.info(
        {
          url: running.url,
          ...(running.phoneUrl ? { phoneUrl: running.phoneUrl } : {}),
          publicUrl: running.hub.hub.publicUrl,
          dataDir: config.dataDir,
        },
        'switchboard listening',
      );
    }),
  );
}

/** The module of the command the arguments name (the first argument that is not an option), if known. */
function moduleOf(argv: string[]): string | undefined {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  return first !== undefined && Object.hasOwn(COMMAND_MODULES, first) ? COMMAND_MODULES[first] : undefined;
}

async function main(): Promise<void> {
  const program = new Command();
  program
    .name('switchboard')
    .description(
      'On-premises hub for IP Office call events, Cisco and Avaya desk phones, settings files and a long-poll PubSub relay.',
    )
    .version(VERSION, '-v, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nStart here:\n  switchboard demo            hub + simulated PBX and phones, throw-away data\n  switchboard serve -c switchboard.yaml\n  switchboard keys create --name ops\n',
    );
  const only = moduleOf(process.argv);
  // Modules load in parallel; they register in the order `--help` lists the commands in.
  const names = only ? [only] : Object.keys(MODULES);
  const registers = await Promise.all(names.map((n) => MODULES[n]!()));
  for (const register of registers) await register(program);
  (await import('./examples.js')).addExamples(program);
  // A release CI does not test starts with one warning line; a release known to abort is refused where the
  // store opens (NODE_UNSUPPORTED), so the commands that need no database (simulators, help) still run.
  const runtime = checkNodeRuntime(process.versions.node);
  if (runtime.ok && runtime.warning) process.stderr.write(`switchboard: warning: ${runtime.warning}\n`);
  await program.parseAsync(process.argv);
}

main().catch((e) => {
  process.stderr.write(`switchboard: ${(e as Error).message}\n`);
  process.exit(1);
});
