import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { ConfigArea } from '../../src/core/config-sync.js';
import { postgresBroadcastStores } from '../../src/store/postgres/broadcast.js';
import { PostgresConfigChanges } from '../../src/store/postgres/config-changes.js';
import { postgresCoreStores } from '../../src/store/postgres/core-stores.js';
import { PostgresDatabase } from '../../src/store/postgres/database.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations/index.js';
import { PostgresScheduleStore } from '../../src/store/postgres/schedules.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations/index.js';
import { describePostgres, freshPostgresDatabase, postgresStoreSets } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';
import { type ConfigStores, configChangesContract } from './config-changes-contract.js';

/**
 * The configuration versions contract against PostgreSQL (a fresh database per test; a "peer" is a second
 * pool, another hub), plus what only a shared server does: a write on one hub NOTIFYs the others, a LISTEN
 * connection killed by the server comes back and says so, and a stopped server fails fast.
 */
const storesOf = (db: PostgresDatabase): ConfigStores => {
  const core = postgresCoreStores(db);
  const b = postgresBroadcastStores(db);
  return {
    configChanges: new PostgresConfigChanges(db),
    devices: core.devices,
    groups: core.groups,
    apiKeys: core.apiKeys,
    users: core.users,
    templates: b.templates,
    rules: b.rules,
    locations: b.locations,
    schedules: new PostgresScheduleStore(db),
  };
};

describePostgres('PostgreSQL configuration versions', ({ cluster }) => {
  configChangesContract({
    name: 'PostgreSQL',
    create: () => postgresStoreSets(cluster(), storesOf),
  });

  it('a write on one hub wakes the watchers of another (after commit); a killed LISTEN connection comes back and says so', async () => {
    const url = await freshPostgresDatabase(cluster());
    const a = new PostgresDatabase({ url, poolSize: 2 });
    const b = new PostgresDatabase({ url, poolSize: 2, reconnectInitialMs: 20, reconnectMaxMs: 200 });
    try {
      const sa = storesOf(a);
      const sb = storesOf(b);
      await sa.configChanges.versions();
      const heard: Array<ConfigArea | undefined> = [];
      const off = sb.configChanges.watch((x) => heard.push(x));
      await waitFor(() => b.listening(), 10_000, 'LISTEN up');
      await sa.rules.upsert({
        id: 'r1',
        name: 'r1',
        enabled: true,
        event: 'x',
        where: {},
        actions: [],
        throttleSeconds: 0,
        origin: 'api',
        createdAt: 'now',
        updatedAt: 'now',
      });
      await waitFor(() => heard.includes('rules'), 10_000, 'the rules notification');
      // The change is readable when its notification arrives (NOTIFY is delivered at commit).
      expect((await sb.configChanges.versions()).rules).toBeGreaterThan(0);
      // The server drops B's LISTEN backend: B reconnects and tells its watcher to re-check everything.
      heard.length = 0;
      const [row] = await a.query<{ n: number }>(
        "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE query ILIKE 'LISTEN%' AND datname = current_database()",
      );
      expect(row?.n).toBeGreaterThan(0);
      await waitFor(() => heard.includes(undefined), 10_000, 'the re-check after the LISTEN reconnect');
      await sa.configChanges.bump('keys');
      await waitFor(() => heard.includes('keys'), 10_000, 'a notification after the reconnect');
      off();
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);

  it('config_versions has the SQLite module version and columns (store migrate copies it by name)', async () => {
    const db = new PostgresDatabase({ url: await freshPostgresDatabase(cluster()) });
    const dir = mkdtempSync(join(tmpdir(), 'sb-config-schema-'));
    const lite = openDatabase({ dataDir: dir });
    try {
      await db.open();
      const v = (list: Array<{ version: number }>) => list.map((x) => x.version);
      expect(v(POSTGRES_MIGRATIONS.cluster_config!)).toEqual(v(MIGRATIONS.cluster_config!));
      const pgCols = await db.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'config_versions' ORDER BY ordinal_position",
      );
      const liteCols = lite.prepare('PRAGMA table_info(config_versions)').all() as Array<{ name: string }>;
      expect(pgCols.map((c) => c.column_name)).toEqual(liteCols.map((c) => c.name));
    } finally {
      lite.close();
      rmSync(dir, { recursive: true, force: true });
      await db.close();
    }
  });

  it('server stopped: versions and bump fail fast with STORE_UNAVAILABLE; started again: they work', async () => {
    const db = new PostgresDatabase({ url: await freshPostgresDatabase(cluster()), connectTimeoutMs: 2000 });
    const s = storesOf(db);
    await s.configChanges.bump('devices');
    cluster().stopServer();
    try {
      await expect(s.configChanges.versions()).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
        status: 503,
      });
      await expect(s.configChanges.bump('devices')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    } finally {
      cluster().startServer();
    }
    expect(await s.configChanges.versions()).toEqual({ devices: 1 });
    await db.close();
  }, 120_000);
});
