import { type ConfigArea, type ConfigChanges, isConfigArea } from '../../core/config-sync.js';
import { BUMP_SQL, toVersions } from '../config-rows.js';
import type { PostgresDatabase } from './database.js';
import { CONFIG_CHANNEL } from './migrations/cluster-config.js';

/**
 * The configuration versions shared by the hubs of a site. The tables' triggers bump an area and NOTIFY it
 * in the writing transaction (migrations/cluster-config.ts), so a notification arrives only after the
 * change is committed and readable. A notification is a wake-up: the hub compares the versions. The writing
 * hub hears its own notifications too; its reload then finds nothing new.
 */
export class PostgresConfigChanges implements ConfigChanges {
  constructor(private readonly db: PostgresDatabase) {}

  async bump(area: ConfigArea): Promise<void> {
    await this.db.tx(async (q) => {
      await q(BUMP_SQL, [area]);
      await q('SELECT pg_notify($1, $2)', [CONFIG_CHANNEL, area]);
    });
  }

  async versions(): Promise<Partial<Record<ConfigArea, number>>> {
    return toVersions(
      await this.db.query<{ area: string; version: number }>('SELECT area, version FROM config_versions'),
    );
  }

  watch(cb: (area: ConfigArea | undefined) => void): () => void {
    return this.db.listen(CONFIG_CHANNEL, {
      notify: (payload) => cb(isConfigArea(payload) ? payload : undefined),
      reconnected: () => cb(undefined),
    });
  }
}
