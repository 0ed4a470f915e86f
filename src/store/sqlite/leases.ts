import { type AcquireOptions, checkLeaseName, type Lease, type LeaseStore } from '../../core/cluster.js';
import type { Db } from './database.js';

type Row = { name: string; holder: string; token: number; expires_at: number };

/**
 * Leases on SQLite (table leases, migrations/cluster.ts). One hub owns a data directory, so it gets every
 * lease it asks for; the semantics (token +1 at a change of holder, expiry, grace, release) are the
 * PostgreSQL store's, on this process's clock.
 */
export class SqliteLeaseStore implements LeaseStore {
  private readonly up;
  private readonly rel;
  private readonly one;
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.up = db.prepare(
      `INSERT INTO leases AS l (name, holder, token, expires_at) VALUES (?, ?, 1, ?)
       ON CONFLICT (name) DO UPDATE SET
         token = CASE WHEN l.holder = excluded.holder AND l.expires_at >= ? THEN l.token ELSE l.token + 1 END,
         holder = excluded.holder, expires_at = excluded.expires_at
       WHERE l.holder = excluded.holder OR l.expires_at < ?
       RETURNING token`,
    );
    this.rel = db.prepare('UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ?');
    this.one = db.prepare('SELECT token, expires_at FROM leases WHERE name = ? AND holder = ?');
  }
  async acquire(
    name: string,
    holder: string,
    ttlMs: number,
    o: AcquireOptions = {},
  ): Promise<number | undefined> {
    checkLeaseName(name);
    const now = this.now();
    const r = this.up.get(name, holder, now + ttlMs, now, now - (o.graceMs ?? 0)) as
      | { token: number }
      | undefined;
    return r?.token;
  }
  async release(name: string, holder: string): Promise<void> {
    // Run out now (not at 0): a hub asking with a grace still leaves it to the standby first.
    this.rel.run(this.now() - 1, name, holder);
  }
  async holds(name: string, holder: string, token: number): Promise<boolean> {
    const r = this.one.get(name, holder) as { token: number; expires_at: number } | undefined;
    return r !== undefined && r.token === token && r.expires_at >= this.now();
  }
  async list(prefix = ''): Promise<Lease[]> {
    const rows = this.db
      .prepare(
        'SELECT name, holder, token, expires_at FROM leases WHERE substr(name, 1, length(?)) = ? ORDER BY name',
      )
      .all(prefix, prefix) as Row[];
    return rows.map((r) => ({
      name: r.name,
      holder: r.holder,
      token: r.token,
      expiresAt: new Date(r.expires_at).toISOString(),
    }));
  }
}
