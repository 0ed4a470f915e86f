import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import type { CopyReport } from '../store/postgres/copy.js';
import { commandGroup } from './common.js';
import { action } from './run.js';

/** `switchboard store migrate`: move a site from its embedded database to PostgreSQL (issue 15). */

function targetUrl(o: { to?: string; toFile?: string }): string {
  if (o.toFile) return readFileSync(o.toFile, 'utf8').trim();
  const url = o.to ?? process.env.SWITCHBOARD_STORE_URL;
  if (!url)
    throw new ValidationError(
      'MIGRATE_NO_TARGET',
      '--to: give the PostgreSQL URL (or --to-file, or SWITCHBOARD_STORE_URL)',
      {
        field: 'to',
      },
    );
  return url;
}

/** A data directory stands for its database file. */
function sourceFile(from: string): string {
  return existsSync(from) && statSync(from).isDirectory() ? join(from, 'switchboard.db') : from;
}

function printReport(r: CopyReport): void {
  const rows = [
    ['table', 'source', 'postgres', ''],
    ...r.tables.map((t) => [
      t.table,
      String(t.source),
      String(t.target),
      t.source === t.target ? 'ok' : 'MISMATCH',
    ]),
  ];
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((x) => x[i]!.length)));
  for (const x of rows)
    process.stdout.write(
      `${x[0]!.padEnd(w[0]!)}  ${x[1]!.padStart(w[1]!)}  ${x[2]!.padStart(w[2]!)}  ${x[3]}\n`.replace(
        / +\n$/,
        '\n',
      ),
    );
  for (const m of r.missing)
    process.stdout.write(`not copied (no PostgreSQL table): ${m.table} (${m.rows} rows)\n`);
}

export function registerStoreCommands(program: Command): void {
  const store = commandGroup(program, 'store', "Move the hub's data between store backends");
  store
    .command('migrate')
    .description(
      'Copy a site from its SQLite database to PostgreSQL, in one transaction, verified by counts per table',
    )
    .requiredOption(
      '--from <file>',
      'the SQLite database file, or the data directory holding switchboard.db (opened read-only)',
    )
    .option('--to <url>', 'postgres://user[:password]@host[:port]/database (default: $SWITCHBOARD_STORE_URL)')
    .option(
      '--to-file <file>',
      'read the PostgreSQL URL from this file (keeps a password off the command line)',
    )
    .option('--force', 'replace the rows the PostgreSQL database holds already')
    .option(
      '--skip-missing',
      'copy anyway when some SQLite tables have no PostgreSQL table yet (their rows stay behind)',
    )
    .option('--batch-rows <n>', 'rows per INSERT statement', (v) => Number(v), 500)
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Stop the hub first (the copy is a snapshot). The PostgreSQL migrations are applied, then every table the
two schemas share is copied by name, parents first, in one transaction, and identities are moved past
the copied keys. The counts of every table are compared before the commit: exit status 0 only when they
all match (on a mismatch nothing is committed). The URL is never printed.
`,
    )
    .action(
      action(
        async (o: {
          from: string;
          to?: string;
          toFile?: string;
          force?: boolean;
          skipMissing?: boolean;
          batchRows: number;
          json?: boolean;
        }) => {
          const { PostgresDatabase } = await import('../store/postgres/database.js');
          const { copySqliteToPostgres } = await import('../store/postgres/copy.js');
          const db = new PostgresDatabase({ url: targetUrl(o) });
          try {
            const r = await copySqliteToPostgres({
              from: sourceFile(o.from),
              to: db,
              force: o.force ?? false,
              skipMissing: o.skipMissing ?? false,
              batchRows: o.batchRows,
            });
            if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
            else printReport(r);
            if (!r.ok) {
              process.stderr.write(
                'switchboard: the counts differ; nothing was committed [MIGRATE_VERIFY_FAILED]\n',
              );
              process.exitCode = 1;
            } else if (!o.json)
              process.stdout.write(`copied ${r.tables.length} tables; every count matches\n`);
          } finally {
            await db.close();
          }
        },
      ),
    );
}
