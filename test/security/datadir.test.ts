import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyWithCli, serveProcess, spawnSwitchboard } from '../helpers/process.js';

/**
 * Attacks 7 and 9 of issue 13 against the real `switchboard serve` process: two hubs on one data
 * directory both started (and then lost events); the database and its WAL were world-readable.
 */
const dirs: string[] = [];
const procs: Array<{ proc: { kill(sig?: NodeJS.Signals): boolean }; exited: Promise<unknown> }> = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.proc.kill('SIGKILL');
    await p.exited;
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'sb-datadir-'));
  dirs.push(d);
  return d;
}

describe('one hub per data directory (item 7)', () => {
  it('a second serve on the same directory fails with one line naming the directory and the holder pid', async () => {
    const dir = tmp();
    const first = await serveProcess(dir);
    procs.push(first.hub);
    const second = spawnSwitchboard(['serve', '--data-dir', dir, '--port', '0', '--host', '127.0.0.1']);
    procs.push(second);
    expect(await second.exited).not.toBe(0);
    const lines = second.stderr.filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `data directory ${dir} is in use by another Switchboard hub (pid ${first.hub.proc.pid})`,
    );
    // The first one is unharmed.
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
  }, 120_000);

  it('a lock left by a killed hub (kill -9) is taken over', async () => {
    const dir = tmp();
    const first = await serveProcess(dir);
    first.hub.proc.kill('SIGKILL');
    await first.hub.exited;
    const again = await serveProcess(dir);
    procs.push(again.hub);
    expect((await fetch(`${again.url}/readyz`)).status).toBe(200);
  }, 120_000);

  it('a lock file naming a pid that is not running is stale', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'switchboard.lock'), '2147483646\n');
    const h = await serveProcess(dir);
    procs.push(h.hub);
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
  }, 120_000);

  it('CLI commands still work while the hub runs (they do not take the lock)', async () => {
    const dir = tmp();
    const h = await serveProcess(dir);
    procs.push(h.hub);
    const key = await createKeyWithCli(dir, 'cli-while-running');
    expect(
      (await fetch(`${h.url}/api/devices`, { headers: { authorization: `Bearer ${key}` } })).status,
    ).toBe(200);
  }, 120_000);
});

describe('data directory permissions (item 9)', () => {
  it('creates the data directory 0700 and the database, WAL and SHM 0600', async () => {
    const dir = join(tmp(), 'fresh');
    const h = await serveProcess(dir);
    procs.push(h.hub);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of ['switchboard.db', 'switchboard.db-wal', 'switchboard.db-shm', 'switchboard.lock'])
      expect((statSync(join(dir, f)).mode & 0o777).toString(8)).toBe('600');
  }, 120_000);

  it('tightens an existing world-readable database', async () => {
    const dir = tmp();
    const h = await serveProcess(dir);
    h.hub.proc.kill('SIGTERM');
    await h.hub.exited;
    const { chmodSync } = await import('node:fs');
    chmodSync(join(dir, 'switchboard.db'), 0o644);
    const again = await serveProcess(dir);
    procs.push(again.hub);
    expect((statSync(join(dir, 'switchboard.db')).mode & 0o777).toString(8)).toBe('600');
  }, 120_000);
});
