import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { groupAudioStreamer } from '../../../src/alerting/broadcast/media.js';
import { parseRtp } from '../../../src/media/rtp.js';
import { writeWav } from '../../../src/media/wav.js';

const GROUP = '239.255.41.7';
const mediaDir = mkdtempSync(join(tmpdir(), 'sb-media-'));
afterAll(() => rmSync(mediaDir, { recursive: true, force: true }));
// 0.5 s of a 440 Hz tone at 8 kHz: 25 packets of 20 ms.
writeFileSync(
  join(mediaDir, 'bell.wav'),
  writeWav(
    Int16Array.from({ length: 4000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000))),
    8000,
  ),
);
const hasEspeak = (() => {
  try {
    execFileSync('espeak-ng', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let nextPort = 24100;
async function listen(): Promise<{ sock: Socket; port: number; got: Array<{ pt: number; at: number }> }> {
  const port = nextPort;
  nextPort += 2;
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  const got: Array<{ pt: number; at: number }> = [];
  sock.on('message', (m) => got.push({ pt: parseRtp(m).payloadType, at: Date.now() }));
  await new Promise<void>((r) => sock.bind(port, () => r()));
  sock.addMembership(GROUP, '127.0.0.1');
  return { sock, port, got };
}

const streamer = (errors: unknown[] = []) =>
  groupAudioStreamer({ mediaDir, multicastInterface: '127.0.0.1', onError: (e) => errors.push(e) });

describe('hub multicast group streamer', () => {
  it('streams a G.711 tone to the group session, only once the group is ready', async () => {
    const { sock, port, got } = await listen();
    try {
      let ready!: () => void;
      const h = await streamer().start(
        { source: 'tone', tone: 'beep' },
        { address: GROUP, port, leadMs: 0, ready: new Promise<void>((r) => (ready = r)) },
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(got).toHaveLength(0);
      const openedAt = Date.now();
      ready();
      // beep: 200 ms tone + 100 ms gap = 300 ms of audio = 15 packets of 20 ms, payload type 0 (PCMU).
      await expect.poll(() => got.length, { timeout: 10_000, interval: 50 }).toBeGreaterThanOrEqual(15);
      await new Promise((r) => setTimeout(r, 300));
      h.stop();
      expect(got.length).toBe(15);
      expect(new Set(got.map((g) => g.pt))).toEqual(new Set([0]));
      expect(got[0]!.at).toBeGreaterThanOrEqual(openedAt);
    } finally {
      sock.close();
    }
  });

  it('streams a WAV file of the media directory', async () => {
    const { sock, port, got } = await listen();
    try {
      const h = await streamer().start(
        { source: 'file', file: 'bell.wav' },
        { address: GROUP, port, leadMs: 0 },
      );
      await expect.poll(() => got.length, { timeout: 10_000, interval: 50 }).toBeGreaterThanOrEqual(25);
      await new Promise((r) => setTimeout(r, 200));
      h.stop();
      expect(got.length).toBe(25);
    } finally {
      sock.close();
    }
  });

  it.skipIf(!hasEspeak)('speaks text (TTS) to the group', async () => {
    const { sock, port, got } = await listen();
    try {
      const h = await streamer().start(
        { source: 'tts', text: 'Fire drill in building two' },
        { address: GROUP, port, leadMs: 0 },
      );
      await expect.poll(() => got.length, { timeout: 20_000, interval: 100 }).toBeGreaterThan(50);
      h.stop();
    } finally {
      sock.close();
    }
  });

  it('reports what it cannot load, and refuses incomplete requests at once', async () => {
    const errors: unknown[] = [];
    const s = streamer(errors);
    await s.start({ source: 'file', file: 'missing.wav' }, { address: GROUP, port: 24190, leadMs: 0 });
    await s.start({ source: 'file', file: '../outside.wav' }, { address: GROUP, port: 24192, leadMs: 0 });
    await expect.poll(() => errors.length, { timeout: 5000 }).toBe(2);
    expect(errors.map((e) => (e as { code: string }).code).sort()).toEqual([
      'BROADCAST_BAD_MEDIA_FILE',
      'BROADCAST_MEDIA_NOT_FOUND',
    ]);
    await expect(s.start({ source: 'file' }, { address: GROUP, port: 24194, leadMs: 0 })).rejects.toThrow(
      /audio\.file/,
    );
    await expect(s.start({ source: 'tts' }, { address: GROUP, port: 24194, leadMs: 0 })).rejects.toThrow(
      /audio\.text/,
    );
  });

  it('sends nothing once stopped before the group is ready', async () => {
    const { sock, port, got } = await listen();
    try {
      const h = await streamer().start(
        { source: 'tone', tone: 'beep' },
        { address: GROUP, port, leadMs: 0, ready: new Promise<void>(() => {}) },
      );
      h.stop();
      await new Promise((r) => setTimeout(r, 400));
      expect(got).toHaveLength(0);
    } finally {
      sock.close();
    }
  });
});
