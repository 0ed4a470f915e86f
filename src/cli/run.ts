import type { Command } from 'commander';
import { isSwitchboardError } from '../core/errors.js';

/**
 * What every command needs and nothing more: options for the config file and a clean failure. Kept
 * free of the configuration loader (typebox, yaml) so that commands that do not read the hub's
 * configuration (`settings lint/eval`) start fast; `common.ts` re-exports these.
 */

export interface ConfigFlags {
  config?: string;
  dataDir?: string;
  port?: string;
  host?: string;
  logLevel?: string;
  logPretty?: boolean;
}

/** Adds --config and --data-dir to a command that reads the hub's configuration. */
export function withConfigOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'config file (default: $SWITCHBOARD_CONFIG or ./switchboard.yaml)')
    .option('-d, --data-dir <dir>', 'data directory (overrides dataDir)');
}

/** A configuration error (`ConfigError` of config/load), recognised without loading the loader. */
function configProblems(e: unknown): string[] | undefined {
  if (!isSwitchboardError(e) || e.code !== 'CONFIG_INVALID') return undefined;
  const problems = (e as { problems?: unknown }).problems;
  return Array.isArray(problems) ? problems.map(String) : undefined;
}

/** Prints a clean one-line-per-problem error and exits non-zero, for any failure of a CLI command. */
export function fail(e: unknown): never {
  const problems = configProblems(e);
  if (problems) {
    process.stderr.write(`switchboard: invalid configuration\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exit(2);
  }
  if (isSwitchboardError(e)) {
    process.stderr.write(`switchboard: ${e.message} [${e.code}]\n`);
    process.exit(1);
  }
  process.stderr.write(`switchboard: ${(e as Error)?.message ?? String(e)}\n`);
  process.exit(1);
}

/** Wraps a command action so that errors print cleanly. */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<void> | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      fail(e);
    }
  };
}
