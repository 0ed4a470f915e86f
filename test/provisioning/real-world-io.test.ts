import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest } from '../../src/net/http-client.js';
import { encodeSettingsText } from '../../src/provisioning/encoding.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { spawnSwitchboard } from '../helpers/process.js';

/**
 * Issue 14 items 1 and 3 over the real surfaces: a Windows-1252 file in the settings directory is served
 * byte for byte with its charset, the API and the CLI give it the same lint verdict, eval works on it
 * locally and over HTTP, a GET'd Windows-1252 file is obtained, and variables/models are accepted the
 * same way by `--var`/`--model` and the API's `var`/`model`.
 */

const fixtures = new URL('../fixtures/provisioning/real-world/', import.meta.url).pathname;
const STOCK = join(fixtures, 'stock-template-cp1252.txt');
const SPECIALS_CP1252 = encodeSettingsText(
  '## 46xxspecials.txt \u2013 \u201csite\u201d additions\r\nSET SNTPSRVR 10.1.1.124\r\n',
  'windows-1252',
);

async function run(args: string[]) {
  const p = spawnSwitchboard(args, { SWITCHBOARD_CONFIG: '' });
  const code = await p.exited;
  return { code, out: p.stdout.join('\n'), err: p.stderr.join('\n') };
}

interface Lint {
  errors: number;
  warnings: number;
  encoding?: string;
  diagnostics: Array<{ line: number; code: string; severity: string }>;
}

