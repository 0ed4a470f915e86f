import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SwitchboardError } from '../../../src/core/errors.js';
import {
  buildPushMessage,
  decodePushForm,
  encodePushForm,
  MAX_HREF_LENGTH,
  PushMessageError,
  PushMessageParseError,
  parsePushMessage,
} from '../../../src/drivers/avaya/push-message.js';

// 4600 API guide p.35 (display, lunch menu) and p.51 (audio, wake-up), verbatim apart from ASCII quotes.
const LUNCH = `<?xml version="1.0"?>
<Push alert="2" type="display" mode="normal">
  <go href="http://trusted_push_server/lunch_menu.wml" method="get"></go>
</Push>`;
const WAKE_UP = `<?xml version="1.0"?>
<Push alert="3" type="audio" mode="barge">
  <go href="http://trusted_push_server/wake_up.xml" method="get"></go>
</Push>`;

describe('push message golden vectors', () => {
  it('builds the lunch-menu display push byte for byte', () => {
    expect(
      buildPushMessage({
        type: 'display',
        mode: 'normal',
        alert: 2,
        href: 'http://trusted_push_server/lunch_menu.wml',
        method: 'get',
        postfields: [],
      }),
    ).toBe(LUNCH);
  });
  it('builds the wake-up audio push byte for byte', () => {
    expect(
      buildPushMessage({
        type: 'audio',
        mode: 'barge',
        alert: 3,
        href: 'http://trusted_push_server/wake_up.xml',
        method: 'get',
        postfields: [],
      }),
    ).toBe(WAKE_UP);
  });
  it('parses the documented examples', () => {
    expect(parsePushMessage(LUNCH)).toEqual({
      type: 'display',
      mode: 'normal',
      alert: 2,
      href: 'http://trusted_push_server/lunch_menu.wml',
      method: 'get',
      postfields: [],
    });
    expect(parsePushMessage(WAKE_UP)).toMatchObject({ type: 'audio', mode: 'barge', alert: 3 });
  });
  it('builds a subscribe push without alert or mode', () => {
    const xml = buildPushMessage({
      type: 'subscribe',
      href: 'http://subscription_server/filename.xml',
      method: 'get',
      postfields: [],
    });
    expect(xml).toBe(
      '<?xml version="1.0"?>\n<Push type="subscribe">\n  <go href="http://subscription_server/filename.xml" method="get"></go>\n</Push>',
    );
    expect(parsePushMessage(xml)).toEqual({
      type: 'subscribe',
      href: 'http://subscription_server/filename.xml',
      method: 'get',
      postfields: [],
    });
  });
  it('round-trips postfields with escaping', () => {
    const m = {
      type: 'topline' as const,
      mode: 'barge' as const,
      alert: 1 as const,
      href: 'http://10.0.0.1/avaya/content/a?x=1&y=2',
      method: 'post' as const,
      postfields: [{ name: 'msg', value: 'Fish & <Chips> "today"' }],
    };
    const xml = buildPushMessage(m);
    expect(xml).toContain('&amp;y=2');
    expect(xml).toContain('<postfield name="msg" value="Fish &amp; &lt;Chips&gt; &quot;today&quot;"/>');
    expect(parsePushMessage(xml)).toEqual(m);
  });
  it('accepts the 9600 guide spelling "Top Line"', () => {
    expect(
      parsePushMessage('<Push type="Top Line" mode="normal"><go href="http://a/b" method="get"/></Push>')
        .type,
    ).toBe('topline');
  });
});

describe('push message limits', () => {
  const base = { type: 'display' as const, mode: 'normal' as const, method: 'get' as const, postfields: [] };
  it('rejects bad hrefs', () => {
    expect(() => buildPushMessage({ ...base, href: `http://a/${'x'.repeat(MAX_HREF_LENGTH)}` })).toThrowError(
      PushMessageError,
    );
    expect(() => buildPushMessage({ ...base, href: 'https://a/b' })).toThrow(/http:\/\//);
    expect(() => buildPushMessage({ ...base, href: '/relative' })).toThrow(/fully qualified/);
  });
  it('rejects alert out of range, post without fields and too-large messages', () => {
    expect(() => buildPushMessage({ ...base, href: 'http://a/b', alert: 4 as 0 })).toThrow(/alert/);
    expect(() => buildPushMessage({ ...base, href: 'http://a/b', method: 'post' })).toThrow(/postfield/);
    const big = Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, value: 'v'.repeat(300) }));
    try {
      buildPushMessage({ ...base, href: 'http://a/b', method: 'post', postfields: big });
      expect.unreachable();
    } catch (e) {
      expect((e as SwitchboardError).code).toBe('AVAYA_PUSH_TOO_LARGE');
    }
  });
});

describe('push message parser status codes', () => {
  const code = (xml: string) => {
    try {
      parsePushMessage(xml);
      return 0;
    } catch (e) {
      expect(e).toBeInstanceOf(PushMessageParseError);
      return (e as PushMessageParseError).pushStatus;
    }
  };
  it('maps each documented XML error', () => {
    expect(code('')).toBe(303);
    expect(code('<Push type="display"><go href="http://a/b"></Push>')).toBe(302);
    expect(
      code('<?xml version="1.0" encoding="EBCDIC-XYZ"?><Push type="display"><go href="http://a/b"/></Push>'),
    ).toBe(304);
    expect(code('<Pull type="display"><go href="http://a/b"/></Pull>')).toBe(305);
    expect(code('<Push type="fax"><go href="http://a/b"/></Push>')).toBe(301);
    expect(code('<Push type="display" mode="loud"><go href="http://a/b"/></Push>')).toBe(301);
    expect(code('<Push type="display" alert="7"><go href="http://a/b"/></Push>')).toBe(301);
    expect(code('<Push type="display"><go href="http://a/b" method="post"/></Push>')).toBe(306);
    expect(code(`<Push type="display"><go href="http://a/${'x'.repeat(6000)}"/></Push>`)).toBe(307);
    expect(code(`<Push type="display"><go href="http://a/${'x'.repeat(1100)}"/></Push>`)).toBe(501);
    expect(code('<Push type="display"><go href="a/b"/></Push>')).toBe(501);
    expect(code('<Push type="display"><go href="https://a/b"/></Push>')).toBe(402);
    expect(
      code('<!DOCTYPE x [<!ENTITY e "boom">]><Push type="display"><go href="http://a/&e;"/></Push>'),
    ).toBe(301);
  });
  it('never crashes on random or truncated input', () => {
    const valid = buildPushMessage({
      type: 'topline',
      mode: 'normal',
      alert: 1,
      href: 'http://h/p?a=1',
      method: 'post',
      postfields: [{ name: 'a', value: 'b' }],
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 400 }),
          fc.nat({ max: valid.length }).map((n) => valid.slice(0, n)),
        ),
        (s) => {
          try {
            parsePushMessage(s);
          } catch (e) {
            expect(e).toBeInstanceOf(PushMessageParseError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('form encoding', () => {
  it('wraps the XML in XMLData and back', () => {
    const body = encodePushForm(LUNCH);
    expect(body.startsWith('XMLData=%3C%3Fxml+version%3D%221.0%22%3F%3E')).toBe(true);
    expect(decodePushForm(body)).toBe(LUNCH);
    expect(decodePushForm('other=1')).toBeUndefined();
  });
});
