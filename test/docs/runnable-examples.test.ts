import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { ROOT } from '../helpers/process.js';

/**
 * Every shell example marked runnable (a ```sh runnable fence) in README.md and docs/*.md runs, as
 * written, against a real hub: `switchboard` on PATH, SWITCHBOARD_URL and SWITCHBOARD_API_KEY set, a
 * fresh working directory per block, `bash -e` (any failing command fails the example).
 */

interface Example {
  file: string;
  line: number;
  script: string;
}

/** The runnable blocks of one Markdown text. Pure: tested below. */
function runnableBlocks(file: string, text: string): Example[] {
  const out: Example[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(?:sh|bash)\s+runnable\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    out.push({ file, line: i + 1, script: lines.slice(start, end).join('\n') });
    i = end;
  }
  return out;
}

const examples: Example[] = [
  ['README.md', readFileSync(join(ROOT, 'README.md'), 'utf8')] as const,
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => [`docs/${f}`, readFileSync(join(ROOT, 'docs', f), 'utf8')] as const),
].flatMap(([f, t]) => runnableBlocks(f, t));

let hub: TestHub;
let dir: string;
let bin: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-doc-examples-'));
  bin = join(dir, 'bin');
  mkdirSync(bin);
  const tsx = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
  writeFileSync(
    join(bin, 'switchboard'),
    `#!/bin/sh\nexec "${process.execPath}" --import "${tsx}" "${join(ROOT, 'src/cli/main.ts')}" "$@"\n`,
  );
  chmodSync(join(bin, 'switchboard'), 0o755);
  hub = await startTestHub();
});
afterAll(async () => {
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

function runBlock(e: Example, cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-e', '-o', 'pipefail', '-c', e.script],
      {
        cwd,
        timeout: 120_000,
        env: {
          ...process.env,
          PATH: `${bin}:${process.env.PATH}`,
          SWITCHBOARD_URL: hub.url,
          SWITCHBOARD_API_KEY: hub.key,
        },
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

describe('runnable documentation examples', () => {
  it('finds the marked blocks (and only those)', () => {
    expect(runnableBlocks('x.md', 'a\n```sh runnable\necho 1\necho 2\n```\n```sh\nnot this\n```\n')).toEqual([
      { file: 'x.md', line: 2, script: 'echo 1\necho 2' },
    ]);
    expect(examples.map((e) => e.file)).toEqual(
      expect.arrayContaining(['README.md', 'docs/emergency-911.md']),
    );
  });

  it('every runnable example runs against a real hub', async () => {
    const failed: string[] = [];
    for (const [i, e] of examples.entries()) {
      const cwd = join(dir, `example-${i}`);
      mkdirSync(cwd);
      const r = await runBlock(e, cwd);
      if (r.code !== 0) failed.push(`${e.file}:${e.line} exited ${r.code}:\n${r.out.slice(-2000)}`);
    }
    expect(failed).toEqual([]);
    // The examples did what they say against this hub.
    expect((await hub.api('GET', '/api/templates/lockdown')).status).toBe(200);
    expect((await hub.api<{ entry: { room: string } }>('GET', '/api/locations/201')).body.entry.room).toBe(
      '214',
    );
  }, 300_000);
});
