import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildAudioContent,
  buildAudioStopContent,
  buildDisplayDeck,
  buildPhonexmlContent,
  buildSubscribeContent,
  buildToplineContent,
  PushContentError,
  PushContentParseError,
  parsePushContent,
  rtpRxUrl,
} from '../../../src/drivers/avaya/content.js';

describe('push content golden vectors', () => {
  it('top line content (4600 API guide p.44)', () => {
    const xml = buildToplineContent('Stock Alert: AV @ $15');
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n  <Topline>Stock Alert: AV @ $15</Topline>\n</Response>',
    );
    expect(parsePushContent(xml)).toEqual({ kind: 'topline', text: 'Stock Alert: AV @ $15' });
  });
  it('audio content (4600 API guide p.51–52 with the 9600 Promptline)', () => {
    const xml = buildAudioContent({
      codec: 'PCMU',
      packetSizeMs: 40,
      audioTimerS: 20,
      url: rtpRxUrl('192.0.2.10', 41234),
      promptline: 'Wake-up call',
    });
    expect(xml).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Audio packetsize="40" codec="PCMU">
    <AudioTimer value="20"/>
    <Url href="RTPRx://192.0.2.10:41234"/>
    <Promptline>Wake-up call</Promptline>
  </Audio>
</Response>`);
    expect(parsePushContent(xml)).toEqual({
      kind: 'audio',
      codec: 'PCMU',
      packetSizeMs: 40,
      audioTimerS: 20,
      url: { direction: 'rx', stop: false, host: '192.0.2.10', port: 41234 },
      promptline: 'Wake-up call',
    });
  });
  it('RTPRx://STOP', () => {
    expect(buildAudioStopContent()).toContain('<Url href="RTPRx://STOP"/>');
    expect(parsePushContent(buildAudioStopContent())).toMatchObject({ kind: 'audio', url: { stop: true } });
  });
  it('subscribe content (9600 API guide)', () => {
    const xml = buildSubscribeContent('me', 'http://subscription.example/subscribe.php');
    expect(xml).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Subscribe type="me">
    <Url href="http://subscription.example/subscribe.php"/>
  </Subscribe>
</Response>`);
    expect(parsePushContent(xml)).toEqual({
      kind: 'subscribe',
      type: 'me',
      href: 'http://subscription.example/subscribe.php',
    });
    expect(parsePushContent(buildSubscribeContent('all'))).toEqual({ kind: 'subscribe', type: 'all' });
    expect(() => buildSubscribeContent('me')).toThrow(PushContentError);
  });
  it('display deck with title, softkeys and click-to-dial', () => {
    const xml = buildDisplayDeck({
      title: 'Lunch <today>',
      text: ['Soup & salad', 'Fish'],
      softkeys: [
        { label: 'Order', href: 'http://h/order?a=1&b=2' },
        { label: 'Call', dial: '4455' },
      ],
      links: [{ label: 'Canteen', dial: '1234' }],
    });
    expect(xml).toContain('<card id="push" title="Lunch &lt;today&gt;">');
    expect(xml).toContain('<go href="wtai://wp/mc;4455"/>');
    expect(xml).toContain('href="http://h/order?a=1&amp;b=2"');
    const p = parsePushContent(xml);
    expect(p).toEqual({
      kind: 'wml',
      title: 'Lunch <today>',
      text: 'Soup & salad\nFish',
      softkeys: [
        { label: 'Order', href: 'http://h/order?a=1&b=2' },
        { label: 'Call', href: 'wtai://wp/mc;4455' },
      ],
      links: [{ label: 'Canteen', href: 'wtai://wp/mc;1234' }],
    });
  });
  it('rejects bad values with typed errors', () => {
    expect(() => buildToplineContent('x'.repeat(313))).toThrow(PushContentError);
    expect(() =>
      buildAudioContent({ codec: 'PCMU', packetSizeMs: 25 as 20, audioTimerS: 20, url: 'RTPRx://a:1' }),
    ).toThrow(/packetsize/);
    expect(() =>
      buildAudioContent({ codec: 'PCMU', packetSizeMs: 20, audioTimerS: 2, url: 'RTPRx://a:1' }),
    ).toThrow(/AudioTimer/);
    expect(() => buildDisplayDeck({ text: 'x', softkeys: [{ label: 'a', dial: '12ab' }] })).toThrow(/dial/);
    expect(() => buildPhonexmlContent('<a><b></a>')).toThrow(PushContentError);
    expect(buildPhonexmlContent('<PhoneXML><Title>Hi</Title></PhoneXML>')).toContain('PhoneXML');
  });
  it('content parser never crashes on random input', () => {
    const samples = [
      buildToplineContent('hi'),
      buildAudioStopContent(),
      buildDisplayDeck({ text: 'x', softkeys: [{ label: 'k', dial: '1' }] }),
    ];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.tuple(fc.constantFrom(...samples), fc.nat()).map(([s, n]) => s.slice(0, n % (s.length + 1))),
        ),
        (s) => {
          try {
            parsePushContent(s);
          } catch (e) {
            expect(e).toBeInstanceOf(PushContentParseError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
