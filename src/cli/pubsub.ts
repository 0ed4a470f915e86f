import type { Command } from 'commander';
import { Accounts } from '../pubsub/accounts.js';
import { CpaasSimulator, formatTranscript, startCpaasControlServer } from '../sim/cpaas/simulator.js';
import { action, type ConfigFlags, simCommand, withConfigOptions, withStores } from './common.js';

/** Opens the configured store (the same one a running hub uses). */
function withAccounts<T>(flags: ConfigFlags, fn: (a: Accounts) => Promise<T>): Promise<T> {
  return withStores(flags, (stores) => fn(new Accounts(stores.pubsub)));
}

const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

export function registerPubsubCommands(program: Command): void {
  const pubsub = program
    .command('pubsub')
    .description('PubSub relay (seed 001 long-poll API): accounts for /auth')
    .addHelpText(
      'after',
      `
Examples:
  switchboard pubsub accounts create --name crm
  switchboard pubsub accounts list
  switchboard pubsub accounts rotate AC948550ad81934a1a9bcd33b689c0c236
  switchboard pubsub accounts delete AC948550ad81934a1a9bcd33b689c0c236

Then, against a running hub:
  session=$(curl -s -u <AccountSid>:<AuthToken> http://localhost:8080/auth)
  curl "http://localhost:8080/<AccountSid>/a/b?session=$session&timeout=5s"
  curl -d Custom=123 -d Param=abc http://localhost:8080/<AccountSid>/a/b
`,
    );
  const accounts = pubsub
    .command('accounts')
    .description(
      'Manage AccountSid/AuthToken pairs (stored hashed in the data directory; works while the hub runs)',
    );

  withConfigOptions(
    accounts
      .command('create')
      .description('Create an account and print its AccountSid and AuthToken (the token is shown once)')
      .option('-n, --name <name>', 'what the account is for', '')
      .option('--json', 'print JSON {accountSid, authToken, …}')
      .addHelpText('after', '\nExample:\n  switchboard pubsub accounts create --name crm --json\n'),
  ).action(
    action(async (o: ConfigFlags & { name: string; json?: boolean }) => {
      const a = await withAccounts(o, (acc) => acc.create(o.name));
      if (o.json) out(JSON.stringify(a));
      else
        out(
          `AccountSid: ${a.accountSid}\nAuthToken:  ${a.authToken}\n(the AuthToken is shown once; only its hash is stored)`,
        );
    }),
  );

  withConfigOptions(
    accounts.command('list').description('List accounts').option('--json', 'print JSON'),
  ).action(
    action(async (o: ConfigFlags & { json?: boolean }) => {
      const list = await withAccounts(o, (acc) => acc.list());
      if (o.json) return out(JSON.stringify(list));
      if (list.length === 0)
        return out('no PubSub accounts (create one with: switchboard pubsub accounts create)');
      for (const a of list)
        out(
          `${a.accountSid}  ${a.name.padEnd(20)}  created ${a.createdAt}${a.rotatedAt ? `  rotated ${a.rotatedAt}` : ''}`,
        );
    }),
  );

  withConfigOptions(
    accounts
      .command('rotate')
      .description('Issue a new AuthToken; the old token and its sessions stop working')
      .argument('<accountSid>', 'the account')
      .option('--json', 'print JSON'),
  ).action(
    action(async (sid: string, o: ConfigFlags & { json?: boolean }) => {
      const a = await withAccounts(o, (acc) => acc.rotate(sid));
      if (o.json) out(JSON.stringify(a));
      else out(`AccountSid: ${a.accountSid}\nAuthToken:  ${a.authToken}`);
    }),
  );

  withConfigOptions(
    accounts
      .command('delete')
      .description('Delete an account with its sessions and queued messages')
      .argument('<accountSid>', 'the account'),
  ).action(
    action(async (sid: string, o: ConfigFlags) => {
      await withAccounts(o, (acc) => acc.remove(sid));
      out(`deleted ${sid}`);
    }),
  );

  registerSimCpaasCommand(program);
}

