import type { Command } from 'commander';
import type { DatabaseReport } from '../store/sqlite/backup.js';
import { action, type ConfigFlags, configFromFlags, withConfigOptions } from './common.js';

/** `switchboard backup` and `switchboard restore` (docs/operations.md, "Backup and restore"). */

function printReport(r: DatabaseReport): void {
  const width = Math.max(0, ...Object.keys(r.counts).map((t) => t.length));
  process.stdout.write('integrity check: ok\nrows per table:\n');
  for (const [t, n] of Object.entries(r.counts)) process.stdout.write(`  ${t.padEnd(width)}  ${n}\n`);
  process.stdout.write(
    `schema versions: ${Object.entries(r.versions)
      .map(([m, v]) => `${m} ${v}`)
      .join(', ')}\n`,
  );
}

export function registerBackupCommands(program: Command): void {
  withConfigOptions(
    program
      .command('backup')
      .description(
        'Copy the database to a file, consistently, while the hub runs (SQLite backup API), and verify the copy',
      )
      .requiredOption('-o, --out <file>', 'backup file to write (mode 0600: it holds device secrets)')
      .option('--force', 'overwrite --out if it exists')
      .option('--json', 'print the result as JSON')
      .addHelpText(
        'after',
        `
The copy includes what the running hub has not checkpointed yet (copying switchboard.db by hand does
not). A secrets key file of the data directory (secrets.key), if there is one, is written next to it
as FILE.secrets.key. Exit status 0 only when the copy passed PRAGMA integrity_check.

Examples:
  switchboard backup --out /var/backups/switchboard/$(date +%F).db
  switchboard backup -c /etc/switchboard/switchboard.yaml --out sb.db --json
`,
      ),
  ).action(
    action(async (o: ConfigFlags & { out: string; force?: boolean; json?: boolean }) => {
      const { backupDataDir } = await import('../store/sqlite/backup.js');
      const config = configFromFlags(o);
      const r = await backupDataDir(config.dataDir, o.out, { force: o.force ?? false });
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      process.stdout.write(`backed up ${config.dataDir} to ${r.file} (${r.bytes} bytes)\n`);
      for (const c of r.companions) process.stdout.write(`also wrote ${c}\n`);
      printReport(r);
    }),
  );

  withConfigOptions(
    program
      .command('restore')
      .description('Replace the database of the data directory with a backup (stop the hub first)')
      .argument('<file>', 'a file written by `switchboard backup` (or a pre-migration backup)')
      .option('--json', 'print the result as JSON')
      .addHelpText(
        'after',
        `
Refused while a hub runs on the data directory (DATA_DIR_LOCKED), for a damaged file (BACKUP_CORRUPT)
and for a backup made by a newer version (STORE_TOO_NEW). The database it replaces is kept in
<dataDir>/backups/before-restore-<time>.db. An older backup is migrated when the hub next starts.

Examples:
  systemctl stop switchboard
  switchboard restore /var/backups/switchboard/2026-12-01.db -c /etc/switchboard/switchboard.yaml
  systemctl start switchboard
`,
      ),
  ).action(
    action(async (file: string, o: ConfigFlags & { json?: boolean }) => {
      const { restoreDataDir } = await import('../store/sqlite/backup.js');
      const { MIGRATIONS } = await import('../store/sqlite/migrations/index.js');
      const config = configFromFlags(o);
      const r = await restoreDataDir(config.dataDir, file, MIGRATIONS);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      process.stdout.write(`restored ${file} into ${r.dataDir}\n`);
      if (r.previous) process.stdout.write(`the database it replaced is kept as ${r.previous}\n`);
      for (const c of r.companions) process.stdout.write(`also restored ${c}\n`);
      printReport(r);
    }),
  );
}