describe('Windows-1252 settings files through the server, the API and the CLI', () => {
  let hub: TestHub;
  let dataDir: string;
  let local: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sb-settings-rw-'));
    mkdirSync(join(dataDir, 'settings'));
    copyFileSync(STOCK, join(dataDir, 'settings', '46xxsettings.txt'));
    writeFileSync(join(dataDir, 'settings', '46xxspecials.txt'), SPECIALS_CP1252);
    writeFileSync(join(dataDir, 'settings', 'firmware.bin'), Buffer.from([0x1f, 0x8b, 0, 1]));
    // The same pair next to each other on disk, for the CLI.
    local = join(dataDir, 'local');
    mkdirSync(local);
    copyFileSync(STOCK, join(local, '46xxsettings.txt'));
    writeFileSync(join(local, '46xxspecials.txt'), SPECIALS_CP1252);
    hub = await startTestHub({ dataDir });
  });
  afterAll(async () => {
    await hub?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the bytes unchanged, declaring windows-1252; the files API shows the decoded text', async () => {
    const res = await httpRequest({
      url: `${hub.url}/46xxsettings.txt`,
      headers: { 'user-agent': 'Avaya J179' },
      timeoutMs: 5000,
    });
    expect(res.status).toBe(200);
    expect(Buffer.compare(res.body, readFileSync(STOCK))).toBe(0);
    expect(res.headers['content-type']).toBe('text/plain; charset=windows-1252');
    expect(res.headers['content-length']).toBe(String(readFileSync(STOCK).length));
    const f = await hub.api<{ encoding: string; text: string }>(
      'GET',
      '/api/settings/files/46xxsettings.txt',
    );
    expect(f.body.encoding).toBe('windows-1252');
    expect(f.body.text).toContain('\u201cedit the values below\u201d');
  });

  it('the lint API and the CLI give the same verdict on the same file', async () => {
    const api = await hub.api<Lint>('POST', '/api/settings/lint', { file: '46xxsettings.txt' });
    expect(api.status).toBe(200);
    const cli = await run(['settings', 'lint', join(local, '46xxsettings.txt'), '--json']);
    expect(cli.err).toBe('');
    expect(cli.code).toBe(0);
    const c = JSON.parse(cli.out) as Lint;
    expect(c.encoding).toBe('windows-1252');
    expect(api.body.encoding).toBe('windows-1252');
    expect(api.body.diagnostics).toEqual(c.diagnostics);
    expect([api.body.errors, api.body.warnings]).toEqual([c.errors, c.warnings]);
    expect(c.errors).toBe(0);
    // The same bytes posted as they are (curl --data-binary): the same verdict again.
    const post = (body: Buffer, type = 'application/octet-stream', auth = true) =>
      fetch(`${hub.url}/api/settings/lint/bytes?name=46xxsettings.txt`, {
        method: 'POST',
        headers: { 'content-type': type, ...(auth ? { authorization: `Bearer ${hub.key}` } : {}) },
        body,
      });
    const raw = await post(readFileSync(STOCK));
    expect(raw.status).toBe(200);
    const rb = (await raw.json()) as Lint;
    expect(rb.encoding).toBe('windows-1252');
    expect(rb.diagnostics).toEqual(c.diagnostics);
    expect((await post(Buffer.from([0x53, 0, 0x54]))).status).toBe(400);
    expect((await post(Buffer.alloc(1024 * 1024 + 1, 0x41))).status).toBe(413);
    expect((await post(readFileSync(STOCK), 'application/octet-stream', false)).status).toBe(401);
    expect((await post(Buffer.from('{"text":"SET A 1"}'), 'application/json')).status).toBe(415);
    // A binary file is refused the same way (400, not a 500 and not a mangled lint).
    const bin = await hub.api<{ error: { code: string } }>('POST', '/api/settings/lint', {
      file: 'firmware.bin',
    });
    expect(bin.status).toBe(400);
    expect(bin.body.error.code).toBe('SETTINGS_NOT_TEXT');
  });

  it('the eval API: model in any case, var repeatable, the GET of a cp1252 file obtained', async () => {
    const ev = await hub.api<{
      inputs: Record<string, string>;
      values: Record<string, string>;
      files: string[];
    }>('GET', '/api/settings/eval?model=j179&var=SIG=1&var=hwvers=J179D02A');
    expect(ev.status).toBe(200);
    expect(ev.body.inputs).toMatchObject({ MODEL4: 'J179', SIG: '1', HWVERS: 'J179D02A' });
    // The file's own SET SIG 2 is what its IF $SIG SEQ 2 sees: the SIP section, not H.323.
    expect(ev.body.values.SIP_CONTROLLER_LIST).toBe('10.1.1.10:5061;transport=tls');
    expect(ev.body.values.MCIPADD).toBeUndefined();
    expect(ev.body.files).toEqual(['46xxsettings.txt', '46xxspecials.txt']);
    expect(ev.body.values.SNTPSRVR).toBe('10.1.1.124');
    for (const q of ['model=j17', 'model=J179&var=NOEQUALS', 'model=J179&var=%3D1', 'var=SIG%3D2']) {
      const bad = await hub.api<{ error: { code: string } }>('GET', `/api/settings/eval?${q}`);
      expect(bad.status, q).toBe(400);
    }
    // A flood of variables, or an oversized one, is a 400, never a 5xx.
    const flood = Array.from({ length: 65 }, (_, i) => `var=V${i}%3D1`).join('&');
    expect((await hub.api('GET', `/api/settings/eval?model=J179&${flood}`)).status).toBe(400);
    expect((await hub.api('GET', `/api/settings/eval?model=J179&var=A%3D${'x'.repeat(400)}`)).status).toBe(
      400,
    );
    const raw = await hub.api<{ inputs: Record<string, string> }>(
      'GET',
      '/api/settings/eval?var=MODEL4%3DX123',
    );
    expect(raw.status).toBe(200);
    expect(raw.body.inputs.MODEL4).toBe('X123');
  });

  it('the CLI evaluates the served file over HTTP and the local copy alike, with --var and any-case --model', async () => {
    const http = await run([
      'settings',
      'eval',
      `${hub.url}/46xxsettings.txt`,
      '--model',
      'j179',
      '--var',
      'SIG=1',
      '--trace',
    ]);
    expect(http.code).toBe(0);
    expect(http.out).toMatch(/^SIP_CONTROLLER_LIST\s+"10\.1\.1\.10:5061;transport=tls"/m);
    expect(http.out).toMatch(/^IPO_ADHOC_CONFERENCE_NAME\s+"Caf\u00e9 Konferenz"/m);
    expect(http.out).toContain('46xxspecials.txt: obtained');
    expect(http.out).toContain('$SIG (2) SEQ 2: GOTO SIPSETTINGS [set on 46xxsettings.txt:6]');
    const file = await run([
      'settings',
      'eval',
      join(local, '46xxsettings.txt'),
      '--model',
      'j179',
      '--var',
      'SIG=1',
      '--trace',
    ]);
    expect(file.code).toBe(0);
    expect(file.out).toBe(http.out);
    const bad = await run(['settings', 'eval', join(local, '46xxsettings.txt'), '--model', 'j17']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('SETTINGS_UNKNOWN_MODEL');
  });
});
