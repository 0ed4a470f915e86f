import { ValidationError } from '../core/errors.js';

/**
 * WAV (RIFF/WAVE) reading and writing. Reads PCM 8-bit unsigned and 16-bit signed little-endian (format 1
 * or WAVE_FORMAT_EXTENSIBLE with a PCM sub-format), 1–8 channels (mixed down to mono), 4–192 kHz, and
 * resamples to the 8 kHz mono that G.711 carries. Pure functions over buffers.
 */
export class WavError extends ValidationError {}

export interface PcmAudio {
  sampleRate: number;
  /** Mono, 16-bit signed samples. */
  samples: Int16Array;
}

/** Largest WAV we read (about 16 minutes of 16-bit 16 kHz mono). */
export const MAX_WAV_BYTES = 32 * 1024 * 1024;

export function readWav(buf: Uint8Array): PcmAudio {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length > MAX_WAV_BYTES)
    throw new WavError('WAV_TOO_LARGE', `WAV file larger than ${MAX_WAV_BYTES} bytes`);
  if (b.length < 12 || b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') {
    throw new WavError('WAV_NOT_RIFF', 'not a RIFF/WAVE file');
  }
  let off = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  let data: Buffer | undefined;
  let chunks = 0;
  while (off + 8 <= b.length && chunks++ < 1000) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    const start = off + 8;
    // espeak-ng and other streaming writers put 0xFFFFFFFF (unknown) sizes in the data chunk.
    const end = Math.min(b.length, start + size);
    if (id === 'fmt ') {
      if (end - start < 16) throw new WavError('WAV_BAD_FMT', 'fmt chunk shorter than 16 bytes');
      let format = b.readUInt16LE(start);
      if (format === 0xfffe && end - start >= 26) format = b.readUInt16LE(start + 24);
      fmt = {
        format,
        channels: b.readUInt16LE(start + 2),
        rate: b.readUInt32LE(start + 4),
        bits: b.readUInt16LE(start + 14),
      };
    } else if (id === 'data') {
      data = b.subarray(start, end);
      break;
    }
    off = start + size + (size % 2);
    if (off > b.length) break;
  }
  if (!fmt) throw new WavError('WAV_NO_FMT', 'no fmt chunk before the data');
  if (!data) throw new WavError('WAV_NO_DATA', 'no data chunk');
  if (fmt.format !== 1)
    throw new WavError('WAV_UNSUPPORTED', `WAV format ${fmt.format} is not PCM (only PCM 8/16-bit is read)`);
  if (fmt.bits !== 8 && fmt.bits !== 16)
    throw new WavError('WAV_UNSUPPORTED', `${fmt.bits}-bit WAV is not supported (8 or 16)`);
  if (fmt.channels < 1 || fmt.channels > 8) throw new WavError('WAV_UNSUPPORTED', `${fmt.channels} channels`);
  if (fmt.rate < 4000 || fmt.rate > 192000)
    throw new WavError('WAV_UNSUPPORTED', `sample rate ${fmt.rate} Hz`);
  const bytesPer = fmt.bits / 8;
  const frame = bytesPer * fmt.channels;
  const frames = Math.floor(data.length / frame);
  const samples = new Int16Array(frames);
  for (let i = 0; i < frames; i++) {
    let acc = 0;
    for (let c = 0; c < fmt.channels; c++) {
      const p = i * frame + c * bytesPer;
      acc += fmt.bits === 16 ? data.readInt16LE(p) : (data[p]! - 128) << 8;
    }
    samples[i] = Math.round(acc / fmt.channels);
  }
  return { sampleRate: fmt.rate, samples };
}

/** Resamples mono PCM to `target` Hz: a moving-average low-pass when downsampling, then linear interpolation. */
export function resample(audio: PcmAudio, target = 8000): Int16Array {
  const { sampleRate: rate, samples } = audio;
  if (rate === target) return samples;
  let src: Float64Array = Float64Array.from(samples);
  if (rate > target) {
    const w = Math.max(1, Math.round(rate / target));
    if (w > 1) {
      const f = new Float64Array(src.length);
      let acc = 0;
      for (let i = 0; i < src.length; i++) {
        acc += src[i]!;
        if (i >= w) acc -= src[i - w]!;
        f[i] = acc / Math.min(i + 1, w);
      }
      // Compensate the filter's group delay of (w-1)/2 samples (the tail repeats the last value).
      const shift = Math.floor((w - 1) / 2);
      const g = new Float64Array(src.length);
      for (let i = 0; i < g.length; i++) g[i] = f[Math.min(f.length - 1, i + shift)]!;
      src = g;
    }
  }
  const n = Math.floor((src.length * target) / rate);
  const out = new Int16Array(n);
  const step = rate / target;
  for (let i = 0; i < n; i++) {
    const x = i * step;
    const i0 = Math.floor(x);
    const frac = x - i0;
    const a = src[i0] ?? 0;
    const b = src[i0 + 1] ?? a;
    out[i] = Math.max(-32768, Math.min(32767, Math.round(a + (b - a) * frac)));
  }
  return out;
}

/** Reads a WAV and returns 8 kHz mono 16-bit PCM. */
export function wavTo8k(buf: Uint8Array): Int16Array {
  return resample(readWav(buf), 8000);
}

/** Writes mono or interleaved PCM as a canonical 44-byte-header WAV. */
export function writeWav(
  samples: Int16Array | Uint8Array,
  sampleRate: number,
  opts: { bits?: 8 | 16; channels?: number } = {},
): Buffer {
  const bits = opts.bits ?? 16;
  const channels = opts.channels ?? 1;
  const dataLen = bits === 16 ? samples.length * 2 : samples.length;
  const b = Buffer.alloc(44 + dataLen);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + dataLen, 4);
  b.write('WAVE', 8, 'ascii');
  b.write('fmt ', 12, 'ascii');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(channels, 22);
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE((sampleRate * channels * bits) / 8, 28);
  b.writeUInt16LE((channels * bits) / 8, 32);
  b.writeUInt16LE(bits, 34);
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(dataLen, 40);
  for (let i = 0; i < samples.length; i++) {
    if (bits === 16) b.writeInt16LE(samples[i]!, 44 + i * 2);
    else b[44 + i] = samples[i]!;
  }
  return b;
}
