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
    h.phone('p1', 'ok');
    expect((await h.runner.execute('p1', 'show', { text: 'one' })).ok).toBe(true);
    // The new behaviour must be seen by the very next action (not a stale copy of the device).
    h.devices.update('p1', { settings: { behavior: 'refuse' } });
    const r = await h.runner.execute('p1', 'show', { text: 'two' });
    expect(r).toMatchObject({ ok: false, outcome: 'forbidden' });
    expect(phoneLogs.get('p1')?.calls.map((c) => c.params.text)).toEqual(['one', 'two']);
    h.devices.remove('p1');
    await expect(h.runner.execute('p1', 'show', { text: 'three' })).rejects.toMatchObject({
      code: 'DEVICE_NOT_FOUND',
    });
    h.phone('p1', 'ok');
    expect((await h.runner.execute('p1', 'show', { text: 'four' })).ok).toBe(true);
  });
});
