import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSwitchboard } from '../helpers/process.js';
import { CAPTURE_LINES, captureFile } from './smdr-capture.js';

const tmp = mkdtempSync(join(tmpdir(), 'sb-smdr-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(args: string[]) {
  const p = spawnSwitchboard(args, { SWITCHBOARD_CONFIG: '' });
  const code = await p.exited;
  return { code, out: p.stdout, err: p.stderr.join('\n') };
}

describe('switchboard smdr', () => {
  it('parse --json: one JSON record per line, every field, exit 0', async () => {
    const file = join(tmp, 'capture.txt');
    writeFileSync(file, captureFile());
    const r = await run(['smdr', 'parse', file, '--json']);
    expect(r.code).toBe(0);
    const objs = r.out.filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
    expect(objs[0]).toMatchObject({ line: 1, header: expect.stringMatching(/^Call Start,/) });
    const recs = objs.filter((o) => o.record);
    expect(recs).toHaveLength(CAPTURE_LINES.length);
    expect(recs[1].record.party2.name).toBe('山田 太郎');
    expect(recs[4].record.caller).toMatchObject({ number: '01632960777', host: '203.0.113.7' });
    expect(recs.at(-1).record.extra).toEqual(['X-NEW', '42']);
  });

  it('parse (readable) reports bad lines on stderr with their line number and exits 1', async () => {
    const file = join(tmp, 'broken.txt');
    writeFileSync(file, `${CAPTURE_LINES[0]}\n\nnot,a,record\n${CAPTURE_LINES[6]}`);
    const r = await run(['smdr', 'parse', file]);
    expect(r.code).toBe(1);
    expect(r.out.filter((l) => l.includes(' -> '))).toHaveLength(2);
    expect(r.out.join('\n')).toContain('Ana López');
    expect(r.err).toContain(`${file}:3:`);
  });

  it('tail listens and prints records as they arrive (IP Office connects to it)', async () => {
    const p = spawnSwitchboard(['smdr', 'tail', '--host', '127.0.0.1', '--port', '0', '--json'], {
      SWITCHBOARD_CONFIG: '',
    });
    try {
      const m = await p.waitFor(/listening for SMDR on 127\.0\.0\.1:(\d+)/, 60_000);
      const port = Number(m[1]);
      await new Promise<void>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port }, () =>
          s.end(`${CAPTURE_LINES[6]}\r\n`, () => resolve()),
        );
        s.on('error', reject);
      });
      const got = await p.waitFor(/"callId":"1004224"/, 10_000);
      const obj = JSON.parse(got.input!);
      expect(obj).toMatchObject({ from: '127.0.0.1', record: { dialled: { number: '911' } } });
    } finally {
      p.proc.kill('SIGTERM');
      await p.exited;
    }
  });
});
