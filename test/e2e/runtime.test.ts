import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSwitchboard } from '../helpers/process.js';

// CI runs this file under every Node.js release it supports (see .ci/run): the hub must start, serve and
// stop with exit 0 on each, and a release known to abort must be refused with one line.
const dataDir = mkdtempSync(join(tmpdir(), 'sb-runtime-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/runtime/${name}`, import.meta.url));

describe(`switchboard serve on Node.js ${process.version}`, () => {
  it('starts, answers /readyz and the API while garbage collection finalises SQLite statements, and exits 0 on SIGTERM', async () => {
    const hub = spawnSwitchboard(
      ['serve', '--data-dir', dataDir, '--port', '0', '--host', '127.0.0.1', '--log-level', 'info'],
      {},
      ['--expose-gc', '--import', fixture('gc-pressure.mjs')],
    );
    const url = (await hub.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/))[1]!;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    // Keep it busy for many GC cycles (each request prepares and drops statements); the abort this guards
    // against came about 2 s after start, so poll well past it on a condition, not a sleep.
    const started = Date.now();
    for (let requests = 0; requests < 20 || Date.now() - started < 3000; requests++) {
      const r = await fetch(`${url}/api/devices`);
      await r.arrayBuffer();
      expect(r.status).toBe(401);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    hub.proc.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
    expect(hub.stderr.join('\n')).not.toMatch(/Assertion failed|Native stack|Error/);
  });

  it.each([
    ['24.21.0', /Node\.js v24\.21\.0 aborts the SQLite binding.*upgrade to Node\.js 24\.22 or later/],
    ['20.18.3', /Node\.js v20\.18\.3 is too old: Switchboard needs Node\.js 20\.19 or later/],
  ])(
    'refuses to serve on Node.js %s (faked) with one line naming the release to upgrade to',
    async (version, re) => {
      const hub = spawnSwitchboard(
        ['serve', '--data-dir', dataDir, '--port', '0', '--host', '127.0.0.1'],
        {
          FAKE_NODE_VERSION: version,
        },
        ['--import', fixture('fake-node-version.mjs')],
      );
      expect(await hub.exited).toBe(1);
      const lines = hub.stderr.filter((l) => l.trim() !== '');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(re);
      expect(lines[0]).toMatch(/\[NODE_UNSUPPORTED\]$/);
      expect(hub.stdout.join('\n')).not.toMatch(/listening/);
    },
  );

  it('warns (one line) but serves on a release CI does not test', async () => {
    const hub = spawnSwitchboard(
      ['serve', '--data-dir', dataDir, '--port', '0', '--host', '127.0.0.1', '--log-level', 'info'],
      { FAKE_NODE_VERSION: '25.9.0' },
      ['--import', fixture('fake-node-version.mjs')],
    );
    const url = (await hub.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/))[1]!;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    hub.proc.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
    expect(hub.stderr.filter((l) => l.trim() !== '')).toEqual([
      "switchboard: warning: Node.js v25.9.0 is not tested by Switchboard's CI (tested: 20.19+, 22.12+ and 24.22+)",
    ]);
  });
});
