import { type AcquireOptions, checkLeaseName, type Lease, type LeaseStore } from '../../core/cluster.js';
import type { PostgresDatabase } from './database.js';

type Row = { name: string; holder: string; token: number; expires_at: number };

/** The database's clock in epoch milliseconds (the column's unit, as on SQLite). */
const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/**
 * Leases on PostgreSQL (table leases, migrations/cluster.ts): acquire-or-renew is one statement on the
 * database's clock, so two hubs asking at once cannot both get it (the row lock of the upsert orders
 * them), and a change of holder always increases the token (fencing).
 */
export class PostgresLeaseStore implements LeaseStore {
  constructor(private readonly db: PostgresDatabase) {}
  async acquire(
    name: string,
    holder: string,
    ttlMs: number,
    o: AcquireOptions = {},
  ): Promise<number | undefined> {
    checkLeaseName(name);
    const rows = await this.db.query<{ token: number }>(
      `INSERT INTO leases AS l (name, holder, token, expires_at)
         VALUES ($1, $2, 1, ${NOW_MS} + $3::bigint)
       ON CONFLICT (name) DO UPDATE SET
         token = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at >= ${NOW_MS}
                      THEN l.token ELSE l.token + 1 END,
         holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE l.holder = EXCLUDED.holder
          OR l.expires_at < ${NOW_MS} - $4::bigint
       RETURNING token`,
      [name, holder, ttlMs, o.graceMs ?? 0],
    );
    return rows[0]?.token;
  }
  async release(name: string, holder: string): Promise<void> {
    await this.db.query(
      // Run out now (not at 0): a hub asking with a grace still leaves it to the standby first.
      `UPDATE leases SET expires_at = ${NOW_MS} - 1 WHERE name = $1 AND holder = $2`,
      [name, holder],
    );
  }
  async holds(name: string, holder: string, token: number): Promise<boolean> {
    const rows = await this.db.query(
      `SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at >= ${NOW_MS}`,
      [name, holder, token],
    );
    return rows.length === 1;
  }
  async list(prefix = ''): Promise<Lease[]> {
    const rows = await this.db.query<Row>(
      'SELECT name, holder, token, expires_at FROM leases WHERE starts_with(name, $1) ORDER BY name',
      [prefix],
    );
    return rows.map((r) => ({
      name: r.name,
      holder: r.holder,
      token: r.token,
      expiresAt: new Date(r.expires_at).toISOString(),
    }));
  }
}
