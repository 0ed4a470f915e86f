import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  interpretPushResponse,
  PUSH_STATUS_CODES,
  parsePushStatusValue,
} from '../../../src/drivers/avaya/push-status.js';
import {
  buildSubscriptionQuery,
  parseSubscriptionQuery,
  SubscriptionParseError,
} from '../../../src/drivers/avaya/subscription.js';

describe('push status', () => {
  it('parses tolerant header values', () => {
    expect(parsePushStatusValue('200')).toEqual({ code: 200 });
    expect(parsePushStatusValue('205 Not In Push State: Push Aborted')).toEqual({
      code: 205,
      reason: 'Not In Push State: Push Aborted',
    });
    expect(parsePushStatusValue('"402" "Push security failure"')).toEqual({
      code: 402,
      reason: 'Push security failure',
    });
    expect(parsePushStatusValue('abc')).toBeUndefined();
  });
  it('maps every documented code from either header', () => {
    for (const [code, info] of Object.entries(PUSH_STATUS_CODES)) {
      for (const h of ['x-push-status', 'x-avaya-push-status']) {
        const o = interpretPushResponse(code === '402' ? 403 : 200, { [h]: code }, 'normal');
        expect(o.pushStatus).toBe(Number(code));
        expect(o.outcome).toBe(info.outcome);
        expect(o.ok).toBe(info.delivered);
        expect(o.header).toBe(h);
      }
    }
    expect(Object.keys(PUSH_STATUS_CODES).map(Number)).toEqual([
      200, 201, 202, 204, 205, 208, 301, 302, 303, 304, 305, 306, 307, 402, 501, 503,
    ]);
  });
  it('offers retry as barge only for busy normal pushes', () => {
    expect(interpretPushResponse(200, { 'x-push-status': '205' }, 'normal').retryAsBarge).toBe(true);
    expect(interpretPushResponse(200, { 'x-push-status': '208' }, 'normal').retryAsBarge).toBe(true);
    expect(interpretPushResponse(200, { 'x-push-status': '208' }, 'barge').retryAsBarge).toBe(false);
    expect(interpretPushResponse(200, { 'x-push-status': '204' }, 'normal')).toMatchObject({
      ok: true,
      outcome: 'background',
      retryAsBarge: false,
    });
  });
  it('falls back on the HTTP status without a header', () => {
    expect(interpretPushResponse(403, {}, 'normal').outcome).toBe('forbidden');
    expect(interpretPushResponse(200, {}, 'normal')).toMatchObject({
      ok: true,
      outcome: 'accepted',
      pushStatus: undefined,
    });
    expect(interpretPushResponse(500, {}, 'normal')).toMatchObject({ ok: false, outcome: 'no_status' });
    expect(interpretPushResponse(200, { 'x-push-status': '299' }, 'normal').outcome).toBe('unknown_status');
  });
});

describe('subscription query', () => {
  it('accepts & and + separators and normalises MAC and model', () => {
    const a = parseSubscriptionQuery('MAC=00:1B:4F:AA:BB:CC&Extn=201&ip=10.0.0.5&SetID=4620D01A');
    expect(a).toEqual({
      mac: '001b4faabbcc',
      extension: '201',
      ip: '10.0.0.5',
      setId: '4620D01A',
      model: '4620',
    });
    const b = parseSubscriptionQuery('MAC=001b4faabbcc+Extn=201+ip=10.0.0.5+SetID=J179D01A');
    expect(b.model).toBe('J179');
    const q = buildSubscriptionQuery(
      { mac: '001b4faabbcc', extension: '7', ip: '127.0.0.1', setId: 'J179D01A', pushPort: 18080 },
      '+',
    );
    expect(parseSubscriptionQuery(q)).toMatchObject({ extension: '7', pushPort: 18080 });
  });
  it('rejects missing or bad MAC', () => {
    expect(() => parseSubscriptionQuery('Extn=1')).toThrow(SubscriptionParseError);
    expect(() => parseSubscriptionQuery('MAC=zz')).toThrow(/12 hexadecimal/);
  });
  it('never crashes', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        try {
          parseSubscriptionQuery(s);
        } catch (e) {
          expect(e).toBeInstanceOf(SubscriptionParseError);
        }
      }),
    );
  });
});
