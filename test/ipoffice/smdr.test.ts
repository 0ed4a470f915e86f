import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatSmdrRecord,
  groupSmdrCalls,
  parseSmdrFile,
  parseSmdrRecord,
  readSmdrLine,
  SMDR_FIELDS,
  SmdrLineSplitter,
  SmdrRecordError,
  smdrLine,
} from '../../src/drivers/ipoffice/smdr.js';
import {
  localToUtcMs,
  matchDevlinkCall,
  smdrEmergency,
  smdrNumbers,
} from '../../src/drivers/ipoffice/smdr-service.js';
import { CAPTURE_LINES, captureFile } from './smdr-capture.js';

const records = () => CAPTURE_LINES.map((l) => parseSmdrRecord(l));

describe('SMDR record codec (IP Office R12.3 field list)', () => {
  it('reads every field of a 35-field record', () => {
    const r = parseSmdrRecord(CAPTURE_LINES[0]!);
    expect(r.fieldCount).toBe(35);
    expect(r).toMatchObject({
      callStart: '2026-11-30T08:14:05',
      connectedSeconds: 151,
      ringSeconds: 6,
      holdSeconds: 0,
      parkSeconds: 0,
      totalSeconds: 157,
      direction: 'inbound',
      internal: false,
      callId: '1004217',
      continuation: false,
      caller: { number: '01632960123', host: '', questioned: false },
      called: { number: '4010' },
      party1: { kind: 'extension', id: '4010', name: 'Grace Hopper' },
      party2: { kind: 'trunk', id: '9003', name: 'LINE 3.1' },
      extra: [],
    });
    expect(r.fields).toMatchObject({
      callingPartyServerIp: '192.168.42.3',
      callingPartyUniqueCallId: '9012',
      calledPartyUniqueCallId: '9013',
      smdrRecordTime: '2026/11/30 08:16:42',
      currency: '',
      callCharge: '0.00',
    });
    expect(Object.keys(r.fields)).toEqual(SMDR_FIELDS.map(([k]) => k));
  });

  it('non-ASCII names, number@ip and ?-prefixed parties, 30- and 17-field records, unknown trailing fields', () => {
    const [, internal, , , sip, questioned, emergency, r10, legacy, later] = records();
    expect(internal!.party1.name).toBe('Zoë Müller');
    expect(internal!.party2.name).toBe('山田 太郎');
    expect(internal!.internal).toBe(true);
    expect(sip!.caller).toEqual({
      raw: '01632960777@203.0.113.7',
      number: '01632960777',
      host: '203.0.113.7',
      questioned: false,
    });
    expect(questioned!.caller).toMatchObject({
      number: '01632960888',
      questioned: true,
      raw: '?01632960888',
    });
    expect(emergency!.dialled.number).toBe('911');
    expect(r10!.fieldCount).toBe(30);
    expect(r10!.fields).toMatchObject({
      account: 'PRJ-17',
      authValid: '1',
      authCode: '7788',
      currency: 'GBP',
    });
    expect(legacy!.fieldCount).toBe(17);
    expect(legacy).toMatchObject({ holdSeconds: 12, parkSeconds: 20, totalSeconds: 67 });
    expect(legacy!.fields.smdrRecordTime).toBe('');
    expect(later!.extra).toEqual(['X-NEW', '42']);
  });

  it('round-trips every captured line byte for byte', () => {
    for (const line of CAPTURE_LINES) expect(formatSmdrRecord(parseSmdrRecord(line))).toBe(line);
  });

  it('names the bad field', () => {
    const bad = (l: string) => {
      try {
        parseSmdrRecord(l);
      } catch (e) {
        expect(e).toBeInstanceOf(SmdrRecordError);
        return (e as SmdrRecordError).field ?? (e as SmdrRecordError).code;
      }
      return 'parsed';
    };
    const ok = CAPTURE_LINES[8]!.split(',');
    const withField = (i: number, v: string) => ok.map((x, j) => (j === i ? v : x)).join(',');
    expect(bad(withField(0, '30/11/2026 09:10'))).toBe('callStart');
    expect(bad(withField(1, '30s'))).toBe('connectedTime');
    expect(bad(withField(2, '-1'))).toBe('ringTime');
    expect(bad(withField(9, ''))).toBe('callId');
    expect(bad(withField(10, 'yes'))).toBe('continuation');
    expect(bad('2026/11/30 09:10:00,00:00:30,5')).toBe('SMDR_BAD_RECORD');
    // the one oddity Avaya's own examples show (Is Internal "I") is read, not refused
    expect(parseSmdrRecord(withField(8, 'I')).internal).toBeUndefined();
  });

  it('groups out-of-order segments by Call ID, the last segment (continuation 0) last', () => {
    const calls = groupSmdrCalls(records());
    const vm = calls.get('1004221')!;
    expect(vm.map((r) => r.party1.raw)).toEqual(['E4020', 'V9504']);
    expect(vm.map((r) => r.continuation)).toEqual([true, false]);
  });
});

