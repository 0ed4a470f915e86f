import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { createKeyWithCli, serveProcess, spawnSwitchboard } from '../helpers/process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'sb-e2e-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('the real switchboard process', () => {
  it('creates a key with the CLI, serves the API, and on SIGTERM exits 0 without losing a stored event', async () => {
    const key = await createKeyWithCli(dataDir, 'e2e');
    const { hub, url } = await serveProcess(dataDir);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    // Every group PUT stores the group and emits a group.updated event. Fire many requests, SIGTERM in
    // the middle, and check that every acknowledged one, and its event, survived the shutdown.
    const acked: string[] = [];
    const put = (i: number) =>
      fetch(`${url}/api/groups/g${i}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `Group ${i}` }),
      })
        .then(async (r) => {
          if (r.status === 200) acked.push(`g${i}`);
          await r.arrayBuffer();
        })
        .catch(() => {});
    await Promise.all([...Array(50).keys()].map(put));
    const inflight: Promise<void>[] = [];
    for (let i = 50; i < 400; i++) {
      inflight.push(put(i));
      if (i === 100) setTimeout(() => hub.proc.kill('SIGTERM'), 5);
      if (i % 25 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(inflight);
    expect(await hub.exited).toBe(0);
    expect(hub.stderr.join('\n')).not.toMatch(/Error/);
    expect(hub.stdout.join('\n')).toMatch(/"msg":"stopped"/);
    expect(hub.stdout.join('\n')).not.toContain(key);

    const db = openDatabase({ dataDir });
    const stored = new Set(
      (db.prepare('SELECT id FROM groups').all() as Array<{ id: string }>).map((r) => r.id),
    );
    const events = new Set(
      (
        db.prepare("SELECT data FROM events WHERE type = 'group.updated'").all() as Array<{ data: string }>
      ).map((r) => (JSON.parse(r.data) as { id: string }).id),
    );
    db.close();
    expect(acked.length).toBeGreaterThanOrEqual(50);
    expect(acked.length).toBeLessThan(350);
    for (const id of acked) {
      expect(stored.has(id), id).toBe(true);
      expect(events.has(id), `event for ${id}`).toBe(true);
    }
  });

  it('flushes every emitted event on SIGTERM (events written in the last tick are not lost)', async () => {
    const key = await createKeyWithCli(dataDir, 'e2e2');
    const { hub, url } = await serveProcess(dataDir);
    // Create a key through the API: no event. Revoke: no event. Use /api/events to learn the last seq
    // seen while the process runs, then SIGTERM and compare with the store.
    const before = (await fetch(`${url}/api/events?limit=1`, {
      headers: { authorization: `Bearer ${key}` },
    }).then((r) => r.json())) as { last: number };
    hub.proc.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
    const db = openDatabase({ dataDir });
    const last = (db.prepare('SELECT COALESCE(MAX(seq),0) AS s FROM events').get() as { s: number }).s;
    db.close();
    expect(last).toBeGreaterThanOrEqual(before.last);
  });

  it('refuses to start with a bad config, one line per problem', async () => {
    const hub = spawnSwitchboard(['serve', '--data-dir', dataDir], {
      SWITCHBOARD_HTTP_PORT: '70000',
      SWITCHBOARD_LOG_LEVEL: 'loud',
    });
    expect(await hub.exited).toBe(2);
    expect(hub.stderr).toContain('  http.port: 70000 is above the maximum 65535');
    expect(hub.stderr.some((l) => l.startsWith('  log.level: "loud" is not allowed'))).toBe(true);
  });

  it('prints --version and helpful --help', async () => {
    const v = spawnSwitchboard(['--version']);
    expect(await v.exited).toBe(0);
    expect(v.stdout[0]).toMatch(/^\d+\.\d+\.\d+/);
    const h = spawnSwitchboard(['serve', '--help']);
    expect(await h.exited).toBe(0);
    expect(h.stdout.join('\n')).toContain('SWITCHBOARD_HTTP_PORT');
  });
});
