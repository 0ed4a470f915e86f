import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SwitchboardError } from '../core/errors.js';
import { SECRET_KEY_BYTES } from '../core/secret-box.js';

/**
 * Reads the secrets key (`secrets.keyFile`: base64 of 32 random bytes, one line). When the file does not
 * exist and `mayCreate` (no sealed secret is stored yet), it is created with mode 0600. Never creates a new
 * key over sealed data: that would make every stored password unreadable.
 */
export function loadSecretKey(file: string, mayCreate: boolean): { key: Buffer; created: boolean } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new SwitchboardError(
        'SECRET_KEY_UNREADABLE',
        `secrets.keyFile ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
        { field: 'secrets.keyFile' },
      );
    if (!mayCreate)
      throw new SwitchboardError(
        'SECRET_KEY_MISSING',
        `device passwords in the database are encrypted, but the key file ${file} is missing: restore it from the backup taken with the data (or point secrets.keyFile at it)`,
        { field: 'secrets.keyFile' },
      );
    const key = randomBytes(SECRET_KEY_BYTES);
    // A hub on PostgreSQL has no SQLite file to create the data directory: the key file's folder may be new.
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return { key, created: true };
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== SECRET_KEY_BYTES || key.toString('base64') !== text.trim())
    throw new SwitchboardError(
      'SECRET_KEY_INVALID',
      `secrets.keyFile ${file} does not hold a key (expected base64 of ${SECRET_KEY_BYTES} bytes on one line)`,
      { field: 'secrets.keyFile' },
    );
  try {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  } catch {
    // Not our file to tighten (read-only mount, other owner): it still works.
  }
  return { key, created: false };
}
