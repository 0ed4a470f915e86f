import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configKeys, loadConfig } from '../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-config-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
function problemsOf(path: string, env: Record<string, string> = {}): string[] {
  try {
    loadConfig({ path, env });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected the config to be rejected');
}

describe('config loading', () => {
  it('gives every key a default', () => {
    const { config } = loadConfig({ env: {}, searchDefaultFile: false });
    expect(config.http.port).toBe(8080);
    expect(config.dataDir).toBe('./data');
    expect(config.log.level).toBe('info');
    expect(config.shutdown.graceMs).toBe(10_000);
  });

  it('names the key, the value and the limit for an out-of-range port', () => {
    expect(problemsOf(file('port.yaml', 'http:\n  port: 70000\n'))).toEqual([
      'http.port: 70000 is above the maximum 65535',
    ]);
  });

  it('reports one line per problem, for several problems at once', () => {
    const p = problemsOf(file('many.yaml', 'http:\n  port: -1\n  host: 12\nlog:\n  level: loud\nfoo: bar\n'));
    expect(p).toContain('http.port: -1 is below the minimum 0');
    expect(p).toContain('http.host: 12 is not a string');
    expect(p).toContain(
      'log.level: "loud" is not allowed (allowed: "trace", "debug", "info", "warn", "error", "silent")',
    );
    expect(p).toContain('foo: is not a known key');
    expect(p).toHaveLength(4);
  });

  it('rejects wrong types and unknown nested keys', () => {
    const p = problemsOf(file('types.yaml', 'shutdown:\n  graceMs: soon\n  extra: 1\n'));
    expect(p).toEqual(
      expect.arrayContaining([
        'shutdown.graceMs: "soon" is not an integer',
        'shutdown.extra: is not a known key',
      ]),
    );
  });

  it('rejects a file that is not YAML, or not a mapping', () => {
    expect(problemsOf(file('bad.yaml', 'http: [1, 2\n'))[0]).toMatch(/not valid YAML/);
    expect(problemsOf(file('list.yaml', '- a\n- b\n'))).toEqual(['(root): must be a mapping of keys']);
  });

  it('says when the file cannot be read', () => {
    expect(problemsOf(join(dir, 'missing.yaml'))[0]).toMatch(/missing\.yaml: cannot read \(ENOENT\)/);
  });

  it('lets environment variables override the file, validated the same way', () => {
    const p = file('env.yaml', 'http:\n  port: 9000\n');
    expect(loadConfig({ path: p, env: { SWITCHBOARD_HTTP_PORT: '9100' } }).config.http.port).toBe(9100);
    expect(loadConfig({ path: p, env: { SWITCHBOARD_SHUTDOWN_GRACE_MS: '5' } }).config.shutdown.graceMs).toBe(
      5,
    );
    expect(problemsOf(p, { SWITCHBOARD_HTTP_PORT: 'eighty' })).toEqual([
      'http.port: "eighty" is not an integer',
    ]);
  });

  it('reads secrets from …File keys', () => {
    const keyFile = file('keys.txt', '# ops keys\nabcdefghijklmnopqrstuvwxyz\n');
    const p = file('secrets.yaml', `auth:\n  apiKeysFile: ${keyFile}\n`);
    expect(loadConfig({ path: p, env: {} }).config.auth.apiKeys).toEqual(['abcdefghijklmnopqrstuvwxyz']);
    const bad = file('badsecret.yaml', 'auth:\n  apiKeysFile: /nonexistent/keys\n');
    expect(problemsOf(bad)[0]).toMatch(/^auth\.apiKeysFile: cannot read/);
  });

  it('lists every key with its environment variable', () => {
    const keys = configKeys().map((k) => `${k.path}=${k.env}`);
    expect(keys).toContain('http.port=SWITCHBOARD_HTTP_PORT');
    expect(keys).toContain('shutdown.graceMs=SWITCHBOARD_SHUTDOWN_GRACE_MS');
  });
});
