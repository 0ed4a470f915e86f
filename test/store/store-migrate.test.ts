import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Accounts } from '../../src/pubsub/accounts.js';
import { newMessageId } from '../../src/pubsub/protocol.js';
import type { StoredMessage } from '../../src/pubsub/store.js';
import { postgresCoreStores } from '../../src/store/postgres/core-stores.js';
import { PostgresDatabase } from '../../src/store/postgres/database.js';
import { PostgresPubSubStore } from '../../src/store/postgres/pubsub.js';
import { sqliteCoreStores } from '../../src/store/sqlite/core-stores.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { SqlitePubSubStore } from '../../src/store/sqlite/pubsub.js';
import { describePostgres } from '../helpers/postgres.js';
import { runSwitchboard } from '../helpers/process.js';

/**
 * `switchboard store migrate` end to end (real processes): a SQLite data directory filled by the hub's
 * own stores is moved to a throw-away PostgreSQL, verified by counts, read back through the PostgreSQL
 * stores; a non-empty target, a table PostgreSQL lacks and a count mismatch are refused.
 */
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const iso = (ms: number) => new Date(T0 + ms).toISOString();

describePostgres('switchboard store migrate', ({ db: freshDatabase }) => {
  let dir: string;
  let sid: string;
  let auditHighWater = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-store-migrate-'));
    const db = openDatabase({ dataDir: dir });
    const s = sqliteCoreStores(db);
    for (let i = 0; i < 1200; i++)
      await s.events.append([
        {
          seq: i + 1,
          id: `evt_${i}`,
          time: iso(i),
          source: 'ipo-1',
          type: 'call.started',
          data: { i, t: 'ü☎' },
        },
      ]);
    for (const id of ['lobby', 'desk-2', 'é'])
      await s.devices.insert({
        id,
        kind: 'cisco',
        name: `Phone ${id}`,
        address: '10.0.0.1',
        labels: ['x'],
        groups: ['security'],
        location: { site: 'HQ' },
        settings: { password: 'sealed' },
        createdAt: iso(0),
        updatedAt: iso(0),
      });
    await s.groups.upsert({ id: 'security', name: 'Security', description: 'desk' });
    await s.users.insert({
      name: 'ops',
      passwordHash: 'scrypt$x',
      createdAt: iso(0),
      lastLoginAt: null,
      disabledAt: null,
      role: 'admin',
      source: 'local',
    });
    await s.apiKeys.insert({
      id: 'k1',
      name: 'ops',
      prefix: 'sbk_k1',
      hash: 'h',
      salt: 's',
      createdAt: iso(0),
      lastUsedAt: null,
      revokedAt: null,
      scopes: ['devices:read'],
      idleSeconds: 60,
    });
    await s.apiKeys.revoke('k1', iso(5), 'signed-out');
    await s.kv.set('ns', 'k', { big: 'y'.repeat(100_000) });
    for (let i = 0; i < 5; i++)
      auditHighWater = await s.audit.append({
        time: iso(i * 1000),
        actorKind: 'cli',
        actorId: null,
        actorName: 'root',
        address: null,
        action: 'device.added',
        target: `device d${i}`,
        outcome: 'ok',
        detail: { i },
      });
    // The newest entries deleted: PostgreSQL must not hand their seq out again.
    db.prepare('DELETE FROM audit_log WHERE seq > 3').run();
    const pubsub = new SqlitePubSubStore(db);
    sid = (await new Accounts(pubsub).create('site')).accountSid;
    for (let i = 0; i < 3; i++) {
      const id = newMessageId();
      const message = {
        Hostname: 'h',
        AccountSid: sid,
        Url: `/${sid}/q`,
        FormParams: { i: String(i) },
        Created: iso(i),
        Id: id,
      };
      const m: StoredMessage = {
        id,
        accountSid: sid,
        queue: 'q',
        message,
        bytes: 100,
        createdAt: T0 + i,
        expiresAt: T0 + 1e9,
      };
      await pubsub.insert(m, { maxQueueLength: 100, maxQueuesPerAccount: 10, now: T0 });
    }
    db.close();
  }, 120_000);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies every shared table in one transaction, verified by counts; reads back through the PostgreSQL stores', async () => {
    const url = (await freshDatabase()).replace('postgres@', 'postgres:pw-not-shown@');
    const r = await runSwitchboard(['store', 'migrate', '--from', dir, '--to', url, '--batch-rows', '250']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^events\s+1200\s+1200\s+ok$/m);
    expect(r.stdout).toMatch(/^audit_log\s+3\s+3\s+ok$/m);
    expect(r.stdout).toMatch(/^pubsub_messages\s+3\s+3\s+ok$/m);
    expect(r.stdout).toMatch(/every count matches/);
    expect(r.stdout).not.toContain('pw-not-shown');
    // Parents before children (foreign keys).
    expect(r.stdout.indexOf('pubsub_accounts')).toBeLessThan(r.stdout.indexOf('pubsub_messages'));

    const sqlite = sqliteCoreStores(openDatabase({ dataDir: dir, readonly: true }));
    const db = new PostgresDatabase({ url });
    const pg = postgresCoreStores(db);
    try {
      expect(await pg.devices.list()).toEqual(await sqlite.devices.list());
      expect(await pg.groups.list()).toEqual(await sqlite.groups.list());
      expect(await pg.users.list()).toEqual(await sqlite.users.list());
      expect(await pg.apiKeys.list()).toEqual(await sqlite.apiKeys.list());
      expect(await pg.kv.list('ns')).toEqual(await sqlite.kv.list('ns'));
      expect(await pg.events.list({ limit: 10_000 })).toEqual(await sqlite.events.list({ limit: 10_000 }));
      expect(await pg.events.lastSeq()).toBe(1200);
      expect(await pg.audit.list({ limit: 10 })).toEqual(await sqlite.audit.list({ limit: 10 }));
      // The identity moved past SQLite's AUTOINCREMENT high-water mark (entries 4 and 5 were deleted).
      const next = await pg.audit.append({ ...(await sqlite.audit.list({ limit: 1 }))[0]!, time: iso(9000) });
      expect(next).toBe(auditHighWater + 1);
      // PubSub: the queue's count row came along; messages are claimed in their order.
      const ps = new PostgresPubSubStore(db);
      expect(await ps.depth(sid, 'q')).toBe(3);
      const claimed = await ps.claim(sid, 'q', 'sess', 10, T0, T0 + 60_000);
      expect(claimed.map((m) => m.message.FormParams)).toEqual([{ i: '0' }, { i: '1' }, { i: '2' }]);
    } finally {
      await sqlite.close();
      await db.close();
    }

    // Again: the target holds rows now.
    const again = await runSwitchboard([
      'store',
      'migrate',
      '--from',
      join(dir, 'switchboard.db'),
      '--to',
      url,
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/holds rows already.*--force replaces them \[MIGRATE_TARGET_NOT_EMPTY\]/);
    expect(again.stderr).not.toContain('pw-not-shown');
    const forced = await runSwitchboard([
      'store',
      'migrate',
      '--from',
      dir,
      '--to',
      url,
      '--force',
      '--json',
    ]);
    expect(forced.code).toBe(0);
    const report = JSON.parse(forced.stdout) as {
      ok: boolean;
      tables: Array<{ table: string; target: number }>;
    };
    expect(report.ok).toBe(true);
    expect(report.tables.find((t) => t.table === 'audit_log')?.target).toBe(3);
  }, 240_000);

  it('refuses a SQLite table with rows that PostgreSQL lacks, unless --skip-missing; a count mismatch commits nothing', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'sb-store-migrate-extra-'));
    try {
      const src = new Database(join(dir, 'switchboard.db'), { readonly: true });
      await src.backup(join(copy, 'switchboard.db'));
      src.close();
      const w = new Database(join(copy, 'switchboard.db'));
      w.exec("CREATE TABLE site_extra (x TEXT); INSERT INTO site_extra VALUES ('kept?')");
      w.close();
      const url = await freshDatabase();
      const r = await runSwitchboard(['store', 'migrate', '--from', copy, '--to', url]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no table for site_extra \(1 rows\).*\[MIGRATE_TABLE_MISSING\]/);
      // A rule that swallows inserts: the counts differ, so the whole copy is rolled back.
      const db = new PostgresDatabase({ url });
      await db.open();
      await db.query('CREATE RULE swallow AS ON INSERT TO kv DO INSTEAD NOTHING');
      const bad = await runSwitchboard(['store', 'migrate', '--from', copy, '--to', url, '--skip-missing']);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/^kv\s+1\s+0\s+MISMATCH$/m);
      expect(bad.stdout).toMatch(/not copied \(no PostgreSQL table\): site_extra \(1 rows\)/);
      expect(bad.stderr).toMatch(/MIGRATE_VERIFY_FAILED/);
      expect(await db.query('SELECT 1 FROM devices')).toEqual([]);
      await db.query('DROP RULE swallow ON kv');
      const ok = await runSwitchboard(['store', 'migrate', '--from', copy, '--to', url, '--skip-missing']);
      expect(ok.code).toBe(0);
      expect((await db.query<{ n: number }>('SELECT count(*) AS n FROM devices'))[0]?.n).toBe(3);
      await db.close();
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }, 240_000);
});
