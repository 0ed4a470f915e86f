import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  type PostgresCluster,
  postgresAvailability,
  startPostgres,
} from '../helpers/postgres.js';
import { type SpawnedHub, spawnSwitchboard } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

/**
 * One global event sequence across real `switchboard serve` processes on one throw-away PostgreSQL:
 * events emitted on hubs A and B appear on an SSE stream held on hub C in one order (the table's);
 * resuming with Last-Event-ID on another hub continues without gap or duplicate; kill -9 of a hub in the
 * middle of a burst loses no event it had stored and duplicates no id; PostgreSQL stopped and started:
 * the hubs keep taking events (buffered), and the streams get them once it is back.
 *
 * Events are made through a route every hub has and that emits one event per request without a device:
 * Cisco's `/cisco/events/notify` (its per-address limit and known-phone check lifted by environment).
 */
const pgAvail = postgresAvailability();

interface Hub {
  proc: SpawnedHub;
  url: string;
  dir: string;
}

interface Seen {
  seq: number;
  id: string;
  mark: string;
}

let cluster: PostgresCluster;
let storeUrl: string;
let key: string;
const hubs: Hub[] = [];

const env = () => ({
  SWITCHBOARD_STORE_URL: storeUrl,
  SWITCHBOARD_CISCO_EVENTS_KNOWN_PHONES_ONLY: 'false',
  SWITCHBOARD_CISCO_EVENTS_MAX_PER_ADDRESS_PER_MINUTE: '100000',
  SWITCHBOARD_EVENTS_FEED_POLL_MS: '500',
});

async function startHub(dir = mkdtempSync(join(tmpdir(), 'sb-evseq-hub-'))): Promise<Hub> {
  const proc = spawnSwitchboard(
    ['serve', '--data-dir', dir, '--port', '0', '--host', '127.0.0.1', '--log-level', 'info'],
    env(),
  );
  const url = (await proc.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/, 120_000))[1]!;
  const hub = { proc, url, dir };
  hubs.push(hub);
  return hub;
}

/** One event on `hub`, marked in its data; true when the hub accepted it. */
async function emit(hub: Hub, mark: string): Promise<boolean> {
  const r = await fetch(`${hub.url}/cisco/events/notify`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: mark,
  });
  await r.text();
  return r.status === 200;
}

const markOf = (e: { data: { data?: unknown } }) => String(e.data.data);

/**
 * Follows `/api/events/stream?type=cisco.notify` like the console does: reconnects with Last-Event-ID when
 * the stream ends or breaks (to the next hub of `on()`), and records every event received.
 */
