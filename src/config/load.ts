import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { parse as parseYaml } from 'yaml';
import { emailConfigProblems } from '../alerting/broadcast-config.js';
import { ValidationError } from '../core/errors.js';
import { formatProblems, schemaProblems } from '../core/schema-errors.js';
import { type Config, ConfigSchema } from './schema.js';

/** A config that failed validation: `problems` holds one line per problem. */
export class ConfigError extends ValidationError {
  readonly problems: string[];
  constructor(problems: string[], source: string) {
    super(
      'CONFIG_INVALID',
      `invalid configuration (${source}):\n${problems.map((p) => `  ${p}`).join('\n')}`,
      {
        details: { problems },
      },
    );
    this.problems = problems;
  }
}

export interface LoadOptions {
  /** Path from --config; else SWITCHBOARD_CONFIG; else ./switchboard.yaml if it exists. */
  path?: string;
  env?: NodeJS.ProcessEnv;
  /** Overrides applied last (CLI flags such as --data-dir, --port). */
  overrides?: Record<string, unknown>;
  /** false: do not look for ./switchboard.yaml when no path is given. */
  searchDefaultFile?: boolean;
}

type Json = Record<string, unknown>;

function toEnvName(path: string[]): string {
  return `SWITCHBOARD_${path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}

/** Lists every leaf key of the schema with its env var name (for docs and `--help`). */
export function configKeys(
  schema: TSchema = ConfigSchema,
  prefix: string[] = [],
): Array<{ path: string; env: string; schema: Json }> {
  const out: Array<{ path: string; env: string; schema: Json }> = [];
  const props = (schema as Json).properties as Record<string, Json> | undefined;
  for (const [k, s] of Object.entries(props ?? {})) {
    const p = [...prefix, k];
    if (s.type === 'object' && s.properties) out.push(...configKeys(s as TSchema, p));
    else out.push({ path: p.join('.'), env: toEnvName(p), schema: s });
  }
  return out;
}

function coerceEnv(value: string, s: Json): unknown {
  const t = s.type ?? (Array.isArray(s.anyOf) ? 'union' : undefined);
  if (t === 'integer' || t === 'number')
    return value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  if (t === 'boolean')
    return value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value;
  if (t === 'array') {
    const trimmed = value.trim();
    if (trimmed.startsWith('[')) {
      try {
        return JSON.parse(trimmed);
      } catch {
        return value;
      }
    }
    return trimmed === '' ? [] : trimmed.split(',').map((x) => x.trim());
  }
  if (t === 'object') {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

function setPath(obj: Json, path: string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    if (cur[k] === null || typeof cur[k] !== 'object' || Array.isArray(cur[k])) cur[k] = {};
    cur = cur[k] as Json;
  }
  cur[path[path.length - 1]!] = value;
}

/** Reads `…File` keys: `passwordFile: /run/secrets/pbx` sets `password` from the file (trimmed). */
function resolveSecretFiles(obj: unknown, baseDir: string, path: string[], problems: string[]): void {
  if (obj === null || typeof obj !== 'object') return;
  if (Array.isArray(obj)) {
    for (const [i, v] of obj.entries()) resolveSecretFiles(v, baseDir, [...path, String(i)], problems);
    return;
  }
  const o = obj as Json;
  for (const [k, v] of Object.entries(o)) {
    // secrets.keyFile names the key file itself (read by the store layer, never inlined into the config).
    const isPathKey = k === 'apiKeysFile' || (k === 'keyFile' && path.length === 1 && path[0] === 'secrets');
    if (k.endsWith('File') && k.length > 4 && typeof v === 'string' && !isPathKey) {
      const target = k.slice(0, -4);
      try {
        o[target] = readFileSync(resolve(baseDir, v), 'utf8').trim();
      } catch (e) {
        problems.push(
          `${[...path, k].join('.')}: cannot read ${JSON.stringify(v)} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
      delete o[k];
    } else resolveSecretFiles(v, baseDir, [...path, k], problems);
  }
}

export function loadConfig(opts: LoadOptions = {}): { config: Config; path: string | undefined } {
  const env = opts.env ?? process.env;
  const explicit = opts.path ?? env.SWITCHBOARD_CONFIG;
  let path: string | undefined = explicit;
  let raw: unknown = {};
  let text: string | undefined;
  if (explicit) {
    try {
      text = readFileSync(explicit, 'utf8');
    } catch (e) {
      throw new ConfigError(
        [`config file ${explicit}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`],
        explicit,
      );
    }
  } else if (opts.searchDefaultFile !== false) {
    try {
      text = readFileSync('switchboard.yaml', 'utf8');
      path = 'switchboard.yaml';
    } catch {
      text = undefined;
    }
  }
  if (text !== undefined) {
    try {
      raw = parseYaml(text, { maxAliasCount: 100 }) ?? {};
    } catch (e) {
      throw new ConfigError(
        [`${path}: not valid YAML: ${(e as Error).message.split('\n')[0]}`],
        path ?? 'config',
      );
    }
    if (typeof raw !== 'object' || Array.isArray(raw))
      throw new ConfigError(['(root): must be a mapping of keys'], path ?? 'config');
  }
  const doc = structuredClone(raw) as Json;
  const problems: string[] = [];
  resolveSecretFiles(doc, path ? dirname(resolve(path)) : process.cwd(), [], problems);
  for (const k of configKeys()) {
    const v = env[k.env];
    if (v !== undefined) setPath(doc, k.path.split('.'), coerceEnv(v, k.schema));
  }
  for (const [k, v] of Object.entries(opts.overrides ?? {}))
    if (v !== undefined) setPath(doc, k.split('.'), v);
  const withDefaults = Value.Default(ConfigSchema, doc) as Json;
  problems.push(...formatProblems(schemaProblems(ConfigSchema, withDefaults)));
  if (problems.length > 0) throw new ConfigError(problems, path ?? 'environment');
  const config = withDefaults as Config;
  // Checks across keys, before anything opens the data directory (an invalid config creates nothing).
  const semantic = emailConfigProblems(config.emergency.email);
  if (config.cluster.leaseRenewMs * 2 >= config.cluster.leaseTtlMs)
    semantic.push(
      `cluster.leaseRenewMs (${config.cluster.leaseRenewMs}) must be less than half of cluster.leaseTtlMs (${config.cluster.leaseTtlMs}): a lease must survive one late renewal`,
    );
  if (semantic.length > 0) throw new ConfigError(semantic, path ?? 'environment');
  if (config.auth.apiKeysFile) {
    try {
      const keys = readFileSync(resolve(path ? dirname(resolve(path)) : '.', config.auth.apiKeysFile), 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'));
      config.auth.apiKeys = [...config.auth.apiKeys, ...keys];
    } catch (e) {
      throw new ConfigError(
        [
          `auth.apiKeysFile: cannot read ${JSON.stringify(config.auth.apiKeysFile)} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
        ],
        path ?? 'config',
      );
    }
  }
  return { config, path };
}

/** Defaults only (tests and `switchboard demo` start from this). */
export function defaultConfig(overrides: Record<string, unknown> = {}): Config {
  return loadConfig({ env: {}, overrides, searchDefaultFile: false }).config;
}
