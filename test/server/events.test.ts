import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/core/bus.js';
import { sqliteCoreStores } from '../../src/store/sqlite/core-stores.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

describe('event bus and store', async () => {
  it('assigns increasing sequence numbers and resumes after a sequence without gaps or duplicates', async () => {
    const stores = sqliteCoreStores(openDatabase({ dataDir: ':memory:' }));
    const bus = await EventBus.open(stores.events);
    for (let i = 0; i < 25; i++)
      bus.emit({ source: 't', type: i % 2 ? 'call.started' : 'call.ended', data: { i } });
    const seen: number[] = [];
    const sub = bus.feed((e) => seen.push(e.data.i as number), { after: 10 });
    // Emitted while the stored events are being replayed: held, then delivered after them, once.
    bus.emit({ source: 't', type: 'call.started', data: { i: 25 } });
    await sub.ready;
    sub.unsubscribe();
    expect(seen).toEqual([...Array(16).keys()].map((k) => k + 10));
    expect((await bus.list({ after: 20, filter: { types: ['call.started'] } })).map((e) => e.seq)).toEqual([
      22, 24, 26,
    ]);
    expect((await bus.list({ after: 0, filter: { types: ['call.*'] }, limit: 3 })).map((e) => e.seq)).toEqual(
      [1, 2, 3],
    );
    await bus.close();
    // A new bus over the same store continues the sequence.
    const again = await EventBus.open(stores.events);
    expect(again.emit({ source: 't', type: 'x', data: {} }).seq).toBe(27);
    await stores.close();
  });
});

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub.close();
});

describe('GET /api/events', () => {
  it('pages through stored events with after, limit and type', async () => {
    for (let i = 0; i < 5; i++) hub.hub.bus.emit({ source: 'test', type: 'demo.tick', data: { i } });
    hub.hub.bus.emit({ source: 'test', type: 'other.thing', data: {} });
    const p1 = await hub.api<{ events: Array<{ seq: number; data: { i: number } }>; next: number }>(
      'GET',
      '/api/events?type=demo.tick&limit=2',
    );
    expect(p1.body.events.map((e) => e.data.i)).toEqual([0, 1]);
    const p2 = await hub.api<{ events: Array<{ data: { i: number } }>; next: number }>(
      'GET',
      `/api/events?type=demo.*&after=${p1.body.next}`,
    );
    expect(p2.body.events.map((e) => e.data.i)).toEqual([2, 3, 4]);
    const bad = await hub.api<{ error: { code: string } }>('GET', '/api/events?limit=5000');
    expect(bad.status).toBe(400);
  });
});

describe('GET /api/events/stream (SSE)', async () => {
  async function readEvents(
    res: Response,
    n: number,
  ): Promise<Array<{ id: string; event: string; data: { seq: number; data: { i: number } } }>> {
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    const out: Array<{ id: string; event: string; data: { seq: number; data: { i: number } } }> = [];
    while (out.length < n) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      for (let idx = buf.indexOf('\n\n'); idx >= 0; idx = buf.indexOf('\n\n')) {
        const block = buf.slice(0, idx);
        buf = buf.slice(idx + 2);
        const f: Record<string, string> = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const c = line.indexOf(':');
          if (c > 0) f[line.slice(0, c)] = line.slice(c + 1).trim();
        }
        if (f.data) out.push({ id: f.id!, event: f.event!, data: JSON.parse(f.data) });
      }
    }
    await reader.cancel();
    return out;
  }

  it('streams live events and resumes from Last-Event-ID', async () => {
    const start = hub.hub.bus.lastSeq;
    const res = await fetch(`${hub.url}/api/events/stream?type=sse.test`, {
      headers: { authorization: `Bearer ${hub.key}` },
    });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const got = readEvents(res, 3);
    for (let i = 0; i < 3; i++) hub.hub.bus.emit({ source: 'test', type: 'sse.test', data: { i } });
    const events = await got;
    expect(events.map((e) => [e.event, e.data.data.i])).toEqual([
      ['sse.test', 0],
      ['sse.test', 1],
      ['sse.test', 2],
    ]);
    expect(Number(events[0]!.id)).toBeGreaterThan(start);
    // Resume after the first one: replay 1 and 2, then live 3.
    const res2 = await fetch(`${hub.url}/api/events/stream?type=sse.test`, {
      headers: { authorization: `Bearer ${hub.key}`, 'last-event-id': events[0]!.id },
    });
    const got2 = readEvents(res2, 3);
    hub.hub.bus.emit({ source: 'test', type: 'sse.test', data: { i: 3 } });
    expect((await got2).map((e) => e.data.data.i)).toEqual([1, 2, 3]);
  });

  it('requires an API key', async () => {
    expect((await fetch(`${hub.url}/api/events/stream`)).status).toBe(401);
  });
});
