import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { startHub } from '../../src/cli/serve.js';
import { defaultConfig } from '../../src/config/load.js';
import { prettyLine } from '../../src/server/log-pretty.js';
import { createLogger } from '../../src/server/logger.js';
import { duplicateKeys } from '../helpers/json-keys.js';
import { ROOT } from '../helpers/process.js';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

function* sources(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('log lines', () => {
  it('no logger call in src passes `msg` (pino writes a second "msg") or `error` (not serialised) in its object', () => {
    const bad: string[] = [];
    for (const file of sources(join(ROOT, 'src'))) {
      const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
      const visit = (n: ts.Node): void => {
        if (
          ts.isCallExpression(n) &&
          ts.isPropertyAccessExpression(n.expression) &&
          LEVELS.has(n.expression.name.text)
        ) {
          const first = n.arguments[0];
          if (first && ts.isObjectLiteralExpression(first))
            for (const p of first.properties) {
              const name =
                p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) ? p.name.text : '';
              if (name === 'msg' || name === 'error')
                bad.push(
                  `${file.slice(ROOT.length)}:${sf.getLineAndCharacterOfPosition(p.getStart()).line + 1} ${name}`,
                );
            }
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
    expect(bad, 'put the error in `err` and the text in the message argument').toEqual([]);
  });

  it('the duplicate-key check itself finds a duplicate "msg"', () => {
    expect(duplicateKeys('{"level":40,"msg":"connect ECONNREFUSED","msg":"request failed"}')).toEqual([
      'msg',
    ]);
    expect(duplicateKeys('{"a":{"b":1,"b":2},"c":[{"d":1,"d":"}"}]}')).toEqual(['a.b', 'c.d']);
    expect(duplicateKeys('{"msg":"x","err":{"msg":"y"}}')).toEqual([]);
  });

  it('a device request that fails logs one "msg" and the error text in "err"; no line has a duplicate key', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => {
      text += c.toString();
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-log-'));
    const config = defaultConfig({
      dataDir,
      'http.host': '127.0.0.1',
      'http.port': 0,
      'log.level': 'debug',
    });
    const running = await startHub(config, { logger: createLogger({ level: 'debug', destination: out }) });
    try {
      const key = (await running.hub.apiKeys.create('log')).key;
      const api = (method: string, path: string, body?: unknown) =>
        fetch(`${running.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body ?? {}),
        });
      const port = await closedPort();
      const add = await api('POST', '/api/devices', {
        id: 'gone',
        kind: 'cisco',
        address: `127.0.0.1:${port}`,
        settings: { model: '8845', username: 'push', password: 'pw' },
      });
      expect(add.status).toBe(201);
      const r = await api('POST', '/api/devices/gone/actions/object_text', { title: 'T', text: 'hello' });
      expect(r.status).toBeGreaterThanOrEqual(500);
      await new Promise((res) => setTimeout(res, 50));
    } finally {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
    const lines = text.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(duplicateKeys(l), l).toEqual([]);
    const failed = lines
      .map((l) => JSON.parse(l) as { msg: string; err?: { message?: string; code?: string } })
      .find((l) => l.msg === 'request failed');
    expect(failed, text).toBeDefined();
    expect(failed!.err?.message).toMatch(/ECONNREFUSED|refused|unreachable/i);
    expect(failed!.err?.code).toMatch(/^[A-Z0-9_]+$/);
    // The password of the device never reaches the log.
    expect(text).not.toContain('"pw"');
  });
});

describe('log.pretty', () => {
  const line = JSON.stringify({
    level: 40,
    time: Date.UTC(2026, 11, 2, 9, 41, 7, 123),
    pid: 1,
    hostname: 'h',
    reqId: 'req-1',
    err: {
      type: 'DeviceError',
      message: 'connect ECONNREFUSED 127.0.0.1:9',
      code: 'X',
      stack: 'Error: x\n    at y',
    },
    msg: 'request failed',
  });

  it('prints time, level, message, then the fields as key=value and the stack below', () => {
    expect(prettyLine(line)).toBe(
      '09:41:07.123 WARN  request failed  reqId=req-1 err.type=DeviceError err.message="connect ECONNREFUSED 127.0.0.1:9" err.code=X\n    Error: x\n        at y',
    );
  });

  it('colours the level only when asked; passes through what is not a JSON object', () => {
    expect(prettyLine(line, true)).toContain('\x1b[33mWARN \x1b[0m');
    expect(prettyLine(line, false)).not.toContain('\x1b[');
    expect(prettyLine('not json {')).toBe('not json {');
    expect(prettyLine('[1,2]')).toBe('[1,2]');
  });

  it('a hub with log.pretty writes readable lines, not JSON', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => {
      text += c.toString();
    });
    const logger = createLogger({ level: 'info', destination: out, pretty: true });
    logger.info({ port: 8080 }, 'switchboard listening');
    logger.warn({ err: new Error('boom') }, 'something failed');
    await new Promise((r) => setTimeout(r, 20));
    const [first, second] = text.split('\n');
    expect(first).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}switchboard listening {2}port=8080$/);
    expect(second).toMatch(/WARN {2}something failed {2}err\.type=Error err\.message=boom$/);
    expect(text).not.toContain('{"level"');
  });
});
