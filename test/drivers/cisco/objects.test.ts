import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SwitchboardError } from '../../../src/core/errors.js';
import {
  encodePushBody,
  formEncodeBytes,
  parseFormBytes,
  transliterateLatin1,
} from '../../../src/drivers/cisco/encoding.js';
import { modelProfile, uriUnsupportedReason } from '../../../src/drivers/cisco/models.js';
import {
  buildErrorObject,
  buildObject,
  type CiscoObject,
  objectFromXml,
  telephoneDialString,
} from '../../../src/drivers/cisco/objects.js';
import {
  appUri,
  dialUri,
  displayUri,
  notifyUri,
  numberedKeyUri,
  playUri,
  rtpReceiveUri,
  rtpSendUri,
  sendDigitsUri,
  settingsMenuUri,
} from '../../../src/drivers/cisco/uri.js';
import { readXml } from '../../../src/drivers/cisco/xml-read.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof SwitchboardError) return e.code;
    throw e;
  }
  return undefined;
}

const item = (i: number) => ({ name: `Item ${i}`, url: `http://h/${i}` });

describe('XML object builders (golden, seed 003)', () => {
  it('CiscoIPPhoneExecute is exactly the seed shape with an encoding declaration', () => {
    expect(buildObject({ type: 'CiscoIPPhoneExecute', items: [{ url: 'Key:Services', priority: 0 }] })).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<CiscoIPPhoneExecute>\n<ExecuteItem Priority="0" URL="Key:Services"/>\n</CiscoIPPhoneExecute>\n',
    );
  });

  it('CiscoIPPhoneText escapes every value with the one escape function', () => {
    const xml = buildObject({ type: 'CiscoIPPhoneText', title: 'A & B', prompt: '"x"', text: "<911> it's" });
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<CiscoIPPhoneText>\n<Title>A &amp; B</Title>\n<Prompt>&quot;x&quot;</Prompt>\n<Text>&lt;911&gt; it&apos;s</Text>\n</CiscoIPPhoneText>\n',
    );
  });

  it('Latin-1 phones get an ISO-8859-1 declaration and transliterated text', () => {
    const xml = buildObject(
      { type: 'CiscoIPPhoneText', text: 'Café – “Łódź” €5 …' },
      { charset: 'iso-8859-1' },
    );
    expect(xml).toContain('encoding="ISO-8859-1"');
    expect(xml).toContain('<Text>Café - &quot;Lódz&quot; EUR5 ...</Text>');
    expect([...xml].every((c) => c.codePointAt(0)! <= 0xff)).toBe(true);
    const body = encodePushBody(xml, 'iso-8859-1').body;
    expect(body).toContain('Caf%E9');
    expect(parseFormBytes(body).get('XML')!.toString('latin1')).toBe(xml);
  });

  it('UTF-8 form body round-trips and is double-escaped (XML then form)', () => {
    const xml = buildObject({ type: 'CiscoIPPhoneText', text: 'a&b + 100% ü' });
    const { body } = encodePushBody(xml, 'utf-8');
    expect(body.startsWith('XML=%3C%3Fxml')).toBe(true);
    expect(body).toContain('a%26amp%3Bb+%2B+100%25');
    expect(parseFormBytes(body).get('XML')!.toString('utf8')).toBe(xml);
    expect(body).toBe(`XML=${new URLSearchParams({ XML: xml }).toString().slice(4)}`);
  });

  it('builders and the simulator parser agree (round trip of every object type)', () => {
    const objs: CiscoObject[] = [
      {
        type: 'CiscoIPPhoneMenu',
        title: 'M',
        prompt: 'p',
        items: [item(1), item(2)],
        softkeys: [{ name: 'Select', url: 'SoftKey:Select', position: 1 }],
      },
      {
        type: 'CiscoIPPhoneInput',
        title: 'I',
        url: 'http://h/in',
        method: 'post',
        items: [{ displayName: 'PIN', queryStringParam: 'pin', defaultValue: '', inputFlags: 'NP' }],
      },
      { type: 'CiscoIPPhoneDirectory', title: 'D', entries: [{ name: 'A', telephone: '1000' }] },
      {
        type: 'CiscoIPPhoneImage',
        title: 'Img',
        x: -1,
        y: -1,
        width: 8,
        height: 2,
        depth: 2,
        data: 'FFFF0000',
      },
      {
        type: 'CiscoIPPhoneStatus',
        text: 'S',
        timer: 5,
        x: 0,
        y: 0,
        width: 4,
        height: 1,
        depth: 1,
        data: '0F',
      },
      {
        type: 'startMedia',
        stream: {
          type: 'audio',
          codec: 'G.711',
          mode: 'receiveOnly',
          address: '127.0.0.1',
          port: 24000,
          onStopped: 'http://h/m',
          receiveVolume: 50,
        },
      },
      { type: 'stopMedia', id: 'abc123' },
      { type: 'getDeviceCaps' },
    ];
    for (const o of objs) expect(objectFromXml(readXml(buildObject(o)))).toMatchObject(o);
  });

  it('CiscoIPPhoneError', () => {
    expect(buildErrorObject(4)).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<CiscoIPPhoneError Number="4"/>\n',
    );
  });
});

