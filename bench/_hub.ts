import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningHub, startHub } from '../src/cli/serve.js';
import { defaultConfig } from '../src/config/load.js';
import { silentLogger } from '../src/core/logger.js';

/**
 * A real hub for a benchmark: throw-away data directory, 127.0.0.1 on an ephemeral port, silent logs.
 * `stop()` stops the hub and removes the data directory.
 */
export async function startBenchHub(
  name: string,
  overrides: Record<string, unknown> = {},
): Promise<RunningHub & { dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), `sb-bench-${name}-`));
  const config = defaultConfig({
    dataDir,
    'http.host': '127.0.0.1',
    'http.port': 0,
    'log.level': 'silent',
    ...overrides,
  });
  let running: RunningHub;
  try {
    running = await startHub(config, { logger: silentLogger });
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  return {
    ...running,
    dataDir,
    async stop() {
      try {
        await running.stop();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
