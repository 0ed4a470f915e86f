import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ApiKeyService } from '../core/apikeys.js';
import { AuditLog } from '../core/audit.js';
import { ValidationError } from '../core/errors.js';
import { parseRole, ROLES } from '../core/roles.js';
import { PASSWORD_MAX, UserService, validatePassword } from '../core/users.js';
import { action, type ConfigFlags, cliActor, withConfigOptions, withStores } from './common.js';

function withUsers<T>(
  flags: ConfigFlags,
  fn: (users: UserService, keys: ApiKeyService, audit: AuditLog) => Promise<T>,
): Promise<T> {
  return withStores(flags, (stores) =>
    fn(
      new UserService(stores.users),
      new ApiKeyService(stores.apiKeys),
      new AuditLog(stores.audit, Date.now),
    ),
  );
}

/** Reads one line from a TTY without echoing it. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(question);
    let buf = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', on);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(buf);
    };
    const on = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new ValidationError('USER_PASSWORD_ABORTED', 'aborted'));
        if (ch === '\u007f' || ch === '\b') buf = buf.slice(0, -1);
        else if (buf.length < PASSWORD_MAX + 1) buf += ch;
      }
    };
    stdin.on('data', on);
  });
}

async function readStdin(): Promise<string> {
  let data = '';
  for await (const chunk of process.stdin) {
    data += String(chunk);
    if (data.length > PASSWORD_MAX * 4) break;
  }
  return data;
}

/** The first line of a file or of stdin, without its line ending. */
function firstLine(s: string): string {
  return s.split(/\r?\n/)[0] ?? '';
}

/** The new password: from --password-file, from a TTY prompt (asked twice), or the first line of stdin. */
async function readPassword(o: { passwordFile?: string }): Promise<string> {
  let pw: string;
  if (o.passwordFile) pw = firstLine(readFileSync(o.passwordFile, 'utf8'));
  else if (process.stdin.isTTY) {
    pw = await promptHidden('Password (at least 12 characters): ');
    validatePassword(pw);
    const again = await promptHidden('Repeat the password: ');
    if (again !== pw) throw new ValidationError('USER_PASSWORD_MISMATCH', 'the passwords do not match');
  } else pw = firstLine(await readStdin());
  validatePassword(pw);
  return pw;
}

