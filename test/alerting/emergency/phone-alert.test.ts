import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/core/clock.js';
import { SimPhone as AvayaSimPhone } from '../../../src/sim/avaya/phone.js';
import { type CiscoSimFleet, startCiscoSim } from '../../../src/sim/cisco/fleet.js';
import type { SimPhone as CiscoSimPhone } from '../../../src/sim/cisco/phone.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

/**
 * What the security phones show for a 911 call (issue 22), through the real hub (HTTP routes, broadcast
 * engine, drivers) and the phone simulators over 127.0.0.1: golden screen texts and screenshots for Cisco
 * display sizes down to the 133x65 text-only 7940, golden Top Line and page texts for an Avaya J179, Exit
 * bringing the alert back while the incident is open, repeats re-showing it with its tone, and one Ack
 * stopping all of that. Goldens are in test/fixtures/phone-alert; `UPDATE_GOLDEN=1` rewrites them.
 */
const GOLDEN = fileURLToPath(new URL('../../fixtures/phone-alert/', import.meta.url));
const update = process.env.UPDATE_GOLDEN === '1';

function golden(name: string, actual: string | Buffer): void {
  const path = `${GOLDEN}${name}`;
  if (update || !existsSync(path)) {
    if (!update) throw new Error(`golden ${name} is missing (run with UPDATE_GOLDEN=1 to write it)`);
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  const want = readFileSync(path);
  if (typeof actual === 'string') expect(actual).toBe(want.toString('utf8'));
  else expect(Buffer.compare(actual, want), `${name} differs from the golden screenshot`).toBe(0);
}

const until = async <T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 15_000) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

