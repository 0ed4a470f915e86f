import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createKeyWithCli, serveProcess, spawnSwitchboard } from '../helpers/process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'sb-devcli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function run(args: string[], env: Record<string, string>) {
  const p = spawnSwitchboard(args, env);
  const code = await p.exited;
  return { code, out: p.stdout.join('\n'), err: p.stderr.join('\n') };
}

describe('switchboard devices list|add|rm against the real process', () => {
  it('adds, lists and removes a device through the API, with clear errors', async () => {
    const key = { key: await createKeyWithCli(dataDir, 'cli') };
    const { hub, url } = await serveProcess(dataDir);
    const env = { SWITCHBOARD_URL: url, SWITCHBOARD_API_KEY: key.key };
    try {
      const add = await run(
        [
          'devices',
          'add',
          '--kind',
          'cisco',
          '--id',
          'lobby',
          '--address',
          '127.0.0.1:9',
          '--group',
          'security',
          '--room',
          '101',
          '--set',
          'model=8845',
          '--set',
          'username=push',
          '--set',
          'password=s3cret',
        ],
        env,
      );
      expect(add.err).toBe('');
      expect(add.code).toBe(0);
      expect(add.out).toContain('added lobby (cisco at 127.0.0.1:9)');

      const list = await run(['devices', 'list', '--json'], env);
      const devices = JSON.parse(list.out) as Array<{
        id: string;
        groups: string[];
        location: { room: string };
        settings: Record<string, unknown>;
      }>;
      expect(devices).toHaveLength(1);
      expect(devices[0]).toMatchObject({
        id: 'lobby',
        groups: ['security'],
        location: { room: '101' },
        settings: { model: '8845', password: '********' },
      });
      expect((await run(['devices', 'list', '--group', 'nobody'], env)).out).toBe('no devices');

      const bad = await run(
        ['devices', 'add', '--kind', 'cisco', '--address', 'x', '--set', 'model=9999'],
        env,
      );
      expect(bad.code).toBe(1);
      expect(bad.err).toMatch(/settings\.model: .*9999/);

      const unknown = await run(['devices', 'add', '--kind', 'fax', '--address', 'x'], env);
      expect(unknown.err).toMatch(/kind: "fax" is not a known device kind \(known: .*cisco/);

      expect((await run(['devices', 'rm', 'lobby'], env)).out).toBe('removed lobby');
      const gone = await run(['devices', 'rm', 'lobby'], env);
      expect(gone.code).toBe(1);
      expect(gone.err).toContain('DEVICE_NOT_FOUND');

      const noKey = await run(['devices', 'list'], { SWITCHBOARD_URL: url, SWITCHBOARD_API_KEY: '' });
      expect(noKey.code).toBe(1);
      expect(noKey.err).toMatch(/no API key/);
      const wrongKey = await run(['devices', 'list'], {
        SWITCHBOARD_URL: url,
        SWITCHBOARD_API_KEY: 'sbk_nope',
      });
      expect(wrongKey.err).toContain('APIKEY_INVALID');
    } finally {
      hub.proc.kill('SIGTERM');
      expect(await hub.exited).toBe(0);
    }
  });
});
