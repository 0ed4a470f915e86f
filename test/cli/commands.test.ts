import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerAvayaCommands } from '../../src/cli/avaya.js';
import { registerBackupCommands } from '../../src/cli/backup.js';
import { registerBroadcastCommands } from '../../src/cli/broadcast.js';
import { registerCiscoCommands } from '../../src/cli/cisco.js';
import { COMMAND_MODULES } from '../../src/cli/commands.js';
import { registerDemoCommand } from '../../src/cli/demo.js';
import { registerDevicesCommands } from '../../src/cli/devices.js';
import { registerDialCommands } from '../../src/cli/dial.js';
import { registerIpofficeCommands } from '../../src/cli/ipoffice.js';
import { registerKeysCommands } from '../../src/cli/keys.js';
import { registerPubsubCommands } from '../../src/cli/pubsub.js';
import { registerRecordCommands } from '../../src/cli/records.js';
import { registerSettingsCommands } from '../../src/cli/settings.js';
import { registerSmdrCommands } from '../../src/cli/smdr.js';
import { registerStoreCommands } from '../../src/cli/store.js';
import { registerUsersCommands } from '../../src/cli/users.js';

/** The lazy command table of src/cli/main.ts names, for each command, the module that registers it. */
const MODULES: Record<string, (p: Command) => void> = {
  demo: registerDemoCommand,
  keys: registerKeysCommands,
  users: registerUsersCommands,
  devices: registerDevicesCommands,
  ipoffice: registerIpofficeCommands,
  avaya: registerAvayaCommands,
  settings: registerSettingsCommands,
  cisco: registerCiscoCommands,
  pubsub: registerPubsubCommands,
  broadcast: registerBroadcastCommands,
  smdr: registerSmdrCommands,
  backup: registerBackupCommands,
  records: registerRecordCommands,
  store: registerStoreCommands,
  dial: registerDialCommands,
};
const names = (p: Command) => p.commands.map((c) => c.name());

describe('CLI command table (lazy loading)', () => {
  it('each module registers the commands COMMAND_MODULES assigns to it', () => {
    for (const [command, module] of Object.entries(COMMAND_MODULES)) {
      if (module === 'serve') continue; // defined in main.ts itself
      const register = MODULES[module];
      expect(register, module).toBeDefined();
      const p = new Command();
      register?.(p);
      expect(names(p), `${command} in ${module}`).toContain(command);
    }
  });

  it('every top-level command is in the table (else `switchboard <it>` loads every module)', () => {
    const p = new Command();
    for (const register of Object.values(MODULES)) register(p);
    const missing = names(p).filter((n) => n !== 'sim' && !Object.hasOwn(COMMAND_MODULES, n));
    expect(missing, 'add these commands to src/cli/commands.ts').toEqual([]);
  });
});