// The hub's clock stands still at the moment of the call, so that the time line of every golden is stable.
const T0 = Date.parse('2026-12-02T01:42:44Z');
const frozen: Clock = {
  now: () => T0,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Smallest text-only models first: 7940 (133x65, 2-bit), 6941 (396x81, 1-bit), 7832, 8821 (2 soft keys), 8845. */
const MODELS = ['7940', '6941', '7832', '8821', '8845', '8845'] as const;

describe('the 911 alert on the security phones', () => {
  let hub: TestHub;
  let cisco: CiscoSimFleet;
  let avaya: AvayaSimPhone;
  let seq = 0;
  const phone = (k: number) => cisco.phones[k]! as CiscoSimPhone;
  const screen = (k: number) =>
    phone(k).state().screen as { object: string; title: string; text: string; softkeys: string[] };
  const call = (data: Record<string, unknown>) => {
    seq++;
    hub.hub.bus.emit({
      source: 'ipo-1',
      type: 'call.emergency',
      data: {
        callKey: `ipo-1:call-${seq}`,
        callerExtension: '4001',
        callerName: 'Alice Able',
        cli: '4001',
        callbackNumber: '4001',
        emergencyLocationId: '',
        dialled: '911',
        calledType: 119,
        detectedBy: 'calledType',
        test: false,
        ...data,
      },
    });
  };
  const openIncidents = async () =>
    (
      await hub.api<{ incidents: Array<{ id: string; state: string; test: boolean }> }>(
        'GET',
        '/api/incidents',
      )
    ).body.incidents;
  const ackAll = async () => {
    for (const i of await openIncidents())
      if (i.state !== 'acknowledged') await hub.api('POST', `/api/incidents/${i.id}/ack`, { by: 'test' });
  };

  beforeAll(async () => {
    hub = await startTestHub({
      clock: frozen,
      config: {
        'emergency.timeZone': 'America/New_York',
        'emergency.repeatSeconds': 1,
        'emergency.escalateAfterSeconds': 0,
      },
    });
    cisco = await startCiscoSim({
      phones: MODELS.length,
      model: [...MODELS],
      username: 'push',
      password: 'push-secret',
      firstDn: 2001,
    });
    for (const [k, p] of cisco.phones.entries()) {
      const r = await hub.api('POST', '/api/devices', {
        id: `cisco-${k + 1}`,
        kind: 'cisco',
        address: p.address,
        groups: ['security'],
        location: { building: 'Main', floor: '1', room: 'Security office' },
        settings: {
          model: p.profile.id,
          username: 'push',
          password: 'push-secret',
          deviceName: p.deviceName,
          extension: p.dn,
        },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    avaya = new AvayaSimPhone({ extension: '3001', mac: '00:1b:4f:00:30:01', model: 'J179' });
    await avaya.start();
    const r = await hub.api('POST', '/api/devices', {
      id: 'avaya-1',
      kind: 'avaya',
      address: avaya.address,
      groups: ['security'],
      settings: { model: 'J179', extension: '3001', mac: avaya.mac },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    // The caller's row: complete, with a DID and the site's zone (Central, overriding the hub's Eastern).
    const loc = await hub.api('PUT', '/api/locations/4001', {
      name: 'Alice Able',
      site: 'HQ',
      building: 'Main',
      floor: '1',
      room: '101',
      callback: '+15550104001',
      timeZone: 'America/Chicago',
    });
    expect(loc.status, JSON.stringify(loc.body)).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await hub?.close();
    await cisco?.stop();
    await avaya?.stop();
  });

  it('shows local time with zone, the DID and the extension, the full location, on every display size (goldens)', async () => {
    call({});
    for (const [k, m] of MODELS.entries()) {
      const s = await until(`cisco ${m} to show the alert`, () =>
        screen(k).title === '911 CALL' ? screen(k) : undefined,
      );
      if (m === '7940') {
        // 20 columns, two text rows: where, who; the callback number on the prompt row.
        expect(s.text).toBe('Main fl 1 rm 101\nAlice Able x4001');
        expect(phone(k).state().screen).toMatchObject({ prompt: 'CB +15550104001' });
      } else {
        expect(s.text).toContain('Alice Able, ext 4001');
        expect(s.text).toContain('Call back: +15550104001 (ext 4001)');
        expect(s.text).toContain('HQ: Main building, floor 1, room 101');
        expect(s.text).toContain('Time: 2026-12-01 19:42:44 CST');
      }
      expect(s.text).not.toMatch(/\?|UTC/);
      if (k < 5) {
        golden(`cisco-${m}.txt`, `${phone(k).screenText()}\n`);
        golden(`cisco-${m}.png`, phone(k).screenshot());
      }
    }
    // Soft keys by model: the 2-key 8821 has Ack and Call back; the others also an Exit back to the hub.
    expect(screen(3).softkeys).toEqual(['Ack', 'Call back']);
    expect(screen(4).softkeys).toEqual(['Ack', 'Call back', 'Exit']);
    expect(screen(0).softkeys).toEqual(['Ack', 'Call', 'Exit']);

    await until('the Avaya page and top line', () =>
      avaya.screen.display?.title === '911 CALL' && avaya.screen.topline ? true : undefined,
    );
    golden('avaya-J179.txt', `${avaya.screenText()}\n`);
    expect(avaya.screen.display!.softkeys.map((k) => k.label)).toEqual(['Ack', 'Call back']);
    expect(avaya.screen.topline!.text.startsWith('911 CALL | Alice Able, ext 4001')).toBe(true);
  });

  it('Exit leaves the alert on screen while the incident is open; repeats bring it back with the tone; Ack stops it all', async () => {
    // 8845: the Exit soft key (3) is an HTTP URL to the hub, which answers with the alert again.
    const p = phone(4);
    await p.execute('Key:Soft3');
    expect(screen(4).title).toBe('911 CALL');
    expect(screen(4).softkeys).toEqual(['Ack', 'Call back', 'Exit']);
    // 8821: the guard leaves with the back key; the next repeat (Execute When Idle) shows the alert again.
    const w = phone(3);
    await w.execute('Key:NavBack');
    while (screen(3).object !== 'Idle') await w.execute('Key:NavBack');
    const tones = (w.state().played as unknown[]).length;
    await until('the 8821 to show the alert again', () =>
      screen(3).title === '911 CALL' ? true : undefined,
    );
    await until('the tone to repeat', () =>
      (w.state().played as unknown[]).length > tones ? true : undefined,
    );
    // Avaya: the guard leaves the browser; a repeat pushes the page again and the Top Line with pings.
    avaya.exitBrowser();
    const pings = avaya.alerts;
    await until('the Avaya page to come back', () =>
      avaya.screen.display?.title === '911 CALL' ? true : undefined,
    );
    await until('the Avaya pings to repeat', () => (avaya.alerts > pings ? true : undefined));

    // The Call back key dials the caller's extension from the security phone (seed 003 Dial URI).
    await p.execute('Key:Soft2');
    expect((p.state().call as { number: string }).number).toBe('4001');
    await p.execute('Key:Onhook');

    // Ack on the 8845: the incident is acknowledged and every phone stops repeating. The thank-you page
    // closes the alert (no stepping back into older copies of it).
    await p.execute('Key:Soft1');
    expect(screen(4)).toMatchObject({ title: 'Acknowledged', softkeys: ['Close'] });
    await p.execute('Key:Soft1');
    expect(screen(4).object).toBe('Idle');
    await until('the incident to be acknowledged', async () =>
      (await openIncidents()).every((i) => i.state === 'acknowledged') ? true : undefined,
    );
    const ev = async () =>
      (await hub.api<{ events: unknown[] }>('GET', '/api/events?type=broadcast.repeated&limit=1000')).body
        .events.length;
    // A repeat already in flight may still land; after that nothing more comes.
    await new Promise((r) => setTimeout(r, 1500));
    const before = {
      repeats: await ev(),
      played: (w.state().played as unknown[]).length,
      pings: avaya.alerts,
    };
    await new Promise((r) => setTimeout(r, 2500));
    expect(await ev()).toBe(before.repeats);
    expect((w.state().played as unknown[]).length).toBe(before.played);
    expect(avaya.alerts).toBe(before.pings);

    // Another desk's Exit now shows who acknowledged; its Close key leaves the alert for good.
    const o = phone(5);
    await o.execute('Key:Soft3');
    expect(screen(5).title).toBe('Acknowledged');
    expect(screen(5).text).toMatch(/^Acknowledged by cisco-5 at 2026-12-01 19:42:44 CST/);
    expect(screen(5).softkeys).toEqual(['Close']);
    await o.execute('Key:Soft1');
    expect(screen(5).object).toBe('Idle');
  });

  it('a 933 test call and a drill say so in the first line, even on the smallest display', async () => {
    call({ dialled: '933', test: true, detectedBy: 'dialled' });
    const t = await until('the test alert on the 7940', () =>
      screen(0).title.startsWith('TEST') ? screen(0) : undefined,
    );
    expect(t.title).toBe('TEST CALL 933 - NOT AN EMERGENCY');
    expect(phone(0).screenText().split('\n')[0]).toBe('TEST CALL 933 - NOT A');
    golden('cisco-7940-test.txt', `${phone(0).screenText()}\n`);
    await until('the Avaya test top line', () =>
      avaya.screen.topline?.text.startsWith('TEST CALL 933 - NOT AN EMERGENCY |') ? true : undefined,
    );
    await ackAll();
    call({ drill: true, detectedBy: 'drill' });
    await until('the drill alert', () => (screen(0).title === 'DRILL - 911 CALL' ? true : undefined));
    await until('the Avaya drill page', () =>
      avaya.screen.display?.title === 'DRILL - 911 CALL' ? true : undefined,
    );
    await ackAll();
  });

  it('never shows a placeholder: an extension without a room says "room unknown"; /api/emergency lists what to fix', async () => {
    await hub.api('PUT', '/api/locations/4002', { name: 'Bob Baker', building: 'Main', floor: '2' });
    const cov = await hub.api<{ coverage: Record<string, unknown> }>('GET', '/api/emergency');
    expect(cov.body.coverage).toMatchObject({
      missingLocation: expect.arrayContaining([{ extension: '4002', missing: ['room'] }]),
      missingCallback: expect.arrayContaining(['4002']),
    });
    expect((cov.body.coverage.missingCallback as string[]).includes('4001')).toBe(false);
    call({ callerExtension: '4002', callerName: 'Bob Baker', cli: '4002', callbackNumber: '4002' });
    const s = await until('the alert for 4002', () =>
      screen(4).text.includes('Bob Baker') ? screen(4) : undefined,
    );
    expect(s.text).toContain('Main building, floor 2, room unknown');
    expect(s.text).toContain('Call back: ext 4002 (no external number on file)');
    expect(s.text).toContain('Time: 2026-12-01 20:42:44 EST');
    await ackAll();
  });

  it('accented names survive the Latin-1 7940 both pushed and pulled back by Exit (ISO-8859-1 bytes)', async () => {
    await hub.api('PUT', '/api/locations/4003', {
      building: 'Été',
      floor: '2',
      room: 'Salle 5',
      callback: '+15550104003',
    });
    call({ callerExtension: '4003', callerName: 'José Núñez', cli: '4003', callbackNumber: '4003' });
    await until('the 7940 to show José', () =>
      screen(0).text.includes('José Núñez x4003') ? true : undefined,
    );
    expect(screen(0).text).toBe('Été fl 2 rm Salle 5\nJosé Núñez x4003');
    await phone(0).execute('Key:Soft3');
    expect(screen(0).title).toBe('911 CALL');
    expect(screen(0).text).toBe('Été fl 2 rm Salle 5\nJosé Núñez x4003');
    await ackAll();
  });

  it('the show link: unknown or forged tokens get 404, never 5xx; no API key is needed', async () => {
    const base = hub.url;
    for (const path of [
      '/alerts/show/dl_nope/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      '/alerts/show/%2e%2e%2fapi/x',
      `/alerts/show/dl_x/${'A'.repeat(500)}`,
      '/alerts/show/dl_x/%00',
    ]) {
      const r = await fetch(`${base}${path}`);
      expect(r.status, path).toBeGreaterThanOrEqual(400);
      expect(r.status, path).toBeLessThan(500);
    }
  });
});
