import { afterEach, describe, expect, it } from 'vitest';
import type { AlertPlanner } from '../../../src/alerting/broadcast/types.js';
import { parseLocationsCsv } from '../../../src/alerting/emergency/service.js';
import { broadcastHarness } from '../../helpers/broadcast-harness.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { phoneLogs, testphonePlanner } from '../../helpers/testphone-driver.js';

/** The test phone with a repeat plan: the alert text again (`show`) and its tone. */
const repeating: AlertPlanner = {
  ...testphonePlanner,
  planRepeat: (alert) => [
    { actionId: 'show', role: 'display', params: { title: alert.title, text: `repeat ${alert.repeat}` } },
    { actionId: 'tone', role: 'tone', params: { name: alert.tones } },
  ],
  alertPage: (alert) => ({ contentType: 'text/plain', body: `ALERT ${alert.title} ${alert.showUrl ?? ''}` }),
};

const until = async (fn: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};
const repeats = (id: string) =>
  (phoneLogs.get(id)?.calls ?? []).filter((c) => String(c.params.text ?? '').startsWith('repeat')).length;

let close: (() => Promise<void>) | undefined;
let hub: TestHub | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
  await hub?.close();
  hub = undefined;
});

describe('broadcast repeats until acknowledged', () => {
  it('repeats on every phone; one acknowledgement stops them all; the show link then answers the closing page', async () => {
    const h = broadcastHarness({ planners: { testphone: repeating } });
    close = h.close;
    await h.phone('a');
    await h.phone('b');
    const b = h.engine.start(
      { title: '911 CALL', text: 'x', priority: 'emergency', targets: { groups: ['security'] } },
      { repeat: { everyMs: 1000 } },
    );
    await h.engine.wait(b.id);
    await until(() => repeats('a') >= 1 && repeats('b') >= 1);
    expect(h.engine.isRepeating(b.id)).toBe(true);
    const ack = phoneLogs.get('a')!.calls.find((c) => c.params.ack_url)!.params.ack_url as string;
    const [, id, token] = /\/alerts\/ack\/([^/]+)\/([^/]+)$/.exec(ack)!;
    // Before: the show link answers the alert (a phone's Exit brings it back).
    expect(await h.engine.showPage(id!, token!)).toMatchObject({
      open: true,
      page: { body: expect.stringMatching(/^ALERT 911 CALL/) },
    });
    await h.engine.acknowledge(id!, token!, 'Guard Kim');
    expect(h.engine.isRepeating(b.id)).toBe(false);
    const n = { a: repeats('a'), b: repeats('b') };
    await new Promise((r) => setTimeout(r, 2300));
    expect({ a: repeats('a'), b: repeats('b') }).toEqual(n);
    // After: the other phone's link answers the closing page, naming who acknowledged.
    const other = (await h.engine.deliveries(b.id)).find((d) => d.deviceId === 'b')!;
    expect((await h.engine.get(b.id)).settled).toMatchObject({ by: 'Guard Kim' });
    await expect(h.engine.showPage(other.id, 'forged-token')).rejects.toThrow(/invalid/);
    expect(await h.engine.showPage(id!, token!)).toMatchObject({
      open: false,
      page: { body: expect.stringContaining('Acknowledged by Guard Kim') },
    });
  });

  it('stopRepeat (an escalation takes over) and settle (operator ack) stop the timer; without repeat nothing repeats', async () => {
    const h = broadcastHarness({ planners: { testphone: repeating } });
    close = h.close;
    await h.phone('c');
    const once = h.engine.start({
      title: 'T',
      text: 'x',
      priority: 'emergency',
      targets: { devices: ['c'] },
    });
    const rep = h.engine.start(
      { title: 'T', text: 'x', priority: 'emergency', targets: { devices: ['c'] } },
      { repeat: { everyMs: 1000 } },
    );
    expect(h.engine.isRepeating(once.id)).toBe(false);
    expect(h.engine.isRepeating(rep.id)).toBe(true);
    h.engine.stopRepeat(rep.id);
    expect(h.engine.isRepeating(rep.id)).toBe(false);
    expect((await h.engine.get(rep.id)).settled).toBeNull();
    await h.engine.settle(rep.id, 'operator', 'Acknowledged by operator at 20:43:10 EST.');
    expect((await h.engine.get(rep.id)).settled).toMatchObject({
      text: 'Acknowledged by operator at 20:43:10 EST.',
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(repeats('c')).toBe(0);
  });
});

describe('repeats skip a phone on a call', () => {
  it('a busy phone (the guard calling back) is not re-alerted; the idle one is', async () => {
    const busy = new Set(['busy']);
    const h = broadcastHarness({ planners: { testphone: repeating }, isBusy: (d) => busy.has(d.id) });
    close = h.close;
    await h.phone('busy');
    await h.phone('idle');
    const b = h.engine.start(
      { title: '911 CALL', text: 'x', priority: 'emergency', targets: { devices: ['busy', 'idle'] } },
      { repeat: { everyMs: 1000 } },
    );
    await until(() => repeats('idle') >= 2);
    expect(repeats('busy')).toBe(0);
    busy.clear();
    await until(() => repeats('busy') >= 1);
    h.engine.stopRepeat(b.id);
  });
});

describe('phone alert input (real-world)', () => {
  it('location CSV: timezone column in any case, CRLF, BOM, quoted commas', () => {
    const rows = parseLocationsCsv(
      '\uFEFFExtension,Name,Building,Floor,Room,Callback,TimeZone\r\n4001,"Able, Alice",Main,1,101,+15550104001,America/Chicago\r\n4002,Bob,Main,2,,,\r\n',
      '2026-12-02T00:00:00Z',
    );
    expect(rows).toEqual([
      {
        extension: '4001',
        name: 'Able, Alice',
        building: 'Main',
        floor: '1',
        room: '101',
        callback: '+15550104001',
        timeZone: 'America/Chicago',
        updatedAt: '2026-12-02T00:00:00Z',
      },
      { extension: '4002', name: 'Bob', building: 'Main', floor: '2', updatedAt: '2026-12-02T00:00:00Z' },
    ]);
  });

  it('an unknown time zone: refused in the table (400) and in the config (start-up error)', async () => {
    hub = await startTestHub();
    const r = await hub.api<{ error: { code: string } }>('PUT', '/api/locations/4001', {
      building: 'Main',
      timeZone: 'Mars/Olympus',
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('LOCATION_TIMEZONE_INVALID');
    await expect(startTestHub({ config: { 'emergency.timeZone': 'Eastern Time' } })).rejects.toThrow(
      /emergency\.timeZone/,
    );
  });
});
