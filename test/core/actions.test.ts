import { afterEach, describe, expect, it } from 'vitest';
import { broadcastHarness } from '../helpers/broadcast-harness.js';
import { phoneLogs } from '../helpers/testphone-driver.js';

describe('ActionRunner device reads', () => {
  let h: ReturnType<typeof broadcastHarness> | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('sees every registry change: update reopens the session with the new device, remove is DEVICE_NOT_FOUND', async () => {
    h = broadcastHarness();
    await h.phone('p1', 'ok');
    expect((await h.runner.execute('p1', 'show', { text: 'one' })).ok).toBe(true);
    // The new behaviour must be seen by the very next action (not a stale copy of the device).
    await h.devices.update('p1', { settings: { behavior: 'refuse' } });
    const r = await h.runner.execute('p1', 'show', { text: 'two' });
    expect(r).toMatchObject({ ok: false, outcome: 'forbidden' });
    expect(phoneLogs.get('p1')?.calls.map((c) => c.params.text)).toEqual(['one', 'two']);
    await h.devices.remove('p1');
    await expect(h.runner.execute('p1', 'show', { text: 'three' })).rejects.toMatchObject({
      code: 'DEVICE_NOT_FOUND',
    });
    await h.phone('p1', 'ok');
    expect((await h.runner.execute('p1', 'show', { text: 'four' })).ok).toBe(true);
  });

  it('primed devices are used until the registry changes them', async () => {
    h = broadcastHarness();
    await h.phone('p2', 'ok');
    const stale = h.devices.require('p2');
    h.runner.prime([stale]);
    await h.devices.update('p2', { settings: { behavior: 'refuse' } });
    // A prime never overrides a change: the runner reads the updated device.
    h.runner.prime([stale]);
    expect(await h.runner.execute('p2', 'show', { text: 'x' })).toMatchObject({
      ok: false,
      outcome: 'forbidden',
    });
  });

  it('every acknowledgement link of a broadcast has its own 24-byte token', async () => {
    h = broadcastHarness();
    for (let i = 0; i < 20; i++) await h.phone(`a${i}`, 'ok');
    const b = h.engine.start({ title: 't', text: 'x', ack: true, targets: { all: true } });
    await h.engine.wait(b.id);
    const links = [...phoneLogs.values()].map((l) => String(l.calls[0]!.params.ack_url));
    const tokens = links.map((u) => u.split('/').pop()!);
    expect(tokens).toHaveLength(20);
    expect(new Set(tokens).size).toBe(20);
    for (const t of tokens) expect(Buffer.from(t, 'base64url')).toHaveLength(24);
  });
});
