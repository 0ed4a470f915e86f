import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSwitchboardError } from '../../src/core/errors.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import {
  assertSupportedRuntime,
  checkNodeRuntime,
  REBUILD_COMMAND,
  sqliteBindingProblem,
} from '../../src/store/sqlite/runtime.js';
import { ROOT } from '../helpers/process.js';

const tmp = mkdtempSync(join(tmpdir(), 'sb-binding-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the Node.js release gate', () => {
  it.each([
    ['20.19.0', true, true],
    ['20.20.2', true, true],
    ['v22.12.0', true, true],
    ['22.23.5', true, true],
    ['24.18.1', true, true],
    ['24.22.0', true, true],
    ['24.22.3', true, true],
    ['23.11.0', true, false],
    ['25.9.0', true, false],
    ['26.4.0', true, false],
    ['27.0.0', true, false],
  ])('%s is allowed (tested: %s/%s)', (v, ok, tested) => {
    const r = checkNodeRuntime(v);
    expect(r.ok).toBe(ok);
    if (r.ok) {
      expect(r.tested).toBe(tested);
      if (!tested)
        expect(r.warning).toMatch(
          /is not tested by Switchboard's CI \(tested: 20\.19\+, 22\.12\+ and 24\.22\+\)/,
        );
    }
  });

  it.each([
    ['18.20.4', 'too-old', /needs Node\.js 20\.19 or later/],
    ['20.18.3', 'too-old', /needs Node\.js 20\.19 or later/],
    ['21.7.3', 'no-require-esm', /upgrade to Node\.js 22\.12 or later/],
    ['22.11.0', 'no-require-esm', /upgrade to Node\.js 22\.12 or later/],
    ['24.19.0', 'objectwrap-abort', /upgrade to Node\.js 24\.22 or later/],
    ['24.20.0', 'objectwrap-abort', /upgrade to Node\.js 24\.22 or later/],
    ['24.21.0', 'objectwrap-abort', /upgrade to Node\.js 24\.22 or later/],
    ['24.21.9', 'objectwrap-abort', /upgrade to Node\.js 24\.22 or later/],
    ['26.0.0', 'objectwrap-abort', /upgrade to Node\.js 26\.4 or later/],
    ['26.3.1', 'objectwrap-abort', /upgrade to Node\.js 26\.4 or later/],
  ])('%s is refused (%s) with one line naming the release to upgrade to', (v, reason, re) => {
    const r = checkNodeRuntime(v);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe(reason);
    expect(r.message).toMatch(re);
    expect(r.message).toContain(`Node.js v${v}`);
    expect(r.message).not.toContain('\n');
  });

  it('assertSupportedRuntime throws NODE_UNSUPPORTED for a refused release and passes the running one', () => {
    expect(assertSupportedRuntime(process.versions.node).ok).toBe(true);
    try {
      assertSupportedRuntime('24.21.0');
      expect.unreachable();
    } catch (e) {
      expect(isSwitchboardError(e) && e.code).toBe('NODE_UNSUPPORTED');
    }
  });
});

describe('the SQLite binding self-check', () => {
  // The message Node.js 22 prints when it loads a better-sqlite3 built for Node 20 (captured from a real run).
  const abiMismatch = Object.assign(
    new Error(
      "The module '/srv/switchboard/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 127. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).",
    ),
    { code: 'ERR_DLOPEN_FAILED' },
  );

  it('names both ABIs and the rebuild command for a binding built for another Node.js', () => {
    const line = sqliteBindingProblem(abiMismatch, { node: '22.23.5', modules: '127' });
    expect(line).toBe(
      `the SQLite binding was built for another Node.js (NODE_MODULE_VERSION 115; Node.js v22.23.5 needs 127): run \`${REBUILD_COMMAND}\` with this Node.js (needs python3, make and a C++ compiler)`,
    );
  });

  it('reports a binding that was never built (real better-sqlite3 copied without its build)', () => {
    const nm = join(tmp, 'nobuild', 'node_modules');
    mkdirSync(nm, { recursive: true });
    for (const dep of ['bindings', 'file-uri-to-path'])
      cpSync(join(ROOT, 'node_modules', dep), join(nm, dep), { recursive: true });
    mkdirSync(join(nm, 'better-sqlite3'));
    cpSync(join(ROOT, 'node_modules/better-sqlite3/lib'), join(nm, 'better-sqlite3/lib'), {
      recursive: true,
    });
    cpSync(join(ROOT, 'node_modules/better-sqlite3/package.json'), join(nm, 'better-sqlite3/package.json'));
    const Database = createRequire(join(tmp, 'nobuild', 'index.js'))('better-sqlite3') as new (
      f: string,
    ) => unknown;
    let caught: unknown;
    try {
      new Database(':memory:');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeDefined();
    const line = sqliteBindingProblem(caught);
    expect(line).toBe(
      `the SQLite binding is not built for Node.js v${process.versions.node} (NODE_MODULE_VERSION ${process.versions.modules}): run \`${REBUILD_COMMAND}\` with this Node.js (needs python3, make and a C++ compiler)`,
    );
  });

  it('reports a binding that is not a loadable library (a node_modules copied from another platform)', () => {
    const fake = join(tmp, 'better_sqlite3.node');
    writeFileSync(fake, 'this is not an ELF shared object\n');
    const Database = createRequire(join(ROOT, 'package.json'))('better-sqlite3') as new (
      f: string,
      o: { nativeBinding: string },
    ) => unknown;
    let caught: unknown;
    try {
      new Database(':memory:', { nativeBinding: fake });
    } catch (e) {
      caught = e;
    }
    const line = sqliteBindingProblem(caught);
    expect(line).toMatch(
      /^the SQLite binding cannot be loaded by Node\.js v[\d.]+ \(.+\): run `npm rebuild better-sqlite3`/,
    );
    expect(line).not.toContain('\n');
  });

  it('leaves errors that are not about the binding alone', () => {
    expect(sqliteBindingProblem(new Error('unable to open database file'))).toBeUndefined();
    expect(sqliteBindingProblem(undefined)).toBeUndefined();
  });

  it('openDatabase opens on this runtime (the binding matches)', () => {
    const db = openDatabase({ dataDir: ':memory:' });
    expect((db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v).toMatch(/^3\./);
    db.close();
  });
});