describe('SMDR captured files and streams', () => {
  it('a collector file: header, CRLF, no final line end', () => {
    const lines = parseSmdrFile(captureFile());
    expect(lines[0]!.kind).toBe('header');
    const recs = lines.filter((l) => l.kind === 'record');
    expect(recs).toHaveLength(CAPTURE_LINES.length);
    expect(recs.at(-1)!.record.extra).toEqual(['X-NEW', '42']);
    expect(recs[0]!.line).toBe(2);
  });

  it('LF-only, lone CR, blank lines and Windows-1252 names', () => {
    const cp = Buffer.concat([
      Buffer.from('\n\n'),
      Buffer.from(CAPTURE_LINES[0]!.replace('Grace Hopper', 'Ren\u00e9e Ch\u00e2teau'), 'latin1'),
      Buffer.from('\r'),
      Buffer.from(CAPTURE_LINES[1]!, 'utf8'),
      Buffer.from('\n'),
    ]);
    const recs = parseSmdrFile(cp).filter((l) => l.kind === 'record');
    expect(recs.map((l) => l.record.party1.name)).toEqual(['Renée Château', 'Zoë Müller']);
    expect(recs.map((l) => l.line)).toEqual([3, 4]);
  });

  it('an over-long line is dropped and reported, the next one still reads', () => {
    const bytes = Buffer.from(`${'9'.repeat(600)}\r\n${CAPTURE_LINES[0]}\r\n`);
    const lines = parseSmdrFile(bytes, { maxLineBytes: 512 });
    expect(lines.map((l) => l.kind)).toEqual(['invalid', 'record']);
    expect(lines[0]!.line).toBe(1);
    expect(lines[1]!.line).toBe(2);
  });

  it('any split of the stream into chunks gives the same lines (CR LF split across chunks)', () => {
    const all = Buffer.from(`${CAPTURE_LINES.join('\r\n')}\r\n`);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: all.length - 1 }), { maxLength: 20 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const s = new SmdrLineSplitter();
        const got: string[] = [];
        let prev = 0;
        for (const p of [...points, all.length]) {
          for (const l of s.push(all.subarray(prev, p))) got.push(l!.toString('utf8'));
          prev = p;
        }
        expect(s.flush()).toBeUndefined();
        expect(got).toEqual(CAPTURE_LINES);
      }),
      { numRuns: 300 },
    );
  });
});