describe('every limit of the seed has its own error code', () => {
  const cases: Array<[string, () => unknown]> = [
    [
      'CISCO_TOO_MANY_EXECUTE_ITEMS',
      () =>
        buildObject({
          type: 'CiscoIPPhoneExecute',
          items: [1, 2, 3, 4].map(() => ({ url: 'Key:Services' })),
        }),
    ],
    [
      'CISCO_TOO_MANY_HTTP_URLS',
      () =>
        buildObject({ type: 'CiscoIPPhoneExecute', items: [{ url: 'http://a/1' }, { url: 'https://a/2' }] }),
    ],
    ['CISCO_EXECUTE_EMPTY', () => buildObject({ type: 'CiscoIPPhoneExecute', items: [] })],
    [
      'CISCO_NOTIFY_IN_EXECUTE',
      () => buildObject({ type: 'CiscoIPPhoneExecute', items: [{ url: 'Notify:http:h:80:p::' }] }),
    ],
    [
      'CISCO_TOO_MANY_MENU_ITEMS',
      () => buildObject({ type: 'CiscoIPPhoneMenu', items: Array.from({ length: 101 }, (_, i) => item(i)) }),
    ],
    [
      'CISCO_NAME_TOO_LONG',
      () => buildObject({ type: 'CiscoIPPhoneMenu', items: [{ name: 'x'.repeat(65) }] }),
    ],
    [
      'CISCO_TOO_MANY_INPUT_ITEMS',
      () =>
        buildObject({
          type: 'CiscoIPPhoneInput',
          url: 'http://h',
          items: Array.from({ length: 6 }, (_, i) => ({ displayName: `d${i}`, queryStringParam: `q${i}` })),
        }),
    ],
    [
      'CISCO_INPUT_FLAGS_INVALID',
      () =>
        buildObject({
          type: 'CiscoIPPhoneInput',
          url: 'http://h',
          items: [{ displayName: 'd', queryStringParam: 'q', inputFlags: 'X' }],
        }),
    ],
    [
      'CISCO_INPUT_POST_UNSUPPORTED',
      () =>
        buildObject(
          { type: 'CiscoIPPhoneInput', url: 'http://h', method: 'post', items: [] },
          { inputPost: false },
        ),
    ],
    [
      'CISCO_TOO_MANY_DIRECTORY_ENTRIES',
      () =>
        buildObject({
          type: 'CiscoIPPhoneDirectory',
          entries: Array.from({ length: 33 }, (_, i) => ({ name: `n${i}`, telephone: '1' })),
        }),
    ],
    [
      'CISCO_TELEPHONE_INVALID',
      () => buildObject({ type: 'CiscoIPPhoneDirectory', entries: [{ name: 'n', telephone: '12\u0007' }] }),
    ],
    [
      'CISCO_ICON_TOO_LARGE',
      () =>
        buildObject({
          type: 'CiscoIPPhoneIconMenu',
          items: [],
          icons: [{ index: 0, width: 17, height: 10, depth: 1, data: '00' }],
        }),
    ],
    [
      'CISCO_ICON_TOO_LARGE',
      () =>
        buildObject({
          type: 'CiscoIPPhoneIconFileMenu',
          items: [],
          icons: [{ index: 0, width: 18, height: 19, url: 'http://h/i.png' }],
        }),
    ],
    [
      'CISCO_TOO_MANY_ICON_MENU_ITEMS',
      () =>
        buildObject({
          type: 'CiscoIPPhoneIconMenu',
          items: Array.from({ length: 33 }, (_, i) => item(i)),
          icons: [],
        }),
    ],
    [
      'CISCO_ICON_INDEX_INVALID',
      () =>
        buildObject({ type: 'CiscoIPPhoneIconFileMenu', items: [{ name: 'a', iconIndex: 10 }], icons: [] }),
    ],
    [
      'CISCO_IMAGE_DEPTH_INVALID',
      () => buildObject({ type: 'CiscoIPPhoneImage', width: 1, height: 1, depth: 3, data: '00' }),
    ],
    [
      'CISCO_IMAGE_DATA_LENGTH',
      () => buildObject({ type: 'CiscoIPPhoneImage', width: 8, height: 2, depth: 2, data: 'FF' }),
    ],
    [
      'CISCO_IMAGE_DATA_INVALID',
      () => buildObject({ type: 'CiscoIPPhoneImage', width: 4, height: 1, depth: 2, data: 'ZZ' }),
    ],
    [
      'CISCO_TOO_MANY_GRAPHIC_MENU_ITEMS',
      () =>
        buildObject({
          type: 'CiscoIPPhoneGraphicMenu',
          width: 4,
          height: 1,
          depth: 2,
          data: '00',
          items: Array.from({ length: 13 }, (_, i) => item(i)),
        }),
    ],
    [
      'CISCO_URLDOWN_HTTP',
      () =>
        buildObject({
          type: 'CiscoIPPhoneText',
          text: 't',
          softkeys: [{ name: 'x', url: 'SoftKey:Exit', urlDown: 'http://h/x' }],
        }),
    ],
    [
      'CISCO_TOO_MANY_SOFTKEYS',
      () =>
        buildObject({
          type: 'CiscoIPPhoneText',
          text: 't',
          softkeys: Array.from({ length: 9 }, (_, i) => ({ name: `k${i}`, url: 'SoftKey:Exit' })),
        }),
    ],
    [
      'CISCO_STATUS_TEXT_TOO_LONG',
      () =>
        buildObject({
          type: 'CiscoIPPhoneStatusFile',
          text: 'x'.repeat(65),
          timer: 0,
          url: 'http://h/s.png',
        }),
    ],
    [
      'CISCO_CODEC_INVALID',
      () =>
        buildObject({
          type: 'startMedia',
          stream: {
            type: 'audio',
            codec: 'G.723' as 'G.711',
            mode: 'receiveOnly',
            address: '1.2.3.4',
            port: 2,
          },
        }),
    ],
    [
      'CISCO_POST_TOO_LARGE',
      () => encodePushBody(buildObject({ type: 'CiscoIPPhoneText', text: 'x'.repeat(41_000) }), 'utf-8'),
    ],
    ['CISCO_RTP_PORT_INVALID', () => rtpReceiveUri(false, { i: '10.0.0.1', p: 20481 })],
    ['CISCO_RTP_PORT_INVALID', () => rtpSendUri(false, { i: '10.0.0.1', p: 20478 })],
    ['CISCO_RTP_PORT_INVALID', () => rtpSendUri(true, { i: '239.0.0.1', p: 32770 })],
    ['CISCO_VOLUME_INVALID', () => rtpReceiveUri(true, { i: '239.0.0.1', p: 20480, v: 101 })],
    ['CISCO_AUDIO_PATH_INVALID', () => rtpReceiveUri(false, { i: '10.0.0.1', p: 20480, s: 3 })],
    ['CISCO_MULTICAST_ADDRESS_INVALID', () => rtpReceiveUri(true, { i: '10.0.0.1', p: 20480 })],
    ['CISCO_IP_INVALID', () => rtpSendUri(false, { i: '10.0.0.300', p: 20480 })],
    ['CISCO_DISPLAY_INTERVAL_INVALID', () => displayUri('Off', 1441)],
    ['CISCO_DIAL_STRING_INVALID', () => dialUri({ dialSequence: '9-1-1' })],
    ['CISCO_FORBIDDEN_CHARACTER', () => dialUri({ dialSequence: '911', applicationId: 'a;b' })],
    ['CISCO_FORBIDDEN_CHARACTER', () => sendDigitsUri({ dtmfSequence: '1', applicationId: 'a:b' })],
    ['CISCO_APPLICATION_ID_INVALID', () => appUri('RequestFocus', { applicationId: 'x'.repeat(65) })],
    ['CISCO_APPLICATION_ID_INVALID', () => appUri('Close', { applicationId: '' })],
    ['CISCO_IDLE_TIMER_INVALID', () => appUri('Minimize', { applicationId: 'a', idleTimer: 9 })],
    ['CISCO_FORBIDDEN_CHARACTER', () => notifyUri({ host: 'h', port: 80, path: '/a:b' })],
    ['CISCO_FORBIDDEN_CHARACTER', () => notifyUri({ host: 'h', port: 80, path: '/a', data: 'x;y' })],
    ['CISCO_PORT_INVALID', () => notifyUri({ host: 'h', port: 0, path: '/a' })],
    ['CISCO_KEY_NUMBER_INVALID', () => numberedKeyUri('Line', 121)],
    ['CISCO_KEY_NUMBER_INVALID', () => numberedKeyUri('KeyPad', 10)],
    ['CISCO_PLAY_FILENAME_INVALID', () => playUri('../etc/passwd')],
    ['CISCO_SETTINGS_MENU_INVALID', () => settingsMenuUri('Net:work')],
  ];
  it.each(cases)('%s', (expected, fn) => {
    expect(code(fn)).toBe(expected);
  });

  it('accepts the boundary values', () => {
    expect(rtpReceiveUri(false, { i: '10.0.0.1', p: 20480 })).toBe('RTPRx:10.0.0.1:20480');
    expect(rtpReceiveUri(true, { i: '239.0.0.1', p: 32768, v: 0 })).toBe('RTPMRx:239.0.0.1:32768:0');
    expect(displayUri('Off', 0)).toBe('Display:Off:0');
    expect(displayUri('On', 1440)).toBe('Display:On:1440');
    expect(dialUri({ dialSequence: '9,1#*ABCD' })).toBe('Dial:9,1#*ABCD');
    expect(appUri('RequestFocus', { applicationId: 'x'.repeat(64), idleTimer: 86400, priority: 2 })).toBe(
      `App:RequestFocus:2:86400:${'x'.repeat(64)}`,
    );
    expect(
      buildObject({
        type: 'CiscoIPPhoneMenu',
        items: Array.from({ length: 100 }, (_, i) => ({ name: 'x'.repeat(64), url: `http://h/${i}` })),
      }),
    ).toContain('<MenuItem>');
    expect(
      buildObject({
        type: 'CiscoIPPhoneExecute',
        items: [{ url: 'http://h/1', priority: 1 }, { url: 'Play:chime.raw' }, { url: 'Key:Services' }],
      }),
    ).toContain('Play:chime.raw');
  });
});

