import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SwitchboardError } from '../../src/core/errors.js';
import {
  callSidOf,
  computeSignature,
  isReplyQueue,
  keepAliveXml,
  validateCallXml,
  verifySignature,
} from '../../src/pubsub/callxml.js';
import {
  decodeMessage,
  encodeMessage,
  formatCreated,
  isAccountSid,
  LIST_CLOSE,
  LIST_OPEN,
  listItem,
  MessageListParser,
  messageUrl,
  type PubSubMessage,
  parseDuration,
  parseFormParams,
  parseJsonParams,
  parseQueueName,
} from '../../src/pubsub/protocol.js';

const SID = 'AC948550ad81934a1a9bcd33b689c0c236';
// Golden vector: the seed's SMS example message.
const SMS: PubSubMessage = {
  Hostname: '',
  AccountSid: SID,
  Url: `/${SID}/SMS`,
  FormParams: {
    AccountSid: SID,
    ApiVersion: 'v2',
    Body: 'Hello from my cell phone',
    From: '+18457026652',
    SmsSid: 'SM8f889084f5aa1b237844487f86ff699d',
    SmsStatus: 'received',
    To: '+14083511240',
  },
  Created: '2016-12-06T13:26:19.042258199-05:00',
  Id: 'MS1',
};

describe('durations', () => {
  it('parses the seed examples and friends', () => {
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('15')).toBe(15_000);
  });
  it('rejects garbage with a typed error', () => {
    for (const bad of ['', 's', '-5s', '5x', '5 s', '1e3s', 'abc', '5s5', '9'.repeat(40)]) {
      expect(() => parseDuration(bad)).toThrow(expect.objectContaining({ code: 'PUBSUB_BAD_DURATION' }));
    }
  });
  it('never crashes on random input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        try {
          const v = parseDuration(s);
          expect(Number.isSafeInteger(v) && v >= 0).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(SwitchboardError);
        }
      }),
    );
  });
});

describe('queue names and message fields', () => {
  it('accepts the seed examples and normalizes slashes', () => {
    expect(parseQueueName('Calls/')).toBe('Calls');
    expect(parseQueueName('/Call/Dial/Action')).toBe('Call/Dial/Action');
    expect(parseQueueName('node-1/critical/')).toBe('node-1/critical');
    expect(parseQueueName('a/b')).toBe('a/b');
    expect(parseQueueName('call.xml/CA123')).toBe('call.xml/CA123');
    expect(parseQueueName('calls/events/NodeId-11/CAabc.xml')).toBe('calls/events/NodeId-11/CAabc.xml');
  });
  it('rejects empty, dot segments and odd characters', () => {
    expect(() => parseQueueName('')).toThrow(expect.objectContaining({ code: 'PUBSUB_QUEUE_NAME_REQUIRED' }));
    expect(() => parseQueueName('a/../b')).toThrow(
      expect.objectContaining({ code: 'PUBSUB_BAD_QUEUE_NAME' }),
    );
    expect(() => parseQueueName('a%2')).toThrow(expect.objectContaining({ code: 'PUBSUB_BAD_QUEUE_NAME' }));
    expect(() => parseQueueName('a/b c')).toThrow(expect.objectContaining({ code: 'PUBSUB_BAD_QUEUE_NAME' }));
    expect(() => parseQueueName('x/'.repeat(40))).toThrow(
      expect.objectContaining({ code: 'PUBSUB_QUEUE_NAME_TOO_DEEP' }),
    );
  });
  it('queue names survive fuzzing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (s) => {
        try {
          const q = parseQueueName(s);
          expect(q.length).toBeGreaterThan(0);
          expect(q.length).toBeLessThanOrEqual(512);
          expect(parseQueueName(q)).toBe(q);
        } catch (e) {
          expect(e).toBeInstanceOf(SwitchboardError);
        }
      }),
    );
  });
  it('AccountSid shape is AC + 32 lowercase hex', () => {
    expect(isAccountSid(SID)).toBe(true);
    expect(isAccountSid('AC948550AD81934A1A9BCD33B689C0C236')).toBe(false);
    expect(isAccountSid('api')).toBe(false);
  });
  it('Url drops the session parameter and keeps the rest', () => {
    expect(messageUrl(SID, 'a/b', new URLSearchParams('session=x&event-type=gather-action&callId=1'))).toBe(
      `/${SID}/a/b?event-type=gather-action&callId=1`,
    );
    expect(messageUrl(SID, 'SMS', undefined)).toBe(`/${SID}/SMS`);
  });
  it('Created is RFC 3339 with the offset, like Go prints it', () => {
    const t = Date.UTC(2016, 11, 6, 18, 26, 19, 42);
    expect(formatCreated(t, -300)).toBe('2016-12-06T13:26:19.042-05:00');
    expect(formatCreated(t, 0)).toBe('2016-12-06T18:26:19.042Z');
    expect(formatCreated(Date.UTC(2016, 11, 6, 18, 26, 19, 0), 60)).toBe('2016-12-06T19:26:19+01:00');
  });
  it('form params: repeated keys become lists; JSON params must be an object', () => {
    expect(parseFormParams('Custom=123&Param=abc')).toEqual({ Custom: '123', Param: 'abc' });
    expect(parseFormParams('a=1&a=2&a=3')).toEqual({ a: ['1', '2', '3'] });
    expect(parseFormParams('__proto__=x&constructor=y')).toEqual({ ['__proto__']: 'x', constructor: 'y' });
    expect(parseJsonParams('{"Custom":"123","n":1}')).toEqual({ Custom: '123', n: 1 });
    expect(() => parseJsonParams('[1]')).toThrow(expect.objectContaining({ code: 'PUBSUB_BAD_JSON' }));
    expect(() => parseJsonParams('{')).toThrow(expect.objectContaining({ code: 'PUBSUB_BAD_JSON' }));
  });
});

