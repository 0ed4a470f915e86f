/**
 * Tone generator for alert chimes at 8 kHz (pure). Each tone is a list of segments (frequencies mixed,
 * duration, gap); edges get a 5 ms ramp to avoid clicks.
 */
export interface ToneSegment {
  freqs: number[];
  ms: number;
  gapMs?: number;
}

export const TONES = {
  /** Two-note descending chime (E6 → C6), like a public-address pre-announcement. */
  chime: [
    { freqs: [1319], ms: 400, gapMs: 50 },
    { freqs: [1047], ms: 600, gapMs: 200 },
  ],
  /** Urgent alternating hi-lo alert, three cycles. */
  alert: Array.from({ length: 6 }, (_, i) => ({ freqs: [i % 2 === 0 ? 960 : 770], ms: 250 })),
  /** Short beep. */
  beep: [{ freqs: [1000], ms: 200, gapMs: 100 }],
  /** Three-tone rising "attention" (C5 E5 G5). */
  attention: [
    { freqs: [523], ms: 200, gapMs: 30 },
    { freqs: [659], ms: 200, gapMs: 30 },
    { freqs: [784], ms: 400, gapMs: 100 },
  ],
} satisfies Record<string, ToneSegment[]>;

export type ToneName = keyof typeof TONES;
export const TONE_NAMES = Object.keys(TONES) as ToneName[];

export function generateTone(
  segments: ToneSegment[],
  opts: { sampleRate?: number; amplitude?: number; repeat?: number } = {},
): Int16Array {
  const rate = opts.sampleRate ?? 8000;
  const amp = Math.max(0, Math.min(1, opts.amplitude ?? 0.5)) * 32767;
  const repeat = Math.max(1, Math.min(100, Math.floor(opts.repeat ?? 1)));
  const parts: number[] = [];
  for (let r = 0; r < repeat; r++) {
    for (const seg of segments) {
      const n = Math.round((seg.ms * rate) / 1000);
      const ramp = Math.min(Math.round(0.005 * rate), Math.floor(n / 2));
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (const f of seg.freqs) v += Math.sin((2 * Math.PI * f * i) / rate);
        v /= Math.max(1, seg.freqs.length);
        const env = i < ramp ? i / ramp : i >= n - ramp ? (n - 1 - i) / ramp : 1;
        parts.push(Math.round(v * env * amp));
      }
      const gap = Math.round(((seg.gapMs ?? 0) * rate) / 1000);
      for (let i = 0; i < gap; i++) parts.push(0);
    }
  }
  return Int16Array.from(parts);
}

export function namedTone(name: ToneName, repeat = 1): Int16Array {
  return generateTone(TONES[name], { repeat });
}
