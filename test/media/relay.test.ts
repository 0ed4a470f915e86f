import { createSocket, type Socket } from 'node:dgram';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { groupAudioStreamer } from '../../src/alerting/broadcast/media.js';
import { validateBroadcastInput } from '../../src/alerting/broadcast/schema.js';
import { alawToLinear, linearToUlaw } from '../../src/media/g711.js';
import { LiveRtpRelay, relayPayload } from '../../src/media/relay.js';
import { encodeRtp, parseRtp } from '../../src/media/rtp.js';

const GROUP = '239.255.42.9';
const rtp = (pt: number, seq: number, payload = new Uint8Array(160).fill(seq & 0xff)) =>
  encodeRtp({
    payloadType: pt,
    marker: false,
    sequence: seq,
    timestamp: 1000 + seq * 160,
    ssrc: 42,
    payload,
  });

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

let nextPort = 26000;
async function groupListener(): Promise<{ port: number; got: ReturnType<typeof parseRtp>[] }> {
  const port = nextPort;
  nextPort += 2;
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  const got: ReturnType<typeof parseRtp>[] = [];
  sock.on('message', (m) => got.push(parseRtp(m)));
  await new Promise<void>((r) => sock.bind(port, () => r()));
  sock.addMembership(GROUP, '127.0.0.1');
  cleanup.push(() => sock.close());
  return { port, got };
}

async function sender(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  cleanup.push(() => s.close());
  return s;
}
const send = (s: Socket, buf: Buffer, port: number) =>
  new Promise<void>((r, j) => s.send(buf, port, '127.0.0.1', (e) => (e ? j(e) : r())));