/** `switchboard sim cpaas …` (adds to an existing `sim` command when another module made one). */
export function registerSimCpaasCommand(program: Command): void {
  const sim = simCommand(program);
  const cpaas = sim
    .command('cpaas')
    .description(
      'Simulated CPaaS voice/SMS platform: posts call and SMS webhooks and follows the InboundXML answers',
    )
    .addHelpText(
      'after',
      `
Examples:
  switchboard sim cpaas call --account AC948550ad81934a1a9bcd33b689c0c236 \\
      --url http://localhost:8080/AC948550ad81934a1a9bcd33b689c0c236/call.xml --digits 12
  switchboard sim cpaas sms --account AC… --url http://localhost:8080/AC…/SMS --body "Hello from my cell phone"
  switchboard sim cpaas serve --account AC… --port 8099     # POST /calls {url,digits}, POST /sms {url,body}
`,
    );
  const common = (c: Command) =>
    c
      .requiredOption('-a, --account <accountSid>', 'AccountSid sent in webhooks')
      .option('--signing-key <key>', 'sign webhooks (HMAC-SHA1) with this key')
      .option('--signature-header <name>', 'signature header', 'X-Zang-Signature');
  const mk = (o: { account: string; signingKey?: string; signatureHeader?: string }) =>
    new CpaasSimulator({
      accountSid: o.account,
      ...(o.signingKey ? { signingKey: o.signingKey } : {}),
      ...(o.signatureHeader ? { signatureHeader: o.signatureHeader } : {}),
    });

  common(
    cpaas
      .command('call')
      .description('Place one simulated inbound call and print its transcript')
      .requiredOption('-u, --url <url>', 'voice URL (…/<AccountSid>/call.xml)')
      .option('--from <number>', 'caller', '+18457026652')
      .option('--to <number>', 'called number', '+14083511240')
      .option('--digits <digits...>', 'digits pressed at each <Gather>, in order')
      .option('--json', 'print JSON'),
  ).action(
    action(
      async (o: {
        account: string;
        url: string;
        from: string;
        to: string;
        digits?: string[];
        json?: boolean;
        signingKey?: string;
        signatureHeader?: string;
      }) => {
        const r = await mk(o).call({
          url: o.url,
          from: o.from,
          to: o.to,
          ...(o.digits ? { digits: o.digits } : {}),
        });
        if (o.json) out(JSON.stringify(r));
        else
          out(
            [
              `call ${r.callSid}: ${r.status}${r.error ? ` (${r.error})` : ''}`,
              ...formatTranscript(r.transcript).map((l) => `  ${l}`),
            ].join('\n'),
          );
        if (r.status === 'failed') process.exitCode = 1;
      },
    ),
  );

  common(
    cpaas
      .command('sms')
      .description('Post one inbound SMS webhook')
      .requiredOption('-u, --url <url>', 'SMS URL (…/<AccountSid>/SMS)')
      .requiredOption('-b, --body <text>', 'message text')
      .option('--from <number>', 'sender', '+18457026652')
      .option('--to <number>', 'recipient', '+14083511240'),
  ).action(
    action(
      async (o: {
        account: string;
        url: string;
        body: string;
        from: string;
        to: string;
        signingKey?: string;
        signatureHeader?: string;
      }) => {
        const r = await mk(o).sms({ url: o.url, body: o.body, from: o.from, to: o.to });
        out(`sms ${r.smsSid}: HTTP ${r.status} ${r.body}`);
        if (r.status >= 400) process.exitCode = 1;
      },
    ),
  );

  common(
    cpaas
      .command('serve')
      .description('Run the simulator control server (POST /calls, POST /sms, GET /calls)')
      .option('-p, --port <port>', 'port', '8099')
      .option('--host <host>', 'address', '127.0.0.1'),
  ).action(
    action(
      async (o: {
        account: string;
        port: string;
        host: string;
        signingKey?: string;
        signatureHeader?: string;
      }) => {
        const srv = await startCpaasControlServer(mk(o), { host: o.host, port: Number(o.port) });
        out(`CPaaS simulator listening on ${srv.url}`);
        const stop = () => void srv.close().then(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      },
    ),
  );
}
