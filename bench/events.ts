/**
 * Events across hubs on one PostgreSQL (docs/high-availability.md, "Events across hubs"):
 *
 *   npm run bench -- events [--hubs 3] [--events 5000] [--rate 2000]
 *
 * `--hubs` buses, each over its own pool on one durable throw-away cluster (fsync on), emit `--events`
 * events in all at about `--rate` per second, spread over the hubs; a feed on one more bus (the "reader"
 * hub, as an SSE client's) receives them. Prints the committed throughput, the latency from `emit` on a
 * writing hub to the reader's feed (p50/p99: the global numbering, the commit, the NOTIFY and the read),
 * the check that the feed saw every event once in seq order, the machine, and a SUMMARY line.
 */
import { EventBus } from '../src/core/bus.js';
import { postgresCoreStores } from '../src/store/postgres/core-stores.js';
import { PostgresDatabase } from '../src/store/postgres/database.js';
import { createDatabase, startPostgres } from '../test/helpers/postgres.js';
import { argNumber, loadLine, machineLine, percentile } from './_machine.js';

const HUBS = Math.round(argNumber('hubs', 3));
const EVENTS = Math.round(argNumber('events', 5000));
const RATE = argNumber('rate', 2000);

async function main(): Promise<void> {
  process.stdout.write(`Event sequence across hubs benchmark\n${machineLine()}\n${loadLine()}\n`);
  const cluster = await startPostgres({ durable: true });
  const dbs: PostgresDatabase[] = [];
  try {
    const url = await createDatabase(cluster, 'bench_events');
    const open = async () => {
      const db = new PostgresDatabase({ url, poolSize: 4 });
      dbs.push(db);
      await db.open();
      return EventBus.open(postgresCoreStores(db).events);
    };
    const writers = await Promise.all(Array.from({ length: HUBS }, open));
    const reader = await open();
    const emittedAt = new Map<string, number>();
    const latencies: number[] = [];
    const seqs: number[] = [];
    let done: () => void = () => {};
    const all = new Promise<void>((r) => {
      done = r;
    });
    reader.feed((e) => {
      const t = emittedAt.get(String(e.data.k));
      if (t !== undefined) latencies.push(performance.now() - t);
      seqs.push(e.seq);
      if (seqs.length === EVENTS) done();
    });
    // Let every LISTEN connection come up before the run.
    await new Promise((r) => setTimeout(r, 500));
    const started = performance.now();
    const perTick = Math.max(1, Math.round(RATE / 100));
    for (let k = 0; k < EVENTS; ) {
      for (let i = 0; i < perTick && k < EVENTS; i++, k++) {
        emittedAt.set(String(k), performance.now());
        writers[k % HUBS]!.emit({ source: `hub-${k % HUBS}`, type: 'bench.tick', data: { k } });
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const timeout = setTimeout(() => done(), 120_000);
    await all;
    clearTimeout(timeout);
    const seconds = (performance.now() - started) / 1000;
    const ordered = seqs.every((s, i) => i === 0 || s > seqs[i - 1]!);
    const unique = new Set(seqs).size === seqs.length;
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    process.stdout.write(
      `${HUBS} writing hubs, ${EVENTS} events offered at ~${RATE}/s: ${seqs.length} on the reader's feed in ${seconds.toFixed(1)} s ` +
        `(${(seqs.length / seconds).toFixed(0)} events/s), emit → feed p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; ` +
        `in seq order: ${ordered}, no duplicate: ${unique}\n`,
    );
    process.stdout.write(
      `SUMMARY events hubs=${HUBS} events=${seqs.length}/${EVENTS} per_s=${(seqs.length / seconds).toFixed(0)} ` +
        `feed_p50_ms=${p50.toFixed(1)} feed_p99_ms=${p99.toFixed(1)} ordered=${ordered && unique}\n`,
    );
    for (const b of [...writers, reader]) await b.close();
  } finally {
    for (const d of dbs) await d.close();
    await cluster.stop();
  }
}

await main();
