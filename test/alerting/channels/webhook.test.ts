import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from '../../../src/alerting/channels/webhook.js';

describe('webhook signatures', () => {
  // Golden vector computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
  it('HMAC-SHA256 over "<timestamp>.<body>"', () => {
    expect(signWebhook('whsec_test', 1700000000, '{"a":1}')).toBe(
      't=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789',
    );
  });
  it('verification rejects other secrets, bodies, stale timestamps and malformed headers', () => {
    const h = signWebhook('whsec_test', 1700000000, '{"a":1}');
    expect(verifyWebhook('whsec_test', h, '{"a":1}', 1700000100)).toBe(true);
    expect(verifyWebhook('whsec_other', h, '{"a":1}', 1700000100)).toBe(false);
    expect(verifyWebhook('whsec_test', h, '{"a":2}', 1700000100)).toBe(false);
    expect(verifyWebhook('whsec_test', h, '{"a":1}', 1700000400)).toBe(false);
    expect(verifyWebhook('whsec_test', 'v1=abc', '{"a":1}', 1700000000)).toBe(false);
    expect(verifyWebhook('whsec_test', `${h}0`, '{"a":1}', 1700000000)).toBe(false);
  });
});
