import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface SpawnedHub {
  proc: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  /** Waits until a stdout/stderr line matches. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

/**
 * Runs the real `switchboard` command as a child process, from the TypeScript sources through tsx (so the
 * tests do not depend on a prior build). `SWITCHBOARD_BIN=dist` runs the built bundle dist/switchboard.mjs instead.
 */
export function spawnSwitchboard(
  args: string[],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
  /** An installed `switchboard` executable to run instead, and the directory to run it in. */
  where: { bin?: string; cwd?: string } = {},
): SpawnedHub {
  const useDist = process.env.SWITCHBOARD_BIN === 'dist';
  const cmd = useDist
    ? [fileURLToPath(new URL('dist/switchboard.mjs', `file://${ROOT}`))]
    : ['--import', 'tsx', fileURLToPath(new URL('src/cli/main.ts', `file://${ROOT}`))];
  const [file, argv] = where.bin ? [where.bin, args] : [process.execPath, [...nodeArgs, ...cmd, ...args]];
  const proc = spawn(file, argv, {
    cwd: where.cwd ?? ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }>();
  const feed = (into: string[]) => {
    let buf = '';
    return (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        into.push(l);
        for (const w of waiters) {
          const m = l.match(w.re);
          if (m) {
            waiters.delete(w);
            w.resolve(m);
          }
        }
      }
    };
  };
  proc.stdout!.on('data', feed(stdout));
  proc.stderr!.on('data', feed(stderr));
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, sig) => resolve(code ?? sig ?? -1)),
  );
  return {
    proc,
    stdout,
    stderr,
    exited,
    waitFor(re, timeoutMs = 60_000) {
      for (const l of [...stdout, ...stderr]) {
        const m = l.match(re);
        if (m) return Promise.resolve(m);
      }
      return new Promise((resolve, reject) => {
        const w = { re, resolve };
        waiters.add(w);
        const t = setTimeout(() => {
          waiters.delete(w);
          reject(
            new Error(
              `timed out waiting for ${re}; stdout: ${stdout.slice(-5).join(' | ')}; stderr: ${stderr.slice(-5).join(' | ')}`,
            ),
          );
        }, timeoutMs);
        void exited.then(() => {
          if (waiters.has(w)) {
            clearTimeout(t);
            waiters.delete(w);
            reject(new Error(`process exited before ${re}; stderr: ${stderr.slice(-5).join(' | ')}`));
          }
        });
      });
    },
  };
}

/** Creates an API key with `switchboard keys create` in a data directory; returns the key. */
export async function createKeyWithCli(dataDir: string, name: string): Promise<string> {
  const p = spawnSwitchboard(['keys', 'create', '--name', name, '--json', '--data-dir', dataDir]);
  const line = await p.waitFor(/^\{.*"key".*\}$/);
  if ((await p.exited) !== 0) throw new Error(`keys create exited with ${await p.exited}`);
  return (JSON.parse(line[0]) as { key: string }).key;
}

/** Runs `switchboard serve` on an ephemeral port over a data directory; resolves once it listens. */
export async function serveProcess(dataDir: string): Promise<{ hub: SpawnedHub; url: string }> {
  const hub = spawnSwitchboard([
    'serve',
    '--data-dir',
    dataDir,
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--log-level',
    'info',
  ]);
  const url = (await hub.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/))[1]!;
  return { hub, url };
}

/** Runs one `switchboard` command (through tsx) with the given stdin; resolves with its code and output. */
export function runSwitchboard(
  args: string[],
  stdin = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  const main = fileURLToPath(new URL('src/cli/main.ts', `file://${ROOT}`));
  const p = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  p.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  p.stdin.end(stdin);
  return new Promise((resolve) => p.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}
