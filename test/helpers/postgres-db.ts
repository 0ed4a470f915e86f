import pg from 'pg';
import type { PostgresCluster } from './postgres.js';

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
