import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { avayaAlertPlanner } from '../../../src/drivers/avaya/alert.js';
import { buildDisplayDeck, parsePushContent } from '../../../src/drivers/avaya/content.js';
import { checkWml, escapeWml, substituteWmlVariables } from '../../../src/drivers/avaya/wml.js';

const HEAD =
  '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.3//EN" "http://www.wapforum.org/DTD/wml13.dtd">\n';
const deck = (card: string, extra = '') => `${HEAD}<wml>${extra}<card id="c">${card}</card></wml>`;
const rules = (xml: string) => {
  const r = checkWml(xml);
  return r.ok ? [] : r.problems.map((p) => p.rule);
};

describe('WML 1.3 checker', () => {
  it('accepts a plain deck with softkeys, links, a template and escaped dollars', () => {
    const xml = `${HEAD}<wml>
  <template><do type="prev" name="back" label="Back"><prev/></do></template>
  <card id="main" title="Price $$5">
    <do type="accept" name="k1" label="OK"><go href="http://hub/ack?a=1&amp;b=$$"/></do>
    <do type="options" name="k2" label="Call"><go href="wtai://wp/mc;4455"/></do>
    <do type="options" name="back" label="Back (card)"><prev/></do>
    <p>Soup: $$4 <b>Fish</b><br/>$(user) $name $(x:escape)</p>
    <p><a href="http://hub/x">More</a></p>
  </card>
</wml>`;
    expect(checkWml(xml)).toMatchObject({ ok: true });
  });

  it.each([
    ['a bare $ followed by a digit', deck('<p>Price: $5</p>')],
    ['a $ at the end', deck('<p>Cost $</p>')],
    ['an unclosed $(', deck('<p>$(name</p>')],
    ['an unknown conversion', deck('<p>$(name:bogus)</p>')],
    [
      'a $ in the card title',
      `${HEAD}<wml><card id="c" title="A$B1"><p>x</p></card></wml>`.replace('A$B1', 'A$ B'),
    ],
    ['a $ in a softkey label', deck('<do type="accept" label="Pay $5"><go href="http://h/"/></do><p>x</p>')],
    ['a $ in an href', deck('<do type="accept" label="x"><go href="http://h/$5"/></do><p>x</p>')],
    ['an entity that decodes to $', deck('<p>&#36;5</p>')],
  ])('rejects %s', (_what, xml) => {
    expect(rules(xml)).toContain('variable');
  });

  it('rejects two <do> of one card with the same name, including names defaulted from type', () => {
    const two = deck(
      '<do type="accept" label="A"><go href="http://h/a"/></do><do type="options" label="B"><go href="http://h/b"/></do><do type="options" label="C"><go href="http://h/c"/></do><p>x</p>',
    );
    const r = checkWml(two);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.find((p) => p.rule === 'duplicate-do-name')?.message).toContain('"options"');
    const named = deck(
      '<do type="options" name="x" label="A"><go href="http://h/a"/></do><do type="accept" name="x" label="B"><go href="http://h/b"/></do><p>x</p>',
    );
    expect(rules(named)).toContain('duplicate-do-name');
    // <do> inside <p> counts too.
    expect(
      rules(deck('<do type="accept" label="A"><noop/></do><p>x<do type="accept" label="B"><noop/></do></p>')),
    ).toContain('duplicate-do-name');
  });

  it('checks the DTD structure: root, card content, text placement, required attributes, card ids', () => {
    expect(rules(`${HEAD}<html><card/></html>`)).toContain('structure');
    expect(rules(`${HEAD}<wml></wml>`)).toContain('structure');
    expect(rules(deck('Loose text'))).toContain('text-placement');
    expect(rules(deck('<a href="http://h/">x</a>'))).toContain('structure');
    expect(rules(deck('<p><div>x</div></p>'))).toContain('structure');
    expect(rules(deck('<do label="x"><go href="http://h/"/></do><p>x</p>'))).toContain('required-attribute');
    expect(rules(deck('<do type="accept"><go/></do><p>x</p>'))).toContain('required-attribute');
    expect(rules(deck('<p><img src="a.wbmp"/></p>'))).toContain('required-attribute');
    expect(rules(deck('<p>x</p><timer value="10"/>'))).toContain('structure');
    expect(rules(`${HEAD}<wml><card id="a"><p>1</p></card><card id="a"><p>2</p></card></wml>`)).toContain(
      'duplicate-card-id',
    );
    expect(rules(`${HEAD}<wml><card id="a"><p>1</p></card><template/></wml>`)).toContain('structure');
    expect(rules('<wml><card><p>unclosed</card></wml>')).toContain('not-xml');
  });
});

