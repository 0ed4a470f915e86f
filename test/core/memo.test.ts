import { describe, expect, it } from 'vitest';
import { ParseMemo } from '../../src/core/memo.js';
import { readXml as readAvayaXml } from '../../src/drivers/avaya/xml.js';
import { readXml as readCiscoXml } from '../../src/drivers/cisco/xml-read.js';

describe('ParseMemo', () => {
  it('parses a key once, returns copies, never keeps errors, and stays bounded', () => {
    let calls = 0;
    const memo = new ParseMemo<{ v: string[] }>((x) => ({ v: [...x.v] }), { maxEntries: 2, maxKeyChars: 10 });
    const parse = (k: string) => () => {
      calls++;
      if (k === 'bad') throw new Error('bad input');
      return { v: [k] };
    };
    const a = memo.get('a', parse('a'));
    a.v.push('mutated');
    expect(memo.get('a', parse('a'))).toEqual({ v: ['a'] });
    expect(calls).toBe(1);
    expect(() => memo.get('bad', parse('bad'))).toThrow('bad input');
    expect(() => memo.get('bad', parse('bad'))).toThrow('bad input');
    expect(calls).toBe(3);
    memo.get('b', parse('b'));
    memo.get('c', parse('c'));
    expect(memo.size).toBe(2);
    memo.get('a', parse('a'));
    expect(calls).toBe(6);
    memo.get('a-long-key-over-ten', parse('x'));
    memo.get('a-long-key-over-ten', parse('x'));
    expect(calls).toBe(8);
  });

  it('Cisco readXml: a repeated document gives equal, independent trees; errors every time', () => {
    const doc =
      '<CiscoIPPhoneResponse><ResponseItem Status="0" Data="Success" URL="Play:a.raw"/></CiscoIPPhoneResponse>';
    const t1 = readCiscoXml(doc);
    t1.children[0]!.attrs.Status = '1';
    const t2 = readCiscoXml(doc);
    expect(t2.children[0]!.attrs.Status).toBe('0');
    expect(() => readCiscoXml('<a><b></a>')).toThrow();
    expect(() => readCiscoXml('<a><b></a>')).toThrow();
    expect(() => readCiscoXml('<a><b><c/></b></a>', { maxDepth: 1 })).toThrow();
    expect(readCiscoXml('<a><b><c/></b></a>').children[0]!.children[0]!.name).toBe('c');
    expect(() => readCiscoXml('<a><b><c/></b></a>', { maxDepth: 1 })).toThrow();
  });

  it('Avaya readXml: a repeated document gives equal, independent trees; failures stay failures', () => {
    const doc = '<Response><Status>200</Status></Response>';
    const r1 = readAvayaXml(doc);
    if (!r1.ok) throw new Error('expected ok');
    r1.root.children[0]!.text = 'changed';
    const r2 = readAvayaXml(doc);
    expect(r2.ok && r2.root.children[0]!.text).toBe('200');
    expect(readAvayaXml('<a><b></a>').ok).toBe(false);
    expect(readAvayaXml('<a><b></a>').ok).toBe(false);
  });
});
