import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningHub, type StartOptions, startHub } from '../../src/cli/serve.js';
import { defaultConfig } from '../../src/config/load.js';
import type { Clock } from '../../src/core/clock.js';
import type { AnyDriver } from '../../src/core/driver.js';
import { silentLogger } from '../../src/core/logger.js';
import type { HubModule } from '../../src/core/module.js';
import { type Db, openDatabase } from '../../src/store/sqlite/database.js';

export interface TestHub extends RunningHub {
  /** A valid API key. */
  key: string;
  dataDir: string;
  /** A second connection to the hub's SQLite file, for tests that look at stored rows (opened on first use). */
  readonly db: Db;
  /** Calls the API with the key; returns status and parsed JSON (or text). */
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: T; headers: Headers }>;
  close(): Promise<void>;
}

export interface TestHubOptions {
  /** Dotted config overrides (`{ 'shutdown.graceMs': 100 }`). */
  config?: Record<string, unknown>;
  modules?: HubModule[];
  /** Only these modules (default: the built-in ones plus `modules`). */
  replaceModules?: boolean;
  drivers?: AnyDriver[];
  clock?: Clock;
  dataDir?: string;
  /** Hooks on the app before it listens (see StartOptions.prepareApp). */
  prepareApp?: StartOptions['prepareApp'];
}

/** Calls the API with a bearer token; returns status, parsed JSON (or the text) and headers. */
export async function apiCall<T = unknown>(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** Starts a real hub on 127.0.0.1 with an ephemeral port and a throw-away data directory. */
export async function startTestHub(o: TestHubOptions = {}): Promise<TestHub> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'sb-test-'));
  const config = defaultConfig({
    dataDir,
    'http.host': '127.0.0.1',
    'http.port': 0,
    'log.level': 'silent',
    // Simulated phones subscribe from 127.0.0.1 (refused by default).
    'avaya.subscription.allowLoopback': true,
    ...(o.config ?? {}),
  });
  const running = await startHub(config, {
    logger: silentLogger,
    ...(o.modules ? { modules: o.modules } : {}),
    ...(o.replaceModules ? { replaceModules: true } : {}),
    ...(o.drivers ? { drivers: o.drivers } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.prepareApp ? { prepareApp: o.prepareApp } : {}),
  });
  const key = (await running.hub.apiKeys.create('test')).key;
  let db: Db | undefined;
  return {
    ...running,
    key,
    dataDir,
    get db(): Db {
      // A second connection to the hub's SQLite file (WAL): for tests that look at the stored rows.
      db ??= openDatabase({ dataDir });
      return db;
    },
    api: (method, path, body, headers) => apiCall(running.url, key, method, path, body, headers),
    async close() {
      db?.close();
      await running.stop();
      if (!o.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
