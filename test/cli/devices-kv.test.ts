import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseKv } from '../../src/cli/devices.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-kv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('devices add --set / --set-file', () => {
  it('nests dotted keys, keeps values as text and reads --set-file values from files', () => {
    const pem = join(dir, 'ca.pem');
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMII…\n-----END CERTIFICATE-----\n');
    expect(
      parseKv(
        ['model=8845', 'tls.enabled=true', 'tls.servername=SEP0011223344AA', 'password=a=b'],
        [`tls.ca=${pem}`],
      ),
    ).toEqual({
      model: '8845',
      password: 'a=b',
      tls: {
        enabled: 'true',
        servername: 'SEP0011223344AA',
        ca: '-----BEGIN CERTIFICATE-----\nMII…\n-----END CERTIFICATE-----\n',
      },
    });
  });

  it('refuses malformed items, prototype keys and a key that is both a value and an object', () => {
    expect(() => parseKv(['novalue'])).toThrow(/expected key=value/);
    expect(() => parseKv(['=x'])).toThrow(/expected key=value/);
    expect(() => parseKv(['tls..ca=x'])).toThrow(/not a usable setting name/);
    expect(() => parseKv(['__proto__.polluted=yes'])).toThrow(/not a usable setting name/);
    expect(() => parseKv(['tls=on', 'tls.enabled=true'])).toThrow(/tls is already set/);
    expect(() => parseKv([], [`tls.ca=${join(dir, 'missing.pem')}`])).toThrow(/ENOENT/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
