import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, spawnSwitchboard } from '../helpers/process.js';

/**
 * The install path of docs/operations.md, for real: `npm pack`, then `npm install --global --prefix DIR`
 * of the tarball, then `DIR/bin/switchboard` from another directory (no clone, no tsx, no devDependencies).
 *
 * Dependencies come from npm's cache or the registry. better-sqlite3's native binding normally comes from
 * its install script (a prebuilt download from GitHub, else a compile); this machine reaches only the npm
 * registry, so by default the install runs with --ignore-scripts and the binding this checkout already
 * built is copied in (same better-sqlite3 version, same Node.js — checked). With
 * SWITCHBOARD_INSTALL_TEST_SCRIPTS=1 the install scripts run as on a site.
 */

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'sb-install-'));
const prefix = join(work, 'prefix');
const elsewhere = join(work, 'elsewhere');
const withScripts = process.env.SWITCHBOARD_INSTALL_TEST_SCRIPTS === '1';
let tarball = '';

afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  // The package ships dist/ and console/dist: build them if the sources are newer.
  await run(process.execPath, [join(ROOT, 'scripts/ensure-built.mjs')], { cwd: ROOT, timeout: 600_000 });
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: ROOT,
    timeout: 120_000,
  });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, packed!.filename);
  packedFiles = packed!.files.map((f) => f.path);
  await run(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      ...(withScripts ? [] : ['--ignore-scripts']),
      tarball,
    ],
    { cwd: work, timeout: 600_000 },
  );
  const installed = join(prefix, 'lib/node_modules/switchboard/node_modules/better-sqlite3');
  if (!withScripts) {
    const version = (dir: string) =>
      (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    const ours = join(ROOT, 'node_modules/better-sqlite3');
    expect(version(installed), 'the installed better-sqlite3 is the version this checkout built').toBe(
      version(ours),
    );
    mkdirSync(join(installed, 'build/Release'), { recursive: true });
    copyFileSync(
      join(ours, 'build/Release/better_sqlite3.node'),
      join(installed, 'build/Release/better_sqlite3.node'),
    );
  }
  mkdirSync(elsewhere);
}, 900_000);

let packedFiles: string[] = [];

describe('install from the packed tarball, run from anywhere', () => {
  it('the package holds what the hub needs at run time and nothing of the repository besides', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      bin: { switchboard: string };
    };
    expect(packedFiles).toContain(pkg.bin.switchboard);
    for (const f of [
      'console/dist/index.html',
      'specs/cisco.yaml',
      'deploy/switchboard.service',
      'docs/operations.md',
    ])
      expect(packedFiles, f).toContain(f);
    expect(packedFiles.filter((f) => /^(src|test|bench|scripts|node_modules)\//.test(f))).toEqual([]);
    expect(readFileSync(join(ROOT, pkg.bin.switchboard), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(
      true,
    );
  });

  it('DIR/bin/switchboard --help and --version work from another directory', async () => {
    const bin = join(prefix, 'bin/switchboard');
    expect(existsSync(bin)).toBe(true);
    const help = await run(bin, ['--help'], { cwd: elsewhere, timeout: 60_000 });
    expect(help.stdout).toMatch(/Usage: switchboard/);
    expect(help.stdout).toMatch(/\bbackup\b/);
    const version = await run(bin, ['--version'], { cwd: elsewhere, timeout: 60_000 });
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  it('serve from another directory: /readyz 200, the console is served, SIGTERM exits 0', async () => {
    const hub = spawnSwitchboard(
      ['serve', '--data-dir', join(elsewhere, 'data'), '--port', '0', '--host', '127.0.0.1'],
      {},
      [],
      { bin: join(prefix, 'bin/switchboard'), cwd: elsewhere },
    );
    try {
      const url = (await hub.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/))[1]!;
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const consolePage = await fetch(`${url}/`);
      expect(consolePage.status).toBe(200);
      expect(await consolePage.text()).toMatch(/<html/i);
      expect(existsSync(join(elsewhere, 'data/switchboard.db'))).toBe(true);
    } finally {
      hub.proc.kill('SIGTERM');
    }
    expect(await hub.exited).toBe(0);
  });
});
