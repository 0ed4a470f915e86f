import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { toneMulticast } from '../../src/broadcast/media.js';
import { parseRtp } from '../../src/media/rtp.js';

describe('hub multicast tone streamer', () => {
  it('streams one G.711 RTP tone to the group session (loopback multicast)', async () => {
    const group = '239.255.41.7';
    const sock = createSocket({ type: 'udp4', reuseAddr: true });
    const got: number[] = [];
    sock.on('message', (m) => got.push(parseRtp(m).payloadType));
    await new Promise<void>((r) => sock.bind(24100, () => r()));
    try {
      sock.addMembership(group, '127.0.0.1');
      const h = await toneMulticast({ multicastInterface: '127.0.0.1' }).start(
        { source: 'tone', tone: 'beep' },
        { address: group, port: 24100, leadMs: 0 },
      );
      // Paced at 20 ms a packet: wait for the whole tone (however loaded the machine), then a little more
      // to see that nothing follows it.
      await expect.poll(() => got.length, { timeout: 10_000, interval: 50 }).toBeGreaterThanOrEqual(15);
      await new Promise((r) => setTimeout(r, 300));
      h.stop();
      // beep: 200 ms tone + 100 ms gap = 300 ms of audio = 15 packets of 20 ms, payload type 0 (PCMU).
      expect(got.length).toBe(15);
      expect(new Set(got)).toEqual(new Set([0]));
      await expect(
        toneMulticast().start({ source: 'tts', text: 'x' }, { address: group, port: 24100, leadMs: 0 }),
      ).rejects.toThrow(/audio.source/);
    } finally {
      sock.close();
    }
  });
});
