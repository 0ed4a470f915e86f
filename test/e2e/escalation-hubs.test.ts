import { afterEach, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { describePostgres } from '../helpers/postgres.js';
import { phoneLogs, testphoneDriver } from '../helpers/testphone-driver.js';
import { waitFor } from '../helpers/wait.js';

type Json = Record<string, unknown>;

/**
 * Incident custody across hubs (issue 15): each open 911 incident is escalated by one hub, the holder of
 * the lease `incident:<id>`. The hub that opened it stops with the incident unacknowledged: another hub takes
 * it up and escalates it. An acknowledgement made on another hub stops the escalation of the hub that has
 * the incident.
 */
describePostgres('911 incident escalation across hubs (custody lease)', ({ db }) => {
  const hubs: TestHub[] = [];
  afterEach(async () => {
    for (const h of hubs.splice(0)) await h.close().catch(() => {});
  });

  const start = async (url: string) => {
    const h = await startTestHub({
      drivers: [testphoneDriver()],
      config: {
        'store.url': url,
        'cluster.leaseTtlMs': 1000,
        'cluster.leaseRenewMs': 200,
        'emergency.enabled': 'on',
        'emergency.escalationGroup': 'managers',
        'emergency.escalateAfterSeconds': 3,
        'emergency.maxEscalations': 1,
        'emergency.resumeWithinSeconds': 600,
      },
    });
    hubs.push(h);
    return h;
  };
  const phone = (h: TestHub, id: string, group: string) =>
    h.api('POST', '/api/devices', {
      id,
      kind: 'testphone',
      address: `127.0.0.1:${9100 + id.length}`,
      groups: [group],
      settings: { behavior: 'ok' },
    });
  const calls = (id: string) => phoneLogs.get(id)?.calls.length ?? 0;
  const incident = async (h: TestHub, id: string) =>
    (await h.api<{ incident: Json }>('GET', `/api/incidents/${id}`)).body.incident;

  it('the hub that has the incident stops before escalating: another hub takes it up and escalates', async () => {
    const url = await db();
    const a = await start(url);
    expect((await phone(a, 'esc-desk-1', 'security')).status).toBe(201);
    expect((await phone(a, 'esc-mgr-1', 'managers')).status).toBe(201);
    const b = await start(url);
    const mgrBefore = calls('esc-mgr-1');
    a.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.emergency',
      data: { callKey: 'n1:701', callerExtension: '2701', dialled: '911' },
    });
    let id = '';
    await waitFor(async () => {
      const l = (await b.api<{ incidents: Json[] }>('GET', '/api/incidents')).body.incidents;
      id = String(l[0]?.id ?? '');
      return id !== '';
    }, 10_000);
    await waitFor(() => calls('esc-desk-1') > 0, 10_000, 'the alert on the desk');
    // Let the incident's records reach the store, then A stops (its leases are given up).
    await new Promise((r) => setTimeout(r, 1000));
    await a.close();
    hubs.splice(hubs.indexOf(a), 1);
    // B takes the incident up and escalates it to the managers when it is due (3 s after the alert).
    await waitFor(() => calls('esc-mgr-1') > mgrBefore, 20_000, 'the escalation on the manager phone');
    const i = await incident(b, id);
    const types = (i.timeline as Json[]).map((t) => t.type);
    expect(types).toContain('resumed');
    expect(types).toContain('escalated');
    expect(i.escalations).toBe(1);
  }, 60_000);

  it('acknowledged on another hub: the hub that has the incident does not escalate', async () => {
    const url = await db();
    const a = await start(url);
    expect((await phone(a, 'ack-desk-1', 'security')).status).toBe(201);
    expect((await phone(a, 'ack-mgr-1', 'managers')).status).toBe(201);
    const b = await start(url);
    a.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.emergency',
      data: { callKey: 'n1:702', callerExtension: '2702', dialled: '911' },
    });
    let id = '';
    await waitFor(async () => {
      const l = (await a.api<{ incidents: Json[] }>('GET', '/api/incidents')).body.incidents;
      id = String(l[0]?.id ?? '');
      return id !== '';
    }, 10_000);
    await waitFor(() => calls('ack-desk-1') > 0, 10_000, 'the alert on the desk');
    expect((await b.api('POST', `/api/incidents/${id}/ack`, { note: 'on it' })).status).toBe(200);
    const mgrBefore = calls('ack-mgr-1');
    // Past the escalation time (3 s) with margin: no escalation from A.
    await new Promise((r) => setTimeout(r, 5000));
    expect(calls('ack-mgr-1')).toBe(mgrBefore);
    const i = await incident(a, id);
    expect((i.timeline as Json[]).map((t) => t.type)).not.toContain('escalated');
    expect(i.acknowledgedAt).toBeTruthy();
  }, 60_000);
});