export function registerUsersCommands(program: Command): void {
  const users = program
    .command('users')
    .description(
      'Manage local users who sign in to the console (or POST /api/session) with a username and password',
    )
    .addHelpText(
      'after',
      `
A signed-in user gets a session token: an API key named session:<user> that expires after
auth.sessionTtlMinutes (default 720). Passwords are stored as scrypt hashes in the data directory.

Roles: admin (everything), operator (security desk), sender (broadcasts from templates to groups),
viewer (read-only); see docs/security.md. Without --role a user is an admin.

Examples:
  switchboard users create --name admin              # asks for the password (not echoed)
  switchboard users create --name desk1 --role operator --password-file ./desk1.pw
  switchboard users role desk1 viewer
  printf '%s\\n' "$PW" | switchboard users create --name ci
  switchboard users list
  switchboard users passwd admin
  switchboard users disable ops
`,
    );
  withConfigOptions(
    users
      .command('create')
      .description('Create a user; the password comes from a prompt, --password-file or stdin')
      .requiredOption('-n, --name <name>', 'username (letters, digits, . _ @ -)')
      .option('--role <role>', `${ROLES.join(' | ')}`, 'admin')
      .option('--password-file <file>', 'read the password from the first line of this file')
      .option('--json', 'print JSON'),
  ).action(
    action(async (o: ConfigFlags & { name: string; role: string; passwordFile?: string; json?: boolean }) => {
      const role = parseRole(o.role);
      const pw = await readPassword(o);
      const u = await withUsers(o, async (s, _k, audit) => {
        const u = await s.create(o.name, pw, role);
        await audit.record({
          ...cliActor(),
          action: 'user.created',
          target: `name=${u.name}`,
          detail: { role },
        });
        return u;
      });
      if (o.json) process.stdout.write(`${JSON.stringify(u)}\n`);
      else process.stdout.write(`created user ${u.name} (role ${u.role})\n`);
    }),
  );
  withConfigOptions(
    users
      .command('role')
      .description("Set a user's role (applies to their open sessions at once)")
      .argument('<name>', 'username')
      .argument('<role>', ROLES.join(' | ')),
  ).action(
    action(async (name: string, roleText: string, o: ConfigFlags) => {
      const role = parseRole(roleText);
      const u = await withUsers(o, async (s, _k, audit) => {
        const u = await s.setRole(name, role);
        await audit.record({
          ...cliActor(),
          action: 'user.changed',
          target: `name=${u.name}`,
          detail: { role },
        });
        return u;
      });
      process.stdout.write(`${u.name} is now ${u.role}\n`);
    }),
  );
  withConfigOptions(
    users
      .command('list')
      .description('List users (name, created, last sign-in, disabled)')
      .option('--json', 'print JSON'),
  ).action(
    action(async (o: ConfigFlags & { json?: boolean }) => {
      const list = await withUsers(o, async (s) => s.list());
      if (o.json) {
        process.stdout.write(`${JSON.stringify(list)}\n`);
        return;
      }
      if (list.length === 0) {
        process.stdout.write('no users (create one with: switchboard users create --name admin)\n');
        return;
      }
      for (const u of list)
        process.stdout.write(
          `${u.name.padEnd(20)}  ${u.role.padEnd(8)}  created ${u.createdAt}  last sign-in ${u.lastLoginAt ?? 'never'}${u.disabledAt ? `  DISABLED ${u.disabledAt}` : ''}\n`,
        );
    }),
  );
  withConfigOptions(
    users
      .command('disable')
      .description('Disable a user and revoke their open sessions and the API keys created with them')
      .argument('<name>', 'username')
      .option('--enable', 'enable the user again instead'),
  ).action(
    action(async (name: string, o: ConfigFlags & { enable?: boolean }) => {
      const { u, n, k } = await withUsers(o, async (s, keys, audit) => {
        const u = await s.setDisabled(name, !o.enable);
        await audit.record({
          ...cliActor(),
          action: 'user.changed',
          target: `name=${u.name}`,
          detail: { disabled: !o.enable },
        });
        if (o.enable) return { u, n: 0, k: 0 };
        // Its sessions, then every key created with them (keys record the user they act for).
        const n = await keys.revokeSessionsOf(u.name, 'user-disabled');
        return { u, n, k: await keys.revokeCreatedBy(u.name, 'user-disabled') };
      });
      process.stdout.write(
        o.enable
          ? `enabled ${u.name}\n`
          : `disabled ${u.name} (${n} open session${n === 1 ? '' : 's'} revoked${k ? `, ${k} API key${k === 1 ? '' : 's'} created by ${u.name} revoked` : ''})\n`,
      );
    }),
  );
  withConfigOptions(
    users
      .command('passwd')
      .description("Set a user's password (prompt, --password-file or stdin) and revoke their open sessions")
      .argument('<name>', 'username')
      .option('--password-file <file>', 'read the password from the first line of this file'),
  ).action(
    action(async (name: string, o: ConfigFlags & { passwordFile?: string }) => {
      // Fail on an unknown user before asking for a password.
      await withUsers(o, async (s) => await s.get(name));
      const pw = await readPassword(o);
      const { u, n } = await withUsers(o, async (s, keys, audit) => {
        const u = await s.setPassword(name, pw);
        await audit.record({
          ...cliActor(),
          action: 'user.changed',
          target: `name=${u.name}`,
          detail: { password: 'set' },
        });
        return { u, n: await keys.revokeSessionsOf(u.name, 'password-changed') };
      });
      process.stdout.write(
        `password of ${u.name} changed (${n} open session${n === 1 ? '' : 's'} revoked)\n`,
      );
    }),
  );
}
