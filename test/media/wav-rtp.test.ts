import dgram from 'node:dgram';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pcmToRtpPackets } from '../../src/media/audio.js';
import { encodeRtp, packetize, parseRtp, RtpParseError } from '../../src/media/rtp.js';
import { sendRtpStream } from '../../src/media/sender.js';
import { generateTone, namedTone, TONE_NAMES } from '../../src/media/tone.js';
import { EspeakTts, TtsError } from '../../src/media/tts.js';
import { readWav, resample, WavError, wavTo8k, writeWav } from '../../src/media/wav.js';

function sine(rate: number, freq: number, seconds: number): Int16Array {
  return Int16Array.from({ length: Math.round(rate * seconds) }, (_, i) =>
    Math.round(10000 * Math.sin((2 * Math.PI * freq * i) / rate)),
  );
}
function dominantFreq(pcm: Int16Array, rate: number): number {
  let crossings = 0;
  for (let i = 1; i < pcm.length; i++) if (pcm[i - 1]! < 0 && pcm[i]! >= 0) crossings++;
  return (crossings * rate) / pcm.length;
}

describe('WAV', () => {
  it('reads 16-bit 44.1 kHz stereo and resamples to 8 kHz keeping pitch and length', () => {
    const mono = sine(44100, 440, 1);
    const stereo = new Int16Array(mono.length * 2);
    mono.forEach((v, i) => {
      stereo[2 * i] = v;
      stereo[2 * i + 1] = v;
    });
    const pcm8 = wavTo8k(writeWav(stereo, 44100, { channels: 2 }));
    expect(pcm8.length).toBe(8000);
    expect(dominantFreq(pcm8, 8000)).toBeCloseTo(440, -1);
  });
  it('reads 8-bit unsigned 11025 Hz and 16 kHz', () => {
    const s = sine(11025, 300, 0.5);
    const u8 = Uint8Array.from(s, (v) => (v >> 8) + 128);
    const a = readWav(writeWav(u8, 11025, { bits: 8 }));
    expect(a.sampleRate).toBe(11025);
    expect(Math.abs(a.samples[100]! - s[100]!)).toBeLessThan(300);
    expect(resample(a).length).toBe(4000);
    expect(wavTo8k(writeWav(sine(16000, 1000, 0.25), 16000)).length).toBe(2000);
    expect(wavTo8k(writeWav(sine(8000, 1000, 0.25), 8000)).length).toBe(2000);
  });
  it('rejects non-PCM and garbage with typed errors, never crashes', () => {
    const w = writeWav(sine(8000, 440, 0.01), 8000);
    const float = Buffer.from(w);
    float.writeUInt16LE(3, 20);
    expect(() => readWav(float)).toThrow(WavError);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 100 }),
          fc.nat({ max: w.length }).map((n) => w.subarray(0, n)),
        ),
        (b) => {
          try {
            readWav(b);
          } catch (e) {
            expect(e).toBeInstanceOf(WavError);
          }
        },
      ),
    );
  });
});

describe('RTP', () => {
  it('packetizes with marker, sequence and timestamp steps (wrapping)', () => {
    const pk = packetize(new Uint8Array(1000).fill(1), {
      payloadType: 0,
      samplesPerPacket: 160,
      ssrc: 7,
      initialSequence: 65534,
      initialTimestamp: 2 ** 32 - 100,
    });
    expect(pk.length).toBe(7);
    expect(pk.map((p) => p.sequence)).toEqual([65534, 65535, 0, 1, 2, 3, 4]);
    expect(pk[1]!.timestamp).toBe(60);
    expect(pk.map((p) => p.marker)).toEqual([true, false, false, false, false, false, false]);
    expect(pk[6]!.payload.length).toBe(160);
    expect(pk[6]!.payload[100]).toBe(0xff);
    const wire = encodeRtp(pk[2]!);
    expect(wire.subarray(0, 12).toString('hex')).toBe('80000000000000dc00000007');
    expect(parseRtp(wire)).toEqual(pk[2]);
  });
  it('parser never crashes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        try {
          parseRtp(b);
        } catch (e) {
          expect(e).toBeInstanceOf(RtpParseError);
        }
      }),
    );
  });
  it('sends paced packets over UDP in order', async () => {
    const rx = dgram.createSocket('udp4');
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
    const got: number[] = [];
    rx.on('message', (m) => got.push(parseRtp(m).sequence));
    const packets = pcmToRtpPackets(namedTone('beep'), 'PCMA', 20, { initialSequence: 100 });
    const rep = await sendRtpStream({ host: '127.0.0.1', port: rx.address().port, packets, ptimeMs: 20 });
    await new Promise((r) => setTimeout(r, 50));
    rx.close();
    expect(rep.sent).toBe(packets.length);
    expect(packets.length).toBe(15); // 300 ms of beep + gap at 20 ms
    expect(got).toEqual(packets.map((p) => p.sequence));
    expect(packets[0]!.payloadType).toBe(8);
  });
});

describe('tones and TTS', () => {
  it('generates every named tone at 8 kHz with the right length', () => {
    for (const n of TONE_NAMES) expect(namedTone(n).length).toBeGreaterThan(800);
    expect(generateTone([{ freqs: [1000], ms: 100, gapMs: 50 }]).length).toBe(1200);
    expect(dominantFreq(generateTone([{ freqs: [1000], ms: 500 }]), 8000)).toBeCloseTo(1000, -1);
  });
  it('espeak-ng: synthesises when installed, otherwise a clear TTS_UNAVAILABLE', async () => {
    const tts = new EspeakTts('espeak-ng');
    if (await tts.available()) {
      expect((await tts.synthesize('hello')).length).toBeGreaterThan(1000);
    } else {
      await expect(tts.synthesize('hello')).rejects.toMatchObject({ code: 'TTS_UNAVAILABLE' });
    }
    await expect(new EspeakTts('/nonexistent/espeak').synthesize('x')).rejects.toBeInstanceOf(TtsError);
  });
});
