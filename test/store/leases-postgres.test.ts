import { expect, it } from 'vitest';
import { PostgresDatabase } from '../../src/store/postgres/database.js';
import { PostgresLeaseStore } from '../../src/store/postgres/leases.js';
import { describePostgres, freshPostgresDatabase, postgresStoreSets } from '../helpers/postgres.js';
import { leaseContract } from './leases-contract.js';

/** The lease contract against PostgreSQL (a fresh database per test; a "peer" is a second pool). */
describePostgres('PostgreSQL leases', ({ cluster }) => {
  leaseContract({
    name: 'PostgreSQL',
    create: () => postgresStoreSets(cluster(), (db) => ({ leases: new PostgresLeaseStore(db) })),
  });

  it('server stopped: acquire fails with STORE_UNAVAILABLE (the holder fences itself); started: the same holder renews', async () => {
    const db = new PostgresDatabase({ url: await freshPostgresDatabase(cluster()), connectTimeoutMs: 2000 });
    const leases = new PostgresLeaseStore(db);
    expect(await leases.acquire('ipoffice:ipo-1', 'hub-a', 60_000)).toBe(1);
    cluster().stopServer();
    try {
      await expect(leases.acquire('ipoffice:ipo-1', 'hub-a', 60_000)).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
      });
    } finally {
      cluster().startServer();
    }
    expect(await leases.acquire('ipoffice:ipo-1', 'hub-a', 60_000)).toBe(1);
    await db.close();
  }, 120_000);
});