describe('real-world directories and input objects (issue 14 items 8, 9)', () => {
  it('Telephone accepts what phones display; dialling strings keep the seed rule', () => {
    for (const telephone of [
      '+1 (555) 010-2000',
      '555.010.2000',
      '0170 744 4333',
      '2000 x12',
      '+44 20-7946-0000',
      '',
    ])
      expect(() =>
        buildObject({ type: 'CiscoIPPhoneDirectory', entries: [{ name: 'n', telephone }] }),
      ).not.toThrow();
    expect(telephoneDialString('+1 (555) 010-2000')).toBe('+15550102000');
    expect(telephoneDialString('555.010.2000')).toBe('5550102000');
    expect(() => dialUri({ dialSequence: '555-010' })).toThrow(
      expect.objectContaining({ code: 'CISCO_DIAL_STRING_INVALID' }),
    );
    // a real service's directory page, CRLF and all, reads back
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\r\n<CiscoIPPhoneDirectory>\r\n<Title>Site</Title>\r\n<DirectoryEntry><Name>Front desk</Name><Telephone>(555) 010-1000</Telephone></DirectoryEntry>\r\n</CiscoIPPhoneDirectory>\r\n';
    const o = objectFromXml(readXml(xml))!;
    expect(o).toMatchObject({ entries: [{ name: 'Front desk', telephone: '(555) 010-1000' }] });
  });

  it('an empty <InputFlags/> means absent (A)', () => {
    const xml =
      '<CiscoIPPhoneInput><URL>http://h/s</URL><InputItem><DisplayName>PIN</DisplayName><QueryStringParam>pin</QueryStringParam><DefaultValue/><InputFlags/></InputItem><InputItem><DisplayName>N</DisplayName><QueryStringParam>n</QueryStringParam><InputFlags>  </InputFlags></InputItem></CiscoIPPhoneInput>';
    const o = objectFromXml(readXml(xml))! as Extract<CiscoObject, { type: 'CiscoIPPhoneInput' }>;
    expect(o.items.map((i) => i.inputFlags)).toEqual(['A', 'A']);
    expect(() =>
      buildObject({
        type: 'CiscoIPPhoneInput',
        url: 'http://h',
        items: [{ displayName: 'd', queryStringParam: 'q', inputFlags: '' }],
      }),
    ).not.toThrow();
    expect(
      buildObject({
        type: 'CiscoIPPhoneInput',
        url: 'http://h',
        items: [{ displayName: 'd', queryStringParam: 'q', inputFlags: '' }],
      }),
    ).toContain('<InputFlags>A</InputFlags>');
  });
});

