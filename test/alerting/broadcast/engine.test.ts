import { afterEach, describe, expect, it } from 'vitest';
import { BroadcastEngine, hashToken } from '../../../src/alerting/broadcast/engine.js';
import { broadcastHarness } from '../../helpers/broadcast-harness.js';
import { callOrder, concurrency, phoneLogs, testphonePlanner } from '../../helpers/testphone-driver.js';
import { waitFor as until } from '../../helpers/wait.js';

let h: ReturnType<typeof broadcastHarness> | undefined;

/** The engine of the next process, over the same store and devices (after a shutdown or a crash). */
function nextProcess(x: ReturnType<typeof broadcastHarness>): BroadcastEngine {
  return new BroadcastEngine({
    store: x.stores.broadcasts,
    devices: x.devices,
    runner: x.runner,
    planner: () => testphonePlanner,
    bus: x.bus,
    ackUrl: (id, token) => `http://hub.test/alerts/ack/${id}/${token}`,
  });
}
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('broadcast engine', async () => {
  it('resolves devices, groups, labels and all, deduplicated, with kind filters', async () => {
    h = broadcastHarness();
    await h.phone('a', 'ok', ['security']);
    await h.phone('b', 'ok', ['security', 'lobby']);
    await h.phone('c', 'ok', ['lobby'], ['floor2']);
    await h.phone('d', 'ok', [], ['floor2']);
    const ids = (t: Parameters<BroadcastEngine['resolveTargets']>[0]) =>
      h!.engine
        .resolveTargets(t)
        .map((d) => d.id)
        .sort();
    expect(ids({ groups: ['security'] })).toEqual(['a', 'b']);
    expect(ids({ groups: ['security', 'lobby'] })).toEqual(['a', 'b', 'c']);
    expect(ids({ labels: ['floor2'], devices: ['a'] })).toEqual(['a', 'c', 'd']);
    expect(ids({ all: true })).toEqual(['a', 'b', 'c', 'd']);
    expect(ids({ all: true, kinds: ['cisco'] })).toEqual([]);
    expect(() => h!.engine.resolveTargets({ devices: ['a', 'nope'] })).toThrow(
      /targets.devices.1: no device "nope"/,
    );
  });

  it('rejects invalid input naming the field', async () => {
    h = broadcastHarness();
    await h.phone('a');
    expect(() => h!.engine.start({ title: 't', text: '', targets: { all: true } })).toThrow(/text/);
    expect(() => h!.engine.start({ title: 't', text: 'x', targets: {} })).toThrow(
      expect.objectContaining({ code: 'BROADCAST_NO_TARGETS' }),
    );
    expect(() =>
      h!.engine.start({ title: 't', text: 'x', priority: 'loud', targets: { all: true } }),
    ).toThrow(expect.objectContaining({ field: 'priority' }));
    expect(() => h!.engine.start({ title: 't', text: 'x', targets: { groups: ['empty'] } })).toThrow(
      /no device matches/,
    );
  });

  it('delivers to every phone with one record each, events and a final report', async () => {
    h = broadcastHarness();
    for (let i = 0; i < 20; i++) await h.phone(`p${i}`);
    const b = h.engine.start({
      title: 'Fire drill',
      text: 'Leave by the east stairs',
      targets: { groups: ['security'] },
    });
    expect(b.state).toBe('delivering');
    const report = await h.engine.wait(b.id);
    expect(report.total).toBe(20);
    expect(report.counts.displayed).toBe(20);
    expect(report.counts.failed).toBe(0);
    expect(report.timeToLastMs).not.toBeNull();
    expect(report.slowest.length).toBe(10);
    const ds = await h.stores.broadcasts.listDeliveries(b.id);
    expect(ds).toHaveLength(20);
    expect(new Set(ds.map((d) => d.deviceId)).size).toBe(20);
    for (const d of ds) {
      expect(d.state).toBe('displayed');
      expect(d.steps.map((s) => s.actionId)).toEqual(['show', 'tone']);
      expect(d.sentAt).not.toBeNull();
    }
    const shown = phoneLogs.get('p3')!.calls.find((c) => c.action === 'show')!;
    expect(shown.params).toMatchObject({
      title: 'Fire drill',
      text: 'Leave by the east stairs',
      mode: 'normal',
    });
    expect(shown.params.ack_url).toBeUndefined();
    expect((await h.stores.broadcasts.getBroadcast(b.id))!.state).toBe('done');
    const types = h.events.map((e) => e.type);
    expect(types[0]).toBe('device.added');
    expect(types.filter((t) => t === 'broadcast.delivery')).toHaveLength(20);
    expect(types).toContain('broadcast.progress');
    expect(types.at(-1)).toBe('broadcast.finished');
    const lastProgress = h.events.filter((e) => e.type === 'broadcast.progress').at(-1)!;
    expect(lastProgress.data).toMatchObject({ done: 20, total: 20 });
  });

  it('keeps concurrency bounded and never sends two requests to one phone at once', async () => {
    h = broadcastHarness({ options: { concurrency: 4 } });
    for (let i = 0; i < 24; i++) await h.phone(`p${i}`, 'slow:5');
    const b1 = h.engine.start({ title: 'one', text: 'first', targets: { all: true } });
    const b2 = h.engine.start({ title: 'two', text: 'second', targets: { all: true } });
    await Promise.all([h.engine.wait(b1.id), h.engine.wait(b2.id)]);
    expect(concurrency.max).toBeLessThanOrEqual(4);
    expect(concurrency.max).toBeGreaterThan(1);
    for (const log of phoneLogs.values()) {
      expect(log.maxInFlight).toBe(1);
      // Per phone, the steps of one broadcast are not interleaved with the other's.
      const shows = log.calls.map((c) => c.action);
      expect(shows).toEqual(['show', 'tone', 'show', 'tone']);
    }
  });

  it('serves every phone its alert before any phone its optional extras; a phone is accepted before its tone', async () => {
    h = broadcastHarness({ options: { concurrency: 2 } });
    for (let i = 0; i < 8; i++) await h.phone(`p${i}`, 'ok');
    const acceptedBeforeTone: boolean[] = [];
    // A phone's `delivery` event (accepted) must come before its tone is even sent.
    const acceptedAt = new Map<string, number>();
    h.bus.subscribe((e) => acceptedAt.set(String(e.data.deviceId), callOrder.length), {
      filter: { types: ['broadcast.delivery'] },
    });
    const b = h.engine.start({ title: 't', text: 'x', tones: 'chime', targets: { all: true } });
    await h.engine.wait(b.id);
    const order = callOrder.map((c) => c.action);
    expect(order).toEqual([...Array(8).fill('show'), ...Array(8).fill('tone')]);
    callOrder.forEach((c, i) => {
      if (c.action === 'tone') acceptedBeforeTone.push((acceptedAt.get(c.deviceId) ?? 99) <= i);
    });
    expect(acceptedBeforeTone).toEqual(Array(8).fill(true));
    // Broadcast pushes are recorded once per phone (broadcast.delivery), not as a device.action per push.
    expect(h.events.filter((e) => e.type === 'device.action')).toEqual([]);
    for (const d of await h.engine.deliveries(b.id)) {
      expect(d.steps.map((s) => s.actionId)).toEqual(['show', 'tone']);
      expect((await h.stores.broadcasts.getDelivery(d.id))?.steps.map((s) => s.actionId)).toEqual([
        'show',
        'tone',
      ]);
    }
  });

  it('moves accepted phones to displayed when their driver confirms display, and waits for it before the report', async () => {
    const later = { ...testphonePlanner, displaysOnAccept: false };
    h = broadcastHarness({ planners: { testphone: later }, options: { displayConfirmMs: 5000 } });
    for (const id of ['c1', 'c2', 'c3']) await h.phone(id, 'confirm');
    await h.phone('plain', 'ok');
    // c1's confirmation overtakes its answer to the push (remembered until the answer comes).
    await h.engine.displayed('ref-c1');
    const b = h.engine.start({ title: 't', text: 'x', tones: 'none', targets: { all: true } });
    await until(
      async () => (await h!.engine.deliveries(b.id)).filter((d) => d.state === 'accepted').length === 3,
    );
    const state = async (id: string) =>
      (await h!.engine.deliveries(b.id)).find((d) => d.deviceId === id)!.state;
    expect(await state('c1')).toBe('displayed');
    expect((await h.engine.get(b.id)).state).toBe('delivering');
    expect(await h.engine.displayed('ref-c2')).toBe(true);
    expect(await h.engine.displayed('ref-c2')).toBe(false);
    expect(await h.engine.displayed('ref-c3')).toBe(true);
    const report = await h.engine.wait(b.id);
    expect(report.counts).toMatchObject({ displayed: 3, accepted: 1 });
    expect(
      (await h.stores.broadcasts.listDeliveries(b.id)).map((d) => `${d.deviceId}:${d.state}`).sort(),
    ).toEqual(['c1:displayed', 'c2:displayed', 'c3:displayed', 'plain:accepted']);
    const delivered = h.events.filter((e) => e.type === 'broadcast.delivery' && e.data.deviceId === 'c2');
    expect(delivered.map((e) => e.data.state)).toEqual(['accepted', 'displayed']);
  });

  it('finishes after displayConfirmMs without a confirmation; a late one still updates the stored delivery', async () => {
    const later = { ...testphonePlanner, displaysOnAccept: false };
    h = broadcastHarness({ planners: { testphone: later }, options: { displayConfirmMs: 50 } });
    await h.phone('slowfetch', 'confirm');
    const b = h.engine.start({ title: 't', text: 'x', tones: 'none', targets: { all: true } });
    const report = await h.engine.wait(b.id);
    expect(report.counts).toMatchObject({ accepted: 1, displayed: 0 });
    expect(await h.engine.displayed('ref-slowfetch')).toBe(true);
    expect((await h.stores.broadcasts.listDeliveries(b.id))[0]!.state).toBe('displayed');
    // A phone acknowledged before its confirmation stays acknowledged.
    const b2 = h.engine.start({ title: 't2', text: 'y', tones: 'none', ack: true, targets: { all: true } });
    await h.engine.wait(b2.id);
    const d2 = (await h.stores.broadcasts.listDeliveries(b2.id))[0]!;
    const ackUrl = String(phoneLogs.get('slowfetch')!.calls.at(-1)!.params.ack_url);
    await h.engine.acknowledge(d2.id, ackUrl.split('/').at(-1)!);
    expect(await h.engine.displayed('ref-slowfetch')).toBe(false);
    expect((await h.stores.broadcasts.getDelivery(d2.id))!.state).toBe('acknowledged');
  });

  it('retries transient failures with backoff and reports permanent ones per phone with reasons', async () => {
    h = broadcastHarness({ options: { attempts: 3 } });
    await h.phone('flaky', 'flaky:2');
    await h.phone('down', 'down');
    await h.phone('refuse', 'refuse');
    await h.phone('ok', 'ok');
    await h.phone('tonefail', 'tone-fails');
    const b = h.engine.start({ title: 't', text: 'x', targets: { all: true } });
    const r = await h.engine.wait(b.id);
    const by = Object.fromEntries((await h.engine.deliveries(b.id)).map((d) => [d.deviceId, d]));
    expect(by.flaky!.state).toBe('displayed');
    expect(by.flaky!.attempts).toBe(3);
    expect(by.down!.state).toBe('failed');
    expect(by.down!.reason).toBe('HTTP_CONNECT_FAILED');
    expect(by.down!.attempts).toBe(3);
    expect(by.refuse!.state).toBe('failed');
    expect(by.refuse!.reason).toBe('forbidden');
    expect(by.refuse!.attempts).toBe(1);
    expect(by.tonefail!.state).toBe('displayed');
    expect(by.tonefail!.steps).toEqual([
      { actionId: 'show', ok: true, outcome: 'accepted' },
      { actionId: 'tone', ok: false, outcome: 'unsupported' },
    ]);
    expect(r.failuresByReason).toEqual({ HTTP_CONNECT_FAILED: 1, forbidden: 1 });
    expect(r.counts).toMatchObject({ displayed: 3, failed: 2 });
  });

  it('busy phones: whisper re-sends as barge, suppress skips, retry waits and gives up', async () => {
    h = broadcastHarness();
    await h.phone('busy1', 'busy');
    await h.phone('busy2', 'busy-always');
    const w = h.engine.start({ title: 't', text: 'whisper', busyPolicy: 'whisper', targets: { all: true } });
    await h.engine.wait(w.id);
    let by = Object.fromEntries((await h.engine.deliveries(w.id)).map((d) => [d.deviceId, d]));
    expect(by.busy1).toMatchObject({ state: 'displayed', busy: true, attempts: 2 });
    expect(
      phoneLogs
        .get('busy1')!
        .calls.filter((c) => c.action === 'show')
        .map((c) => c.params.mode),
    ).toEqual(['normal', 'barge']);
    expect(by.busy2!.state).toBe('failed');

    const s = h.engine.start({
      title: 't',
      text: 'suppress',
      busyPolicy: 'suppress',
      targets: { all: true },
    });
    await h.engine.wait(s.id);
    by = Object.fromEntries((await h.engine.deliveries(s.id)).map((d) => [d.deviceId, d]));
    expect(by.busy1).toMatchObject({ state: 'failed', reason: 'busy_suppressed', attempts: 1 });

    const r = h.engine.start({
      title: 't',
      text: 'retry',
      busyPolicy: 'retry',
      targets: { devices: ['busy2'] },
    });
    const rep = await h.engine.wait(r.id);
    by = Object.fromEntries((await h.engine.deliveries(r.id)).map((d) => [d.deviceId, d]));
    expect(by.busy2).toMatchObject({ state: 'failed', reason: 'busy', attempts: 3 });
    expect(rep.failuresByReason).toEqual({ busy: 1 });
  });

  it('uses the known call state: suppress without sending, whisper straight away', async () => {
    h = broadcastHarness({ isBusy: (d) => d.id === 'oncall' });
    await h.phone('oncall', 'ok');
    const s = h.engine.start({ title: 't', text: 'x', busyPolicy: 'suppress', targets: { all: true } });
    await h.engine.wait(s.id);
    expect((await h.engine.deliveries(s.id))[0]).toMatchObject({
      state: 'failed',
      reason: 'busy_suppressed',
      attempts: 0,
    });
    expect(phoneLogs.get('oncall')?.calls ?? []).toHaveLength(0);
    const w = h.engine.start({ title: 't', text: 'x', priority: 'urgent', targets: { all: true } });
    expect(w.busyPolicy).toBe('whisper');
    await h.engine.wait(w.id);
    expect(phoneLogs.get('oncall')!.calls[0]!.params.mode).toBe('barge');
  });

  it('default busy policy per priority comes from the options', async () => {
    h = broadcastHarness({
      options: { busyPolicies: { normal: 'suppress', urgent: 'retry', emergency: 'whisper' } },
    });
    await h.phone('a');
    expect(h.engine.start({ title: 't', text: 'x', targets: { all: true } }).busyPolicy).toBe('suppress');
    expect(
      h.engine.start({ title: 't', text: 'x', priority: 'urgent', targets: { all: true } }).busyPolicy,
    ).toBe('retry');
  });

  it('phones of a kind without a planner fail with no_planner', async () => {
    h = broadcastHarness({ noPlanners: true });
    await h.phone('x');
    // `all` means the phones (issue 17): a device that cannot show alerts is a target only when named.
    expect(() => h!.engine.start({ title: 't', text: 'x', targets: { all: true } })).toThrow(
      expect.objectContaining({ code: 'BROADCAST_NO_TARGETS' }),
    );
    const b = h.engine.start({ title: 't', text: 'x', targets: { devices: ['x'] } });
    const r = await h.engine.wait(b.id);
    expect(r.failuresByReason).toEqual({ no_planner: 1 });
    expect(phoneLogs.get('x')?.calls ?? []).toHaveLength(0);
  });

  it('acknowledgement: per-delivery token, constant-time check, idempotent, event', async () => {
    h = broadcastHarness();
    await h.phone('a');
    await h.phone('b');
    const b = h.engine.start({ title: 'Alert', text: 'x', priority: 'emergency', targets: { all: true } });
    expect(b.ack).toBe(true);
    await h.engine.wait(b.id);
    const shows = ['a', 'b'].map(
      (id) => phoneLogs.get(id)!.calls.find((c) => c.action === 'show')!.params.ack_url as string,
    );
    expect(shows[0]).not.toEqual(shows[1]);
    const m = /\/alerts\/ack\/([^/]+)\/([^/]+)$/.exec(shows[0]!)!;
    const [, deliveryId, token] = m;
    const stored = (await h.stores.broadcasts.getDelivery(deliveryId!))!;
    expect(stored.ackTokenHash).toBe(hashToken(token!));
    expect(JSON.stringify(stored)).not.toContain(token!);
    // One character off (never the same character: a random token ends in 'A' one time in 64).
    const wrong = `${token!.slice(0, -1)}${token!.endsWith('A') ? 'B' : 'A'}`;
    await expect(h!.engine.acknowledge(deliveryId!, wrong)).rejects.toThrow(
      expect.objectContaining({ code: 'BROADCAST_ACK_INVALID' }),
    );
    await expect(h!.engine.acknowledge('dl_nope', token!)).rejects.toThrow(
      expect.objectContaining({ code: 'BROADCAST_ACK_INVALID' }),
    );
    const first = await h.engine.acknowledge(deliveryId!, token!, 'desk 1');
    expect(first.first).toBe(true);
    expect(first.delivery).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'desk 1' });
    expect((await h.engine.acknowledge(deliveryId!, token!)).first).toBe(false);
    expect(h.events.filter((e) => e.type === 'broadcast.acknowledged')).toHaveLength(1);
    expect(await h.engine.counts(b.id)).toMatchObject({ acknowledged: 1, displayed: 1 });
  });

  it('cancelling a broadcast aborts the device actions in flight', async () => {
    h = broadcastHarness();
    for (let i = 0; i < 5; i++) await h.phone(`s${i}`, 'ok');
    const seen: Array<{ aborted: boolean; reason: unknown }> = [];
    let started = 0;
    const engine = new BroadcastEngine({
      store: h.stores.broadcasts,
      devices: h.devices,
      bus: h.bus,
      planner: () => testphonePlanner,
      ackUrl: (id, t) => `http://hub.test/alerts/ack/${id}/${t}`,
      runner: {
        // A phone that never answers: only the abort ends the action.
        execute: (_id, _action, _params, opts) =>
          new Promise((_resolve, reject) => {
            started++;
            opts?.signal?.addEventListener('abort', () => {
              seen.push({ aborted: true, reason: opts.signal?.reason });
              reject(new Error('aborted'));
            });
          }),
      },
      options: { concurrency: 3, actionTimeoutMs: 60_000 },
    });
    const b = engine.start({ title: 't', text: 'x', targets: { all: true } });
    while (started < 3) await new Promise((r) => setTimeout(r, 1));
    await engine.cancel(b.id);
    const r = await engine.wait(b.id);
    expect(seen).toHaveLength(3);
    for (const s of seen) expect((s.reason as Error).message).toBe('cancelled');
    // The two phones not yet served are `cancelled`; the three in flight fail with their action's error.
    expect(r.failuresByReason).toEqual({ cancelled: 2, error: 3 });
    await engine.close();
  });

  it('cancel and expiry stop phones not yet served', async () => {
    h = broadcastHarness({ options: { concurrency: 1 } });
    for (let i = 0; i < 10; i++) await h.phone(`p${i}`, 'slow:20');
    const b = h.engine.start({ title: 't', text: 'x', targets: { all: true } });
    await new Promise((r) => setTimeout(r, 30));
    await h.engine.cancel(b.id);
    const r = await h.engine.wait(b.id);
    expect(r.failuresByReason.cancelled).toBeGreaterThan(5);
    expect((await h.stores.broadcasts.getBroadcast(b.id))!.state).toBe('cancelled');
    await expect(h!.engine.cancel(b.id)).rejects.toThrow(
      expect.objectContaining({ code: 'BROADCAST_FINISHED' }),
    );

    const e = h.engine.start({ title: 't', text: 'x', expiresInSeconds: 1, targets: { all: true } });
    // expiry through the clock: move the expiry forward by cancelling with the expiry reason
    await h.engine.cancel(e.id, 'expired');
    const r2 = await h.engine.wait(e.id);
    expect(r2.failuresByReason.expired).toBeGreaterThan(5);
    expect((await h.stores.broadcasts.getBroadcast(e.id))!.state).toBe('expired');
  });

  it('multicast audio: one session per target group, phones told to join it', async () => {
    const started: Array<{ address: string; port: number }> = [];
    h = broadcastHarness({
      audio: {
        start: async (_req, s) => {
          started.push(s);
          return { stop() {} };
        },
      },
    });
    await h.phone('a', 'ok', ['g1']);
    await h.phone('b', 'ok', ['g1']);
    await h.phone('c', 'ok', ['g2']);
    const b = h.engine.start({
      title: 't',
      text: 'x',
      audio: { source: 'tone', tone: 'alert' },
      targets: { groups: ['g1', 'g2'] },
    });
    const r = await h.engine.wait(b.id);
    expect(r.audioSessions).toBe(2);
    expect(started).toHaveLength(2);
    const listen = (id: string) => phoneLogs.get(id)!.calls.find((c) => c.action === 'listen')!.params;
    expect(listen('a')).toEqual(listen('b'));
    expect(listen('a')).not.toEqual(listen('c'));
    expect(listen('a')).toEqual({ address: started[0]!.address, port: started[0]!.port });
  });

  it('multicast audio: a group stream is released once its phones were told to join, or at the join timeout', async () => {
    const ready = new Map<number, number>();
    h = broadcastHarness({
      options: {
        followUpMaxWaitMs: 50,
        // A join timeout well above the time the quick phones take, even on a loaded machine.
        multicast: { baseAddress: '239.255.40.1', basePort: 24000, leadMs: 0, joinTimeoutMs: 2000 },
      },
      audio: {
        start: async (_req, s) => {
          void s.ready?.then(() => ready.set(s.port, Date.now()));
          return { stop() {} };
        },
      },
    });
    await h.phone('a', 'ok', ['g1']);
    await h.phone('b', 'slow:150', ['g1']);
    await h.phone('hung', 'slow:4000', ['g2']);
    const b = h.engine.start({
      title: 't',
      text: 'x',
      tones: 'none',
      audio: { source: 'tone', tone: 'alert' },
      targets: { groups: ['g1', 'g2'] },
    });
    const t0 = Date.now();
    await until(() => ready.size === 2, 10_000);
    const listenedAt = (id: string) => phoneLogs.get(id)!.calls.findIndex((c) => c.action === 'listen');
    // g1 opened after both its phones were told to join; g2 at the join timeout, before its phone joined.
    expect(listenedAt('a')).toBeGreaterThan(-1);
    expect(listenedAt('b')).toBeGreaterThan(-1);
    expect(listenedAt('hung')).toBe(-1);
    const [g1, g2] = [...ready.entries()].sort((x, y) => x[0] - y[0]).map(([, at]) => at - t0);
    expect(g1!).toBeLessThan(g2!);
    expect(g2!).toBeGreaterThanOrEqual(1990);
    await h.engine.cancel(b.id);
    await h.engine.wait(b.id);
  });

  it('recover() closes broadcasts a previous process left running', async () => {
    h = broadcastHarness();
    await h.phone('a');
    const now = new Date().toISOString();
    await h.stores.broadcasts.insertBroadcast({
      id: 'bc_old',
      title: 't',
      text: 'x',
      priority: 'normal',
      tones: 'chime',
      audio: null,
      ack: false,
      expiresAt: null,
      targets: { all: true },
      busyPolicy: 'retry',
      meta: {},
      state: 'delivering',
      createdAt: now,
      createdBy: 'api',
      finishedAt: null,
      report: null,
    });
    await h.stores.broadcasts.saveDeliveries([
      {
        id: 'dl_1',
        broadcastId: 'bc_old',
        deviceId: 'a',
        kind: 'testphone',
        state: 'sent',
        reason: null,
        message: null,
        attempts: 1,
        busy: false,
        ackTokenHash: null,
        queuedAt: now,
        sentAt: now,
        acceptedAt: null,
        latencyMs: null,
        acknowledgedAt: null,
        acknowledgedBy: null,
        steps: [],
      },
    ]);
    expect(await h.engine.recover()).toBe(1);
    expect((await h.stores.broadcasts.getBroadcast('bc_old'))!.report!.failuresByReason).toEqual({
      interrupted: 1,
    });
  });
});

