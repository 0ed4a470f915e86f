import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { isSwitchboardError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import type { StorePorts } from '../core/module.js';
import { type HttpRequest, type HttpResponse, httpRequest } from '../net/http-client.js';
import { openStores } from '../store/index.js';
import type { ConfigFlags } from './run.js';

export { action, type ConfigFlags, fail, withConfigOptions } from './run.js';

export function configFromFlags(flags: ConfigFlags, extra: Record<string, unknown> = {}): Config {
  const overrides: Record<string, unknown> = { ...extra };
  if (flags.dataDir) overrides.dataDir = flags.dataDir;
  if (flags.port !== undefined) {
    // Number('abc') is NaN, which the schema reported as "http.port: null is not an integer".
    if (!/^\s*\d+\s*$/.test(flags.port))
      throw new Error(`--port: ${JSON.stringify(flags.port)} is not a number`);
    overrides['http.port'] = Number(flags.port);
  }
  if (flags.host) overrides['http.host'] = flags.host;
  if (flags.logLevel) overrides['log.level'] = flags.logLevel;
  if (flags.logPretty) overrides['log.pretty'] = true;
  return loadConfig({ ...(flags.config ? { path: flags.config } : {}), overrides }).config;
}

/** The sub-command `name` of `program`, created with `description` by the first module that asks for it. */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

/** `switchboard sim`: the one command every simulator adds itself to. */
export function simCommand(program: Command): Command {
  return commandGroup(program, 'sim', 'Run protocol simulators (real servers on 127.0.0.1)');
}

/** Client settings for commands that talk to a running hub's API. */
export function apiClientOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'hub URL (default: $SWITCHBOARD_URL or http://127.0.0.1:8080)')
    .option('--key <key>', 'API key (default: $SWITCHBOARD_API_KEY)');
}

export interface ApiFlags {
  url?: string;
  key?: string;
}

const API_TIMEOUT_MS = 300_000;
const API_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** Calls the hub's API (through the one HTTP client); throws with the API's own error message. */
export async function callApi<T>(
  flags: ApiFlags,
  method: NonNullable<HttpRequest['method']>,
  path: string,
  body?: unknown,
): Promise<T> {
  const base = (flags.url ?? process.env.SWITCHBOARD_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const key = flags.key ?? process.env.SWITCHBOARD_API_KEY;
  if (!key)
    throw new Error(
      'no API key: pass --key or set SWITCHBOARD_API_KEY (create one with `switchboard keys create --name cli`)',
    );
  let res: HttpResponse;
  try {
    res = await httpRequest({
      url: `${base}${path}`,
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      // A broadcast to many phones may take minutes; a hub that never answers must not hang the shell.
      timeoutMs: API_TIMEOUT_MS,
      maxResponseBytes: API_MAX_RESPONSE_BYTES,
    });
  } catch (e) {
    if (isSwitchboardError(e) && e.code === 'HTTP_NETWORK_ERROR')
      throw new Error(
        `cannot reach the hub at ${base} (${String(e.details?.errno ?? e.message)}); is it running? Use --url`,
      );
    throw e;
  }
  type WithError = T & { error?: { code: string; message: string } };
  const text = res.text();
  let json: WithError;
  try {
    json = (text ? JSON.parse(text) : {}) as WithError;
  } catch {
    throw new Error(`the hub at ${base} answered HTTP ${res.status} with something that is not JSON`);
  }
  const ok = res.status >= 200 && res.status < 300;
  if (!ok) throw new Error(json.error ? `${json.error.message} [${json.error.code}]` : `HTTP ${res.status}`);
  return json;
}

/** Who the audit trail names for a command run on the hub's machine: `cli` and the OS user. */
export function cliActor(): { actorKind: 'cli'; actorId: null; actorName: string; address: null } {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry (containers): leave it unknown
  }
  return { actorKind: 'cli', actorId: null, actorName: name, address: null };
}

/**
 * Opens the configured store (SQLite in the data directory, or PostgreSQL: `store.url`) for one CLI
 * command, and closes it afterwards. Works while the hub runs (SQLite's WAL and busy timeout, or
 * PostgreSQL's transactions, serialise the writes); changes made here reach a running hub's caches when it
 * next reloads them.
 */
export async function withStores<T>(flags: ConfigFlags, fn: (stores: StorePorts) => Promise<T>): Promise<T> {
  const config = configFromFlags(flags);
  const opened = await openStores(config, { logger: silentLogger, lock: false });
  try {
    return await fn(opened.stores);
  } finally {
    await opened.close();
  }
}