function follow(on: () => Hub, after?: number) {
  const seen: Seen[] = [];
  const ctl = new AbortController();
  let last = after;
  let connects = 0;
  const loop = async () => {
    while (!ctl.signal.aborted) {
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${key}` };
        if (last !== undefined) headers['last-event-id'] = String(last);
        const res = await fetch(`${on().url}/api/events/stream?type=cisco.notify`, {
          headers,
          signal: ctl.signal,
        });
        if (res.status !== 200 || !res.body) throw new Error(`HTTP ${res.status}`);
        connects++;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const id = /^id: (\d+)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (!id || !data) continue;
            const ev = JSON.parse(data) as { seq: number; id: string; data: { data?: unknown } };
            expect(ev.seq).toBe(Number(id));
            seen.push({ seq: ev.seq, id: ev.id, mark: markOf(ev) });
            last = ev.seq;
          }
        }
      } catch {
        // the hub went away or the stream broke: reconnect below
      }
      if (!ctl.signal.aborted) await new Promise((r) => setTimeout(r, 200));
    }
  };
  const done = loop();
  return {
    seen,
    connects: () => connects,
    async stop() {
      ctl.abort();
      await done;
    },
  };
}

/** Every stored cisco.notify event, in seq order, read through `hub`'s `/api/events?after=`. */
async function table(hub: Hub): Promise<Seen[]> {
  const out: Seen[] = [];
  let after = 0;
  for (;;) {
    const r = await fetch(`${hub.url}/api/events?type=cisco.notify&limit=1000&after=${after}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(r.status).toBe(200);
    const page = (await r.json()) as {
      events: Array<{ seq: number; id: string; data: { data?: unknown } }>;
      next: number;
    };
    out.push(...page.events.map((e) => ({ seq: e.seq, id: e.id, mark: markOf(e) })));
    if (page.events.length < 1000) return out;
    after = page.next;
  }
}

/** Strictly increasing seqs, unique ids. */
function expectOneOrder(list: Seen[]): void {
  for (let i = 1; i < list.length; i++) expect(list[i]!.seq).toBeGreaterThan(list[i - 1]!.seq);
  expect(new Set(list.map((e) => e.id)).size).toBe(list.length);
}

async function stopHub(h: Hub): Promise<void> {
  if (h.proc.proc.exitCode === null && h.proc.proc.signalCode === null) {
    h.proc.proc.kill('SIGTERM');
    await Promise.race([h.proc.exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (h.proc.proc.exitCode === null && h.proc.proc.signalCode === null) h.proc.proc.kill('SIGKILL');
  }
}

describe.skipIf(!pgAvail.bin)(
  `one event sequence across hubs on one PostgreSQL${pgAvail.skip ? ` (skipped: ${pgAvail.skip})` : ''}`,
  () => {
    let a: Hub;
    let b: Hub;
    let c: Hub;

    beforeAll(async () => {
      cluster = await startPostgres();
      storeUrl = await createDatabase(cluster, 'evseq');
      const dir = mkdtempSync(join(tmpdir(), 'sb-evseq-cli-'));
      const p = spawnSwitchboard(['keys', 'create', '--name', 'e2e', '--json', '--data-dir', dir], env());
      key = (JSON.parse((await p.waitFor(/^\{.*"key".*\}$/, 120_000))[0]) as { key: string }).key;
      expect(await p.exited).toBe(0);
      rmSync(dir, { recursive: true, force: true });
      [a, b, c] = await Promise.all([startHub(), startHub(), startHub()]);
    }, 300_000);

    afterAll(async () => {
      for (const h of hubs) {
        await stopHub(h);
        rmSync(h.dir, { recursive: true, force: true });
      }
      await cluster?.stop();
    }, 60_000);

    it('events from A and B reach an SSE stream on C in one order; a resume on A continues without gap or duplicate', async () => {
      const onC = follow(() => c);
      await waitFor(() => onC.connects() > 0, 30_000, 'the stream on C');
      const marks = Array.from({ length: 60 }, (_, i) => `one-${i}`);
      // Four concurrent senders, alternating hubs: the hubs' batches interleave in the database.
      await Promise.all(
        [0, 1, 2, 3].map(async (w) => {
          for (let i = w; i < marks.length; i += 4) expect(await emit(i % 2 ? b : a, marks[i]!)).toBe(true);
        }),
      );
      await waitFor(() => onC.seen.length >= 60, 60_000, 'the 60 events on C');
      await onC.stop();
      expect(onC.seen).toHaveLength(60);
      expectOneOrder(onC.seen);
      expect(new Set(onC.seen.map((e) => e.mark))).toEqual(new Set(marks));
      // The stream's order is the table's, read through any hub.
      expect(await table(b)).toEqual(onC.seen);

      // A client that saw the first 30 reconnects to A with Last-Event-ID: 31…60, then live ones, once.
      const resumeFrom = onC.seen[29]!.seq;
      const onA = follow(() => a, resumeFrom);
      await waitFor(() => onA.seen.length >= 30, 30_000, 'the replay on A');
      for (let i = 0; i < 10; i++) expect(await emit(i % 2 ? a : b, `two-${i}`)).toBe(true);
      await waitFor(() => onA.seen.length >= 40, 30_000, 'the live events on A');
      await onA.stop();
      expect(onA.seen.slice(0, 30)).toEqual(onC.seen.slice(30));
      expect(onA.seen).toHaveLength(40);
      expectOneOrder(onA.seen);
      expect(onA.seen.slice(30).map((e) => e.mark)).toEqual(
        expect.arrayContaining(Array.from({ length: 10 }, (_, i) => `two-${i}`)),
      );
    }, 180_000);

    it('kill -9 of a hub in the middle of a burst: every stored event reaches the stream once, no id twice; the restarted hub continues the sequence', async () => {
      const before = (await table(c)).at(-1)?.seq ?? 0;
      const onC = follow(() => c, before);
      let killed = false;
      let n = 0;
      const sender = async (hub: Hub) => {
        while (n < 600) {
          const mark = `kill-${++n}`;
          const ok = await emit(hub, mark).catch(() => false);
          if (!ok && hub === a) return;
          if (!killed && hub === a && n >= 150) {
            killed = true;
            a.proc.proc.kill('SIGKILL');
          }
        }
      };
      await Promise.all([a, a, b, b].map(sender));
      expect(killed).toBe(true);
      expect(await a.proc.exited).toBe('SIGKILL');
      // What is stored (every hub's written events, A's up to its death) is what the stream shows.
      let stored: Seen[] = [];
      await waitFor(
        async () => {
          stored = (await table(b)).filter((e) => e.seq > before);
          return onC.seen.length >= stored.length && stored.length > 0;
        },
        60_000,
        'the stream on C to catch up with the table',
      );
      await onC.stop();
      expectOneOrder(stored);
      expect(onC.seen).toEqual(stored);
      // A restarted on its data directory continues the one sequence: its events come after every other.
      const top = stored.at(-1)!.seq;
      const a2 = await startHub(a.dir);
      expect(await emit(a2, 'after-restart')).toBe(true);
      let last: Seen | undefined;
      await waitFor(
        async () => {
          last = (await table(c)).at(-1);
          return last?.mark === 'after-restart';
        },
        30_000,
        'the restarted hub’s event',
      );
      expect(last!.seq).toBeGreaterThan(top);
      a = a2;
      console.log(
        `kill -9 in a burst: ${stored.length} events stored, ${onC.seen.length} on the stream, 0 lost, 0 duplicated`,
      );
    }, 240_000);

    it('PostgreSQL stopped: the hubs keep taking events (buffered); started: the stream on C gets them, once, in the table order', async () => {
      const before = (await table(c)).at(-1)?.seq ?? 0;
      const onC = follow(() => c, before);
      await waitFor(() => onC.connects() > 0, 30_000, 'the stream on C');
      cluster.stopServer();
      const down: string[] = [];
      try {
        for (let i = 0; i < 20; i++) {
          const mark = `down-${i}`;
          // The route needs no database: the hub accepts the event and buffers it.
          expect(await emit(i % 2 ? a : b, mark)).toBe(true);
          down.push(mark);
        }
        const r = await fetch(`${a.url}/readyz`);
        expect(r.status).toBe(503);
      } finally {
        cluster.startServer();
      }
      for (let i = 0; i < 5; i++) expect(await emit(i % 2 ? a : b, `up-${i}`)).toBe(true);
      await waitFor(() => onC.seen.length >= 25, 90_000, 'the buffered events on C');
      await onC.stop();
      const stored = (await table(b)).filter((e) => e.seq > before);
      expect(stored).toHaveLength(25);
      expectOneOrder(onC.seen);
      expect(onC.seen).toEqual(stored);
      // Each hub's buffered events were written in the order it took them.
      for (const h of [0, 1]) {
        const mine = down.filter((_, i) => i % 2 === h);
        expect(stored.map((e) => e.mark).filter((m) => mine.includes(m))).toEqual(mine);
      }
    }, 240_000);
  },
);
