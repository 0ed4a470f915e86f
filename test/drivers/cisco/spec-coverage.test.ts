import { describe, expect, it } from 'vitest';
import { renderCommand, validateParams } from '../../../src/core/spec.js';
import { modelProfile } from '../../../src/drivers/cisco/models.js';
import { buildObject } from '../../../src/drivers/cisco/objects.js';
import { planAction } from '../../../src/drivers/cisco/plan.js';
import { ciscoSpec } from '../../../src/drivers/cisco/spec.js';
import { modelFor, SAMPLE_PARAMS, skeleton } from './samples.js';
import { readSeedActions } from './seed.js';

const names = (xml: string) =>
  new Set([...xml.matchAll(/<([A-Za-z][A-Za-z0-9]*)|\s([A-Za-z][A-Za-z0-9]*)="/g)].map((m) => m[1] ?? m[2]));
const boolsAsBits = (p: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(p).map(([k, v]) => [k, typeof v === 'boolean' ? (v ? 1 : 0) : v]));

describe('specs/cisco.yaml covers seed 003', () => {
  const spec = ciscoSpec();
  const seed = readSeedActions();

  it('has the 114 entries of the seed with ids, labels, kinds and commands verbatim', () => {
    expect(seed).toHaveLength(114);
    expect(spec.actions).toHaveLength(114);
    expect(spec.actions.filter((a) => a.kind === 'query')).toHaveLength(15);
    for (const s of seed) {
      const a = spec.actions.find((x) => x.id === s.id);
      expect(a, s.id).toBeDefined();
      expect({ id: a!.id, label: a!.label, kind: a!.kind, command: a!.command }).toEqual(s);
    }
  });

  it.each(readSeedActions().map((s) => [s.id, s] as const))(
    '%s is implemented and produces the seed command text',
    (id, s) => {
      const action = spec.actions.find((a) => a.id === id)!;
      const params = validateParams(action, SAMPLE_PARAMS[id] ?? {});
      const profile = modelProfile(modelFor(id))!;
      const plan = planAction(action, params, { profile });
      const expected = renderCommand(s.command, boolsAsBits(params));
      switch (plan.kind) {
        case 'uri':
          expect(plan.uri).toBe(expected);
          break;
        case 'render':
          if (id === 'object_error') expect(skeleton(plan.text)).toBe(skeleton(s.command));
          else expect(plan.text).toBe(expected);
          break;
        case 'get':
          expect(`GET ${plan.path}`).toBe(expected);
          break;
        case 'object': {
          const xml = buildObject(plan.object, { charset: profile.charset, inputPost: profile.inputPost });
          if (id === 'object_icon_menu' || id === 'object_icon_file_menu') {
            for (const n of names(s.command)) expect(names(xml), `${id} lacks ${n}`).toContain(n);
          } else if (id === 'push_execute') {
            expect(xml.replace(/^<\?xml[^>]*\?>\n/, '')).toBe(expected);
          } else {
            expect(skeleton(xml)).toBe(skeleton(s.command));
          }
          break;
        }
      }
    },
  );
});
