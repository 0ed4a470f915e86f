import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwitchboardError } from '../../src/core/errors.js';
import { pubsubRuntime } from '../../src/pubsub/module.js';
import { parseFormParams, parseJsonParams } from '../../src/pubsub/protocol.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let h: TestHub;
let sid: string;
let session: string;
beforeAll(async () => {
  h = await startTestHub({ config: { 'pubsub.maxMessageBytes': 4096, 'pubsub.callXml.timeout': '50ms' } });
  const acc = await pubsubRuntime(h.hub).accounts.create('fuzz');
  sid = acc.accountSid;
  session = (await pubsubRuntime(h.hub).sessions.create(sid)).token;
});
afterAll(() => h.close());

describe('PubSub parsers and routes survive random input', () => {
  it('form and JSON parameter parsers', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const p = parseFormParams(s);
        expect(Object.getPrototypeOf(p)).toBe(Object.prototype);
        try {
          parseJsonParams(s);
        } catch (e) {
          expect(e).toBeInstanceOf(SwitchboardError);
        }
      }),
    );
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), (s) => {
        try {
          const p = parseJsonParams(s);
          expect(typeof p).toBe('object');
        } catch (e) {
          expect(e).toBeInstanceOf(SwitchboardError);
        }
      }),
    );
  });

  it('random publishes and subscribes never answer 5xx', async () => {
    const contentTypes = [
      'application/x-www-form-urlencoded',
      'application/json',
      'application/xml',
      'text/plain',
      'application/octet-stream',
      '',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 80 }),
          fc.constantFrom('call.xml', 'call.xml/CA1', 'a/b', 'x.xml/CAz', '%zz', '..', 'a//b/'),
        ),
        fc.constantFrom(...contentTypes),
        fc.oneof(
          fc.string({ maxLength: 400 }),
          fc.constantFrom('CallSid=CA1', '<Response><Say>x</Say></Response>', '{"a":1}', '<Response><Foo/>'),
        ),
        fc.constantFrom('GET', 'POST', 'OPTIONS'),
        // Timeouts: valid short ones and junk (a random digit string would be a long poll of that many seconds).
        fc.constantFrom(
          '',
          '0',
          '1ms',
          '150ms',
          '0.1s',
          'junk',
          '5x',
          '-1',
          '1e3',
          '9'.repeat(30),
          '10m',
          '1h30m',
        ),
        async (queue, type, body, method, timeout) => {
          const url = `/${sid}/${encodeURI(queue).replace(/[?#]/g, '')}?session=${session}&timeout=${encodeURIComponent(timeout || '0')}`;
          const res = await h.app.inject({
            method: method as 'GET' | 'POST' | 'OPTIONS',
            url,
            headers: type ? { 'content-type': type } : {},
            ...(method === 'POST' ? { payload: body } : {}),
          });
          expect(
            res.statusCode,
            `${method} ${url} ${type} ${JSON.stringify(body)} → ${res.body}`,
          ).toBeLessThan(500);
        },
      ),
      { numRuns: 300 },
    );
  });
});
