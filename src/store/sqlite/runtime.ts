/**
 * Which Node.js releases the embedded store can run on, and a self-check of its native SQLite binding
 * (better-sqlite3). Both answer with one line a person can act on instead of a native stack or an abort.
 *
 * Why a gate and not another driver: better-sqlite3 12 wraps its objects in `node::ObjectWrap`, whose
 * header-only code gained environment cleanup hooks in Node 24.19.0 (nodejs/node#63642) without the
 * runtime registry that makes them safe; a Statement finalised by the garbage collector then calls
 * `RemoveEnvironmentCleanupHook` with no environment and Node aborts (exit 134, nodejs/node#65446). Node
 * 24.22 carries the fix; 26.0–26.3.1 abort the same way with addons built against 26.4+ headers
 * (nodejs/node#65262). See docs/architecture.md ("Supported Node.js releases") for the choices made.
 */
import { SwitchboardError } from '../../core/errors.js';

/** The Node.js releases CI proves, as printed in the README and in refusals. */
export const TESTED_NODE = '20.19+, 22.12+ and 24.22+';

export type RuntimeVerdict =
  | { ok: true; tested: boolean; warning?: string }
  | { ok: false; reason: 'too-old' | 'objectwrap-abort' | 'no-require-esm'; message: string };

interface Version {
  major: number;
  minor: number;
  patch: number;
}

function parseVersion(v: string): Version | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

function below(v: Version, major: number, minor: number, patch = 0): boolean {
  if (v.major !== major) return v.major < major;
  if (v.minor !== minor) return v.minor < minor;
  return v.patch < patch;
}

/**
 * The verdict for a Node.js version string (`process.versions.node`). Pure: the tests pass versions in.
 *
 * - 20.19+ and 22.12+: `require()` of ES modules without a flag (cookie@2 and content-disposition@3, used by
 *   Fastify's inject and the API docs, are ES modules loaded with `require`).
 * - 24.19.0–24.21.x and 26.0.0–26.3.x: the ObjectWrap abort; refused with the release to upgrade to.
 * - 21.x: end-of-life and without unflagged `require(esm)`; refused.
 * - 23.x, 25.x, 26.4+ and later: allowed with a warning that CI does not test them.
 */
export function checkNodeRuntime(version: string): RuntimeVerdict {
  const v = parseVersion(version);
  const shown = `Node.js v${version.replace(/^v/, '')}`;
  if (!v) return { ok: true, tested: false, warning: `cannot read the Node.js version "${version}"` };
  if (v.major < 20 || (v.major === 20 && below(v, 20, 19))) {
    return {
      ok: false,
      reason: 'too-old',
      message: `${shown} is too old: Switchboard needs Node.js 20.19 or later (tested: ${TESTED_NODE})`,
    };
  }
  if (v.major === 21 || (v.major === 22 && below(v, 22, 12))) {
    return {
      ok: false,
      reason: 'no-require-esm',
      message: `${shown} cannot load the ES-module dependencies with require(): upgrade to Node.js 22.12 or later (tested: ${TESTED_NODE})`,
    };
  }
  if (v.major === 24 && !below(v, 24, 19) && below(v, 24, 22)) {
    return {
      ok: false,
      reason: 'objectwrap-abort',
      message: `${shown} aborts the SQLite binding (better-sqlite3, node::ObjectWrap change of 24.19-24.21, nodejs/node#65446): upgrade to Node.js 24.22 or later, or use Node.js 22 (tested: ${TESTED_NODE})`,
    };
  }
  if (v.major === 26 && below(v, 26, 4)) {
    return {
      ok: false,
      reason: 'objectwrap-abort',
      message: `${shown} aborts native bindings built against newer headers (node::ObjectWrap, nodejs/node#65262): upgrade to Node.js 26.4 or later, or use Node.js 24.22+ (tested: ${TESTED_NODE})`,
    };
  }
  if (v.major === 20 || v.major === 22 || v.major === 24) return { ok: true, tested: true };
  return {
    ok: true,
    tested: false,
    warning: `${shown} is not tested by Switchboard's CI (tested: ${TESTED_NODE})`,
  };
}

/** This Node.js release is known to crash or fail with Switchboard. */
export class NodeRuntimeError extends SwitchboardError {
  constructor(message: string, reason: string) {
    super('NODE_UNSUPPORTED', message, { status: 500, details: { reason } });
  }
}

/** The SQLite binding cannot be loaded by this Node.js (built for another ABI, missing, foreign platform). */
export class SqliteBindingError extends SwitchboardError {
  constructor(message: string, cause: unknown) {
    super('SQLITE_BINDING', message, { status: 500, cause });
  }
}

/** The command that rebuilds the binding for the Node.js that runs it. */
export const REBUILD_COMMAND = 'npm rebuild better-sqlite3';

/**
 * Turns the error better-sqlite3 throws when its native binding cannot be loaded into one line with the
 * command that fixes it; undefined when the error is not about the binding (a bad path, a locked file…).
 */
export function sqliteBindingProblem(
  e: unknown,
  runtime: { node: string; modules: string } = {
    node: process.versions.node,
    modules: process.versions.modules,
  },
): string | undefined {
  const err = e as { code?: unknown; message?: unknown } | null;
  const message = typeof err?.message === 'string' ? err.message : '';
  const fix = `run \`${REBUILD_COMMAND}\` with this Node.js (needs python3, make and a C++ compiler)`;
  const abi = /NODE_MODULE_VERSION (\d+)[\s\S]*?requires\s+NODE_MODULE_VERSION (\d+)/.exec(message);
  if (abi) {
    return `the SQLite binding was built for another Node.js (NODE_MODULE_VERSION ${abi[1]}; Node.js v${runtime.node} needs ${abi[2]}): ${fix}`;
  }
  if (/Could not locate the bindings file/.test(message)) {
    return `the SQLite binding is not built for Node.js v${runtime.node} (NODE_MODULE_VERSION ${runtime.modules}): ${fix}`;
  }
  if (err?.code === 'ERR_DLOPEN_FAILED') {
    const first = message
      .split('\n')[0]!
      .replace(/^.*?:\s*/, '')
      .trim();
    return `the SQLite binding cannot be loaded by Node.js v${runtime.node} (${first}): ${fix}`;
  }
  return undefined;
}

/** Throws NODE_UNSUPPORTED when `version` is a release known to abort or fail. */
export function assertSupportedRuntime(version: string = process.versions.node): RuntimeVerdict {
  const verdict = checkNodeRuntime(version);
  if (!verdict.ok) throw new NodeRuntimeError(verdict.message, verdict.reason);
  return verdict;
}
