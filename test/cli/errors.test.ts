import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailConfigProblems } from '../../src/alerting/broadcast-config.js';
import { hostAndPort } from '../../src/cli/ipoffice.js';
import { defaultConfig } from '../../src/config/load.js';
import { Devlink3Simulator } from '../../src/sim/ipoffice/server.js';
import { spawnSwitchboard } from '../helpers/process.js';

/** Issue 17, CLI errors: say what is wrong, all of it, and create nothing on a bad configuration. */

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-cli-errors-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = async (args: string[]) => {
  const p = spawnSwitchboard(args, { SWITCHBOARD_CONFIG: '' });
  const code = await p.exited;
  return { code, out: p.stdout.join('\n'), err: p.stderr.join('\n') };
};

describe('pure checks', () => {
  it('an enabled email relay names every missing key at once', () => {
    const email = { ...defaultConfig().emergency.email, enabled: true, password: 'x' };
    expect(emailConfigProblems(email)).toEqual([
      'emergency.email.host: required when emergency.email.enabled is true',
      'emergency.email.from: required when emergency.email.enabled is true',
      'emergency.email.to: needs at least one recipient when emergency.email.enabled is true',
      'emergency.email.username: required when a password is set',
    ]);
    expect(emailConfigProblems({ ...email, enabled: false })).toEqual([]);
    expect(() =>
      defaultConfig({ 'emergency.email.enabled': true, 'emergency.email.host': 'smtp.example.org' }),
    ).toThrow(/emergency\.email\.from[\s\S]*emergency\.email\.to/);
  });

  it('devlink --host takes host:port like a device address', () => {
    expect(hostAndPort('10.0.0.5')).toEqual({ host: '10.0.0.5' });
    expect(hostAndPort('10.0.0.5:50796')).toEqual({ host: '10.0.0.5', port: 50796 });
    expect(hostAndPort('[fd00::5]:50797')).toEqual({ host: 'fd00::5', port: 50797 });
    expect(hostAndPort('pbx.example.org', '50796')).toEqual({ host: 'pbx.example.org', port: 50796 });
    expect(hostAndPort('pbx:50797', '50797')).toEqual({ host: 'pbx', port: 50797 });
    expect(() => hostAndPort('pbx:50797', '50796')).toThrow('give one');
    expect(() => hostAndPort('pbx', 'abc')).toThrow('"abc" is not a port number');
  });
});

describe('switchboard (real process)', () => {
  it('serve -p abc says "abc" is not a number and creates no data directory', async () => {
    const data = join(dir, 'port-data');
    const r = await run(['serve', '-p', 'abc', '-d', data]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('--port: "abc" is not a number');
    expect(existsSync(data)).toBe(false);
  }, 60_000);

  it('an invalid configuration lists every problem and creates no data directory or database', async () => {
    const data = join(dir, 'bad-config-data');
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, `dataDir: ${data}\nemergency:\n  email:\n    enabled: true\n`);
    const r = await run(['serve', '-c', file]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('invalid configuration');
    for (const key of ['emergency.email.host', 'emergency.email.from', 'emergency.email.to'])
      expect(r.err).toContain(key);
    expect(existsSync(data)).toBe(false);
  }, 60_000);

  it('devlink users --host 127.0.0.1:PORT reaches a PBX on that port', async () => {
    const sim = await new Devlink3Simulator({ credentials: { dl3: 'pw' } }).start();
    try {
      const r = await run([
        'devlink',
        'users',
        '--host',
        `127.0.0.1:${sim.port}`,
        '--user',
        'dl3',
        '--password',
        'pw',
      ]);
      expect(r.code, r.err).toBe(0);
      expect(r.out.length).toBeGreaterThan(0);
    } finally {
      await sim.stop();
    }
  }, 60_000);
});