describe('model profiles', () => {
  it('Multiplatform phones refuse the URI families the seed lists', () => {
    const mpp = modelProfile('8845-mpp')!;
    for (const u of [
      'Display:Default',
      'Notify:http:h:1:p::',
      'SendDigits:1:1::',
      'App:Close:0:60:a',
      'QueryStringParam:a',
      'RTPRx:1.2.3.4:20480',
      'RTPMRx:239.1.1.1:20480',
    ]) {
      expect(uriUnsupportedReason(mpp, u), u).toMatch(/not supported on model 8845-mpp/);
    }
    expect(uriUnsupportedReason(mpp, 'Key:Services')).toBeUndefined();
    expect(mpp.xmlResponses).toBe(false);
  });
  it('8821-only keys, 8875 settings keys and soft-key counts', () => {
    expect(uriUnsupportedReason(modelProfile('8845')!, 'Key:PTT')).toMatch(/exclusive to the 8821/);
    expect(uriUnsupportedReason(modelProfile('8821')!, 'Key:PTT')).toBeUndefined();
    expect(uriUnsupportedReason(modelProfile('8845')!, 'Key:Key_1')).toMatch(/8875 only/);
    expect(uriUnsupportedReason(modelProfile('8875')!, 'SettingsMenu:Bluetooth')).toBeUndefined();
    expect(uriUnsupportedReason(modelProfile('8845')!, 'SettingsMenu:Bluetooth')).toMatch(/not supported/);
    expect(uriUnsupportedReason(modelProfile('8845')!, 'Key:Soft5')).toBeUndefined();
    expect(uriUnsupportedReason(modelProfile('7841')!, 'Key:Soft5')).toMatch(/4 soft keys/);
    expect(uriUnsupportedReason(modelProfile('8821')!, 'Key:Soft3')).toMatch(/2 soft keys/);
  });
});

