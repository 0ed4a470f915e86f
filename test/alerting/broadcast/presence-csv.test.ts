import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CallPresence, extensionOf } from '../../../src/alerting/broadcast/presence.js';
import { incidentsCsv, parseCsv, parseLocationsCsv } from '../../../src/alerting/emergency/service.js';
import type { Incident } from '../../../src/alerting/emergency/types.js';
import type { Device } from '../../../src/core/devices.js';
import { isSwitchboardError } from '../../../src/core/errors.js';
import type { HubEvent } from '../../../src/core/events.js';

const ev = (type: string, data: Record<string, unknown>): HubEvent => ({
  seq: 1,
  id: 'e',
  time: '',
  source: 'ipo',
  type,
  data,
});
const dev = (settings: Record<string, unknown>, labels: string[] = []): Device => ({
  id: 'd',
  kind: 'cisco',
  name: 'd',
  address: 'x',
  labels,
  groups: [],
  location: {},
  settings,
  createdAt: '',
  updatedAt: '',
});

describe('call presence (busy phones from call events)', () => {
  it('tracks extensions on calls and frees them when the call ends', () => {
    const p = new CallPresence();
    p.onEvent(ev('call.started', { callKey: 'c1', parties: ['201', '5551234'], extension: '201' }));
    p.onEvent(ev('call.started', { callKey: 'c2', parties: ['201', '202'] }));
    expect(p.onCall('201')).toBe(true);
    expect(p.isBusy(dev({ extension: '202' }))).toBe(true);
    expect(p.isBusy(dev({}, ['ext:201']))).toBe(true);
    expect(p.isBusy(dev({ extension: 203 }))).toBe(false);
    p.onEvent(ev('call.updated', { callKey: 'c2', parties: ['202'] }));
    expect(p.onCall('201')).toBe(true); // still on c1
    p.onEvent(ev('call.ended', { callKey: 'c1' }));
    expect(p.onCall('201')).toBe(false);
    expect(p.onCall('202')).toBe(true);
    p.onEvent(ev('call.ended', { callKey: 'c2' }));
    expect(p.onCall('202')).toBe(false);
    expect(extensionOf(dev({ extension: 7 }))).toBe('7');
  });
});

describe('location CSV and incident CSV', () => {
  it('parses quoted fields, CRLF, BOM and a header in any order', () => {
    const rows = parseLocationsCsv(
      '\uFEFFroom,Extension,name\r\n"Room ""A""",201,"Lee, Ann"\r\n,,\r\n12,202,\n',
      'now',
    );
    expect(rows).toEqual([
      { extension: '201', room: 'Room "A"', name: 'Lee, Ann', updatedAt: 'now' },
      { extension: '202', room: '12', updatedAt: 'now' },
    ]);
    expect(() => parseLocationsCsv('name,room\nx,y\n', 'now')).toThrow(
      expect.objectContaining({ code: 'LOCATIONS_CSV_INVALID', field: 'csv' }),
    );
  });

  it('never crashes on random input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 500 }), (s) => {
        try {
          parseLocationsCsv(`extension,room\n${s}`, 'now');
          parseCsv(s);
        } catch (e) {
          expect(isSwitchboardError(e)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('exports incidents with quoting and formula neutralisation', () => {
    const i = {
      id: 'inc_1',
      createdAt: 't',
      test: false,
      caller: {
        extension: '201',
        name: '=HYPERLINK("x")',
        callbackNumber: '+1555',
        dialled: '911',
        detectedBy: 'x',
      },
      location: { building: 'A, B', room: 'R "1"', from: 'table' },
      state: 'acknowledged',
      acknowledgedAt: 't2',
      acknowledgedBy: 'desk',
      escalations: 0,
      callEndedAt: null,
      broadcasts: ['bc_1'],
    } as unknown as Incident;
    const lines = incidentsCsv([i]).split('\r\n');
    expect(lines[1]).toBe(
      `inc_1,t,false,201,"'=HYPERLINK(""x"")",'+1555,911,"A, B",,"R ""1""",table,acknowledged,t2,desk,0,,bc_1,false`,
    );
  });
});
