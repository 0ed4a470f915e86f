import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { charsetOf } from '../../src/core/charset.js';
import {
  attr,
  child,
  declaredEncoding,
  decodeXmlBytes,
  decodeXmlEntities,
  deepText,
  readXml,
  withUtf8Declaration,
  XmlReadError,
} from '../../src/core/xml-read.js';

function reasonOf(xml: string | Buffer, opts = {}): string | undefined {
  try {
    readXml(xml, opts);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(XmlReadError);
    return (e as XmlReadError).reason;
  }
}

describe('core XML reader', () => {
  it('reads an order-preserving tree with decoded entities', () => {
    const root = readXml(
      '<?xml version="1.0"?><a x="1 &amp; 2"><b>t&lt;1&#x41;&#66;</b><!-- c --><c/><b/></a>',
    );
    expect(root.name).toBe('a');
    expect(root.attrs).toEqual({ x: '1 & 2' });
    expect(root.children.map((c) => c.name)).toEqual(['b', 'c', 'b']);
    expect(root.children[0]!.text).toBe('t<1AB');
    expect(child(root, 'B')).toBeUndefined();
    expect(child(root, 'B', true)?.text).toBe('t<1AB');
    expect(attr(root, 'X', true)).toBe('1 & 2');
    expect(attr(root, 'X')).toBeUndefined();
  });
  it('trims text only when asked', () => {
    expect(readXml('<a> x </a>').text).toBe(' x ');
    expect(readXml('<a> x </a>', { trimText: true }).text).toBe('x');
    expect(deepText(readXml('<a> x <b>y  z</b></a>'))).toBe('x y z');
  });
  it('leaves unknown entities and impossible references as written', () => {
    expect(decodeXmlEntities('&e; &#0; &#xD800; &#x110000; &AMP; &#9;')).toBe(
      '&e; &#0; &#xD800; &#x110000; &AMP; \t',
    );
  });
  it('refuses DTDs: always an internal subset or ENTITY, an external DOCTYPE unless allowed', () => {
    expect(reasonOf('<!DOCTYPE x [<!ENTITY e "boom">]><a>&e;</a>')).toBe('doctype');
    expect(reasonOf('<!DOCTYPE x [<!ENTITY e "boom">]><a>&e;</a>', { allowExternalDoctype: true })).toBe(
      'doctype',
    );
    const wml =
      '<!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.3//EN" "http://www.wapforum.org/DTD/wml13.dtd"><wml/>';
    expect(reasonOf(wml)).toBe('doctype');
    expect(readXml(wml, { allowExternalDoctype: true }).name).toBe('wml');
  });
  it('enforces the size and depth caps with the caller’s code and status', () => {
    try {
      readXml(`<a>${'x'.repeat(100)}</a>`, { maxBytes: 50, code: 'MY_CODE', what: 'thing', status: 400 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(XmlReadError);
      expect((e as XmlReadError).code).toBe('MY_CODE');
      expect((e as XmlReadError).status).toBe(400);
      expect((e as XmlReadError).reason).toBe('too_large');
      expect((e as XmlReadError).message).toMatch(/^thing is \d+ bytes, above the limit of 50/);
    }
    expect(reasonOf(`${'<a>'.repeat(4)}${'</a>'.repeat(4)}`, { maxDepth: 3 })).toBe('too_deep');
    expect(readXml(`${'<a>'.repeat(3)}${'</a>'.repeat(3)}`, { maxDepth: 3 }).name).toBe('a');
    // Non-ASCII element names count too.
    expect(reasonOf(`${'<é>'.repeat(40)}${'</é>'.repeat(40)}`)).toBe('too_deep');
    expect(reasonOf(`${'<a>'.repeat(50000)}`)).toBe('too_deep');
  });
  it('names empty and malformed input', () => {
    expect(reasonOf('')).toBe('empty');
    expect(reasonOf('  \n')).toBe('empty');
    expect(reasonOf('<?xml version="1.0"?>')).toBe('empty');
    expect(reasonOf('<a><b></a>')).toBe('not_well_formed');
    expect(reasonOf('<a/><b/>')).toBe('not_well_formed');
    expect(reasonOf('hello')).toBe('not_well_formed');
  });
  it('decodes bytes by the declared encoding', () => {
    const latin = Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><a>\xe9</a>', 'latin1');
    expect(declaredEncoding(latin.toString('latin1'))).toBe('ISO-8859-1');
    expect(decodeXmlBytes(latin)).toContain('<a>é</a>');
    expect(readXml(latin).text).toBe('é');
    expect(readXml(Buffer.from('<a>é</a>', 'utf8')).text).toBe('é');
  });
  it('never crashes on random or truncated input', () => {
    const valid = '<?xml version="1.0"?><r a="1&amp;"><x>1</x><!-- c --><y b=\'2\'>t&#65;</y></r>';
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.nat({ max: valid.length }).map((n) => valid.slice(0, n)),
          fc
            .array(
              fc.constantFrom('<a>', '</a>', '<b/>', '&amp;', '&#', 'x', '<!--', '-->', '"', '<![CDATA['),
              {
                maxLength: 60,
              },
            )
            .map((a) => a.join('')),
        ),
        (s) => {
          try {
            readXml(s, { maxDepth: 8 });
          } catch (e) {
            expect(e).toBeInstanceOf(XmlReadError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('core XML reader: hostile DOCTYPEs', () => {
  it('refuses several DOCTYPEs and stays fast on many unterminated ones', () => {
    const wml = '<!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.3//EN" "x.dtd">';
    expect(() => readXml(`${wml}${wml}<wml/>`, { allowExternalDoctype: true })).toThrow(XmlReadError);
    const hostile = '<!DOCTYPE '.repeat(20000);
    for (const allowExternalDoctype of [true, false]) {
      try {
        readXml(hostile, { allowExternalDoctype });
        expect.unreachable();
      } catch (e) {
        expect((e as XmlReadError).reason).toBe('doctype');
      }
    }
  });
});

describe('charsets of bytes that arrive (issue 14 items 10, 13)', () => {
  it('charsetOf reads the Content-Type parameter in any case, quoted or not', () => {
    expect(charsetOf('application/xml; charset=ISO-8859-1')).toBe('iso-8859-1');
    expect(charsetOf('text/xml;Charset="utf-8"')).toBe('utf-8');
    expect(charsetOf('text/xml')).toBeUndefined();
    expect(charsetOf(undefined)).toBeUndefined();
  });

  it('decodeXmlBytes: declaration, then transport charset, then fallback; a BOM wins; unknown labels skipped', () => {
    const latin = Buffer.from('<a>Grüße</a>', 'latin1');
    expect(decodeXmlBytes(latin, { charset: 'iso-8859-1' })).toBe('<a>Grüße</a>');
    expect(decodeXmlBytes(latin, { charset: 'no-such-charset', fallback: 'latin1' })).toBe('<a>Grüße</a>');
    const declared = Buffer.from('<?xml version="1.0" encoding="windows-1252"?><a>\u201cq\u201d</a>', 'utf8');
    // windows-1252 bytes 0x93/0x94 are the smart quotes
    const cp = Buffer.concat([
      Buffer.from('<?xml version="1.0" encoding="windows-1252"?><a>'),
      Buffer.from([0x93, 0x71, 0x94]),
      Buffer.from('</a>'),
    ]);
    expect(decodeXmlBytes(cp, { charset: 'utf-8' })).toContain('<a>\u201cq\u201d</a>');
    expect(
      decodeXmlBytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), declared]), { charset: 'latin1' }),
    ).toBe(declared.toString('utf8'));
  });

  it('withUtf8Declaration rewrites only the encoding of the declaration', () => {
    expect(withUtf8Declaration("<?xml version='1.0' encoding='ISO-8859-1'?><a encoding='x'/>")).toBe(
      "<?xml version='1.0' encoding='UTF-8'?><a encoding='x'/>",
    );
    expect(withUtf8Declaration('<a/>')).toBe('<a/>');
  });
});