describe('relayPayload (pure)', () => {
  it('passes µ-law, transcodes A-law to µ-law, drops other codecs, non-RTP and oversized datagrams', () => {
    const u = relayPayload(rtp(0, 1));
    expect(u.ok && u.packet.payloadType).toBe(0);
    const a = relayPayload(rtp(8, 2, Uint8Array.from([0xd5, 0x55, 0x2a, 0xaa])));
    expect(a.ok && a.packet.payloadType).toBe(0);
    expect(a.ok && [...a.packet.payload]).toEqual(
      [0xd5, 0x55, 0x2a, 0xaa].map((x) => linearToUlaw(alawToLinear(x))),
    );
    expect(relayPayload(rtp(18, 3))).toEqual({ ok: false, reason: 'codec' });
    expect(relayPayload(Buffer.from('hello'))).toEqual({ ok: false, reason: 'not_rtp' });
    expect(relayPayload(Buffer.alloc(2000, 0x80))).toEqual({ ok: false, reason: 'too_large' });
  });

  it('never throws on random or truncated input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1600 }), (b) => {
        const r = relayPayload(b);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('LiveRtpRelay (UDP on 127.0.0.1, loopback multicast)', () => {
  it('relays a live stream to the group with its own SSRC and a continuous sequence', async () => {
    const { port, got } = await groupListener();
    const relay = new LiveRtpRelay({
      port: 26500,
      bindAddress: '127.0.0.1',
      maxSeconds: 30,
      idleSeconds: 5,
      multicastInterface: '127.0.0.1',
    });
    await relay.open();
    cleanup.push(() => relay.close());
    relay.add(GROUP, port);
    const s = await sender();
    for (let i = 0; i < 10; i++) await send(s, rtp(i % 2 === 0 ? 0 : 8, 100 + i), 26500);
    await expect.poll(() => got.length, { timeout: 5000 }).toBe(10);
    expect(new Set(got.map((p) => p.payloadType))).toEqual(new Set([0]));
    expect(new Set(got.map((p) => p.ssrc)).size).toBe(1);
    expect(got[0]!.ssrc).not.toBe(42);
    for (let i = 1; i < 10; i++) {
      expect(got[i]!.sequence).toBe((got[0]!.sequence + i) & 0xffff);
      expect((got[i]!.timestamp - got[0]!.timestamp) >>> 0).toBe(i * 160);
    }
    expect([...got[0]!.payload]).toEqual(new Array(160).fill(100));
    expect(relay.stats).toMatchObject({ received: 10, relayed: 10 });
  });

  it('drops packets from other senders when told where the audio comes from', async () => {
    const { port, got } = await groupListener();
    const relay = new LiveRtpRelay({
      port: 26502,
      bindAddress: '127.0.0.1',
      allowFrom: '10.9.9.9',
      maxSeconds: 30,
      idleSeconds: 5,
    });
    await relay.open();
    cleanup.push(() => relay.close());
    relay.add(GROUP, port);
    const s = await sender();
    await send(s, rtp(0, 1), 26502);
    await expect.poll(() => relay.stats.dropped.sender, { timeout: 5000 }).toBe(1);
    expect(got).toHaveLength(0);
  });

  it('ends after idleSeconds of silence, and says so once', async () => {
    const ends: string[] = [];
    const relay = new LiveRtpRelay({
      port: 26504,
      bindAddress: '127.0.0.1',
      maxSeconds: 30,
      idleSeconds: 1,
      onEnd: (r) => ends.push(r),
    });
    await relay.open();
    cleanup.push(() => relay.close());
    const s = await sender();
    await send(s, rtp(0, 1), 26504);
    await expect.poll(() => ends, { timeout: 5000 }).toEqual(['idle']);
    relay.close();
    expect(ends).toEqual(['idle']);
    // The port is free again.
    const again = new LiveRtpRelay({ port: 26504, bindAddress: '127.0.0.1', maxSeconds: 30, idleSeconds: 1 });
    await again.open();
    again.close();
  });

  it('refuses a port it cannot bind, with the port named', async () => {
    const a = new LiveRtpRelay({ port: 26506, bindAddress: '127.0.0.1', maxSeconds: 30, idleSeconds: 5 });
    await a.open();
    cleanup.push(() => a.close());
    const b = new LiveRtpRelay({ port: 26506, bindAddress: '127.0.0.1', maxSeconds: 30, idleSeconds: 5 });
    await expect(b.open()).rejects.toMatchObject({ code: 'LIVE_PORT_UNAVAILABLE' });
  });
});

describe('live audio through the group streamer', () => {
  it('relays to a group once it is ready, and frees the port when the broadcast stops', async () => {
    const { port, got } = await groupListener();
    const streamer = groupAudioStreamer({
      mediaDir: '.',
      liveBindAddress: '127.0.0.1',
      multicastInterface: '127.0.0.1',
    });
    let ready!: () => void;
    const h = await streamer.start(
      { source: 'live', live: { port: 26508 } },
      { address: GROUP, port, leadMs: 0, ready: new Promise<void>((r) => (ready = r)) },
    );
    const s = await sender();
    await send(s, rtp(0, 1), 26508);
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toHaveLength(0);
    ready();
    await new Promise((r) => setTimeout(r, 100));
    await send(s, rtp(0, 2), 26508);
    await expect.poll(() => got.length, { timeout: 5000 }).toBe(1);
    h.stop();
    const again = new LiveRtpRelay({ port: 26508, bindAddress: '127.0.0.1', maxSeconds: 30, idleSeconds: 5 });
    await again.open();
    again.close();
  });

  it('broadcast input: live audio needs its port and a multicast mode', () => {
    const base = { title: 't', text: 'x', targets: { all: true } };
    expect(() => validateBroadcastInput({ ...base, audio: { source: 'live' } })).toThrow(/audio\.live/);
    expect(() =>
      validateBroadcastInput({ ...base, audio: { source: 'live', live: { port: 5004 }, mode: 'unicast' } }),
    ).toThrow(/audio\.mode/);
    expect(() =>
      validateBroadcastInput({ ...base, audio: { source: 'live', live: { port: 80 } } }),
    ).toThrow();
    expect(
      validateBroadcastInput({ ...base, audio: { source: 'live', live: { port: 5004, from: '10.0.0.7' } } })
        .audio,
    ).toMatchObject({ source: 'live', live: { port: 5004 } });
  });
});
