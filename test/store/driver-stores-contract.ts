import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContentItem, ContentStore } from '../../src/drivers/avaya/content-store.js';
import type { SmdrStore, StoredSmdrRow } from '../../src/drivers/ipoffice/smdr-store.js';

/**
 * THE contracts of the drivers' store ports: Avaya push content (what a phone fetches after a push, from
 * any hub) and IP Office SMDR call history, run against every backend by one runner each
 * (driver-stores-sqlite.test.ts, driver-stores-postgres.test.ts). Every call is awaited. "Two hubs" are two
 * store sets over the same data (`peer()`); a store that writes behind is flushed before the other hub
 * reads (`flush`, absent on stores that write through).
 */
export interface DriverStores {
  content: ContentStore;
  smdr: SmdrStore;
}

export interface DriverStoresInstance extends DriverStores {
  peer(): Promise<DriverStores>;
  close(): Promise<void>;
}

export interface DriverStoresBackend {
  name: string;
  create(): Promise<DriverStoresInstance>;
}

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const UNICODE = 'Évacuez — 火災 🚨 naïve (e\u0301) עברית "q" \\ \' <&>';

const flush = async (s: DriverStores) => {
  await s.content.flush?.();
};

export function driverStoresContract(backend: DriverStoresBackend): void {
  describe(`driver stores contract: ${backend.name}`, () => {
    let s: DriverStoresInstance;
    beforeEach(async () => {
      s = await backend.create();
    });
    afterEach(async () => {
      await s.close();
    });

    describe('Avaya push content', () => {
      const item = (over: Partial<ContentItem> = {}): Omit<ContentItem, 'id' | 'fetches'> => ({
        kind: 'display',
        contentType: 'text/xml; charset=utf-8',
        body: `<AvayaPhoneIPPush><Text>${UNICODE}</Text></AvayaPhoneIPPush>`,
        createdAt: T0,
        expiresAt: T0 + 60_000,
        ...over,
      });

      it('stores every field (large unicode body, audio spec and samples) under an unguessable id', async () => {
        const samples = new Uint8Array(randomBytes(64 * 1024));
        const audio = item({
          kind: 'audio',
          body: '',
          audio: { codec: 'PCMU', packetSizeMs: 20, audioTimerS: 30, promptline: UNICODE },
          audioData: samples,
          deviceId: 'avaya-7',
        });
        const put = await s.content.put(audio);
        expect(put.id).toMatch(/^[0-9a-f]{32}$/);
        expect(put).toEqual({ ...audio, id: put.id, fetches: 0 });
        const big = item({ body: `<x>${UNICODE.repeat(5000)}</x>` });
        const p2 = await s.content.put(big);
        expect(p2.id).not.toBe(put.id);
        await flush(s);
        const got = await s.content.get(put.id);
        expect(got).toEqual({ ...audio, id: put.id, fetches: 0 });
        expect(Buffer.from(got!.audioData!).equals(Buffer.from(samples))).toBe(true);
        const got2 = await s.content.get(p2.id);
        expect(got2).toEqual({ ...big, id: p2.id, fetches: 0 });
        expect(got2).not.toHaveProperty('audio');
        expect(got2).not.toHaveProperty('deviceId');
        for (const bad of ['nope', put.id.toUpperCase(), `${put.id}0`, '../../etc/passwd', ''])
          expect(await s.content.get(bad)).toBeUndefined();
      });

      it('fetch counts until expiry; an expired or unknown item is not served and not counted', async () => {
        const it1 = await s.content.put(item());
        expect((await s.content.fetch(it1.id, T0 + 1))?.fetches).toBe(1);
        expect((await s.content.fetch(it1.id, T0 + 59_999))?.fetches).toBe(2);
        await flush(s);
        expect((await s.content.get(it1.id))?.fetches).toBe(2);
        expect(await s.content.fetch(it1.id, T0 + 60_000)).toBeUndefined();
        expect(await s.content.fetch('f'.repeat(32), T0)).toBeUndefined();
        expect(await s.content.fetch('xyz', T0)).toBeUndefined();
        await flush(s);
        expect((await s.content.get(it1.id))?.fetches).toBe(2);
      });

      it('sweep deletes what has expired (at or before now) and says how many; count', async () => {
        for (let i = 0; i < 5; i++) await s.content.put(item({ expiresAt: T0 + i * 1000 }));
        expect(await s.content.count()).toBe(5);
        expect(await s.content.sweep(T0 + 2000)).toBe(3);
        expect(await s.content.count()).toBe(2);
        expect(await s.content.sweep(T0 + 2000)).toBe(0);
        expect(await s.content.sweep(T0 + 10_000)).toBe(2);
        expect(await s.content.count()).toBe(0);
      });

      it('content put on one hub is served by another; fetches on both hubs are all counted', async () => {
        const peer = await s.peer();
        const it1 = await s.content.put(item({ deviceId: 'avaya-1' }));
        await flush(s);
        expect((await peer.content.fetch(it1.id, T0 + 1))?.deviceId).toBe('avaya-1');
        await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? s : peer).content.fetch(it1.id, T0 + 2 + i)),
        );
        await flush(s);
        await flush(peer);
        expect((await s.content.get(it1.id))?.fetches).toBe(21);
        expect((await peer.content.get(it1.id))?.fetches).toBe(21);
      });

      it('a burst of puts (a broadcast to hundreds of phones): every item stored whole, each under its own id', async () => {
        const items = Array.from({ length: 300 }, (_, i) =>
          i % 50 === 0
            ? item({
                kind: 'audio',
                body: '',
                audio: { codec: 'PCMU', packetSizeMs: 20, audioTimerS: 30 },
                audioData: new Uint8Array(randomBytes(1000 + i)),
                deviceId: `avaya-${i}`,
              })
            : item({
                body: `<AvayaPhoneIPPush><Text>${i} ${UNICODE}</Text></AvayaPhoneIPPush>`,
                deviceId: `avaya-${i}`,
              }),
        );
        const put = await Promise.all(items.map((x) => s.content.put(x)));
        expect(new Set(put.map((p) => p.id)).size).toBe(300);
        await flush(s);
        const got = await Promise.all(put.map((p) => s.content.get(p.id)));
        for (const [i, g] of got.entries()) expect(g).toEqual({ ...items[i], id: put[i]!.id, fetches: 0 });
        expect(await s.content.count()).toBe(300);
      });

      it('a burst of fetches: each counted once (exactly one sees 1: the first fetch), expired ones neither served nor counted', async () => {
        const live = await s.content.put(item());
        const gone = await s.content.put(item({ expiresAt: T0 + 10 }));
        const others = await Promise.all(Array.from({ length: 40 }, () => s.content.put(item())));
        await flush(s);
        const got = await Promise.all([
          ...Array.from({ length: 10 }, (_, i) => s.content.fetch(live.id, T0 + 1 + i)),
          s.content.fetch(gone.id, T0 + 20),
          ...others.map((o) => s.content.fetch(o.id, T0 + 5)),
        ]);
        // Concurrent requests have no order among themselves; each sees its own count.
        expect(
          got
            .slice(0, 10)
            .map((g) => g?.fetches)
            .sort((a, b) => a! - b!),
        ).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect(got[10]).toBeUndefined();
        expect(got.slice(11).map((g) => g?.fetches)).toEqual(others.map(() => 1));
        await flush(s);
        expect((await s.content.get(live.id))?.fetches).toBe(10);
        expect((await s.content.get(gone.id))?.fetches).toBe(0);
      });
    });

    describe('SMDR call history', () => {
      let n = 0;
      const row = (over: Partial<StoredSmdrRow> = {}): StoredSmdrRow => ({
        id: `smdr-${++n}`,
        deviceId: 'ipo-1',
        receivedAt: iso(n),
        callStart: iso(0),
        callId: '1000001',
        continuation: false,
        line: `2026/01/05 09:00:00,00:00:10,0,201,O,911,911,,0,1000001,0,E201,${UNICODE},T9001,Line 1.1,0,0,,,,,,,,,,,, #${n}`,
        emergency: false,
        devlinkCallKey: null,
        ...over,
      });

      it('insert stores every field once; a resent line (or a known id) is not stored again', async () => {
        const a = row({ continuation: true, emergency: true, devlinkCallKey: '1:77' });
        expect(await s.smdr.insert(a)).toBe(true);
        expect(await s.smdr.insert({ ...a, id: 'smdr-other' })).toBe(false);
        expect(await s.smdr.insert({ ...a, line: `${a.line} changed` })).toBe(false);
        expect(await s.smdr.insert({ ...a, id: 'smdr-dev2', deviceId: 'ipo-2' })).toBe(true);
        expect(await s.smdr.list({ deviceId: 'ipo-1', limit: 10 })).toEqual([a]);
        expect(await s.smdr.list({ deviceId: 'ipo-2', limit: 10 })).toEqual([
          { ...a, id: 'smdr-dev2', deviceId: 'ipo-2' },
        ]);
      });

      it('list: by Call Start (unknown first), then reception; from inclusive, to exclusive, call id, limit', async () => {
        const rows = [
          row({ id: 'c', callStart: iso(2000), receivedAt: iso(10) }),
          row({ id: 'a', callStart: iso(1000), receivedAt: iso(20), callId: '7' }),
          row({ id: 'n', callStart: null, receivedAt: iso(30) }),
          row({ id: 'b', callStart: iso(1000), receivedAt: iso(5), callId: '7' }),
          row({ id: 'd', callStart: iso(3000), receivedAt: iso(1) }),
          row({ id: 'x', deviceId: 'ipo-2', callStart: iso(1000) }),
        ];
        for (const r of rows) expect(await s.smdr.insert(r)).toBe(true);
        const ids = async (q: Partial<Parameters<SmdrStore['list']>[0]>) =>
          (await s.smdr.list({ deviceId: 'ipo-1', limit: 100, ...q })).map((r) => r.id);
        expect(await ids({})).toEqual(['n', 'b', 'a', 'c', 'd']);
        expect(await ids({ limit: 2 })).toEqual(['n', 'b']);
        expect(await ids({ from: iso(1000) })).toEqual(['b', 'a', 'c', 'd']);
        expect(await ids({ to: iso(2000) })).toEqual(['b', 'a']);
        expect(await ids({ from: iso(1500), to: iso(3000) })).toEqual(['c']);
        expect(await ids({ callId: '7' })).toEqual(['b', 'a']);
        expect(await ids({ callId: '7', from: iso(1001) })).toEqual([]);
        expect(await ids({ deviceId: 'ipo-3' })).toEqual([]);
      });

      it('unreconciled: not yet matched to a DevLink3 call, Call Start within [from, to]; setDevlinkCallKey matches', async () => {
        for (const [id, at] of [
          ['u1', 0],
          ['u2', 1000],
          ['u3', 2000],
          ['u4', 3000],
        ] as const)
          await s.smdr.insert(row({ id, callStart: iso(at) }));
        await s.smdr.insert(row({ id: 'done', callStart: iso(1500), devlinkCallKey: '1:5' }));
        await s.smdr.insert(row({ id: 'nostart', callStart: null }));
        await s.smdr.insert(row({ id: 'other', deviceId: 'ipo-2', callStart: iso(1500) }));
        const ids = async (from: number, to: number) =>
          (await s.smdr.unreconciled('ipo-1', iso(from), iso(to))).map((r) => r.id);
        expect(await ids(1000, 3000)).toEqual(['u2', 'u3', 'u4']);
        await s.smdr.setDevlinkCallKey('u3', '1:99');
        expect(await ids(1000, 3000)).toEqual(['u2', 'u4']);
        expect(
          (
            await s.smdr.list({
              deviceId: 'ipo-1',
              callId: '1000001',
              from: iso(2000),
              to: iso(2001),
              limit: 5,
            })
          )[0]?.devlinkCallKey,
        ).toBe('1:99');
        await s.smdr.setDevlinkCallKey('missing', '1:1');
        expect(await ids(-1, 0)).toEqual(['u1']);
      });

      it('a line with a NUL byte is stored (NUL may read back as U+FFFD), and its resend is recognised', async () => {
        const r = row({ line: 'bad\u0000line,911' });
        expect(await s.smdr.insert(r)).toBe(true);
        expect(await s.smdr.insert({ ...r, id: 'again' })).toBe(false);
        const [got] = await s.smdr.list({ deviceId: 'ipo-1', limit: 5 });
        expect(got?.line.replaceAll('\u0000', '\uFFFD')).toBe('bad\uFFFDline,911');
      });

      it('two hubs receiving the same record at once store it once', async () => {
        const peer = await s.peer();
        const r = row();
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 ? s : peer).smdr.insert({ ...r, id: `dup-${i}` })),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await peer.smdr.list({ deviceId: 'ipo-1', limit: 10 })).toHaveLength(1);
      });
    });
  });
}
