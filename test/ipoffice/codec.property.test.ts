import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSwitchboardError } from '../../src/core/errors.js';
import { decodeEventRecords } from '../../src/drivers/ipoffice/event-records.js';
import { encodeFrame, FrameDecoder } from '../../src/drivers/ipoffice/frame.js';
import {
  decodePacket,
  decodeTuples,
  encodePacket,
  type Packet,
  TupleCode,
  utf8Tuple,
} from '../../src/drivers/ipoffice/packets.js';
import { parseDelta2, parseDelta3, parseSipTrack } from '../../src/drivers/ipoffice/records.js';
import { SEED_ANSWERED, SEED_DIAL_TONE, SEED_HANG_UP, SEED_INCOMING_ISDN } from './fixtures/seed-records.js';

const SEEDS = [SEED_DIAL_TONE, SEED_INCOMING_ISDN, SEED_ANSWERED, SEED_HANG_UP];

const packetArb: fc.Arbitrary<Packet> = fc.oneof(
  fc.record({
    type: fc.constant('test' as const),
    requestId: fc.nat(),
    payload: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  }),
  fc.record({
    type: fc.constant('event' as const),
    pbxIp: fc.ipV4(),
    counter: fc.nat(),
    tuples: fc.array(
      fc.oneof(
        fc.constantFrom(...SEEDS).map((s) => utf8Tuple(TupleCode.CallDelta3, s)),
        fc.record({ code: fc.nat(), data: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)) }),
      ),
      { maxLength: 4 },
    ),
  }),
  fc.record({
    type: fc.constant('readFileResponse' as const),
    requestId: fc.nat(),
    result: fc.nat(),
    contents: fc.integer({ min: 0, max: 34000 }).map((n) => Buffer.alloc(n, 0x41)),
  }),
);

function expectTyped(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!isSwitchboardError(e)) throw e;
    expect(e.code).toMatch(/^DEVLINK3_/);
  }
}

describe('codec properties', () => {
  it('any split of a valid stream decodes identically', () => {
    fc.assert(
      fc.property(
        fc.array(packetArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (packets, cuts) => {
          const payloads = packets.map((p) => encodePacket(p));
          const stream = Buffer.concat(payloads.map((p) => encodeFrame(p)));
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const d = new FrameDecoder();
          const out: Buffer[] = [];
          let prev = 0;
          for (const p of [...points, stream.length]) {
            out.push(...d.push(stream.subarray(prev, p)));
            prev = p;
          }
          expect(out.length).toBe(payloads.length);
          out.forEach((o, i) => {
            expect(o.equals(payloads[i]!)).toBe(true);
            expect(encodePacket(decodePacket(o)).equals(payloads[i]!)).toBe(true);
          });
          expect(d.pending).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('random bytes never crash or hang the decoders (typed errors only)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (chunks) => {
        const d = new FrameDecoder({ maxFrame: 64 * 1024 });
        for (const c of chunks) {
          let frames: Buffer[] = [];
          try {
            frames = d.push(c);
          } catch (e) {
            if (!isSwitchboardError(e)) throw e;
            break;
          }
          for (const f of frames) {
            expectTyped(() => {
              const p = decodePacket(f);
              if (p.type === 'event') decodeEventRecords(p);
            });
          }
        }
        for (const c of chunks) {
          expectTyped(() => decodePacket(Buffer.from(c)));
          expectTyped(() => decodeTuples(Buffer.from(c)));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('random record text only throws the typed error', () => {
    const xmlish = fc.stringMatching(/^[<>/A-Za-z_,"0-9 \n&;#]{0,200}$/);
    const mutated = fc
      .tuple(fc.constantFrom(...SEEDS), fc.nat(), fc.nat(), fc.string({ maxLength: 5 }))
      .map(([s, a, b, ins]) => {
        const i = a % (s.length + 1);
        const j = Math.min(s.length, i + (b % 20));
        return s.slice(0, i) + ins + s.slice(j);
      });
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), xmlish, mutated), (text) => {
        expectTyped(() => parseDelta3(text));
        expectTyped(() => parseDelta2(text));
        expectTyped(() => parseSipTrack(text));
      }),
      { numRuns: 2000 },
    );
  });
});
