import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import {
  GroupCommit,
  KeyedSerialQueue,
  Semaphore,
  type SlotPriority,
  scheduleWrite,
  TurnPacer,
} from '../../src/core/serial.js';

/** A task that runs until released, recording when it started. */
function gate(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((r) => {
    release = r;
  });
  return {
    release: () => release(),
    task: async () => {
      log.push(name);
      await done;
      return name;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('Semaphore', () => {
  it('runs high tasks in submission order within the limit', async () => {
    const sem = new Semaphore(2);
    const log: string[] = [];
    const gs = ['a', 'b', 'c', 'd'].map((n) => gate(log, n));
    const runs = gs.map((g) => sem.run(g.task));
    await tick();
    expect(log).toEqual(['a', 'b']);
    gs[1]!.release();
    await tick();
    expect(log).toEqual(['a', 'b', 'c']);
    for (const g of gs) g.release();
    expect(await Promise.all(runs)).toEqual(['a', 'b', 'c', 'd']);
    expect(sem.stats).toEqual({ active: 0, activeHigh: 0, waitingHigh: 0, waitingLow: 0 });
  });

  it('starts a low task only once no high task runs or waits, even with free slots', async () => {
    const sem = new Semaphore(4);
    const log: string[] = [];
    const h1 = gate(log, 'h1');
    const l1 = gate(log, 'l1');
    const h2 = gate(log, 'h2');
    const r = [sem.run(h1.task), sem.run(l1.task, 'low'), sem.run(h2.task)];
    await tick();
    // A later high task overtakes the waiting low one; the free slots stay free for it.
    expect(log).toEqual(['h1', 'h2']);
    h1.release();
    await tick();
    expect(log).toEqual(['h1', 'h2']);
    h2.release();
    await tick();
    expect(log).toEqual(['h1', 'h2', 'l1']);
    l1.release();
    await Promise.all(r);
  });

  it('promotes a low task that waited maxLowWaitMs (extras are late, never starved)', async () => {
    const clock = new ManualClock();
    const sem = new Semaphore(2, { clock, maxLowWaitMs: 2000 });
    const log: string[] = [];
    const h = gate(log, 'h');
    const l = gate(log, 'l');
    const r = [sem.run(h.task), sem.run(l.task, 'low')];
    await tick();
    expect(log).toEqual(['h']);
    clock.advance(1999);
    await tick();
    expect(log).toEqual(['h']);
    clock.advance(1);
    await tick();
    expect(log).toEqual(['h', 'l']);
    expect(sem.stats.activeHigh).toBe(2);
    h.release();
    l.release();
    await Promise.all(r);
  });

  it('never exceeds the limit, runs every task once, and no low task starts while a high one waits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.record({ p: fc.constantFrom<SlotPriority>('high', 'low'), ms: fc.nat(3) }), {
          maxLength: 30,
        }),
        async (limit, tasks) => {
          const sem = new Semaphore(limit);
          let running = 0;
          let max = 0;
          const started: number[] = [];
          await Promise.all(
            tasks.map((t, i) =>
              sem.run(async () => {
                if (t.p === 'low') expect(sem.stats.waitingHigh).toBe(0);
                started.push(i);
                running++;
                max = Math.max(max, running);
                for (let k = 0; k < t.ms; k++) await tick();
                running--;
              }, t.p),
            ),
          );
          expect(max).toBeLessThanOrEqual(limit);
          expect(started.sort((a, b) => a - b)).toEqual(tasks.map((_, i) => i));
          expect(sem.stats).toEqual({ active: 0, activeHigh: 0, waitingHigh: 0, waitingLow: 0 });
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('KeyedSerialQueue', () => {
  it('runs one task at a time per key, keys in parallel', async () => {
    const q = new KeyedSerialQueue();
    const log: string[] = [];
    const a1 = gate(log, 'a1');
    const a2 = gate(log, 'a2');
    const b1 = gate(log, 'b1');
    const r = [q.run('a', a1.task), q.run('a', a2.task), q.run('b', b1.task)];
    await tick();
    expect(log).toEqual(['a1', 'b1']);
    a1.release();
    await tick();
    expect(log).toEqual(['a1', 'b1', 'a2']);
    a2.release();
    b1.release();
    await Promise.all(r);
    await tick();
    expect(q.activeKeys).toBe(0);
  });
});

describe('TurnPacer', () => {
  it('lets at most `burst` starts through per event-loop turn, in order, with I/O turns between bursts', async () => {
    const pacer = new TurnPacer(4);
    const turn = { n: 0 };
    const ticker = setInterval(() => {}, 1000);
    let stop = false;
    const count = async () => {
      while (!stop) {
        await new Promise((r) => setImmediate(r));
        turn.n++;
      }
    };
    void count();
    const started: Array<[number, number]> = [];
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        await pacer.next();
        started.push([i, turn.n]);
      }),
    );
    stop = true;
    clearInterval(ticker);
    expect(started.map(([i]) => i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const perTurn = new Map<number, number>();
    for (const [, t] of started) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
    expect([...perTurn.values()]).toEqual([4, 4, 2]);
    // Room again once a turn has passed.
    await new Promise((r) => setImmediate(r));
    expect(pacer.next()).toBeUndefined();
    expect(() => new TurnPacer(0)).toThrow(RangeError);
  });

  it('scheduleWrite: 0 runs on the next turn, a delay runs after it', async () => {
    const order: string[] = [];
    scheduleWrite(15, () => order.push('delayed'));
    scheduleWrite(0, () => order.push('next turn'));
    await new Promise((r) => setTimeout(r, 40));
    expect(order).toEqual(['next turn', 'delayed']);
  });
});

describe('GroupCommit', () => {
  it('goes at once while fewer than inFlight commits run; later items wait and go together, at most max per group', async () => {
    const groups: number[][] = [];
    const gates: Array<() => void> = [];
    const g = new GroupCommit<number, string>(
      async (group) => {
        groups.push(group.map((m) => m.item));
        await new Promise<void>((r) => gates.push(r));
        for (const m of group) m.resolve(`v${m.item}`);
      },
      { inFlight: 2, max: 3 },
    );
    const all = Array.from({ length: 8 }, (_, i) => g.add(i));
    // Two alone (the in-flight slots), the rest waiting.
    expect(groups).toEqual([[0], [1]]);
    gates.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(groups).toEqual([[0], [1], [2, 3, 4]]);
    while (groups.length < 4 || gates.length) {
      gates.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    expect(groups).toEqual([[0], [1], [2, 3, 4], [5, 6, 7]]);
    expect(await Promise.all(all)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7']);
  });

  it('a commit that throws rejects the members it did not settle, and the next group still goes', async () => {
    let calls = 0;
    const g = new GroupCommit<number, number>(
      async (group) => {
        calls++;
        if (calls === 2) {
          group[0]!.resolve(-1);
          throw new Error('store down');
        }
        for (const m of group) m.resolve(m.item);
      },
      { inFlight: 1, max: 10 },
    );
    const r = await Promise.allSettled([g.add(1), g.add(2), g.add(3), g.add(4)]);
    expect(r.map((x) => (x.status === 'fulfilled' ? x.value : (x.reason as Error).message))).toEqual([
      1,
      -1,
      'store down',
      'store down',
    ]);
    expect(await g.add(5)).toBe(5);
  });

  it("alone: a group refused for one member's value is committed again one by one, so only that member fails", async () => {
    const groups: number[][] = [];
    const g = new GroupCommit<number, number>(
      async (group) => {
        groups.push(group.map((m) => m.item));
        if (group.some((m) => m.item === 3)) throw Object.assign(new Error('bad value'), { bad: true });
        for (const m of group) m.resolve(m.item * 10);
      },
      { inFlight: 1, max: 10, alone: (e) => (e as { bad?: boolean }).bad === true },
    );
    const r = await Promise.allSettled([1, 2, 3, 4].map((x) => g.add(x)));
    expect(r.map((x) => (x.status === 'fulfilled' ? x.value : (x.reason as Error).message))).toEqual([
      10,
      20,
      'bad value',
      40,
    ]);
    expect(groups).toEqual([[1], [2, 3, 4], [2], [3], [4]]);
    // Any other error rejects the whole group at once.
    const h = new GroupCommit<number, number>(
      async () => {
        throw new Error('store down');
      },
      { inFlight: 1, max: 10, alone: () => false },
    );
    const down = await Promise.allSettled([h.add(1), h.add(2), h.add(3)]);
    expect(down.every((x) => x.status === 'rejected')).toBe(true);
  });

  it('a member the commit forgot is rejected, not left waiting', async () => {
    const g = new GroupCommit<number, number>(
      async (group) => {
        group[0]!.resolve(group[0]!.item);
      },
      { inFlight: 1, max: 10 },
    );
    const r = await Promise.allSettled([g.add(1), g.add(2), g.add(3)]);
    expect(r[0]).toEqual({ status: 'fulfilled', value: 1 });
    expect(r[1]).toEqual({ status: 'fulfilled', value: 2 });
    expect(r[2]).toMatchObject({
      status: 'rejected',
      reason: { message: expect.stringContaining('without settling') },
    });
  });
});
