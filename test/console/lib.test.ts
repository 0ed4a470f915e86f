import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyCallEvent,
  callFrom,
  deliveriesOf,
  FieldError,
  formatDuration,
  imageFrom,
  initialValues,
  type JsonSchema,
  LINK_ON_ANOTHER_HUB,
  linkStateOfEvent,
  linkStateOfVariables,
  linkTone,
  mergeCallSnapshot,
  progressOf,
  reachability,
  sortCalls,
  toCsv,
  toParams,
} from '../../console/src/lib.js';
import { paramsSchema } from '../../src/core/spec.js';

/** A small RFC 4180 reader, to check what toCsv writes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

describe('console helpers', () => {
  it('formats durations as m:ss and h:mm:ss', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(59.9)).toBe('0:59');
    expect(formatDuration(61)).toBe('1:01');
    expect(formatDuration(3600 + 62)).toBe('1:01:02');
    expect(formatDuration(-5)).toBe('0:00');
    expect(formatDuration(Number.NaN)).toBe('0:00');
  });

  it('writes CSV that reads back cell for cell, with formula-looking cells neutralized', () => {
    expect(toCsv(['a', 'b'], [['x,y', 'say "hi"']])).toBe('a,b\r\n"x,y","say ""hi"""\r\n');
    expect(toCsv(['n'], [['=1+2'], ['+44'], ['-1'], ['@x']])).toBe("n\r\n'=1+2\r\n'+44\r\n'-1\r\n'@x\r\n");
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string(), { minLength: 2, maxLength: 2 }), { maxLength: 20 }),
        (rows) => {
          const back = parseCsv(toCsv(['h1', 'h2'], rows));
          expect(back.length).toBe(rows.length + 1);
          for (const [i, r] of rows.entries()) {
            for (const [j, cell] of r.entries()) {
              const expected = /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
              expect(back[i + 1]![j]).toBe(expected);
            }
          }
        },
      ),
    );
  });

  it('turns generated form values into params that match the hub schema', () => {
    const schema = paramsSchema([
      { name: 'text', type: 'string', max_length: 100 },
      { name: 'title', type: 'string', required: false },
      { name: 'count', type: 'integer', min: 1, max: 5, default: 1 },
      { name: 'mode', type: 'enum', values: ['normal', 'barge'], default: 'normal' },
      { name: 'loud', type: 'boolean', default: false },
      { name: 'codes', type: 'array', items: 'integer', required: false },
      { name: 'keys', type: 'array', items: { type: 'object' }, default: [] },
    ] as never) as JsonSchema;
    const v = initialValues(schema);
    expect(v).toEqual({
      text: '',
      title: '',
      count: '1',
      mode: 'normal',
      loud: false,
      codes: '',
      keys: '[]',
    });
    expect(toParams(schema, { ...v, text: 'Hello', codes: '1\n 2 \n\n3' })).toEqual({
      text: 'Hello',
      count: 1,
      mode: 'normal',
      loud: false,
      codes: [1, 2, 3],
      keys: [],
    });
    expect(() => toParams(schema, { ...v, count: 'x' })).toThrow(FieldError);
    expect(() => toParams(schema, { ...v, keys: '[' })).toThrow(/keys: must be JSON/);
    expect(() => toParams(schema, { ...v, codes: '1\nx' })).toThrow(/codes/);
  });

  it('never crashes on arbitrary form text (a typed FieldError at worst)', () => {
    const schema: JsonSchema = {
      type: 'object',
      properties: {
        n: { type: 'number' },
        l: { type: 'array', items: { type: 'integer' } },
        j: { type: 'object' },
        s: { type: 'string' },
      },
      required: ['s'],
    };
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (n, l, j, s) => {
        try {
          const p = toParams(schema, { n, l, j, s });
          expect(typeof p.s).toBe('string');
        } catch (e) {
          expect(e).toBeInstanceOf(FieldError);
        }
      }),
    );
  });

  it('keeps live calls from call events: emergency first, stays flagged, removed on call.ended', () => {
    const e = (d: Record<string, unknown>) => callFrom('ipo', d);
    let m = applyCallEvent(new Map(), 'call.started', e({ callKey: 'a', startedAt: '2026-01-01T00:00:00Z' }));
    m = applyCallEvent(m, 'call.started', e({ callKey: 'b', startedAt: '2026-01-01T00:00:05Z' }));
    m = applyCallEvent(
      m,
      'call.emergency',
      e({ callKey: 'b', startedAt: '2026-01-01T00:00:05Z', emergency: true }),
    );
    m = applyCallEvent(
      m,
      'call.answered',
      e({ callKey: 'b', startedAt: '2026-01-01T00:00:05Z', state: 'connected' }),
    );
    expect(sortCalls(m.values()).map((c) => [c.callKey, c.emergency, c.state])).toEqual([
      ['b', true, 'connected'],
      ['a', false, 'other'],
    ]);
    m = applyCallEvent(m, 'call.rejected', e({ callKey: 'c' }));
    expect(m.size).toBe(2);
    m = applyCallEvent(m, 'call.ended', e({ callKey: 'a' }));
    expect([...m.keys()]).toEqual(['ipo|b']);
  });

  it('a snapshot of the live calls: events that came while it was read win; a call it no longer has goes', () => {
    const e = (d: Record<string, unknown>) => callFrom('ipo', d, () => '2026-01-01T00:00:00Z');
    const shown = new Map([
      ['ipo|ghost', e({ callKey: 'ghost' })], // its end was missed: the hub no longer has it
      ['ipo|911', e({ callKey: '911', emergency: true })],
    ]);
    // Read while 'a' was still up; 'a' ended and 'b' started before the snapshot came back.
    const snap = new Map([
      ['ipo|a', e({ callKey: 'a' })],
      ['ipo|911', e({ callKey: '911' })],
    ]);
    const m = mergeCallSnapshot(shown, snap, [
      { type: 'call.ended', call: e({ callKey: 'a' }) },
      { type: 'call.started', call: e({ callKey: 'b' }) },
    ]);
    expect([...m.keys()].sort()).toEqual(['ipo|911', 'ipo|b']);
    expect(m.get('ipo|911')?.emergency).toBe(true);
    // The same key reused by a later call is a new call: the earlier flag does not carry over.
    const reused = mergeCallSnapshot(
      shown,
      new Map([['ipo|911', callFrom('ipo', { callKey: '911' }, () => '2026-01-01T00:05:00Z')]]),
      [],
    );
    expect(reused.get('ipo|911')?.emergency).toBe(false);
    // Nothing came while it was read: the snapshot as it is.
    expect([...mergeCallSnapshot(new Map(), snap, []).keys()]).toEqual(['ipo|a', 'ipo|911']);
    // A PBX whose calls could not be read keeps what was shown for it; the others follow the snapshot.
    const other = callFrom('ipo-2', { callKey: 'x' }, () => '2026-01-01T00:00:00Z');
    const kept = mergeCallSnapshot(new Map([...shown, [other.key, other]]), snap, [], new Set(['ipo-2']));
    expect([...kept.keys()].sort()).toEqual(['ipo-2|x', 'ipo|911', 'ipo|a']);
  });

  it('PBX link badge with several hubs: only the active link colours it; a hub without it says so, not red', () => {
    // Every hub's events share one stream: the standby's own link and a hub without a link are not the link.
    expect(linkStateOfEvent({ state: 'up' })).toBe('up');
    expect(linkStateOfEvent({ state: 'down', reason: 'timeout' })).toBe('down');
    expect(linkStateOfEvent({ state: 'down', role: 'standby' })).toBeUndefined();
    expect(linkStateOfEvent({ state: 'elsewhere', reason: 'another hub holds the link' })).toBeUndefined();
    // This hub's variables: the link it holds, or another hub's.
    expect(linkStateOfVariables({ link_state: 'up', link_role: 'active' })).toBe('up');
    expect(linkStateOfVariables({ link_state: 'down' })).toBe('down'); // a lone hub (or an older one)
    expect(linkStateOfVariables({ link_state: 'stopped', link_role: 'none' })).toBe(LINK_ON_ANOTHER_HUB);
    expect(linkStateOfVariables({ link_state: 'up', link_role: 'standby' })).toBe(LINK_ON_ANOTHER_HUB);
    expect(linkStateOfVariables({})).toBeUndefined();
    expect([undefined, LINK_ON_ANOTHER_HUB, 'up', 'UP', 'down', 'auth-failed'].map(linkTone)).toEqual([
      'muted',
      'muted',
      'ok',
      'ok',
      'bad',
      'bad',
    ]);
  });

  it('finds the screenshot image in an action result, and refuses non-images', () => {
    const b64 = Buffer.from('\x89PNG\r\n\x1a\n0123456789abcdef').toString('base64');
    expect(imageFrom({ contentType: 'image/png', base64: b64 })).toBe(`data:image/png;base64,${b64}`);
    expect(imageFrom({ image: b64 })).toBe(`data:image/png;base64,${b64}`);
    expect(imageFrom({ contentType: 'text/html', base64: b64 })).toBeNull();
    expect(imageFrom({ base64: '<script>alert(1)</script>xxxxxxxx' })).toBeNull();
    expect(imageFrom(null)).toBeNull();
  });

  it('computes broadcast progress from delivery states', () => {
    const ds = deliveriesOf([
      { deviceId: 'a', state: 'accepted', acceptedAt: 't1' },
      { deviceId: 'b', state: 'failed', reason: 'unreachable', message: 'timeout' },
      { deviceId: 'c', state: 'sent' },
    ]);
    expect(ds[1]).toMatchObject({ status: 'failed', reason: 'unreachable', message: 'timeout' });
    expect(progressOf(ds)).toMatchObject({ done: 2, delivered: 1, failed: 1, sent: 1, total: 3, pct: 33 });
    expect(progressOf([])).toMatchObject({ done: 0, delivered: 0, failed: 0, total: 0, pct: 0 });
    expect(deliveriesOf('nope')).toEqual([]);
  });
});

describe('phone reachability', () => {
  const at = '2026-11-22T10:00:00.000Z';
  it('comes from the last action outcome, else the driver variables (Cisco and Avaya names)', () => {
    expect(
      reachability({ ok: true, outcome: 'success', actionId: 'object_text', time: at }, undefined),
    ).toMatchObject({
      tone: 'ok',
      label: 'reachable',
      push: { outcome: 'success', action: 'object_text' },
    });
    expect(reachability({ ok: false, outcome: 'timeout', actionId: 'x', time: at }, undefined).label).toBe(
      'unreachable',
    );
    expect(
      reachability({ ok: false, outcome: 'CISCO_ERROR_4', actionId: 'x', time: at }, undefined).label,
    ).toBe('answered, refused');
    expect(reachability(undefined, { lastOutcome: 'success', lastAt: at }).label).toBe('reachable');
    expect(reachability(undefined, { last_push_outcome: 'unreachable', last_push_at: at }).label).toBe(
      'unreachable',
    );
    expect(reachability(undefined, { subscribed_at: at })).toEqual({ tone: 'ok', label: 'subscribed' });
    expect(reachability(undefined, {})).toEqual({ tone: 'muted', label: 'not contacted yet' });
  });
});
