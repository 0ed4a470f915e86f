import { afterEach, describe, expect, it } from 'vitest';
import { BroadcastControl } from '../../../src/alerting/broadcast/control.js';
import { broadcastHarness } from '../../helpers/broadcast-harness.js';
import { phoneLogs, testphonePlanner } from '../../helpers/testphone-driver.js';

/**
 * The control (cancel, recall, retry) over the real engine and store with test phones: recall in the middle
 * of delivery, phones whose kind cannot be cleared, retries of flaky phones, repeats stopped by a cancel.
 */
type H = ReturnType<typeof broadcastHarness>;

function controlOf(h: H, planner = testphonePlanner) {
  return new BroadcastControl({
    engine: h.engine,
    store: h.stores.broadcasts,
    devices: h.devices,
    runner: h.runner,
    planner: () => planner,
    bus: h.bus,
  });
}
const clears = (id: string) => (phoneLogs.get(id)?.calls ?? []).filter((c) => c.action === 'clear').length;

describe('broadcast control', () => {
  let h: H | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('recall while delivering: served phones are cleared, the rest are cancelled and never shown', async () => {
    h = broadcastHarness({ options: { concurrency: 1, attempts: 1 } });
    for (let i = 0; i < 6; i++) await h.phone(`s${i}`, 'slow:40');
    const c = controlOf(h);
    const b = h.engine.start({ title: 't', text: 'x', tones: 'none', targets: { all: true } });
    while ((await h.engine.counts(b.id)).displayed < 2) await new Promise((r) => setTimeout(r, 5));
    const r = await c.recall(b.id, 'desk');
    const ds = await h.stores.broadcasts.listDeliveries(b.id);
    const shown = ds.filter((d) => d.state === 'recalled').map((d) => d.deviceId);
    const cancelled = ds.filter((d) => d.state === 'cancelled').map((d) => d.deviceId);
    expect(shown.length).toBeGreaterThanOrEqual(2);
    expect(r.cleared).toBe(r.phones);
    // The one in flight when cancelled may have reached the phone: it is cleared too (or counted cancelled).
    expect(shown.length + cancelled.length + ds.filter((d) => d.state === 'failed').length).toBe(6);
    for (const id of shown) expect(clears(id)).toBe(1);
    for (const id of cancelled) {
      expect(clears(id)).toBe(0);
      expect((phoneLogs.get(id)?.calls ?? []).filter((x) => x.action === 'show')).toHaveLength(0);
    }
    const stored = (await h.stores.broadcasts.getBroadcast(b.id))!;
    expect(stored.state).toBe('recalled');
    expect(stored.cancelled?.by).toBe('desk');
    expect(stored.report!.counts.recalled).toBe(shown.length);
    expect(h.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['broadcast.cancelled', 'broadcast.recalled']),
    );
    // Two recalls at once share one run; a third finds nothing left.
    const [a, b2] = await Promise.all([c.recall(b.id, 'x'), c.recall(b.id, 'y')]);
    expect(a).toBe(b2);
    expect(a.phones).toBe(0);
  });

  it('a kind without a clear plan is reported not_supported and keeps its state', async () => {
    h = broadcastHarness();
    await h.phone('p1');
    const { planClear: _drop, ...noClear } = testphonePlanner;
    const c = controlOf(h, noClear);
    const b = h.engine.start({ title: 't', text: 'x', targets: { all: true } });
    await h.engine.wait(b.id);
    const r = await c.recall(b.id, 'desk');
    expect(r).toMatchObject({ phones: 1, cleared: 0, failed: 1 });
    expect((await h.stores.broadcasts.listDeliveries(b.id))[0]).toMatchObject({
      state: 'displayed',
      recall: { ok: false, outcome: 'not_supported' },
    });
  });

  it('retry: only failed phones, refused phones fail again, phones without a planner are not retried', async () => {
    h = broadcastHarness({ options: { attempts: 1 } });
    await h.phone('ok1');
    await h.phone('flaky', 'flaky:1');
    await h.phone('no', 'refuse');
    const c = controlOf(h);
    const b = h.engine.start({ title: 't', text: 'x', tones: 'none', targets: { all: true } });
    await h.engine.wait(b.id);
    expect(await h.engine.counts(b.id)).toMatchObject({ displayed: 1, failed: 2 });
    await expect(c.retry('bc_nope', 'x')).rejects.toThrow(
      expect.objectContaining({ code: 'BROADCAST_NOT_FOUND' }),
    );
    const r = await c.retry(b.id, 'desk');
    expect(r.phones).toBe(2);
    await expect(c.retry(b.id, 'desk')).rejects.toThrow(
      expect.objectContaining({ code: 'BROADCAST_RUNNING' }),
    );
    await h.engine.wait(b.id);
    const byId = Object.fromEntries(
      (await h.stores.broadcasts.listDeliveries(b.id)).map((d) => [d.deviceId, d]),
    );
    expect(byId.flaky).toMatchObject({ state: 'displayed', attempts: 2 });
    expect(byId.no).toMatchObject({ state: 'failed', reason: 'forbidden' });
    expect((phoneLogs.get('ok1')?.calls ?? []).filter((x) => x.action === 'show')).toHaveLength(1);
    expect(await h.stores.broadcasts.getBroadcast(b.id)).toMatchObject({
      state: 'done',
      retries: [{ by: 'desk', phones: 2 }],
    });
    expect(h.events.filter((e) => e.type === 'broadcast.retried')).toHaveLength(1);
  });

  it('cancel stops the repeats of a broadcast repeated until acknowledged', async () => {
    h = broadcastHarness();
    await h.phone('p1');
    const c = controlOf(h);
    const b = h.engine.start(
      { title: 't', text: 'x', ack: true, targets: { all: true } },
      { repeat: { everyMs: 1000 } },
    );
    await h.engine.wait(b.id);
    expect(h.engine.isRepeating(b.id)).toBe(true);
    await expect(c.retry(b.id, 'x')).rejects.toThrow(expect.objectContaining({ code: 'BROADCAST_RUNNING' }));
    const r = await c.cancel(b.id, 'desk');
    expect(h.engine.isRepeating(b.id)).toBe(false);
    expect(r.broadcast.state).toBe('cancelled');
    await expect(c.cancel(b.id, 'desk')).rejects.toMatchObject({ code: 'BROADCAST_FINISHED' });
  });
});
