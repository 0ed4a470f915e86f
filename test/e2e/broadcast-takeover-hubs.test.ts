import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CiscoSimFleet, startCiscoSim } from '../../src/sim/cisco/fleet.js';
import { PostgresDatabase } from '../../src/store/postgres/database.js';
import { type PostgresCluster, postgresAvailability, startPostgres } from '../helpers/postgres.js';
import { type SpawnedHub, spawnSwitchboard } from '../helpers/process.js';

/**
 * Broadcast ownership and singleton work across real `switchboard serve` processes on one throw-away
 * PostgreSQL (issue 15): kill -9 of the hub delivering a 1,000-phone urgent broadcast in the middle: another
 * hub takes it over and every phone gets it, duplicates counted and bounded by the concurrency limit; a
 * scheduled broadcast with three hubs fires once, also when the scheduler's hub is killed before it is due.
 * Simulated Cisco phones (real HTTP servers on 127.0.0.1, in this process) answer every push 60 ms late so
 * that the broadcast lasts long enough to be cut in the middle.
 */
const pgAvail = postgresAvailability();
const PHONES = 1000;
const CONCURRENCY = 32;

interface Hub {
  name: string;
  proc: SpawnedHub;
  url: string;
  dir: string;
}
type Json = Record<string, unknown>;

let cluster: PostgresCluster;
let db: PostgresDatabase;
let key: string;
let fleet: CiscoSimFleet;
/** One secrets key for every hub (device passwords are sealed with it in the shared database). */
const shared = mkdtempSync(join(tmpdir(), 'sb-takeover-shared-'));
const hubs: Hub[] = [];

const env = () => ({
  SWITCHBOARD_STORE_URL: cluster.url,
  SWITCHBOARD_BROADCAST_CONCURRENCY: String(CONCURRENCY),
  SWITCHBOARD_SECRETS_KEY_FILE: join(shared, 'secrets.key'),
});

async function startHub(name: string): Promise<Hub> {
  const dir = mkdtempSync(join(tmpdir(), `sb-takeover-${name}-`));
  const proc = spawnSwitchboard(
    ['serve', '--data-dir', dir, '--port', '0', '--host', '127.0.0.1', '--log-level', 'info'],
    { ...env(), SWITCHBOARD_CLUSTER_INSTANCE_NAME: name },
  );
  const url = (await proc.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/, 180_000))[1]!;
  const hub = { name, proc, url, dir };
  hubs.push(hub);
  return hub;
}

