import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Broadcast, Delivery, DeliveryState } from '../../../src/alerting/broadcast/types.js';
import { WITHDRAWN } from '../../../src/drivers/avaya/alert.js';
import { SimPhone as AvayaSimPhone } from '../../../src/sim/avaya/phone.js';
import { type CiscoSimFleet, startCiscoSim } from '../../../src/sim/cisco/fleet.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { until } from '../../helpers/wait.js';

/**
 * Cancel, recall and retry through the real hub (HTTP routes, engine, drivers) against the Cisco and Avaya
 * simulators over 127.0.0.1: what each phone shows before and after, and the delivery records.
 */
type Status = {
  broadcast: Broadcast;
  running: boolean;
  counts: Record<DeliveryState, number>;
  deliveries: Array<Delivery & { ackRequested: boolean }>;
};

describe('cancel, recall and retry against the phone simulators', () => {
  let hub: TestHub;
  let cisco: CiscoSimFleet;
  let j179: AvayaSimPhone;
  let j139: AvayaSimPhone;
  // A phone that accepts connections and never answers: its push hangs until the action timeout.
  const hung = new Set<net.Socket>();
  const blackHole = net.createServer((s) => {
    hung.add(s);
    s.on('close', () => hung.delete(s));
  });
  const uris = (k: number) => (cisco.phones[k]!.state() as { uris: Array<{ uri: string }> }).uris;
  const screen = (k: number) =>
    cisco.phones[k]!.state().screen as { object: string; title: string; text: string };
  const status = async (id: string) => (await hub.api<Status>('GET', `/api/broadcasts/${id}`)).body;
  const finished = (id: string) =>
    until(`broadcast ${id} to finish`, async () => {
      const s = await status(id);
      return s.running ? undefined : s;
    });

  beforeAll(async () => {
    hub = await startTestHub({
      config: {
        'broadcast.concurrency': 1,
        'broadcast.attempts': 1,
        'broadcast.actionTimeoutMs': 20_000,
      },
    });
    cisco = await startCiscoSim({ phones: 3, model: '8845', username: 'push', password: 'pw' });
    for (const [k, p] of cisco.phones.entries()) {
      const r = await hub.api('POST', '/api/devices', {
        id: `cisco-${k + 1}`,
        kind: 'cisco',
        address: p.address,
        groups: ['floor'],
        settings: { model: '8845', username: 'push', password: 'pw', deviceName: p.deviceName },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    j179 = new AvayaSimPhone({ extension: '3001', mac: '00:1b:4f:00:30:01', model: 'J179' });
    j139 = new AvayaSimPhone({ extension: '3002', mac: '00:1b:4f:00:30:02', model: 'J139' });
    for (const [id, p, model] of [
      ['avaya-1', j179, 'J179'],
      ['avaya-2', j139, 'J139'],
    ] as const) {
      await p.start();
      const r = await hub.api('POST', '/api/devices', {
        id,
        kind: 'avaya',
        address: p.address,
        groups: ['floor'],
        settings: { model, extension: p.extension, mac: p.mac },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
    const port = (blackHole.address() as net.AddressInfo).port;
    const r = await hub.api('POST', '/api/devices', {
      id: 'cisco-hung',
      kind: 'cisco',
      address: `127.0.0.1:${port}`,
      settings: { model: '8845', username: 'push', password: 'pw' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }, 60_000);

  afterAll(async () => {
    for (const s of hung) s.destroy();
    blackHole.close();
    await hub?.close();
    await cisco?.stop();
    await j179?.stop();
    await j139?.stop();
  });

  it('recall clears the alert from every phone that shows it, per model', async () => {
    const sent = await hub.api<{ broadcast: Broadcast }>('POST', '/api/broadcasts', {
      title: 'Evacuate east wing',
      text: 'Leave the east wing by the north stairs.\nDo not use the lifts.',
      priority: 'urgent',
      targets: { groups: ['floor'] },
    });
    expect(sent.status).toBe(201);
    const id = sent.body.broadcast.id;
    const done = await finished(id);
    expect(done.counts.displayed + done.counts.accepted).toBe(5);
    for (const k of [0, 1, 2]) expect(screen(k).title).toBe('Evacuate east wing');
    await until('the Avaya card and Top Line', () =>
      j179.screen.display?.title === 'Evacuate east wing' && j139.screen.topline ? true : undefined,
    );
    expect(j139.screen.topline!.text).toContain('Evacuate east wing');

    const r = await hub.api<{ broadcast: Broadcast; phones: number; cleared: number; failed: number }>(
      'POST',
      `/api/broadcasts/${id}/recall`,
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ phones: 5, cleared: 5, failed: 0 });
    expect(r.body.broadcast.state).toBe('recalled');
    expect(r.body.broadcast.recalled).toMatchObject({ by: 'test', cleared: 5, failed: 0 });
    // Cisco: Init:Services closed the pushed screen.
    for (const k of [0, 1, 2]) expect(screen(k).object).toBe('Idle');
    for (const k of [0, 1, 2]) expect(uris(k).map((u) => u.uri)).toContain('Init:Services');
    // Avaya J179 (WML browser): the card replaced; J139 (no browser): the Top Line replaced.
    await until('the Avaya screens to be replaced', () =>
      j179.screen.display?.text.includes(WITHDRAWN) && j139.screen.topline?.text === WITHDRAWN
        ? true
        : undefined,
    );
    expect(j179.screen.display!.softkeys).toEqual([]);

    const s = await status(id);
    expect(s.counts.recalled).toBe(5);
    for (const d of s.deliveries) expect(d.recall).toMatchObject({ ok: true });
    // A second recall has nothing left to clear.
    const again = await hub.api<{ phones: number }>('POST', `/api/broadcasts/${id}/recall`);
    expect(again.body.phones).toBe(0);
    // Retry is refused once recalled.
    const retry = await hub.api<{ error: { code: string } }>('POST', `/api/broadcasts/${id}/retry`);
    expect(retry.status).toBe(409);
    expect(retry.body.error.code).toBe('BROADCAST_RECALLED');
  });

  it('a phone that cannot be reached keeps its state and a failed recall record; recalling again retries it', async () => {
    const sent = await hub.api<{ broadcast: Broadcast }>('POST', '/api/broadcasts', {
      title: 'Lunch',
      text: 'Lunch is served',
      targets: { devices: ['cisco-1', 'cisco-2'] },
    });
    const id = sent.body.broadcast.id;
    await finished(id);
    expect(screen(1).title).toBe('Lunch');
    const p = cisco.phones[1]!;
    await p.stop();
    const r = await hub.api<{ phones: number; cleared: number; failed: number }>(
      'POST',
      `/api/broadcasts/${id}/recall`,
    );
    expect(r.body).toMatchObject({ phones: 2, cleared: 1, failed: 1 });
    const s = await status(id);
    const bad = s.deliveries.find((d) => d.deviceId === 'cisco-2')!;
    expect(bad.state).toBe('displayed');
    expect(bad.recall).toMatchObject({ ok: false });
    expect(bad.recall!.outcome).not.toBeNull();
    expect(s.deliveries.find((d) => d.deviceId === 'cisco-1')!.state).toBe('recalled');
    // The phone is back: a second recall clears only it.
    // (it listens on a new port: tell the hub)
    await p.start();
    expect((await hub.api('PATCH', '/api/devices/cisco-2', { address: p.address })).status).toBe(200);
    expect(screen(1).title).toBe('Lunch');
    const r2 = await hub.api<{ phones: number; cleared: number }>('POST', `/api/broadcasts/${id}/recall`);
    expect(r2.body).toMatchObject({ phones: 1, cleared: 1 });
    expect(screen(1).object).toBe('Idle');
  });

  it('cancel stops pending deliveries: phones not yet served are cancelled and never show it', async () => {
    for (const k of [0, 1, 2]) expect(screen(k).object).toBe('Idle');
    // One phone at a time (concurrency 1), the hung phone first: the others wait behind it.
    const sent = await hub.api<{ broadcast: Broadcast }>('POST', '/api/broadcasts', {
      title: 'Cancelled notice',
      text: 'This should never be shown',
      targets: { devices: ['cisco-hung', 'cisco-1', 'cisco-2', 'cisco-3'] },
    });
    const id = sent.body.broadcast.id;
    await until('the push to the hung phone', () => (hung.size > 0 ? true : undefined));
    const c = await hub.api<{ broadcast: Broadcast; cancelled: number }>(
      'POST',
      `/api/broadcasts/${id}/cancel`,
    );
    expect(c.status, JSON.stringify(c.body)).toBe(200);
    expect(c.body.broadcast.state).toBe('cancelled');
    expect(c.body.broadcast.cancelled).toMatchObject({ by: 'test' });
    expect(c.body.cancelled).toBe(3);
    const s = await status(id);
    expect(s.running).toBe(false);
    expect(s.counts).toMatchObject({ cancelled: 3, displayed: 0, queued: 0, sent: 0 });
    expect(s.broadcast.report!.counts.cancelled).toBe(3);
    for (const k of [0, 1, 2]) expect(screen(k).object).toBe('Idle');
    // The hung phone's request was cut off by the cancel (it may have reached the phone).
    const h = s.deliveries.find((d) => d.deviceId === 'cisco-hung')!;
    expect(h.state).toBe('failed');
    expect(h.reason).toBe('HTTP_ABORTED');
    // Finished: a second cancel is a conflict.
    const again = await hub.api<{ error: { code: string } }>('POST', `/api/broadcasts/${id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('BROADCAST_FINISHED');
  });

  it('retry re-sends to the phones whose delivery failed, and only to them', async () => {
    const p = cisco.phones[2]!;
    await p.stop();
    const sent = await hub.api<{ broadcast: Broadcast }>('POST', '/api/broadcasts', {
      title: 'Fire drill',
      text: 'Fire drill at 3 pm',
      targets: { devices: ['cisco-1', 'cisco-3'] },
    });
    const id = sent.body.broadcast.id;
    const first = await finished(id);
    expect(first.counts).toMatchObject({ displayed: 1, failed: 1 });
    const nothing = await hub.api<{ error: { code: string } }>('POST', '/api/broadcasts/bc_nope/retry');
    expect(nothing.status).toBe(404);

    await p.start();
    expect((await hub.api('PATCH', '/api/devices/cisco-3', { address: p.address })).status).toBe(200);
    const pushesBefore = uris(0).length;
    const r = await hub.api<{ broadcast: Broadcast; phones: number }>('POST', `/api/broadcasts/${id}/retry`);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.phones).toBe(1);
    const s = await finished(id);
    expect(s.counts).toMatchObject({ displayed: 2, failed: 0 });
    expect(s.broadcast.state).toBe('done');
    expect(s.broadcast.retries).toEqual([expect.objectContaining({ by: 'test', phones: 1 })]);
    expect(screen(2).title).toBe('Fire drill');
    // The phone that had it was not pushed again.
    expect(uris(0).length).toBe(pushesBefore);
    const none = await hub.api<{ error: { code: string } }>('POST', `/api/broadcasts/${id}/retry`);
    expect(none.status).toBe(409);
    expect(none.body.error.code).toBe('BROADCAST_NOTHING_TO_RETRY');
  });
});