describe('message codec', () => {
  it('encodes the seed shape in the seed field order, compact (grep-able)', () => {
    const text = encodeMessage(SMS);
    expect(text.startsWith('{"Hostname":"","AccountSid":"AC948550ad81934a1a9bcd33b689c0c236","Url":')).toBe(
      true,
    );
    expect(text).toContain('"SmsSid":"SM8f889084f5aa1b237844487f86ff699d"');
    expect(decodeMessage(text)).toEqual(SMS);
  });
  it('rejects malformed stored messages', () => {
    expect(() => decodeMessage('{"Hostname":1}')).toThrow(
      expect.objectContaining({ code: 'PUBSUB_BAD_MESSAGE' }),
    );
    expect(() => decodeMessage('nope')).toThrow(expect.objectContaining({ code: 'PUBSUB_BAD_MESSAGE' }));
  });
  it('the streamed list is valid JSON and parses incrementally, chunk by chunk', () => {
    const msgs = [
      SMS,
      { ...SMS, Id: 'MS2', Body: '<Response>"}{</Response>' },
      { ...SMS, Id: 'MS3', FormParams: { a: ['x', '}'] } },
    ];
    const text = LIST_OPEN + msgs.map((m, i) => listItem(m, i)).join('') + LIST_CLOSE;
    expect(JSON.parse(text)).toEqual(msgs);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: text.length }), { maxLength: 10 }), (cuts) => {
        const p = new MessageListParser();
        const got: PubSubMessage[] = [];
        let at = 0;
        for (const c of [...cuts].sort((a, b) => a - b)) {
          got.push(...p.push(text.slice(at, c)));
          at = c;
        }
        got.push(...p.push(text.slice(at)));
        expect(got).toEqual(msgs);
        expect(p.done).toBe(true);
      }),
    );
    expect(new MessageListParser().push('[]')).toEqual([]);
  });
  it('the list parser survives garbage and is bounded', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        try {
          new MessageListParser(200).push(s);
        } catch (e) {
          expect(e).toBeInstanceOf(SwitchboardError);
        }
      }),
    );
    expect(() => new MessageListParser(100).push(`[{"a":"${'x'.repeat(200)}`)).toThrow(
      expect.objectContaining({ code: 'PUBSUB_BAD_LIST' }),
    );
  });
});

