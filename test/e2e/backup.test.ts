import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createKeyWithCli, type SpawnedHub, serveProcess, spawnSwitchboard } from '../helpers/process.js';

const root = mkdtempSync(join(tmpdir(), 'sb-e2e-backup-'));
const hubs: SpawnedHub[] = [];
afterAll(async () => {
  for (const h of hubs) if (h.proc.exitCode === null) h.proc.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

async function run(args: string[]) {
  const p = spawnSwitchboard(args);
  const code = await p.exited;
  return { code, out: p.stdout.join('\n'), err: p.stderr.join('\n') };
}

function client(url: string, key: string) {
  return async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };
}

/** "  groups   30" lines of the CLI's report. */
function counts(out: string): Record<string, number> {
  const m: Record<string, number> = {};
  for (const [, t, n] of out.matchAll(/^ {2}(\w+)\s+(\d+)$/gm)) m[t!] = Number(n);
  return m;
}

describe('switchboard backup / restore against a running hub', () => {
  it('backs up while the hub runs and writes; restore refuses a held directory; restored data serves', async () => {
    const dataDir = join(root, 'live');
    const key = await createKeyWithCli(dataDir, 'ops');
    const { hub, url } = await serveProcess(dataDir);
    hubs.push(hub);
    const api = client(url, key);
    for (let i = 0; i < 30; i++)
      expect((await api('PUT', `/api/groups/g${i}`, { name: `Group ${i}` })).status).toBe(200);
    for (let i = 0; i < 5; i++)
      expect(
        (
          await api('POST', '/api/devices', {
            id: `phone${i}`,
            kind: 'cisco',
            address: `127.0.0.1:${9 + i}`,
            settings: { model: '8845', username: 'push', password: `pw${i}` },
            groups: ['g1'],
          })
        ).status,
      ).toBe(201);

    // A hand copy of switchboard.db would miss these rows (they are still in the WAL); the backup may not.
    const out = join(root, 'sb.db');
    const b = await run(['backup', '--data-dir', dataDir, '--out', out]);
    expect(b.err).toBe('');
    expect(b.code).toBe(0);
    expect(b.out).toContain('integrity check: ok');
    expect(counts(b.out)).toMatchObject({ groups: 30, devices: 5, api_keys: 1 });

    // A second backup while writes keep coming: it completes and is consistent.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        const r = await api('PUT', `/api/groups/w${written}`, { name: 'during backup' });
        if (r.status === 200) written++;
      }
    })();
    const during = await run(['backup', '--data-dir', dataDir, '--out', join(root, 'during.db'), '--json']);
    writing = false;
    await writer;
    expect(during.code).toBe(0);
    const report = JSON.parse(during.out) as { counts: Record<string, number> };
    expect(report.counts.groups).toBeGreaterThanOrEqual(30);
    expect(report.counts.groups).toBeLessThanOrEqual(30 + written);

    // Restoring into the directory the hub holds is refused, and changes nothing.
    const refused = await run(['restore', out, '--data-dir', dataDir]);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/in use by another Switchboard hub.*\[DATA_DIR_LOCKED\]/);
    expect(((await api('GET', '/api/groups')).body as { groups: unknown[] }).groups).toHaveLength(
      30 + written,
    );

    // Into a fresh directory: same counts, and a hub started on it serves the same data with the same key.
    const fresh = join(root, 'fresh');
    const restored = await run(['restore', out, '--data-dir', fresh]);
    expect(restored.err).toBe('');
    expect(restored.code).toBe(0);
    expect(counts(restored.out)).toEqual(counts(b.out));
    expect(existsSync(join(fresh, 'backups'))).toBe(false); // nothing was there to keep

    const second = await serveProcess(fresh);
    hubs.push(second.hub);
    const api2 = client(second.url, key);
    const { devices } = (await api2('GET', '/api/devices')).body as {
      devices: Array<{ id: string; groups: string[] }>;
    };
    expect(devices.map((d) => d.id).sort()).toEqual(['phone0', 'phone1', 'phone2', 'phone3', 'phone4']);
    expect(devices.every((d) => d.groups.includes('g1'))).toBe(true);
    expect(((await api2('GET', '/api/groups')).body as { groups: unknown[] }).groups).toHaveLength(30);

    second.hub.proc.kill('SIGTERM');
    hub.proc.kill('SIGTERM');
    expect(await second.hub.exited).toBe(0);
    expect(await hub.exited).toBe(0);
  });

  it('an upgrade (the hub finds an older schema) backs the database up before migrating, and says so', async () => {
    const dataDir = join(root, 'upgrade');
    const key = await createKeyWithCli(dataDir, 'ops');
    // Fake a database from a version without the avaya module: its table and migration record gone.
    const db = new Database(join(dataDir, 'switchboard.db'));
    db.exec("DROP TABLE avaya_content; DELETE FROM schema_migrations WHERE module = 'avaya'");
    db.prepare("INSERT INTO groups (id, name) VALUES ('kept', 'Kept')").run();
    db.close();

    const { hub, url } = await serveProcess(dataDir);
    hubs.push(hub);
    const line = await hub.waitFor(/"msg":"database backed up before migrating it"/);
    const logged = JSON.parse(line.input!) as { file: string; pending: string[] };
    expect(logged.pending).toEqual(['avaya.1']);
    expect(logged.file).toMatch(/\/backups\/pre-migration-[^/]+\.db$/);
    expect(readdirSync(join(dataDir, 'backups'))).toEqual([basename(logged.file)]);
    const old = new Database(logged.file, { readonly: true });
    expect(old.prepare("SELECT COUNT(*) FROM schema_migrations WHERE module = 'avaya'").pluck().get()).toBe(
      0,
    );
    expect(old.prepare("SELECT name FROM groups WHERE id = 'kept'").pluck().get()).toBe('Kept');
    old.close();
    // …and the hub migrated and serves.
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const groups = await client(url, key)('GET', '/api/groups');
    expect(JSON.stringify(groups.body)).toContain('"kept"');
    hub.proc.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
  });
});
