import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AvayaAudioService } from '../../../src/drivers/avaya/audio-service.js';

describe('Avaya unicast RTP streams', () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanup.splice(0)) c();
  });

  it('a repeated fetch to the same host:port replaces the running stream instead of adding one', async () => {
    const rx = dgram.createSocket('udp4');
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
    rx.on('message', () => {});
    cleanup.push(() => rx.close());
    const port = (rx.address() as AddressInfo).port;
    const audio = new AvayaAudioService();
    cleanup.push(() => audio.close());
    const spec = { codec: 'PCMU', packetSizeMs: 20, audioTimerS: 20 } as const;
    const data = new Uint8Array(8000 * 5).fill(0xff); // 5 s of µ-law silence: 250 packets
    const first = audio.streamUnicast(spec, data, '127.0.0.1', '127.0.0.1', port);
    await new Promise((r) => setTimeout(r, 100));
    expect(audio.activeCount()).toBe(1);
    const second = audio.streamUnicast(spec, data, '127.0.0.1', '127.0.0.1', port);
    const r1 = await first;
    expect(r1.aborted).toBe(true);
    expect(r1.sent).toBeLessThan(250);
    expect(audio.activeCount()).toBe(1);
    audio.stopTo('127.0.0.1');
    const r2 = await second;
    expect(r2.aborted).toBe(true);
    expect(audio.activeCount()).toBe(0);
  });
});
