import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SimPhone } from '../../../src/sim/cisco/phone.js';
import { builtinScenarios, type Scenario } from '../../../src/sim/ipoffice/scenario.js';
import { Devlink3Simulator } from '../../../src/sim/ipoffice/server.js';
import { PostgresDatabase } from '../../../src/store/postgres/database.js';
import { describePostgres } from '../../helpers/postgres.js';
import { type Json, LifeSafetyHub, until } from './harness.js';

/**
 * Issue 15 proof: three real `switchboard serve` processes on one PostgreSQL (started by the test from
 * Debian's binaries), the DevLink3 simulator and three simulated Cisco phones at the security desk. One hub
 * holds the IP Office link (lease `ipoffice:ipo-1`), one keeps a standby link, one has none. The hub holding
 * the link is killed (`kill -9`) at the moment a 911 call is placed: exactly one incident, every security
 * phone alerted, and the time from the call to the last phone reported. Then the same with a caller who
 * hangs up at once, and the new holder killed.
 */
describePostgres(
  'life safety: the IP Office link fails over between hubs (3 hubs, kill -9)',
  ({ cluster, db }) => {
    const password = randomBytes(9).toString('base64url');
    const shared = mkdtempSync(join(tmpdir(), 'sb-failover-'));
    const hubs: Array<LifeSafetyHub & { instance: string }> = [];
    const phones: SimPhone[] = [];
    let pbx: Devlink3Simulator;
    let url = '';
    let pg: PostgresDatabase;
    const emergency = builtinScenarios().get('emergency')!;
    // The call is dialled and goes out to the PSAP, and stays up (the scenario's hang-up steps left out).
    const longCall: Scenario = { ...emergency, steps: emergency.steps.slice(0, 3) };
    const titleOf = (p: SimPhone) => String((p.state().screen as { title?: string }).title ?? '');
    const textOf = (p: SimPhone) => JSON.stringify(p.state().screen ?? {});

    const hub = (name: string) =>
      new LifeSafetyHub([
        `store: { url: ${JSON.stringify(url)} }`,
        `secrets: { keyFile: ${JSON.stringify(join(shared, 'secrets.key'))} }`,
        `cluster: { instanceName: ${name}, leaseTtlMs: 3000, leaseRenewMs: 1000 }`,
        'emergency: { group: security, probeIntervalSeconds: 0, resumeWithinSeconds: 600 }',
        'broadcast: { attempts: 3, backoffMs: 100 }',
      ]);

    /** Lease rows of the link: who is active, who is the standby (from the shared database). */
    const roles = async () => {
      const rows = await pg.query<{ name: string; holder: string; token: number; live: boolean }>(
        `SELECT name, holder, token, expires_at > (extract(epoch from clock_timestamp()) * 1000)::bigint AS live
         FROM leases WHERE name LIKE 'ipoffice:ipo-1%'`,
      );
      const of = (n: string) => rows.find((r) => r.name === n && r.live);
      return { active: of('ipoffice:ipo-1'), standby: of('ipoffice:ipo-1:standby') };
    };
    const byName = (instance: string) => hubs.find((h) => h.instance === instance)!;

    /** Every security phone shows the 911 alert of extension `ext`: ms after `t0`. */
    const allAlerted = async (ext: string, t0: number) => {
      await until(
        `every security phone to show the 911 alert of ${ext}`,
        () => phones.every((p) => titleOf(p) === '911 CALL' && textOf(p).includes(ext)),
        30_000,
      );
      return performance.now() - t0;
    };

    const incidentsOf = async (h: LifeSafetyHub, ext: string) =>
      (await h.incidents()).filter((i) => (i.caller as Json).extension === ext);

    beforeAll(async () => {
      url = await db();
      pg = new PostgresDatabase({ url });
      pbx = await new Devlink3Simulator({
        host: '127.0.0.1',
        port: 0,
        credentials: { switchboard: password },
      }).start();
      for (let k = 1; k <= 3; k++) {
        const p = new SimPhone({
          model: '8845',
          mac: `00CAFE00B00${k}`,
          username: 'push',
          password: 'push-secret',
        });
        await p.start();
        phones.push(p);
      }
      const a = Object.assign(hub('hub-a'), { instance: 'hub-a' });
      hubs.push(a);
      await a.start();
      for (const [k, p] of phones.entries()) {
        const r = await a.api('POST', '/api/devices', {
          id: `desk-${k + 1}`,
          kind: 'cisco',
          address: p.address,
          groups: ['security'],
          settings: { model: '8845', username: 'push', password: 'push-secret', deviceName: p.deviceName },
        });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
      }
      await a.addIpOffice('ipo-1', pbx.port, password);
      // The other hubs read the configuration at their start.
      for (const name of ['hub-b', 'hub-c']) {
        const h = Object.assign(hub(name), { instance: name });
        hubs.push(h);
        await h.start();
      }
    }, 240_000);

    afterAll(async () => {
      for (const h of hubs) await h.close();
      for (const p of phones) await p.stop();
      await pbx?.stop();
      await pg?.close();
      rmSync(shared, { recursive: true, force: true });
    });

    it('one hub holds the link, one keeps a standby link, the third none; every hub is ready for 911', async () => {
      const r = await until('an active and a standby link', async () => {
        const x = await roles();
        return x.active && x.standby ? x : undefined;
      });
      expect(r.active!.holder).toBe('hub-a');
      expect(['hub-b', 'hub-c']).toContain(r.standby!.holder);
      // Two monitoring links at the PBX (IP Office allows three): the active and the standby.
      await until('two DevLink3 links at the PBX', () => pbx.stats.connections >= 2);
      // The hub with neither link does not know the calls: it says so (409), it does not answer "no calls".
      const linked = new Set([r.active!.holder, r.standby!.holder]);
      for (const h of hubs) {
        const calls = await until(`${h.instance}: GET /calls answers for its role`, async () => {
          const x = await h.api<Json>('GET', '/api/ipoffice/ipo-1/calls');
          const want = linked.has(h.instance) ? 200 : 409;
          return x.status === want ? x : undefined;
        });
        if (!linked.has(h.instance)) expect((calls.body.error as Json).code).toBe('DEVLINK3_LINK_ELSEWHERE');
      }
      for (const h of hubs) {
        const ready = await until(`${h.instance} ready for 911`, async () => {
          const x = await h.api<Json>('GET', '/api/emergency');
          return x.body.ready === true ? x.body : undefined;
        });
        expect(ready.ready).toBe(true);
      }
    }, 60_000);

    it('kill -9 of the link holder as a 911 call is placed: the standby takes over, one incident, every phone alerted', async () => {
      const r = await roles();
      const active = byName(r.active!.holder);
      const t0 = performance.now();
      const playing = pbx.play(longCall, { ext: '4101', name: 'Dana Dial', number: '911' });
      expect(await active.kill('SIGKILL')).toBe('SIGKILL');
      await playing;
      const ms = await allAlerted('4101', t0);
      const after = await until('a new active link holder', async () => {
        const x = await roles();
        return x.active && x.active.holder !== active.instance ? x : undefined;
      });
      // The standby took it (already connected: no reconnect, the call in progress known), with a new token.
      expect(after.active!.holder).toBe(r.standby!.holder);
      expect(after.active!.token).toBeGreaterThan(r.active!.token);
      const survivor = byName(after.active!.holder);
      const list = await until('the incident', async () => {
        const l = await incidentsOf(survivor, '4101');
        return l.length > 0 ? l : undefined;
      });
      // Exactly one incident, even if the killed hub had claimed it before it died.
      await new Promise((res) => setTimeout(res, 1500));
      expect(await incidentsOf(survivor, '4101')).toHaveLength(1);
      expect(list[0]!.callKey).toBeTruthy();
      console.log(
        `link failover during a 911 call: call placed → last of ${phones.length} security phones alerted ${ms.toFixed(0)} ms (lease ttl 3000 ms, renew 1000 ms)`,
      );
      // The third hub became the standby.
      await until('a new standby', async () => {
        const x = await roles();
        return x.standby && x.standby.holder !== after.active!.holder ? x : undefined;
      });
    }, 120_000);

    it('the new holder killed as a caller dials 911 and hangs up at once: the last hub still alerts the desk', async () => {
      const r = await until('an active and a standby link', async () => {
        const x = await roles();
        return x.active && x.standby ? x : undefined;
      });
      // The standby's link must be up before the call so it sees it.
      await new Promise((res) => setTimeout(res, 1500));
      const active = byName(r.active!.holder);
      const t0 = performance.now();
      // The whole scenario: dialled, answered, and the caller hangs up within 100 ms.
      const playing = pbx.play(emergency, { ext: '4102', name: 'Eve Early', number: '911' });
      expect(await active.kill('SIGKILL')).toBe('SIGKILL');
      await playing;
      const ms = await allAlerted('4102', t0);
      const last = byName(r.standby!.holder);
      await new Promise((res) => setTimeout(res, 1500));
      const list = await incidentsOf(last, '4102');
      expect(list).toHaveLength(1);
      console.log(
        `link failover, caller hung up at once: call placed → last security phone alerted ${ms.toFixed(0)} ms`,
      );
      expect(
        last.logs().some((l) => /taken over|seen only after it ended|incident opened/.test(String(l.msg))),
      ).toBe(true);
    }, 120_000);

    it('PostgreSQL stopped: the link holder keeps its link and a 911 call still alerts; started: the leases settle again', async () => {
      // The two killed hubs start again and rejoin: one becomes the standby.
      for (const h of hubs)
        if (h.proc?.proc.exitCode !== null || h.proc.proc.signalCode !== null) await h.start();
      const r = await until('an active and a standby link', async () => {
        const x = await roles();
        return x.active && x.standby ? x : undefined;
      });
      await pg.close();
      cluster().stopServer();
      const t0 = performance.now();
      try {
        // Longer than a lease: no hub can renew, and none may go silent for it.
        await new Promise((res) => setTimeout(res, 4000));
        await pbx.play(longCall, { ext: '4103', name: 'Finn Fallback', number: '911' });
        const ms = await allAlerted('4103', t0 + 4000);
        console.log(
          `911 with PostgreSQL down: call placed → last security phone alerted ${ms.toFixed(0)} ms`,
        );
        const holder = byName(r.active!.holder);
        expect(
          holder.logs().some((l) => String(l.msg).includes('the work goes on until the store answers')),
        ).toBe(true);
      } finally {
        cluster().startServer();
      }
      pg = new PostgresDatabase({ url });
      const after = await until(
        'an active and a standby link again',
        async () => {
          const x = await roles().catch(() => undefined);
          // A hub that just took the active lease gives its standby lease up a moment later.
          return x?.active && x.standby && x.active.holder !== x.standby.holder ? x : undefined;
        },
        30_000,
      );
      expect(after.active!.holder).not.toBe(after.standby!.holder);
      for (const h of hubs.filter((x) => x.proc?.proc.exitCode === null && x.proc.proc.signalCode === null))
        await until(
          `${h.instance} ready again`,
          async () => (await fetch(`${h.url}/readyz`)).status === 200,
          30_000,
        );
    }, 120_000);
  },
);
