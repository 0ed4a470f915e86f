import { CONFIG_TRIGGERS, updateEvent } from '../../config-triggers.js';
import type { Migration } from '../../migration.js';

/** NOTIFY channel of configuration changes; the payload is the area's name. */
export const CONFIG_CHANNEL = 'switchboard_config';

/**
 * Configuration versions (core/config-sync.ts): one row per area, bumped by a statement trigger in the
 * writing transaction, which also NOTIFYs the area at commit. Same table as SQLite's, so `store migrate`
 * copies it like any other.
 */
export const clusterConfigMigrations: Migration[] = [
  {
    version: 1,
    name: 'configuration versions',
    sql: `
      CREATE TABLE config_versions (
        area TEXT COLLATE "C" PRIMARY KEY,
        version BIGINT NOT NULL
      );
      CREATE FUNCTION config_versions_bump() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO config_versions (area, version) VALUES (TG_ARGV[0], 1)
          ON CONFLICT (area) DO UPDATE SET version = config_versions.version + 1;
        PERFORM pg_notify('${CONFIG_CHANNEL}', TG_ARGV[0]);
        RETURN NULL;
      END $$;
      ${CONFIG_TRIGGERS.map(
        (
          t,
        ) => `CREATE TRIGGER ${t.table}_config_version AFTER INSERT OR DELETE OR ${updateEvent(t)} ON ${t.table}
        FOR EACH STATEMENT EXECUTE FUNCTION config_versions_bump('${t.area}');`,
      ).join('\n      ')}
    `,
  },
];
