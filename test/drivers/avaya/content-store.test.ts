import { describe, expect, it } from 'vitest';
import { SqliteContentStore } from '../../../src/store/sqlite/avaya-content.js';
import { openDatabase } from '../../../src/store/sqlite/database.js';

const rows = (db: ReturnType<typeof openDatabase>) =>
  db.prepare('SELECT id, fetches, last_fetch_at FROM avaya_content ORDER BY created_at').all() as Array<{
    id: string;
    fetches: number;
    last_fetch_at: number | null;
  }>;
const nextTurn = () => new Promise((r) => setImmediate(r));

describe('SqliteContentStore (write-behind)', async () => {
  const item = (n: number) => ({
    kind: 'display' as const,
    contentType: 'text/x-wml',
    body: `<wml>${n}</wml>`,
    deviceId: `p${n}`,
    createdAt: 1000 + n,
    expiresAt: 60_000,
  });

  it('serves content at once and writes a turn’s content in one batch', async () => {
    const db = openDatabase({ dataDir: ':memory:' });
    const store = new SqliteContentStore(db);
    const put = await Promise.all(Array.from({ length: 50 }, (_, i) => store.put(item(i))));
    // Not yet in the table, but served.
    expect(rows(db)).toHaveLength(0);
    expect(await store.get(put[7]!.id)).toMatchObject({ body: '<wml>7</wml>', deviceId: 'p7', fetches: 0 });
    expect(await store.fetch(put[7]!.id, 2000)).toMatchObject({ fetches: 1 });
    await nextTurn();
    const written = rows(db);
    expect(written.map((r) => r.id)).toEqual(put.map((p) => p.id));
    expect(written[7]!.fetches).toBe(1);
    // A second store on the same database (a restart) sees the content.
    expect(await new SqliteContentStore(db).get(put[3]!.id)).toMatchObject({
      body: '<wml>3</wml>',
      expiresAt: 60_000,
    });
    db.close();
  });

  it('counts fetches of written content in memory, then in the table; expired content is not served', async () => {
    const db = openDatabase({ dataDir: ':memory:' });
    const store = new SqliteContentStore(db);
    const a = await store.put(item(1));
    await store.flush();
    expect((await store.fetch(a.id, 2000))?.fetches).toBe(1);
    expect((await store.fetch(a.id, 2500))?.fetches).toBe(2);
    expect((await store.get(a.id))?.fetches).toBe(2);
    expect(rows(db)[0]!.fetches).toBe(0);
    await nextTurn();
    expect(rows(db)[0]).toMatchObject({ fetches: 2, last_fetch_at: 2500 });
    expect(await store.fetch(a.id, 60_000)).toBeUndefined();
    expect(await store.get('not-an-id')).toBeUndefined();
    db.close();
  });

  it('sweep and count write pending content first; flush on close leaves nothing behind', async () => {
    const db = openDatabase({ dataDir: ':memory:' });
    const store = new SqliteContentStore(db);
    await store.put({ ...item(1), expiresAt: 1500 });
    await store.put(item(2));
    expect(await store.count()).toBe(2);
    expect(await store.sweep(2000)).toBe(1);
    expect(await store.count()).toBe(1);
    await store.put(item(3));
    await store.flush();
    expect(rows(db)).toHaveLength(2);
    db.close();
  });

  it('keeps content in memory when a write fails and writes it with the next batch', async () => {
    const db = openDatabase({ dataDir: ':memory:' });
    const store = new SqliteContentStore(db);
    db.exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON avaya_content BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    const a = await store.put(item(1));
    await nextTurn();
    expect(rows(db)).toHaveLength(0);
    expect((await store.get(a.id))?.body).toBe('<wml>1</wml>');
    db.exec('DROP TRIGGER refuse');
    const b = await store.put(item(2));
    await nextTurn();
    expect(rows(db).map((r) => r.id)).toEqual([a.id, b.id]);
    db.close();
  });
});
