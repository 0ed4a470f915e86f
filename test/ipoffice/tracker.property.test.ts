import net from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCallLost, encodeDetail, parseDelta3 } from '../../src/drivers/ipoffice/records.js';
import { CallTracker } from '../../src/drivers/ipoffice/tracker.js';
import { Devlink3Simulator } from '../../src/sim/ipoffice/server.js';
import { waitFor } from './helpers.js';

const N = 'c0a82a03';
const end = (n: number) => `${N}${n.toString(16).padStart(8, '0')}`;

// A random record over a small id space so that calls, ends and moves collide often.
const recordArb = fc.oneof(
  fc
    .record({
      call: fc.integer({ min: 1, max: 4 }),
      a: fc.integer({ min: 1, max: 6 }),
      b: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
      sa: fc.constantFrom(1, 2, 7, 8, 15, 19),
      sb: fc.constantFrom(1, 2),
      audio: fc.constantFrom(0, 1),
      ct: fc.constantFrom(0, 101, 119),
      dialled: fc.constantFrom('', '9', '911', '933', '4002'),
      rel: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
      targets: fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 3 }),
    })
    .map((r) =>
      encodeDetail({
        call: { nodeId: N, callId: r.call },
        partyA: {
          endId: end(r.a),
          direction: 1,
          state: r.sa,
          audioPath: r.audio,
          identity: '4001',
          calledType: r.ct,
          dialled: r.dialled,
        },
        partyB:
          r.b === undefined || r.b === r.a
            ? undefined
            : {
                endId: end(r.b),
                direction: 0,
                state: r.sb,
                audioPath: 1,
                identity: '4002',
                relatedEndId: r.rel === undefined ? '' : end(r.rel),
              },
        targets: r.targets.map((t) => ({ endId: end(10 + t), identity: `40${t}` })),
      }),
    ),
  fc
    .record({ e: fc.integer({ min: 1, max: 6 }), cause: fc.constantFrom(16, 126), link: fc.boolean() })
    .map((r) =>
      encodeCallLost(
        { nodeId: N, endId: end(r.e), clearedInbound: 1, cause: r.cause },
        r.link ? 'LinkLost' : 'CallLost',
      ),
    ),
  fc.integer({ min: 1, max: 16 }).map((e) => `<AttemptReject>${N},${end(e)},4002,"dnd",1</AttemptReject>`),
);

describe('tracker properties', () => {
  it('any record sequence keeps the model consistent, and losing every end closes every call', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 60 }), (texts) => {
        const ended = new Set<string>();
        const started = new Set<string>();
        let emergencies = 0;
        let starts = 0;
        const t = new CallTracker({
          emit: (type, d) => {
            if (type === 'call.started') {
              started.add(d.callKey as string);
              starts++;
            }
            if (type === 'call.ended') {
              expect(started.has(d.callKey as string)).toBe(true);
              ended.add(d.callKey as string);
            }
            if (type === 'call.emergency') emergencies++;
          },
        });
        for (const x of texts) t.onDelta3(parseDelta3(x), x);
        for (const c of t.list()) {
          expect(c.parties.length).toBeGreaterThan(0);
          expect(c.parties.length).toBeLessThanOrEqual(2);
        }
        for (let e = 1; e <= 6; e++)
          t.onDelta3(parseDelta3(encodeCallLost({ nodeId: N, endId: end(e), cause: 16 })));
        expect(t.size).toBe(0);
        // at most one emergency per call lifetime
        expect(emergencies).toBeLessThanOrEqual(starts);
      }),
      { numRuns: 300 },
    );
  });
});

describe('simulator robustness', () => {
  it('garbage from a client drops that connection only; the simulator keeps serving', async () => {
    const sim = await new Devlink3Simulator({ credentials: { u: 'p' } }).start();
    try {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (bytes) => {
          const s = net.connect(sim.port, '127.0.0.1');
          await new Promise<void>((r) => s.once('connect', () => r()));
          s.on('error', () => {});
          s.write(bytes);
          s.end();
          await new Promise<void>((r) => s.once('close', () => r()));
        }),
        { numRuns: 30 },
      );
      await waitFor(() => sim.connectionCount === 0);
      const { readFile } = await import('../../src/drivers/ipoffice/connection.js');
      const users = await readFile(
        { host: '127.0.0.1', port: sim.port, user: 'u', password: 'p' },
        'nasystem/user_list',
      );
      expect(users.length).toBeGreaterThan(0);
    } finally {
      await sim.stop();
    }
  });
});
