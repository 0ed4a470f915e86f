import type { Command } from 'commander';
import { ApiKeyService } from '../core/apikeys.js';
import { sqliteCoreStores } from '../store/sqlite/core-stores.js';
import { openDatabase } from '../store/sqlite/database.js';
import { action, type ConfigFlags, configFromFlags, withConfigOptions } from './common.js';

function withKeys<T>(flags: ConfigFlags, fn: (svc: ApiKeyService) => T): T {
  const config = configFromFlags(flags);
  const db = openDatabase({ dataDir: config.dataDir, keepBackups: config.backups.keepBeforeMigration });
  const stores = sqliteCoreStores(db);
  try {
    return fn(new ApiKeyService(stores.apiKeys));
  } finally {
    stores.close();
  }
}

export function registerKeysCommands(program: Command): void {
  const keys = program
    .command('keys')
    .description(
      'Manage API keys for /api (stored as hashes in the data directory; works while the hub runs)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  switchboard keys create --name ops\n  switchboard keys list\n  switchboard keys revoke ab12cd34\n',
    );
  withConfigOptions(
    keys
      .command('create')
      .description('Create a key and print it once (it cannot be shown again)')
      .requiredOption('-n, --name <name>', 'who or what the key is for')
      .option('--json', 'print JSON'),
  ).action(
    action((o: ConfigFlags & { name: string; json?: boolean }) => {
      const k = withKeys(o, (s) => s.create(o.name));
      if (o.json) process.stdout.write(`${JSON.stringify(k)}\n`);
      else process.stdout.write(`API key for ${k.name} (id ${k.id}) — shown once, store it now:\n${k.key}\n`);
    }),
  );
  withConfigOptions(
    keys
      .command('list')
      .description('List keys (id, name, created, last used, revoked)')
      .option('--json', 'print JSON'),
  ).action(
    action((o: ConfigFlags & { json?: boolean }) => {
      const list = withKeys(o, (s) => s.list());
      if (o.json) {
        process.stdout.write(`${JSON.stringify(list)}\n`);
        return;
      }
      if (list.length === 0) {
        process.stdout.write('no API keys (create one with: switchboard keys create --name ops)\n');
        return;
      }
      for (const k of list) {
        process.stdout.write(
          `${k.id}  ${k.name.padEnd(20)}  created ${k.createdAt}  last used ${k.lastUsedAt ?? 'never'}${k.expiresAt ? `  expires ${k.expiresAt}` : ''}${k.revokedAt ? `  REVOKED ${k.revokedAt}` : ''}\n`,
        );
      }
    }),
  );
  withConfigOptions(
    keys
      .command('revoke')
      .description('Revoke a key by id')
      .argument('<id>', 'key id (or the sbk_<id> prefix)'),
  ).action(
    action((id: string, o: ConfigFlags) => {
      const k = withKeys(o, (s) => s.revoke(id));
      process.stdout.write(`revoked ${k.id} (${k.name})\n`);
    }),
  );
}
