import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SwitchboardError } from './errors.js';

/** Prefix of a sealed value: the format version, then base64url(iv ‖ tag ‖ ciphertext). */
const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const SECRET_KEY_BYTES = 32;

/** A sealed secret could not be opened: wrong key file, or the value was altered. */
export class SecretOpenError extends SwitchboardError {
  constructor(message: string) {
    super('SECRET_UNREADABLE', message, { status: 500 });
  }
}

/**
 * Secrets at rest (device passwords): AES-256-GCM with a 256-bit key, a random 96-bit IV per value and the
 * authentication tag, so a wrong key or an altered value is detected, never decrypted into garbage. Pure:
 * the key comes from outside (`secrets.keyFile`, read by the store layer).
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== SECRET_KEY_BYTES)
      throw new SwitchboardError('SECRET_KEY_INVALID', `the secrets key must be ${SECRET_KEY_BYTES} bytes`);
    this.key = Buffer.from(key);
  }

  static isSealed(v: unknown): v is string {
    return typeof v === 'string' && v.startsWith(PREFIX);
  }

  seal(plain: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64url');
  }

  open(sealed: string): string {
    if (!SecretBox.isSealed(sealed)) return sealed;
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretOpenError('a sealed secret is truncated');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new SecretOpenError('a sealed secret does not open with this key (another key file, or altered)');
    }
  }
}
