#!/usr/bin/env node
import { Command } from 'commander';
import { configKeys } from '../config/load.js';
import { VERSION } from '../version.js';
import { registerAvayaCommands } from './avaya.js';
import { registerBroadcastCommands } from './broadcast.js';
import { registerCiscoCommands } from './cisco.js';
import { action, type ConfigFlags, configFromFlags, withConfigOptions } from './common.js';
import { registerDemoCommand } from './demo.js';
import { registerDevicesCommands } from './devices.js';
import { registerIpofficeCommands } from './ipoffice.js';
import { registerKeysCommands } from './keys.js';
import { registerPubsubCommands } from './pubsub.js';
import { startHub } from './serve.js';
import { registerSettingsCommands } from './settings.js';
import { registerSmdrCommands } from './smdr.js';
import { registerUsersCommands } from './users.js';

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

withConfigOptions(
  program
    .command('serve')
    .description('Run the hub')
    .option('-p, --port <port>', 'HTTP port (overrides http.port)')
    .option('--host <host>', 'listen address (overrides http.host)')
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent')
    .addHelpText(
      'after',
      `\nConfiguration keys (YAML path, environment variable):\n${configKeys()
        .map((k) => `  ${k.path.padEnd(28)} ${k.env}`)
        .join('\n')}\n`,
    ),
).action(
  action(async (o: ConfigFlags) => {
    const config = configFromFlags(o);
    const running = await startHub(config, { handleSignals: true });
    running.hub.logger.info(
      { url: running.url, publicUrl: running.hub.hub.publicUrl, dataDir: config.dataDir },
      'switchboard listening',
    );
  }),
);

registerDemoCommand(program);
registerKeysCommands(program);
registerUsersCommands(program);
registerDevicesCommands(program);
registerIpofficeCommands(program);
registerSmdrCommands(program);
registerAvayaCommands(program);
registerSettingsCommands(program);
registerCiscoCommands(program);
registerPubsubCommands(program);
registerBroadcastCommands(program);

program.parseAsync(process.argv).catch((e) => {
  process.stderr.write(`switchboard: ${(e as Error).message}\n`);
  process.exit(1);
});
