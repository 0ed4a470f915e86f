/** The files of a data directory the store owns. */

/** The one database file. */
export const DB_FILE = 'switchboard.db';
/** Automatic backups (before a migration, before a restore). */
export const BACKUPS_DIR = 'backups';
/** Default of `backups.keepBeforeMigration`. */
export const DEFAULT_KEEP_BACKUPS = 5;
