import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  alawToLinear,
  decodeG711,
  encodeG711,
  linearToAlaw,
  linearToUlaw,
  ulawToLinear,
} from '../../src/media/g711.js';

describe('G.711', () => {
  it('known vectors', () => {
    expect(linearToUlaw(0)).toBe(0xff);
    expect(linearToUlaw(-1)).toBe(0x7f);
    expect(linearToUlaw(32767)).toBe(0x80);
    expect(linearToUlaw(-32768)).toBe(0x00);
    expect(ulawToLinear(0x80)).toBe(32124);
    expect(ulawToLinear(0x00)).toBe(-32124);
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(linearToAlaw(-8)).toBe(0x55);
    expect(alawToLinear(0xd5)).toBe(8);
    expect(alawToLinear(0xaa)).toBe(32256);
    expect(alawToLinear(0x2a)).toBe(-32256);
  });
  it('every code word survives decode → encode (µ-law 0x7F is negative zero)', () => {
    for (let b = 0; b < 256; b++) {
      if (b !== 0x7f) expect(linearToUlaw(ulawToLinear(b))).toBe(b);
      expect(linearToAlaw(alawToLinear(b))).toBe(b);
    }
  });
  it('property: quantisation error is bounded relative to the magnitude', () => {
    fc.assert(
      fc.property(fc.integer({ min: -32768, max: 32767 }), (x) => {
        const u = ulawToLinear(linearToUlaw(x));
        const a = alawToLinear(linearToAlaw(x));
        const clip = Math.max(-32124, Math.min(32124, x));
        expect(Math.abs(u - clip)).toBeLessThanOrEqual(Math.max(8, Math.abs(x) / 16) + 4);
        expect(Math.abs(a - Math.max(-32256, Math.min(32256, x)))).toBeLessThanOrEqual(
          Math.max(16, Math.abs(x) / 16) + 8,
        );
        expect(Math.sign(u) * Math.sign(x)).not.toBe(-1);
      }),
      { numRuns: 5000 },
    );
  });
  it('property: encode is monotonic in the decoded domain and idempotent', () => {
    fc.assert(
      fc.property(fc.integer({ min: -32768, max: 32766 }), (x) => {
        expect(ulawToLinear(linearToUlaw(x + 1))).toBeGreaterThanOrEqual(ulawToLinear(linearToUlaw(x)));
        expect(alawToLinear(linearToAlaw(x + 1))).toBeGreaterThanOrEqual(alawToLinear(linearToAlaw(x)));
        const once = ulawToLinear(linearToUlaw(x));
        expect(ulawToLinear(linearToUlaw(once))).toBe(once);
      }),
      { numRuns: 5000 },
    );
  });
  it('buffers round-trip', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom('PCMU' as const, 'PCMA' as const),
        (bytes, codec) => {
          const pcm = decodeG711(bytes, codec);
          const again = encodeG711(pcm, codec);
          expect(decodeG711(again, codec)).toEqual(pcm);
        },
      ),
    );
  });
});