describe('broadcast engine: restarts', async () => {
  it('close() suspends emergency/urgent broadcasts (resumable) and closes normal ones; a new engine resumes only the first', async () => {
    h = broadcastHarness();
    await h.phone('done', 'ok');
    await h.phone('hung', 'slow:60000');
    const urgent = h.engine.start({
      title: 'Fire drill',
      text: 'Leave by the north stairs',
      priority: 'urgent',
      targets: { groups: ['security'] },
    });
    const normal = h.engine.start({
      title: 'Lunch',
      text: 'Pizza in the lobby',
      priority: 'normal',
      targets: { devices: ['hung'] },
    });
    await until(
      async () =>
        (await h!.engine.deliveries(urgent.id)).some((d) => d.deviceId === 'done' && d.state === 'displayed'),
      5000,
    );
    await until(async () => (await h!.engine.deliveries(urgent.id)).some((d) => d.state === 'sent'), 5000);
    await h.engine.close();
    const b = h.stores.broadcasts;
    expect((await b.getBroadcast(urgent.id))!.state).toBe('delivering');
    expect((await b.listDeliveries(urgent.id)).map((d) => `${d.deviceId}:${d.state}`).sort()).toEqual([
      'done:displayed',
      'hung:queued',
    ]);
    expect((await b.getBroadcast(normal.id))!.state).toBe('done');
    expect((await b.listDeliveries(normal.id))[0]).toMatchObject({ state: 'failed', reason: 'interrupted' });

    // The next process: the hung phone answers now.
    await h.devices.update('hung', { settings: { behavior: 'ok' } });
    const next = nextProcess(h!);
    const r = await next.recoverAll();
    expect(r).toEqual({ closed: 0, resumed: [urgent.id] });
    const report = await next.wait(urgent.id);
    expect(report.counts.displayed).toBe(2);
    expect((await b.getBroadcast(urgent.id))!.state).toBe('done');
    expect(h.events.some((e) => e.type === 'broadcast.resumed' && e.data.broadcastId === urgent.id)).toBe(
      true,
    );
    await next.close();
  });

  it('a crash before any delivery record was written: the stored broadcast and targets are enough to resume every phone', async () => {
    h = broadcastHarness();
    for (const [id, behavior] of [
      ['served', 'ok'],
      ['hung1', 'slow:60000'],
      ['hung2', 'slow:60000'],
    ] as const)
      await h.phone(id, behavior);
    const b = h.engine.start({
      title: '911',
      text: 'Call from 4001',
      priority: 'emergency',
      targets: { all: true },
    });
    const store = h.stores.broadcasts;
    // Right behind the first burst of phones only the broadcast and its targets are on disk (two rows), not
    // one `queued` row per phone: the records are written with their outcomes, behind the alerts.
    await h.engine.durable(b.id);
    expect((await store.getBroadcast(b.id))!.state).toBe('delivering');
    expect(await store.listDeliveries(b.id)).toEqual([]);
    expect((await store.listTargets(b.id)).map((t) => `${t.deviceId}:${t.kind}`).sort()).toEqual([
      'hung1:testphone',
      'hung2:testphone',
      'served:testphone',
    ]);
    await until(async () => (await store.listDeliveries(b.id)).some((d) => d.deviceId === 'served'), 5000);
    // The process dies here (kill -9: no close(), nothing more written). The next process:
    await h.devices.update('hung1', { settings: { behavior: 'ok' } });
    await h.devices.update('hung2', { settings: { behavior: 'ok' } });
    const next = new BroadcastEngine({
      store,
      devices: h.devices,
      runner: h.runner,
      planner: () => testphonePlanner,
      bus: h.bus,
      ackUrl: (id, token) => `http://hub.test/alerts/ack/${id}/${token}`,
    });
    expect(await next.recoverAll()).toEqual({ closed: 0, resumed: [b.id] });
    const report = await next.wait(b.id);
    expect(report.total).toBe(3);
    expect(report.counts.displayed).toBe(3);
    const ds = await store.listDeliveries(b.id);
    expect(ds.map((d) => d.deviceId).sort()).toEqual(['hung1', 'hung2', 'served']);
    expect(ds.every((d) => d.state === 'displayed' && d.ackTokenHash !== null)).toBe(true);
    // The phone served before the crash was not alerted again; the two others were.
    expect(phoneLogs.get('served')!.calls.filter((c) => c.action === 'show')).toHaveLength(1);
    expect(phoneLogs.get('hung1')!.calls.filter((c) => c.action === 'show')).toHaveLength(1);
    await next.close();
    // The dead engine's requests still hang on the slow phones: stop them.
    await h.engine.close();
  });

  it('a normal broadcast cut off by a crash before its records were written: every target is reported interrupted', async () => {
    h = broadcastHarness();
    await h.phone('a', 'slow:60000');
    await h.phone('b', 'slow:60000');
    const b = h.engine.start({ title: 'Lunch', text: 'Pizza', targets: { all: true } });
    // The broadcast's row is written one turn after the first phones were started (then the crash).
    await h.engine.durable(b.id);
    const next = nextProcess(h!);
    expect(await next.recoverAll()).toEqual({ closed: 1, resumed: [] });
    const stored = (await h.stores.broadcasts.getBroadcast(b.id))!;
    expect(stored.state).toBe('done');
    expect(stored.report!.failuresByReason).toEqual({ interrupted: 2 });
    expect(
      (await h.stores.broadcasts.listDeliveries(b.id))
        .map((d) => `${d.deviceId}:${d.state}:${d.reason}`)
        .sort(),
    ).toEqual(['a:failed:interrupted', 'b:failed:interrupted']);
  });
});
