import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { PostgresDatabase } from '../../src/store/postgres/database.js';
import { type PostgresCluster, postgresAvailability, startPostgres } from './postgres.js';

let dbN = 0;

/** A new empty database in `cluster` (a short-lived admin connection), answered as its URL. */
export async function freshPostgresDatabase(cluster: PostgresCluster, prefix = 't'): Promise<string> {
  const name = `${prefix}${process.pid}_${++dbN}`;
  const admin = new pg.Client({ connectionString: cluster.url });
  admin.on('error', () => {});
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end().catch(() => {});
  }
  return cluster.url.replace(/\/postgres$/, `/${name}`);
}

/**
 * A describe block with one throw-away PostgreSQL cluster for its tests (`cluster()`), skipped with the
 * reason when PostgreSQL is not installed (outside CI only: see postgresAvailability).
 */
export function describePostgres(title: string, body: (cluster: () => PostgresCluster) => void): void {
  const avail = postgresAvailability();
  let cluster: PostgresCluster | undefined;
  describe.skipIf(!avail.bin)(`${title}${avail.skip ? ` (skipped: ${avail.skip})` : ''}`, () => {
    beforeAll(async () => {
      cluster = await startPostgres();
    }, 180_000);
    afterAll(async () => {
      await cluster?.stop();
    });
    body(() => {
      if (!cluster) throw new Error('the PostgreSQL cluster is not started');
      return cluster;
    });
  });
}

/**
 * Stores over a fresh, migrated database, for a contract suite: `peer()` opens another pool on the same
 * database (a second hub), `close()` closes every pool.
 */
export async function postgresStoreSets<S>(
  cluster: PostgresCluster,
  storesOf: (db: PostgresDatabase) => S,
): Promise<S & { peer(): Promise<S>; close(): Promise<void> }> {
  const url = await freshPostgresDatabase(cluster);
  const dbs: PostgresDatabase[] = [];
  const open = async () => {
    const db = new PostgresDatabase({ url, poolSize: 4 });
    dbs.push(db);
    await db.open();
    return storesOf(db);
  };
  return {
    ...(await open()),
    peer: open,
    async close() {
      for (const d of dbs) await d.close();
    },
  };
}
