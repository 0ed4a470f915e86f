import { ROOT, type SpawnedHub, spawnSwitchboard } from './process.js';

export { ROOT };

/** `switchboard demo` as a process, for the console's browser tests: its URL, API key, admin user and API. */
export interface ConsoleDemo {
  hub: SpawnedHub;
  base: string;
  key: string;
  admin: [string, string];
  api<T>(path: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; body: T }>;
  /** Stops the hub (SIGTERM, then waits up to 10 s). */
  stop(): Promise<void>;
}

export async function startConsoleDemo(): Promise<ConsoleDemo> {
  const hub = spawnSwitchboard(['demo', '--port', '0', '--host', '127.0.0.1'], {
    SWITCHBOARD_LOG_LEVEL: 'warn',
  });
  process.once('exit', () => hub.proc.kill('SIGKILL'));
  const base = (await hub.waitFor(/running at (http:\/\/127\.0\.0\.1:\d+)\//, 60_000))[1]!;
  const key = (await hub.waitFor(/API key:\s+(\S+)/))[1]!;
  const admin = (await hub.waitFor(/Admin user: (\S+)\s+password: (\S+)/)).slice(1, 3) as [string, string];
  async function api<T>(
    path: string,
    init: { method?: string; body?: unknown } = {},
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${key}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: body as T };
  }
  return {
    hub,
    base,
    key,
    admin,
    api,
    async stop() {
      hub.proc.kill('SIGTERM');
      await Promise.race([hub.exited, new Promise((r) => setTimeout(r, 10_000))]);
    },
  };
}