describe('fuzzing', () => {
  it('readXml/objectFromXml never crash: typed error or a value', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.constantFrom(
            '<CiscoIPPhoneText><Text>a</Text>',
            '<a><b></a>',
            '<!DOCTYPE x [<!ENTITY e "x">]><a>&e;</a>',
            `${'<a>'.repeat(100)}`,
          ),
        ),
        (s) => {
          try {
            const root = readXml(s);
            objectFromXml(root);
          } catch (e) {
            expect(e).toBeInstanceOf(SwitchboardError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
  it('truncations of a valid object give a typed error or a value', () => {
    const xml = buildObject({ type: 'CiscoIPPhoneMenu', title: 'T', items: [item(1), item(2)] });
    for (let i = 0; i < xml.length; i++) {
      try {
        objectFromXml(readXml(xml.slice(0, i)));
      } catch (e) {
        expect(e).toBeInstanceOf(SwitchboardError);
      }
    }
  });
  it('form encoding round-trips arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (a) => {
        const b = Buffer.from(a);
        expect(
          parseFormBytes(`XML=${formEncodeBytes(b)}`)
            .get('XML')!
            .equals(b),
        ).toBe(true);
      }),
    );
  });
  it('transliteration always yields Latin-1', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 50 }), (s) =>
        [...transliterateLatin1(s)].every((c) => c.codePointAt(0)! <= 0xff),
      ),
    );
  });
});
