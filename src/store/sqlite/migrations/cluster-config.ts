import { CONFIG_TRIGGERS, updateEvent } from '../../config-triggers.js';
import type { Migration } from './types.js';

/**
 * Configuration versions (core/config-sync.ts): one row per area, bumped by row triggers in the writing
 * transaction. One hub serves a SQLite file, but the CLI writes to it too (`switchboard keys revoke`): the
 * hub's poll of these versions makes such a change apply within `cluster.configPollMs`.
 */
export const clusterConfigMigrations: Migration[] = [
  {
    version: 1,
    name: 'configuration versions',
    sql: `
      CREATE TABLE config_versions (
        area TEXT PRIMARY KEY,
        version INTEGER NOT NULL
      );
      ${CONFIG_TRIGGERS.flatMap((t) =>
        ['INSERT', 'DELETE', updateEvent(t)].map(
          (
            ev,
          ) => `CREATE TRIGGER ${t.table}_config_version_${ev.split(' ')[0]!.toLowerCase()} AFTER ${ev} ON ${t.table}
        BEGIN
          INSERT INTO config_versions (area, version) VALUES ('${t.area}', 1)
            ON CONFLICT (area) DO UPDATE SET version = version + 1;
        END;`,
        ),
      ).join('\n      ')}
    `,
  },
];
