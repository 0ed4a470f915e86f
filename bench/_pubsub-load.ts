/**
 * One load process of the PubSub bench (bench/pubsub.ts starts one or more, so that the load is generated
 * outside the servers it measures): `node --import tsx bench/_pubsub-load.ts '<LoadJob as JSON>'`.
 *
 * It long-polls its own share of the queues and publishes to exactly those queues, so that a message's send
 * time and its arrival are read from the same clock (performance.now() of this process). With several servers
 * (`spec.bases`), subscriber i long-polls server i mod H, and every message to its queue is published on
 * another server, in turn: each message crosses from one hub (or nginx instance) to another.
 *
 * Protocol on stdout/stdin: one line `{"ready":true}` once every subscriber is polling; then it waits for a
 * line `go` on stdin, publishes, waits for every accepted message to arrive (or `timeoutMs`), and prints one
 * line of LoadResult JSON.
 */
import http from 'node:http';
import { createInterface } from 'node:readline';
import { type PubSubTargetSpec, publishOnce, subscribeLoop, switchboardSession } from './_pubsub-client.js';

export interface LoadJob {
  spec: PubSubTargetSpec;
  run: string;
  /** Queue numbers this process subscribes to and publishes to. */
  queues: number[];
  /** Messages this process publishes, round-robin over its queues. */
  messages: number;
  inFlight: number;
  /** Time to let the subscribers' first polls reach the servers before `ready`. */
  settleMs: number;
  /** How long to wait for the last message after the last publish. */
  timeoutMs: number;
}

export interface LoadResult {
  published: number;
  publishErrors: number;
  firstError?: string;
  delivered: number;
  duplicates: number;
  /** Wall-clock (performance.timeOrigin + now) bounds of the measurement, to combine processes. */
  startMs: number;
  endMs: number;
  /** Publish → arrival latency of each message, ms. */
  latencies: number[];
  /** This load process's CPU (user + system) from `go` to the end of the measurement, ms. */
  cpuMs: number;
}

/** Server index for publishing message `k` to a queue polled on server `home`: always another one. */
export function publishServer(home: number, k: number, servers: number): number {
  return servers <= 1 ? 0 : (home + 1 + (k % (servers - 1))) % servers;
}

async function main(job: LoadJob): Promise<void> {
  const { spec, run, queues } = job;
  const H = spec.bases.length;
  const subAgent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const pubAgent = new http.Agent({ keepAlive: true, maxSockets: job.inFlight });
  // One session per subscriber, made on the hub it polls, as separate clients behind a load balancer would
  // have. Two /auth requests at a time: the hub counts /auth in flight per (address, account) against its
  // failure limit before the token is checked.
  const sessions = new Map<number, string>();
  if (spec.kind === 'switchboard') {
    let next = 0;
    await Promise.all(
      Array.from({ length: 2 }, async () => {
        for (let j = next++; j < queues.length; j = next++) {
          const q = queues[j]!;
          sessions.set(q, await switchboardSession(subAgent, spec.bases[q % H]!, spec.sid, spec.authToken));
        }
      }),
    );
  }
  const seen = new Set<number>();
  const latencies: number[] = [];
  let duplicates = 0;
  let expected = Number.POSITIVE_INFINITY;
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => {
    resolveAll = r;
  });
  let stopped = false;
  const subs = queues.map((q) =>
    subscribeLoop(
      spec,
      spec.bases[q % H]!,
      sessions.get(q) ?? '',
      run,
      q,
      subAgent,
      (m) => {
        if (seen.has(m.k)) {
          duplicates++;
          return;
        }
        seen.add(m.k);
        latencies.push(performance.now() - m.t);
        if (seen.size >= expected) resolveAll();
      },
      () => stopped,
    ).catch((e: unknown) => process.stderr.write(`${spec.name} subscriber: ${(e as Error).message}\n`)),
  );
  await new Promise((r) => setTimeout(r, job.settleMs));
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  const lines = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => {
    lines.on('line', (l) => l.trim() === 'go' && resolve());
    // The bench went away before starting the run: nothing to measure.
    lines.on('close', () => process.exit(1));
  });
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  let next = 0;
  let published = 0;
  let publishErrors = 0;
  let firstError: string | undefined;
  const worker = async () => {
    while (next < job.messages) {
      const k = next++;
      const q = queues[k % queues.length]!;
      const t = performance.now();
      try {
        await publishOnce(spec, spec.bases[publishServer(q % H, k, H)]!, run, q, `t=${t}&k=${k}`, pubAgent);
        published++;
      } catch (e) {
        publishErrors++;
        firstError ??= (e as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: job.inFlight }, worker));
  expected = published;
  if (seen.size >= expected) resolveAll();
  await Promise.race([all, new Promise((r) => setTimeout(r, job.timeoutMs))]);
  const end = performance.now();
  const cpu = process.cpuUsage(cpu0);
  stopped = true;
  subAgent.destroy();
  pubAgent.destroy();
  await Promise.race([Promise.all(subs), new Promise((r) => setTimeout(r, 2000))]);
  const result: LoadResult = {
    published,
    publishErrors,
    ...(firstError ? { firstError } : {}),
    delivered: seen.size,
    duplicates,
    startMs: performance.timeOrigin + start,
    endMs: performance.timeOrigin + end,
    latencies,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

if (process.argv[2]) await main(JSON.parse(process.argv[2]) as LoadJob);
