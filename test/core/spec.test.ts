import { describe, expect, it } from 'vitest';
import { loadSpecFile, parseSpec, renderCommand, SpecError, validateParams } from '../../src/core/spec.js';
import { ECHO_SPEC_PATH } from '../helpers/echo-driver.js';

function specErrors(text: string): string[] {
  try {
    parseSpec(text, 'specs/broken.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    expect((e as SpecError).message.startsWith('specs/broken.yaml: ')).toBe(true);
    return (e as SpecError).details?.problems as string[];
  }
  throw new Error('expected the spec to be rejected');
}

describe('control spec files', () => {
  it('loads the echo spec and folds seed-style poll/until steps', () => {
    const spec = loadSpecFile(ECHO_SPEC_PATH);
    expect(spec.actions.map((a) => a.id)).toContain('say');
    const folded = parseSpec(
      'kind: x\nlabel: X\nactions:\n  - {id: a, label: A, kind: query}\nmacros:\n  - id: m\n    label: M\n    steps:\n      - poll: "Device:PRTStatus"\n      - until: { path: data, matches: "^Generated" }\n',
      'x.yaml',
    );
    expect(folded.macros?.[0]?.steps).toEqual([
      { poll: 'Device:PRTStatus', until: { path: 'data', matches: '^Generated' } },
    ]);
  });

  it('names the file, the path and the problem', () => {
    expect(
      specErrors('kind: x\nlabel: X\nactions:\n  - id: Bad-Id\n    label: B\n    kind: action\n'),
    ).toEqual(['actions.0.id: "Bad-Id" does not match the pattern ^[a-z0-9_]+$']);
    expect(
      specErrors('kind: x\nlabel: X\nactions:\n  - id: a\n    label: A\n    kind: command\n')[0],
    ).toMatch(/^actions\.0\.kind: "command" is not allowed/);
    expect(specErrors('kind: x\nactions: []\n')).toEqual(['label: is required']);
    expect(specErrors('kind: x\nlabel: X\nactions: []\nfoo: 1\n')).toEqual(['foo: is not a known key']);
  });

  it('finds semantic problems: duplicate ids, enum without values, unknown placeholders, bad macro steps', () => {
    const p = specErrors(
      [
        'kind: x',
        'label: X',
        'actions:',
        '  - { id: a, label: A, kind: action, command: "K:{n}" }',
        '  - { id: a, label: A2, kind: action, params: [{ name: p, type: enum }] }',
        'macros:',
        '  - id: m',
        '    label: M',
        '    steps:',
        '      - action: nope',
        '      - { push: x, sleep_ms: 1 }',
        '      - poll: y',
      ].join('\n'),
    );
    expect(p).toEqual([
      'actions.0.command: placeholder {n} has no parameter of that name',
      'actions.1.id: "a" duplicates actions.0.id',
      'actions.1.params.0.values: is required for an enum parameter',
      'macros.0.steps.0.action: "nope" is not an action of this spec',
      'macros.0.steps.1: a step needs exactly one of push, action, wait_for, poll, sleep_ms (has push, sleep_ms)',
      'macros.0.steps.2.until: a poll step needs an until condition',
    ]);
  });

  it('rejects text that is not YAML', () => {
    expect(specErrors('kind: [x\n')[0]).toMatch(/^not valid YAML/);
  });
});

describe('action params', () => {
  const spec = loadSpecFile(ECHO_SPEC_PATH);
  const act = (id: string) => spec.actions.find((a) => a.id === id)!;

  it('applies defaults and coerces form/CLI strings', () => {
    expect(validateParams(act('say'), { text: 'hi' })).toEqual({ text: 'hi', priority: 0 });
    expect(validateParams(act('set_volume'), { level: '40' })).toEqual({ level: 40 });
    expect(validateParams(act('say'), { text: 'x', priority: '2' })).toEqual({ text: 'x', priority: 2 });
  });

  it('names the bad parameter and the limit', () => {
    expect(() => validateParams(act('set_volume'), { level: 101 })).toThrow(
      'set_volume: params.level: 101 is above the maximum 100',
    );
    expect(() => validateParams(act('set_volume'), {})).toThrow('params.level: is required');
    expect(() => validateParams(act('say'), { text: 'x'.repeat(33) })).toThrow(
      /params\.text: .* is longer than 32 characters/,
    );
    expect(() => validateParams(act('say'), { text: 'x', priority: 5 })).toThrow(
      /params\.priority: 5 is not allowed \(allowed: 0, 1, 2\)/,
    );
    expect(() => validateParams(act('rtp_port'), { port: 20481 })).toThrow(
      /params\.port: 20481 must be multiple of 2/,
    );
    expect(() => validateParams(act('say'), { text: 'x', volume: 1 })).toThrow(
      'params.volume: is not a known key',
    );
    try {
      validateParams(act('set_volume'), { level: -1 });
    } catch (e) {
      expect((e as { code: string; field: string }).code).toBe('ACTION_PARAMS_INVALID');
      expect((e as { field: string }).field).toBe('params.level');
    }
  });

  it('renders commands', () => {
    expect(renderCommand('Key:Feature{n}', { n: 12 })).toBe('Key:Feature12');
  });
});