async function api<T = Json>(hub: Hub, method: string, path: string, body?: unknown) {
  const r = await fetch(`${hub.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, body: (text ? JSON.parse(text) : {}) as T };
}

/** Polls `cond` every `intervalMs` until it holds; fails after `timeoutMs`. */
async function waitFor(
  cond: () => boolean | Promise<boolean>,
  o: { timeoutMs: number; intervalMs?: number },
): Promise<void> {
  const end = Date.now() + o.timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${o.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 100));
  }
}

const alive = (h: Hub) => h.proc.proc.exitCode === null && h.proc.proc.signalCode === null;
const shows = (text: string) =>
  fleet.phones.filter((p) =>
    String((p.state().screen as { text?: string } | undefined)?.text ?? '').includes(text),
  ).length;
const pushes = () => fleet.phones.map((p) => (p.state().counters as { execute: number }).execute);

describe.skipIf(!pgAvail.bin)(
  `broadcasts and scheduled work across three hubs${pgAvail.skip ? ` (skipped: ${pgAvail.skip})` : ''}`,
  () => {
    let a: Hub;
    let b: Hub;
    let c: Hub;

    beforeAll(async () => {
      cluster = await startPostgres();
      db = new PostgresDatabase({ url: cluster.url });
      await db.open();
      const dir = mkdtempSync(join(tmpdir(), 'sb-takeover-key-'));
      try {
        const p = spawnSwitchboard(['keys', 'create', '--name', 'e2e', '--json', '--data-dir', dir], env());
        key = (JSON.parse((await p.waitFor(/^\{.*"key".*\}$/, 120_000))[0]) as { key: string }).key;
        expect(await p.exited).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      fleet = await startCiscoSim({
        phones: PHONES,
        model: '8845',
        username: 'push',
        password: 'pw',
        executeDelayMs: 60,
      });
      a = await startHub('hub-a');
      // The devices are in the shared database before the other hubs start (they read them at start).
      const targets = fleet.phones.map((p, i) => ({
        id: `cisco-${i}`,
        kind: 'cisco',
        address: p.address,
        groups: i < 3 ? ['floor', 'bells'] : ['floor'],
        settings: { model: p.profile.id, username: 'push', password: 'pw', deviceName: p.deviceName },
      }));
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let i = next++; i < targets.length; i = next++)
            expect((await api(a, 'POST', '/api/devices', targets[i])).status).toBe(201);
        }),
      );
      [b, c] = await Promise.all([startHub('hub-b'), startHub('hub-c')]);
    }, 600_000);

    afterAll(async () => {
      for (const h of hubs) {
        if (alive(h)) {
          h.proc.proc.kill('SIGTERM');
          await Promise.race([h.proc.exited, new Promise((r) => setTimeout(r, 15_000))]);
          if (alive(h)) h.proc.proc.kill('SIGKILL');
        }
        rmSync(h.dir, { recursive: true, force: true });
      }
      await fleet?.stop();
      await db?.close();
      await cluster?.stop();
      rmSync(shared, { recursive: true, force: true });
    }, 120_000);

    it('kill -9 of the hub delivering a 1,000-phone urgent broadcast: another hub resumes it, every phone gets it, duplicates counted and bounded', async () => {
      const text = 'Evacuate building 2 now (takeover test)';
      const started = await api<{ broadcast: { id: string; owners?: Json[] }; total: number }>(
        a,
        'POST',
        '/api/broadcasts',
        {
          title: 'Evacuate',
          text,
          priority: 'urgent',
          tones: 'none',
          ack: false,
          targets: { groups: ['floor'] },
        },
      );
      expect(started.status).toBe(201);
      expect(started.body.total).toBe(PHONES);
      const id = started.body.broadcast.id;
      // The 201 came after the row was stored, under A's lease.
      const lease = await db.query<{ holder: string }>('SELECT holder FROM leases WHERE name = $1', [
        `broadcast:${id}`,
      ]);
      expect(lease.map((l) => l.holder)).toEqual(['hub-a']);
      // In the middle: some phones have it, most do not.
      await waitFor(() => shows(text) >= 150, { timeoutMs: 60_000, intervalMs: 50 });
      a.proc.proc.kill('SIGKILL');
      const killedAt = performance.now();
      const atKill = shows(text);
      await a.proc.exited;
      // The pushes hub-a had in flight land on the phones (they answer 60 ms late): what hub-a served.
      await new Promise((r) => setTimeout(r, 500));
      const servedByA = shows(text);
      expect(servedByA).toBeLessThan(PHONES);

      let owners: Array<{ instance: string }> = [];
      await waitFor(
        async () => {
          const r = await api<{ broadcast: { owners?: Array<{ instance: string }> } }>(
            b,
            'GET',
            `/api/broadcasts/${id}`,
          );
          owners = r.body.broadcast.owners ?? [];
          return owners.length >= 2;
        },
        { timeoutMs: 60_000, intervalMs: 50 },
      );
      const takeoverMs = performance.now() - killedAt;
      const resumer = owners[1]!.instance;
      expect(owners[0]!.instance).toBe('hub-a');
      expect(['hub-b', 'hub-c']).toContain(resumer);

      type Report = {
        total: number;
        counts: Record<string, number>;
        duplicates?: number;
        deliveredBy?: Record<string, number>;
      };
      let report: Report | null = null;
      await waitFor(
        async () => {
          const r = await api<{ broadcast: { state: string; report: Report | null } }>(
            c,
            'GET',
            `/api/broadcasts/${id}`,
          );
          report = r.body.broadcast.state === 'done' ? r.body.broadcast.report : null;
          return report !== null;
        },
        { timeoutMs: 120_000, intervalMs: 200 },
      );
      const rep = report as unknown as Report;
      const perPhone = pushes();
      const actualDuplicates = perPhone.reduce((n, k) => n + Math.max(0, k - 1), 0);
      console.log(
        `takeover: ${resumer} resumed ${id} ${takeoverMs.toFixed(0)} ms after kill -9 of hub-a (${atKill}/${PHONES} phones had it at the kill, ${servedByA} once its pushes in flight landed); ` +
          `report: ${JSON.stringify({ counts: rep.counts, duplicates: rep.duplicates, deliveredBy: rep.deliveredBy })}; ` +
          `pushes seen twice by the phones: ${actualDuplicates}; phones never pushed: ${perPhone.filter((k) => k === 0).length}`,
      );
      // Every phone has it, on its screen and in the report.
      expect(shows(text)).toBe(PHONES);
      expect(perPhone.every((k) => k >= 1)).toBe(true);
      expect(rep.total).toBe(PHONES);
      expect(rep.counts.displayed).toBe(PHONES);
      // Duplicates: counted (the phones whose attempt by hub-a was recorded), at most the pushes in flight.
      expect(rep.duplicates).toBeTypeOf('number');
      expect(rep.duplicates!).toBeLessThanOrEqual(CONCURRENCY);
      // What the phones saw twice: only phones hub-a had served without its record reaching the store
      // (pushes in flight, and outcomes still behind in the write-behind queue), never one it recorded.
      const byA = rep.deliveredBy?.['hub-a'] ?? 0;
      expect(actualDuplicates).toBeLessThanOrEqual(servedByA - byA);
      // The report's count is not bounded by what the phones showed: it counts the phones whose attempt by
      // hub-a was stored, and the attempt is recorded as the push starts, so it also counts pushes the kill
      // cut before they reached the phone (seen once: 32 counted, 29 landed). Its bound is the pushes in
      // flight, asserted above.
      // Who delivered: both hubs, adding up to every phone.
      expect(Object.keys(rep.deliveredBy ?? {}).sort()).toEqual(['hub-a', resumer].sort());
      expect(Object.values(rep.deliveredBy ?? {}).reduce((x, y) => x + y, 0)).toBe(PHONES);
      // The lease was given up once it finished.
      const [row] = await db.query<{ holder: string; run_out: boolean }>(
        `SELECT holder, expires_at < (extract(epoch from clock_timestamp()) * 1000)::bigint AS run_out
           FROM leases WHERE name = $1`,
        [`broadcast:${id}`],
      );
      expect(row).toEqual({ holder: resumer, run_out: true });
    }, 300_000);

    /** Broadcasts a schedule sent, as the store has them. */
    const sentBy = async (scheduleId: string) =>
      (
        await db.query<{ id: string }>(`SELECT id FROM broadcasts WHERE body::json->>'createdBy' = $1`, [
          `schedule:${scheduleId}`,
        ])
      ).map((r) => r.id);

    it('a scheduled broadcast with three hubs fires once; killing the scheduler hub before it is due still fires it once', async () => {
      const d = await startHub('hub-d');
      const live = [b, c, d];
      const holder = async () =>
        (
          await db.query<{ holder: string }>(
            `SELECT holder FROM leases WHERE name = 'scheduler'
              AND expires_at >= (extract(epoch from clock_timestamp()) * 1000)::bigint`,
          )
        )[0]?.holder;
      await waitFor(async () => (await holder()) !== undefined, { timeoutMs: 30_000 });
      const body = (id: string, inMs: number) => ({
        id,
        at: new Date(Date.now() + inMs).toISOString(),
        broadcast: { title: 'Bell', text: `Bell ${id}`, tones: 'none', targets: { groups: ['bells'] } },
      });
      // Created on a hub that does not hold the scheduler lease: the holder fires it.
      expect((await api(live[2]!, 'POST', '/api/schedules', body('bell-1', 4000))).status).toBe(201);
      await waitFor(async () => (await sentBy('bell-1')).length > 0, { timeoutMs: 60_000 });
      // Another renewal period or two: nobody fires it again.
      await new Promise((r) => setTimeout(r, 4000));
      expect(await sentBy('bell-1')).toHaveLength(1);

      // The scheduler's hub dies one second before the next schedule is due: another hub fires it, once.
      const h0 = await holder();
      const victim = live.find((h) => h.name === h0)!;
      expect(victim).toBeDefined();
      const other = live.find((h) => h !== victim)!;
      expect((await api(other, 'POST', '/api/schedules', body('bell-2', 3000))).status).toBe(201);
      await new Promise((r) => setTimeout(r, 2000));
      victim.proc.proc.kill('SIGKILL');
      const killedAt = performance.now();
      await victim.proc.exited;
      await waitFor(async () => (await sentBy('bell-2')).length > 0, { timeoutMs: 60_000 });
      const firedMs = performance.now() - killedAt;
      await new Promise((r) => setTimeout(r, 4000));
      expect(await sentBy('bell-2')).toHaveLength(1);
      const newHolder = await holder();
      expect(newHolder).not.toBe(h0);
      const s = await api<{ runs: number; lastBroadcastId: string }>(other, 'GET', '/api/schedules/bell-2');
      expect(s.body.runs).toBe(1);
      expect(await sentBy('bell-2')).toEqual([s.body.lastBroadcastId]);
      console.log(
        `scheduler takeover: ${h0} killed 1 s before bell-2 was due; ${newHolder} fired it ${firedMs.toFixed(0)} ms after the kill`,
      );
    }, 300_000);
  },
);
