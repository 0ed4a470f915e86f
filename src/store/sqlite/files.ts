import { join, resolve } from 'node:path';

/** The files of a data directory the store owns. */

/** The one database file. */
export const DB_FILE = 'switchboard.db';
/** Automatic backups (before a migration, before a restore). */
export const BACKUPS_DIR = 'backups';
/** Default of `backups.keepBeforeMigration`. */
export const DEFAULT_KEEP_BACKUPS = 5;

/** The key file that seals device passwords: `secrets.keyFile`, else `secrets.key` in the data directory. */
export function secretsKeyPath(dataDir: string, keyFile: string): string {
  return keyFile ? resolve(keyFile) : join(dataDir, 'secrets.key');
}
