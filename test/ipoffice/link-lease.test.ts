import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/core/cluster.js';
import { silentLogger } from '../../src/core/logger.js';
import { HELD_ENDED_MS, LinkGate, TAKEOVER_WINDOW_MS } from '../../src/drivers/ipoffice/link-gate.js';
import { LinkLease, type LinkRole } from '../../src/drivers/ipoffice/link-lease.js';
import { type Db, openDatabase } from '../../src/store/sqlite/database.js';
import { SqliteLeaseStore } from '../../src/store/sqlite/leases.js';
import { until } from '../helpers/wait.js';

type Posted = { type: string; data: Record<string, unknown> };

describe('LinkGate: what of a DevLink3 link reaches the hub, by role', () => {
  const setup = () => {
    let now = 1_000_000;
    const posted: Posted[] = [];
    const gate = new LinkGate(
      (type, data) => posted.push({ type, data }),
      () => now,
    );
    return { gate, posted, tick: (ms: number) => (now += ms) };
  };
  const emergency = (callKey: string) => ({ callKey, callerExtension: '4001', dialled: '911' });

  it('active passes everything; standby passes only its own link state; none passes nothing', () => {
    const { gate, posted } = setup();
    gate.emit('call.started', { callKey: 'n:1' });
    gate.emit('pbx.link', { state: 'up' });
    expect(posted).toEqual([]);
    gate.setRole('standby', []);
    gate.emit('call.started', { callKey: 'n:1' });
    gate.emit('pbx.link', { state: 'up' });
    expect(posted).toEqual([{ type: 'pbx.link', data: { state: 'up', role: 'standby' } }]);
    gate.setRole('active', []);
    gate.emit('call.started', { callKey: 'n:2' });
    expect(posted.at(-1)).toEqual({ type: 'call.started', data: { callKey: 'n:2' } });
  });

  it('a standby re-drives the emergency calls it saw: live ones as takeover, ended ones as late; others are dropped', () => {
    const { gate, posted, tick } = setup();
    gate.setRole('standby', []);
    gate.emit('call.emergency', emergency('n:10'));
    gate.emit('call.emergency', emergency('n:11'));
    gate.emit('call.ended', { callKey: 'n:11' });
    gate.emit('call.emergency', emergency('n:12'));
    gate.emit('call.ended', { callKey: 'n:12' });
    tick(HELD_ENDED_MS + 1);
    gate.emit('call.emergency', emergency('n:13'));
    gate.emit('call.ended', { callKey: 'n:13' }); // prunes n:11 and n:12, ended too long ago
    gate.setRole('active', ['n:10']);
    const re = posted.filter((p) => p.type === 'call.emergency');
    expect(re.map((p) => [p.data.callKey, p.data.takeover, p.data.late ?? false])).toEqual([
      ['n:10', true, false],
      ['n:13', true, true],
    ]);
    // Emergency calls announced by the new link's snapshot are marked too, for a while.
    gate.emit('call.emergency', emergency('n:14'));
    tick(TAKEOVER_WINDOW_MS + 1);
    gate.emit('call.emergency', emergency('n:15'));
    expect(posted.slice(-2).map((p) => p.data.takeover)).toEqual([true, undefined]);
  });

  it('says that the link is elsewhere; a flood of emergency records keeps memory bounded', () => {
    const { gate, posted } = setup();
    gate.elsewhere();
    expect(posted).toEqual([{ type: 'pbx.link', data: expect.objectContaining({ state: 'elsewhere' }) }]);
    gate.setRole('standby', []);
    for (let k = 0; k < 5000; k++) gate.emit('call.emergency', emergency(`n:${k}`));
    posted.length = 0;
    gate.setRole('active', []);
    expect(posted.length).toBeLessThanOrEqual(256);
    expect(posted.at(-1)?.data.callKey).toBe('n:4999');
  });
});

describe('LinkLease: one active link, one standby, the rest none', () => {
  const dirs: string[] = [];
  const dbs: Db[] = [];
  const clusters: Cluster[] = [];
  const leases: LinkLease[] = [];
  afterEach(async () => {
    for (const l of leases.splice(0)) await l.stop();
    for (const c of clusters.splice(0)) await c.close();
    for (const d of dbs.splice(0)) d.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('three hubs: roles active/standby/none; the active stops: the standby takes over, the third becomes standby', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-link-lease-'));
    dirs.push(dir);
    const roles = new Map<string, LinkRole>();
    const hubs = ['a', 'b', 'c'].map((name) => {
      const db = openDatabase({ dataDir: dir });
      dbs.push(db);
      const cluster = new Cluster({
        store: new SqliteLeaseStore(db),
        instanceId: name,
        ttlMs: 400,
        renewMs: 100,
      });
      clusters.push(cluster);
      const l = new LinkLease({
        cluster,
        deviceId: 'ipo-1',
        logger: silentLogger,
        onRole: (role) => roles.set(name, role),
      });
      leases.push(l);
      return { name, cluster, l };
    });
    hubs[0]!.l.start();
    await until('a active', () => roles.get('a') === 'active');
    hubs[1]!.l.start();
    await until('b standby', () => roles.get('b') === 'standby');
    hubs[2]!.l.start();
    await until('c none', () => roles.get('c') === 'none');
    await new Promise((r) => setTimeout(r, 500));
    expect([...roles.entries()].sort()).toEqual([
      ['a', 'active'],
      ['b', 'standby'],
      ['c', 'none'],
    ]);
    // a stops and gives its leases up: b, the standby, wins over c (c waits a grace), and c becomes standby.
    await hubs[0]!.cluster.close();
    await until('b active', () => roles.get('b') === 'active', 5000);
    await until('c standby', () => roles.get('c') === 'standby', 5000);
    expect(roles.get('b')).toBe('active');
  });
});
