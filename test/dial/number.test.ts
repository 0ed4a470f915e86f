import { describe, expect, it } from 'vitest';
import { loadSpecFile } from '../../src/core/spec.js';
import { dialString } from '../../src/dial/number.js';
import { keyAction } from '../../src/dial/service.js';

const err = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
};

describe('dialString', () => {
  it('removes reading separators and keeps what each phone can dial', () => {
    expect(dialString('+1 (555) 010-4001', { alphabet: 'avaya' })).toBe('+15550104001');
    expect(dialString('555.010.4001', { alphabet: 'cisco' })).toBe('5550104001');
    expect(dialString('4001,,,123#', { alphabet: 'cisco' })).toBe('4001,,,123#');
    expect(dialString('+44 20 7946 0000', { alphabet: 'cisco', plusPrefix: '9011' })).toBe(
      '9011442079460000',
    );
  });
  it('refuses what the phone cannot dial, naming the code', () => {
    expect(err(() => dialString('+15550104001', { alphabet: 'cisco' }))).toBe('DIAL_PLUS_UNSUPPORTED');
    expect(err(() => dialString('1+2', { alphabet: 'avaya' }))).toBe('DIAL_NUMBER_INVALID');
    expect(err(() => dialString('4001,', { alphabet: 'avaya' }))).toBe('DIAL_NUMBER_INVALID');
    expect(err(() => dialString('abc', { alphabet: 'cisco' }))).toBe('DIAL_NUMBER_INVALID');
    expect(err(() => dialString(',,,', { alphabet: 'cisco' }))).toBe('DIAL_NUMBER_EMPTY');
    expect(err(() => dialString(' ', { alphabet: 'cisco' }))).toBe('DIAL_NUMBER_EMPTY');
    expect(err(() => dialString('1'.repeat(33), { alphabet: 'cisco' }))).toBe('DIAL_NUMBER_TOO_LONG');
    expect(err(() => dialString('1'.repeat(20), { alphabet: 'cisco', maxDigits: 19 }))).toBe(
      'DIAL_NUMBER_TOO_LONG',
    );
    expect(err(() => dialString('1'.repeat(100_000), { alphabet: 'cisco' }))).toBe('DIAL_NUMBER_TOO_LONG');
    expect(err(() => dialString(42, { alphabet: 'cisco' }))).toBe('DIAL_NUMBER_INVALID');
    expect(err(() => dialString('4001\u0000', { alphabet: 'cisco' }))).toBe('DIAL_NUMBER_INVALID');
  });
});

describe('keyAction (Cisco spec Key: actions)', () => {
  const spec = loadSpecFile(new URL('../../specs/cisco.yaml', import.meta.url).pathname);
  it('maps named and numbered keys to their spec action', () => {
    expect(keyAction(spec, 'Hold')).toEqual({ actionId: 'key_hold', params: {} });
    expect(keyAction(spec, 'Line12')).toEqual({ actionId: 'key_line', params: { n: 12 } });
    expect(keyAction(spec, 'KeyPad0')).toEqual({ actionId: 'key_keypad_digit', params: { n: 0 } });
    expect(keyAction(spec, 'Key_Asterisk').actionId).toBe('settings_key_asterisk');
  });
  it('refuses names the spec does not have', () => {
    for (const k of ['Hold1', 'Line', 'Dial', 'hold', 'Key:Hold', ''])
      expect(
        err(() => keyAction(spec, k)),
        k,
      ).toBe('DIAL_KEY_UNKNOWN');
  });
});
