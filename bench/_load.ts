/**
 * HTTP load generator for the benches, run in its own process (so that it does not share the thread of the
 * server it measures): `node --import tsx bench/_load.ts <url> <seconds> <concurrency> <user-agent> [keepalive]`.
 * Prints one JSON line: { ok, failed, seconds, p50, p99 }. Every answer must be 200 with its full Content-Length.
 */
import http from 'node:http';
import { httpRequest } from '../src/net/http-client.js';
import { percentile } from './_machine.js';

const [url, secondsArg, concurrencyArg, ua, mode] = process.argv.slice(2);
const seconds = Number(secondsArg);
const concurrency = Number(concurrencyArg);
const agent = mode === 'keepalive' ? new http.Agent({ keepAlive: true, maxSockets: concurrency }) : undefined;
const lat: number[] = [];
let ok = 0;
let failed = 0;
const end = performance.now() + seconds * 1000;
const worker = async () => {
  while (performance.now() < end) {
    const s = performance.now();
    try {
      const r = await httpRequest({
        url: url!,
        headers: { 'user-agent': ua ?? '' },
        timeoutMs: 5000,
        ...(agent ? { agent } : {}),
      });
      if (r.status === 200 && r.body.length === Number(r.headers['content-length'])) ok++;
      else failed++;
    } catch {
      failed++;
    }
    lat.push(performance.now() - s);
  }
};
const t = performance.now();
await Promise.all(Array.from({ length: concurrency }, worker));
agent?.destroy();
console.log(
  JSON.stringify({
    ok,
    failed,
    seconds: (performance.now() - t) / 1000,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
  }),
);