describe('WML variable substitution (what the phone shows)', () => {
  it('turns $$ into $, substitutes $name, $(name) and $(name:conv), unknown names empty', () => {
    expect(substituteWmlVariables('Price: $$5')).toBe('Price: $5');
    expect(substituteWmlVariables('$a-$(b)-$(c:e)-$(zz)', { a: '1', b: '2', c: '3' })).toBe('1-2-3-');
    expect(() => substituteWmlVariables('Price: $5')).toThrow(/starts no variable/);
    expect(escapeWml('A$B <&> $$')).toBe('A$$B &lt;&amp;&gt; $$$$');
  });
});

describe('the display deck builder makes valid WML 1.3', () => {
  it('escapes $ in text, title, softkey labels and links (issue: $ started WML variables)', () => {
    const xml = buildDisplayDeck({
      title: 'A$B',
      text: ['Price: $5 $(x)', 'Total $$'],
      softkeys: [{ label: 'Pay $5', href: 'http://hub.example/pay?amount=$5' }],
      links: [{ label: '$ link', href: 'http://hub.example/l' }],
    });
    expect(checkWml(xml)).toMatchObject({ ok: true });
    expect(parsePushContent(xml)).toMatchObject({
      kind: 'wml',
      title: 'A$B',
      text: 'Price: $5 $(x)\nTotal $$',
      softkeys: [{ label: 'Pay $5', href: 'http://hub.example/pay?amount=$5' }],
      links: [{ label: '$ link', href: 'http://hub.example/l' }],
    });
  });

  it('gives every <do> a unique name (three and four softkeys)', () => {
    const keys = ['One', 'Two', 'Three', 'Four'].map((label, i) => ({ label, href: `http://hub/k${i}` }));
    for (const n of [3, 4]) {
      const xml = buildDisplayDeck({ text: 'x', softkeys: keys.slice(0, n) });
      expect(checkWml(xml)).toMatchObject({ ok: true });
      const shown = parsePushContent(xml);
      expect(shown.kind === 'wml' && shown.softkeys.map((k) => k.label)).toEqual(
        keys.slice(0, n).map((k) => k.label),
      );
    }
  });

  it('any title, text and labels give a valid deck that shows exactly that text', () => {
    const text = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
      .filter((s) => s.trim() === s && s !== '' && !/[\r\n\u0000-\u001f\ufffe\uffff]/.test(s));
    fc.assert(
      fc.property(text, text, text, (title, body, label) => {
        const xml = buildDisplayDeck({
          title,
          text: body,
          softkeys: [
            { label, href: 'http://hub/a' },
            { label, href: 'http://hub/b' },
          ],
        });
        const check = checkWml(xml);
        if (!check.ok) throw new Error(JSON.stringify(check.problems));
        const shown = parsePushContent(xml);
        expect(shown).toMatchObject({ kind: 'wml', title, text: body });
        expect(shown.kind === 'wml' && shown.softkeys.map((k) => k.label)).toEqual([label, label]);
      }),
      { numRuns: 300 },
    );
  });

  it('the simulator side refuses malformed decks and substitutes variables like the phone', () => {
    expect(() => parsePushContent(deck('<p>Price: $5</p>'))).toThrow(/AVAYA_WML_INVALID|starts no variable/);
    expect(() =>
      parsePushContent(
        deck(
          '<do type="options" label="A"><go href="http://h/a"/></do><do type="options" label="B"><go href="http://h/b"/></do><p>x</p>',
        ),
      ),
    ).toThrow(/two <do> elements named "options"/);
    expect(parsePushContent(deck('<p>Hello $(user)!</p>'))).toMatchObject({ kind: 'wml', text: 'Hello !' });
  });
});

describe('the acknowledgement page', () => {
  it('is valid WML 1.3 and shows a $ in the text', () => {
    const page = avayaAlertPlanner().ackPage!('Acknowledged: lunch costs $5 & <more>');
    expect(page.contentType).toBe('text/vnd.wap.wml; charset=utf-8');
    expect(checkWml(page.body)).toMatchObject({ ok: true });
    expect(parsePushContent(page.body)).toMatchObject({ text: 'Acknowledged: lunch costs $5 & <more>' });
  });
});
