import type { ConfigArea, ConfigChanges } from '../../core/config-sync.js';
import { toVersions } from '../config-rows.js';
import type { Db } from './database.js';

/**
 * The configuration versions of a SQLite hub. One hub serves a data directory, so there is no other hub to
 * wake: `watch` hears only this store's own `bump`s. Writes by another process (the CLI) bump the versions
 * through the tables' triggers and are found by the hub's poll (`cluster.configPollMs`).
 */
export class SqliteConfigChanges implements ConfigChanges {
  private readonly watchers = new Set<(area: ConfigArea | undefined) => void>();

  constructor(private readonly db: Db) {}

  async bump(area: ConfigArea): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO config_versions (area, version) VALUES (?, 1) ON CONFLICT (area) DO UPDATE SET version = version + 1',
      )
      .run(area);
    for (const w of this.watchers) w(area);
  }

  async versions(): Promise<Partial<Record<ConfigArea, number>>> {
    return toVersions(
      this.db.prepare('SELECT area, version FROM config_versions').all() as Array<{
        area: string;
        version: number;
      }>,
    );
  }

  watch(cb: (area: ConfigArea | undefined) => void): () => void {
    this.watchers.add(cb);
    return () => {
      this.watchers.delete(cb);
    };
  }
}
