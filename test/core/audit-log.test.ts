import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AuditEntry, type AuditInput, AuditLog, type AuditStore } from '../../src/core/audit.js';
import { silentLogger } from '../../src/core/logger.js';
import { SqliteAuditStore } from '../../src/store/sqlite/audit.js';
import { type Db, openDatabase } from '../../src/store/sqlite/database.js';

/** The audit log's batches (store.writeBehindMs): many requests share one transaction, nothing is lost. */
describe('AuditLog batches', () => {
  const dirs: string[] = [];
  const dbs: Db[] = [];
  afterEach(() => {
    for (const d of dbs.splice(0)) d.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** The SQLite store, with its appendMany calls counted. */
  function store(): { store: AuditStore; batches: number[] } {
    const dir = mkdtempSync(join(tmpdir(), 'sb-audit-log-'));
    dirs.push(dir);
    const db = openDatabase({ dataDir: dir });
    dbs.push(db);
    const real = new SqliteAuditStore(db);
    const batches: number[] = [];
    return {
      batches,
      store: {
        append: (e) => real.append(e),
        appendMany: async (es) => {
          batches.push(es.length);
          await real.appendMany(es);
        },
        list: (q) => real.list(q),
        prune: (b) => real.prune(b),
      },
    };
  }
  const entry = (i: number): AuditInput => ({
    actorKind: 'apikey',
    actorId: 'k1',
    actorName: 'ops',
    address: '127.0.0.1',
    action: 'device.action',
    target: `id=p${i}`,
  });

  it('entries recorded together go in one transaction, in order; each promise settles once its entry is stored', async () => {
    const { store: s, batches } = store();
    const log = new AuditLog(s, () => Date.parse('2026-12-03T12:00:00Z'), undefined, 20);
    const done = Array.from({ length: 50 }, (_, i) => log.record(entry(i)));
    expect(batches).toEqual([]);
    await Promise.all(done);
    expect(batches).toEqual([50]);
    const { entries } = await log.page({ limit: 100 });
    expect(entries.map((e) => e.target)).toEqual(Array.from({ length: 50 }, (_, i) => `id=p${49 - i}`));
    // A later entry starts a new batch.
    await log.record(entry(50));
    expect(batches).toEqual([50, 1]);
  });

  it('a read (page) writes what is waiting first: it sees an entry recorded a moment before', async () => {
    const { store: s, batches } = store();
    const log = new AuditLog(s, Date.now, undefined, 1000);
    void log.record(entry(1));
    const { entries } = await log.page({ limit: 10 });
    expect(entries.map((e) => e.target)).toEqual(['id=p1']);
    expect(batches).toEqual([1]);
  });

  it('flush() (the hub shutting down) stores the waiting entries at once; the timer later writes nothing more', async () => {
    const { store: s, batches } = store();
    const log = new AuditLog(s, Date.now, undefined, 50);
    const p = log.record(entry(1));
    void log.record(entry(2));
    await log.flush();
    expect(batches).toEqual([2]);
    await p;
    await new Promise((r) => setTimeout(r, 80));
    expect(batches).toEqual([2]);
    expect((await s.list({ limit: 10 })).length).toBe(2);
  });

  it('a failed batch is logged with its actions and never rejects; the next batch is written', async () => {
    const { store: s } = store();
    let fail = true;
    const failing: AuditStore = {
      ...s,
      appendMany: async (es) => {
        if (fail) throw new Error('disk full');
        await s.appendMany(es);
      },
    };
    const error = vi.fn();
    const log = new AuditLog(failing, Date.now, { ...silentLogger, error }, 0);
    await expect(log.record(entry(1))).resolves.toBeUndefined();
    expect(error).toHaveBeenCalledTimes(1);
    expect(error.mock.calls[0]![0]).toMatchObject({ actions: '1 entries (device.action)' });
    expect(error.mock.calls[0]![1]).toBe('audit trail write failed');
    fail = false;
    await log.record(entry(2));
    const stored: AuditEntry[] = await s.list({ limit: 10 });
    expect(stored.map((e) => e.target)).toEqual(['id=p2']);
  });
});
