import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_RENDERED_CHARS,
  renderTemplate,
  templateVariables,
} from '../../../src/alerting/broadcast/template.js';
import { isSwitchboardError } from '../../../src/core/errors.js';

describe('templates', () => {
  const ctx = {
    caller: { name: 'Ann <Lee>', extension: '201' },
    location: { room: '' },
    n: 3,
    list: ['a', 'b'],
  };

  it('renders dotted variables, fallbacks, numbers and lists, escaping nothing', () => {
    expect(renderTemplate('911 from {{caller.name}} ({{ caller.extension }})', ctx)).toBe(
      '911 from Ann <Lee> (201)',
    );
    expect(renderTemplate('Room {{location.room | unknown room}}', ctx)).toBe('Room unknown room');
    expect(renderTemplate('{{missing.path}}|{{n}}|{{list}}', ctx)).toBe('|3|a, b');
    expect(renderTemplate('no variables & <xml>', ctx)).toBe('no variables & <xml>');
  });

  it('lists variables and rejects malformed ones naming the field', () => {
    expect(templateVariables('{{a.b}} {{c | x}} {{a.b}}').map((v) => v.path)).toEqual(['a.b', 'c']);
    expect(() => templateVariables('hello {{ caller..name }}', 'actions.0.text')).toThrow(
      expect.objectContaining({ code: 'TEMPLATE_INVALID', field: 'actions.0.text' }),
    );
    expect(() => renderTemplate('{{', {})).toThrow(/malformed/);
  });

  it('never crashes or grows without bound on random input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 50 }), (t, v) => {
        try {
          const out = renderTemplate(t.repeat(3), { x: v.repeat(200), a: { b: v } });
          expect(out.length).toBeLessThanOrEqual(MAX_RENDERED_CHARS);
        } catch (e) {
          expect(isSwitchboardError(e)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
