import { type ConfigArea, isConfigArea } from '../core/config-sync.js';

/** `config_versions` rows as the port answers them (an unknown area, written by a newer hub, is left out). */
export function toVersions(
  rows: Array<{ area: string; version: number }>,
): Partial<Record<ConfigArea, number>> {
  const out: Partial<Record<ConfigArea, number>> = {};
  for (const r of rows) if (isConfigArea(r.area)) out[r.area] = Number(r.version);
  return out;
}

export const BUMP_SQL =
  'INSERT INTO config_versions (area, version) VALUES ($1, 1) ON CONFLICT (area) DO UPDATE SET version = config_versions.version + 1';
