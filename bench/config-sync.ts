/**
 * Configuration changes across hubs (docs/high-availability.md "Configuration changes across hubs"): how
 * long after hub A answers a change does hub B answer the new value?
 *
 *   npm run bench -- config-sync [--changes 100] [--quick]
 *
 * Two hubs (in this process, each with its own HTTP server, pool and LISTEN connection) on one durable
 * throw-away PostgreSQL cluster on 127.0.0.1. Each change is a `PUT /api/locations/<ext>` on A; the
 * clock starts when A answers and stops when B's `GET /api/locations/<ext>` (the 911 lookup, from
 * memory) answers the new room, polled every 2 ms. A second run sets B's notifications aside (B only
 * polls, `cluster.configPollMs` 1000): the bound when every NOTIFY is lost.
 */
import { performance } from 'node:perf_hooks';
import { apiCall } from '../test/helpers/hub.js';
import { createDatabase, startPostgres } from '../test/helpers/postgres.js';
import { startBenchHub } from './_hub.js';
import { argNumber, loadLine, machineLine, percentile } from './_machine.js';

const QUICK = process.argv.includes('--quick');
const CHANGES = argNumber('changes', QUICK ? 20 : 100);

interface Hub {
  url: string;
  key: string;
  stop(): Promise<void>;
}

async function hub(name: string, storeUrl: string, listen: boolean): Promise<Hub> {
  const h = await startBenchHub(name, { 'store.url': storeUrl });
  if (!listen) {
    // This hub hears no notification: only its poll applies changes (a lost NOTIFY, every time).
    h.hub.configSync.stop();
    h.hub.stores.configChanges.watch = () => () => {};
    h.hub.configSync.start();
  }
  const key = (await h.hub.apiKeys.create('bench')).key;
  return { url: h.url, key, stop: () => h.stop() };
}

const call = (h: Hub, method: string, path: string, body?: unknown) =>
  apiCall<{ entry?: { room?: string } | null }>(h.url, h.key, method, path, body);

async function run(a: Hub, b: Hub, prefix: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const ext = `${prefix}${i}`;
    const room = `R${i}`;
    const put = await call(a, 'PUT', `/api/locations/${ext}`, { room });
    if (put.status !== 200) throw new Error(`PUT on A answered ${put.status}`);
    const t0 = performance.now();
    for (;;) {
      const got = await call(b, 'GET', `/api/locations/${ext}`);
      if (got.body.entry?.room === room) break;
      if (performance.now() - t0 > 10_000) throw new Error(`B never answered ${ext}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    out.push(performance.now() - t0);
  }
  return out;
}

const fmt = (xs: number[]) =>
  `p50 ${percentile(xs, 50).toFixed(0)} ms, p99 ${percentile(xs, 99).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;

async function main(): Promise<void> {
  process.stdout.write(`Configuration changes across hubs\n${machineLine()}\n${loadLine()}\n`);
  process.stdout.write(
    `${CHANGES} location changes on A, read back on B; two hubs, one durable PostgreSQL on 127.0.0.1\n\n`,
  );
  const cluster = await startPostgres({ durable: true });
  try {
    const url = await createDatabase(cluster, `bench_config_${process.pid}`);
    const a = await hub('config-a', url, true);
    const b = await hub('config-b', url, true);
    const c = await hub('config-c', url, false);
    try {
      const byNotify = await run(a, b, '5');
      process.stdout.write(`by NOTIFY:        ${fmt(byNotify)}\n`);
      const byPoll = await run(a, c, '6');
      process.stdout.write(`by the poll only:  ${fmt(byPoll)} (cluster.configPollMs 1000)\n`);
      process.stdout.write(
        `SUMMARY config-sync ${CHANGES} changes: A's answer → B's answer by NOTIFY p50 ${percentile(byNotify, 50).toFixed(0)} ms p99 ${percentile(byNotify, 99).toFixed(0)} ms; by the poll alone p99 ${percentile(byPoll, 99).toFixed(0)} ms max ${Math.max(...byPoll).toFixed(0)} ms\n`,
      );
    } finally {
      await c.stop();
      await b.stop();
      await a.stop();
    }
  } finally {
    await cluster.stop();
  }
}

await main();
