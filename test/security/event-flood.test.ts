import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { rawRequest } from '../helpers/raw-http.js';

/**
 * Attack 2 of issue 13: `POST /cisco/events/notify` floods were stored without limit (35,588 events in
 * 15 s) and the event log was never pruned. Now: per-address rate limit, registered phones only, a
 * bounded event log, and a full disk shows in /readyz.
 */
let hubs: TestHub[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(hubs.map((h) => h.close()));
  hubs = [];
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
async function hubWith(
  config: Record<string, unknown> = {},
  extra: { dataDir?: string; clock?: ManualClock } = {},
) {
  const h = await startTestHub({ config, ...extra });
  hubs.push(h);
  return h;
}
const notify = (h: TestHub, i: number) =>
  rawRequest(h.url, 'POST', '/cisco/events/notify', {
    headers: { 'content-type': 'text/plain' },
    body: `flood ${i}`,
  });

describe('phone-facing receivers are bounded (item 2)', () => {
  it('a flood from a registered phone address is cut at cisco.events.maxPerAddressPerMinute', async () => {
    const h = await hubWith({ 'cisco.events.maxPerAddressPerMinute': 50 });
    expect(
      (await h.api('POST', '/api/devices', { kind: 'cisco', name: 'lobby', address: '127.0.0.1' })).status,
    ).toBe(201);
    const statuses: number[] = [];
    for (let i = 0; i < 300; i++) statuses.push((await notify(h, i)).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(50);
    expect(statuses.filter((s) => s === 429)).toHaveLength(250);
    expect(await h.hub.bus.list({ filter: { types: ['cisco.notify'] }, limit: 1000 })).toHaveLength(50);
  }, 120_000);

  it('callbacks from an address that is no registered phone are refused and not stored', async () => {
    const h = await hubWith();
    const r = await notify(h, 0);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.text).error.code).toBe('CISCO_EVENTS_UNKNOWN_PHONE');
    expect(await h.hub.bus.list({ filter: { types: ['cisco.notify'] } })).toHaveLength(0);
  }, 60_000);

  it('the event log keeps at most events.maxEvents and nothing older than events.retentionDays', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-events-'));
    dirs.push(dataDir);
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const first = await startTestHub({ dataDir, clock });
    for (let i = 0; i < 1500; i++) first.hub.bus.emit({ source: 'test', type: 'test.old', data: { i } });
    await first.close();
    clock.advance(10 * 86_400_000);
    const second = await hubWith({ 'events.maxEvents': 1000 }, { dataDir, clock });
    // Pruned at start (then every events.pruneIntervalMinutes): the newest 1000 are kept.
    const left = await second.hub.bus.list({ limit: 10_000, filter: { types: ['test.old'] } });
    expect(left.length).toBeLessThanOrEqual(1000);
    expect(left.at(-1)?.data).toEqual({ i: 1499 });
    await second.close();
    hubs = hubs.filter((x) => x !== second);
    clock.advance(31 * 86_400_000);
    const third = await hubWith({ 'events.retentionDays': 30 }, { dataDir, clock });
    expect(await third.hub.bus.list({ limit: 10_000, filter: { types: ['test.old'] } })).toHaveLength(0);
  }, 120_000);

  it('/readyz answers 503 "disk full" below events.minFreeDiskMb', async () => {
    const h = await hubWith({ 'events.minFreeDiskMb': 1_000_000 });
    const r = await fetch(`${h.url}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({ disk: 'full' });
    const ok = await hubWith();
    expect(await (await fetch(`${ok.url}/readyz`)).json()).toMatchObject({ status: 'ready', disk: 'ok' });
  }, 60_000);
});