describe('SMDR fuzzing', () => {
  const field = fc.string({ maxLength: 24 }).map((s) => s.replace(/[,\r\n]/g, ''));

  it('parseSmdrRecord throws only SmdrRecordError; readSmdrLine and parseSmdrFile never throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 600 }),
          fc
            .constantFrom(...CAPTURE_LINES)
            .chain((l) => fc.integer({ min: 0, max: l.length }).map((n) => l.slice(0, n))),
        ),
        (s) => {
          try {
            parseSmdrRecord(s);
          } catch (e) {
            expect(e).toBeInstanceOf(SmdrRecordError);
          }
          readSmdrLine(s, 1);
        },
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => {
        for (const l of parseSmdrFile(Buffer.from(b), { maxLineBytes: 300 }))
          expect(l.line).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });

  it('well-formed records round-trip: parse(format(values)) gives the values back', () => {
    const two = fc.integer({ min: 0, max: 59 }).map((n) => String(n).padStart(2, '0'));
    const record = fc.record({
      callStart: fc
        .tuple(
          fc.integer({ min: 2000, max: 2099 }),
          fc.integer({ min: 1, max: 12 }),
          fc.integer({ min: 1, max: 28 }),
          fc.integer({ min: 0, max: 23 }),
          two,
          two,
        )
        .map(
          ([y, mo, d, h, mi, s]) =>
            `${y}/${String(mo).padStart(2, '0')}/${String(d).padStart(2, '0')} ${String(h).padStart(2, '0')}:${mi}:${s}`,
        ),
      connectedTime: fc
        .tuple(fc.integer({ min: 0, max: 999 }), two, two)
        .map(([h, m, s]) => `${String(h).padStart(2, '0')}:${m}:${s}`),
      ringTime: fc.nat({ max: 9999 }).map(String),
      caller: field,
      direction: fc.constantFrom('I', 'O'),
      calledNumber: field,
      dialledNumber: field,
      account: field,
      isInternal: fc.constantFrom('0', '1'),
      callId: fc.integer({ min: 1, max: 99_999_999 }).map(String),
      continuation: fc.constantFrom('0', '1'),
      party1Device: field,
      party1Name: field,
      party2Device: field,
      party2Name: field,
      holdTime: fc.nat({ max: 9999 }).map(String),
      parkTime: fc.nat({ max: 9999 }).map(String),
      smdrRecordTime: field,
    });
    fc.assert(
      fc.property(record, fc.array(field, { maxLength: 3 }), (v, extra) => {
        const line = [smdrLine(v), ...extra].join(',');
        const r = parseSmdrRecord(line);
        for (const [k, val] of Object.entries(v)) expect(r.fields[k as keyof typeof r.fields]).toBe(val);
        expect(r.extra).toEqual(extra);
        expect(formatSmdrRecord(r)).toBe(line);
        expect(r.totalSeconds).toBe(
          r.connectedSeconds + Number(v.ringTime) + Number(v.holdTime) + Number(v.parkTime),
        );
      }),
      { numRuns: 1000 },
    );
  });
});

describe('SMDR times and reconciliation rules (pure)', () => {
  it('Call Start is PBX local time: converted with the IANA zone, DST included', () => {
    const iso = (l: string, tz?: string) => new Date(localToUtcMs(l, tz)).toISOString();
    expect(iso('2026-11-30T08:14:05', 'UTC')).toBe('2026-11-30T08:14:05.000Z');
    expect(iso('2026-07-01T12:00:00', 'Europe/London')).toBe('2026-07-01T11:00:00.000Z');
    expect(iso('2026-01-15T12:00:00', 'America/New_York')).toBe('2026-01-15T17:00:00.000Z');
    expect(iso('2026-07-15T12:00:00', 'America/New_York')).toBe('2026-07-15T16:00:00.000Z');
    expect(() => localToUtcMs('2026-01-01T00:00:00', 'Mars/Olympus')).toThrow(RangeError);
  });

  it('matches the DevLink3 call closest in time that shares a number, within the window only', () => {
    const t = Date.parse('2026-11-30T08:14:05Z');
    const calls = [
      { callKey: 'c0a82a03:1', startedMs: t - 4000, numbers: ['4010', '01632960123'] },
      { callKey: 'c0a82a03:2', startedMs: t + 800, numbers: ['4010'] },
      { callKey: 'c0a82a03:3', startedMs: t + 100, numbers: ['4999'] },
    ];
    const rec = parseSmdrRecord(CAPTURE_LINES[0]!);
    expect(smdrNumbers(rec)).toEqual(['01632960123', '4010']);
    expect(matchDevlinkCall(t, smdrNumbers(rec), calls, 10_000)?.callKey).toBe('c0a82a03:2');
    expect(matchDevlinkCall(t, smdrNumbers(rec), calls, 500)).toBeUndefined();
    expect(matchDevlinkCall(t, ['5555'], calls, 10_000)).toBeUndefined();
  });

  it('emergency and test numbers from dialled or called digits (spaces and dashes ignored)', () => {
    const r = parseSmdrRecord(CAPTURE_LINES[6]!);
    expect(smdrEmergency(r, ['911'], ['933'])).toEqual({ kind: 'emergency', number: '911' });
    expect(smdrEmergency(parseSmdrRecord(CAPTURE_LINES[0]!), ['911'], ['933'])).toBeUndefined();
    const test = parseSmdrRecord(CAPTURE_LINES[6]!.replaceAll(',911,911,', ',9-33,9-33,'));
    expect(smdrEmergency(test, ['911'], ['933'])).toEqual({ kind: 'test', number: '933' });
  });
});
