import type { Command } from 'commander';
import { ApiKeyService } from '../core/apikeys.js';
import { AuditLog } from '../core/audit.js';
import { ValidationError } from '../core/errors.js';
import { PERMISSIONS, parseRole, parseScopes, ROLES } from '../core/roles.js';
import { action, type ConfigFlags, cliActor, withConfigOptions, withStores } from './common.js';

function withKeys<T>(
  flags: ConfigFlags,
  fn: (svc: ApiKeyService, audit: AuditLog) => Promise<T>,
): Promise<T> {
  return withStores(flags, (stores) =>
    fn(new ApiKeyService(stores.apiKeys), new AuditLog(stores.audit, Date.now)),
  );
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, ...v.split(',').filter((x) => x.trim() !== '')];
}

export function registerKeysCommands(program: Command): void {
  const keys = program
    .command('keys')
    .description(
      'Manage API keys for /api (stored as hashes in the data directory; works while the hub runs)',
    )
    .addHelpText(
      'after',
      `
Examples:
  switchboard keys create --name ops                       # role admin (the default)
  switchboard keys create --name wallboard --role viewer
  switchboard keys create --name relay --scope events:read --scope broadcasts:read
  switchboard keys list
  switchboard keys revoke ab12cd34

Roles: ${ROLES.join(', ')}. Scopes: ${PERMISSIONS.join(', ')}.
`,
    );
  withConfigOptions(
    keys
      .command('create')
      .description('Create a key and print it once (it cannot be shown again)')
      .requiredOption('-n, --name <name>', 'who or what the key is for')
      .option('--role <role>', `${ROLES.join(' | ')} (default admin)`)
      .option('--scope <scope>', 'a scoped key: only these permissions (repeat, or comma-separated)', collect)
      .option('--json', 'print JSON'),
  ).action(
    action(async (o: ConfigFlags & { name: string; role?: string; scope?: string[]; json?: boolean }) => {
      if (o.role && o.scope)
        throw new ValidationError('APIKEY_ROLE_AND_SCOPES', 'a key has a role or scopes, not both', {
          field: 'scope',
        });
      const scopes = o.scope ? parseScopes(o.scope, 'scope') : undefined;
      const role = o.role ? parseRole(o.role) : undefined;
      const k = await withKeys(o, async (s, audit) => {
        const k = await s.create(o.name, { ...(role ? { role } : {}), ...(scopes ? { scopes } : {}) });
        await audit.record({
          ...cliActor(),
          action: 'key.created',
          target: `id=${k.id}`,
          detail: {
            name: k.name,
            ...(k.role ? { role: k.role } : {}),
            ...(k.scopes ? { scopes: k.scopes } : {}),
          },
        });
        return k;
      });
      if (o.json) process.stdout.write(`${JSON.stringify(k)}\n`);
      else
        process.stdout.write(
          `API key for ${k.name} (id ${k.id}, ${k.scopes ? `scopes ${k.scopes.join(',')}` : `role ${k.role}`}) — shown once, store it now:\n${k.key}\n`,
        );
    }),
  );
  withConfigOptions(
    keys
      .command('list')
      .description('List keys (id, name, created, last used, revoked)')
      .option('--json', 'print JSON'),
  ).action(
    action(async (o: ConfigFlags & { json?: boolean }) => {
      const list = await withKeys(o, async (s) => s.list());
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
          `${k.id}  ${k.name.padEnd(20)}  ${(k.scopes ? k.scopes.join(',') : (k.role ?? '')).padEnd(10)}  created ${k.createdAt}  last used ${k.lastUsedAt ?? 'never'}${k.expiresAt ? `  expires ${k.expiresAt}` : ''}${k.revokedAt ? `  REVOKED ${k.revokedAt}` : ''}\n`,
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
    action(async (id: string, o: ConfigFlags) => {
      const k = await withKeys(o, async (s, audit) => {
        const k = await s.revoke(id);
        await audit.record({
          ...cliActor(),
          action: 'key.revoked',
          target: `id=${k.id}`,
          detail: { name: k.name },
        });
        return k;
      });
      process.stdout.write(`revoked ${k.id} (${k.name})\n`);
    }),
  );
}
