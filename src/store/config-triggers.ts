import type { ConfigArea } from '../core/config-sync.js';

/**
 * Which writes bump which configuration area (core/config-sync.ts), shared by the SQLite and PostgreSQL
 * migrations of the `cluster_config` module so both backends count the same writes. Columns listed under
 * `updateOf` are the only updates that count: a key's last use or a session's sliding expiry, or a user's
 * last sign-in, must not make every hub reload.
 */
export interface ConfigTrigger {
  table: string;
  area: ConfigArea;
  updateOf?: readonly string[];
}

export const CONFIG_TRIGGERS: readonly ConfigTrigger[] = [
  { table: 'devices', area: 'devices' },
  { table: 'groups', area: 'devices' },
  { table: 'broadcast_templates', area: 'templates' },
  { table: 'rules', area: 'rules' },
  { table: 'locations', area: 'locations' },
  { table: 'broadcast_schedules', area: 'schedules' },
  { table: 'api_keys', area: 'keys', updateOf: ['revoked_at', 'revoked_reason'] },
  { table: 'users', area: 'users', updateOf: ['password_hash', 'disabled_at', 'role', 'source'] },
];

/** `UPDATE` or `UPDATE OF a, b` for a trigger's event list. */
export function updateEvent(t: ConfigTrigger): string {
  return t.updateOf ? `UPDATE OF ${t.updateOf.join(', ')}` : 'UPDATE';
}
