import { describe, expect, it } from 'vitest';
import type { HubModule } from '../../src/core/module.js';
import { MODULES, orderModules } from '../../src/server/modules.js';

const m = (name: string, after?: string[]): HubModule => ({ name, ...(after ? { after } : {}) });

describe('module order (declared dependencies, not list order)', () => {
  it('starts the built-in modules after what they declare: the 911 rule listens before the PBX link', () => {
    const names = orderModules(MODULES).map((x) => x.name);
    const at = (n: string) => names.indexOf(n);
    expect(new Set(names)).toEqual(new Set(MODULES.map((x) => x.name)));
    expect(at('pubsub')).toBeLessThan(at('broadcast'));
    expect(at('broadcast')).toBeLessThan(at('ipoffice'));
    expect(at('broadcast')).toBeLessThan(at('alerting'));
    expect(at('broadcast')).toBeLessThan(at('dial'));
    // Listed first, the PBX module still starts after the 911 rule.
    const reordered = orderModules([...MODULES].reverse()).map((x) => x.name);
    expect(reordered.indexOf('ipoffice')).toBeGreaterThan(reordered.indexOf('broadcast'));
  });

  it('keeps the given order where nothing is declared, and allows a declared module that is not composed', () => {
    expect(orderModules([m('b'), m('a'), m('c', ['a'])]).map((x) => x.name)).toEqual(['b', 'a', 'c']);
    expect(orderModules([m('t', ['broadcast'])]).map((x) => x.name)).toEqual(['t']);
  });

  it('refuses a cycle and an unknown name (the hub does not start)', () => {
    expect(() => orderModules([m('a', ['b']), m('b', ['a'])])).toThrow(/cycle a → b → a/);
    expect(() => orderModules([m('a', ['nope'])])).toThrow(/unknown module nope/);
  });
});