describe('Call XML', () => {
  it('recognises call-control requests and reply queues', () => {
    expect(callSidOf('call.xml', { CallSid: 'CA123' })).toBe('CA123');
    expect(callSidOf('call.xml', { From: 'x' })).toBeUndefined();
    expect(callSidOf('Calls', { CallSid: 'CA123' })).toBeUndefined();
    expect(callSidOf('call.xml', { CallSid: '../x' })).toBeUndefined();
    expect(isReplyQueue('call.xml/CA123')).toBe(true);
    expect(isReplyQueue('calls/events/NodeId-11/CA1.xml/CA1')).toBe(true);
    expect(isReplyQueue('call.xml')).toBe(false);
    expect(isReplyQueue('a/b')).toBe(false);
  });
  it('accepts the seed Hello World and Gather documents', () => {
    expect(() =>
      validateCallXml('<Response>\n    <Say>Unit test successful</Say>\n</Response>'),
    ).not.toThrow();
    const gather = `<Response>
  <Gather action="http://h/AC1/calls/events/NodeId-11/CA1.xml?event-type=gather-action&amp;callId=callID&amp;routeId=routeId&amp;mediaRequestID=requestId" timeout="10" finishOnKey="#" numDigits="2">
    <Say loop="2" voice="woman">hello hello I am here</Say>
  </Gather>
  <Say>No digits detected</Say>
  <Hangup />
</Response>`;
    expect(() => validateCallXml(gather)).not.toThrow();
    expect(() => validateCallXml(keepAliveXml('http://h/AC1/call.xml?a=1&b=2'))).not.toThrow();
  });
  it('rejects garbage with explanations', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['hello', /well-formed|root/],
      ['<Response><Say>x</Response>', /not well-formed/],
      ['<Foo/>', /root element must be <Response>/],
      ['<Response><Dance/></Response>', /not an InboundXML verb/],
      ['<Response><Gather><Dial/></Gather></Response>', /not allowed inside <Gather>/],
      ['<Response>hi</Response>', /wrap it in a verb/],
      ['<!DOCTYPE x [<!ENTITY a "b">]><Response/>', /DOCTYPE/],
      ['<Response/><Response/>', /exactly one root|well-formed/],
    ];
    for (const [xml, re] of cases) {
      expect(() => validateCallXml(xml), xml).toThrow(re);
    }
  });
  it('the validator survives fuzzing', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.constantFrom('<Response>', '<Response><Say>', '<Response a="<">'),
        ),
        (s) => {
          try {
            validateCallXml(s);
          } catch (e) {
            expect(e).toBeInstanceOf(SwitchboardError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
  it('keep-alive XML escapes the URL and redirects back', () => {
    expect(keepAliveXml('http://h/AC1/call.xml?a=1&b=2', 1)).toContain(
      '<Pause length="1"/><Redirect method="POST">http://h/AC1/call.xml?a=1&amp;b=2</Redirect>',
    );
  });
  it('signature: Twilio-style HMAC-SHA1 over URL + sorted params (known vector)', () => {
    // Vector from Twilio's public security docs (same algorithm): auth token 12345.
    const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
    const params = {
      CallSid: 'CA1234567890ABCDE',
      Caller: '+12349013030',
      Digits: '1234',
      From: '+12349013030',
      To: '+18005551212',
    };
    const sig = computeSignature('12345', url, params);
    expect(sig).toBe('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
    expect(verifySignature('12345', url, params, sig)).toBe(true);
    expect(verifySignature('12345', url, { ...params, Digits: '1' }, sig)).toBe(false);
    expect(verifySignature('', url, params, sig)).toBe(false);
  });
});
