import { readdirSync, readFileSync } from 'node:fs';
import { Type } from 'typebox';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from '../../core/errors.js';
import { formatProblems, schemaProblems } from '../../core/schema-errors.js';
import { TREE_ROOT } from '../../version.js';

/**
 * Simulator scenarios as data (YAML). Each step sends one DevLink3 event tuple after `delay_ms`:
 * `delta3` (XML text), `delta2` (a `CALL:` line), `siptrack` (text), `cmextn` (text form) or
 * `cmextn_state` ({ v, p1, p2, text }). Text may use placeholders, filled per run so a scenario can repeat:
 * `{node}` node id, `{call}` / `{call:x}` fresh CallIDs, `{e:x}` fresh 16-char end ids, `{ts}` timestamp
 * in 1/10 s, and `{name}` for variables (`vars` defaults, overridable per run).
 */
const StepSchema = Type.Object(
  {
    delay_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    delta3: Type.Optional(Type.String({ maxLength: 60_000 })),
    delta2: Type.Optional(Type.String({ maxLength: 1500 })),
    siptrack: Type.Optional(Type.String({ maxLength: 1000 })),
    cmextn: Type.Optional(Type.String({ maxLength: 1000 })),
    cmextn_state: Type.Optional(
      Type.Object(
        {
          v: Type.Integer({ minimum: 0 }),
          p1: Type.Integer({ minimum: 0 }),
          p2: Type.Integer({ minimum: 0 }),
          text: Type.String(),
        },
        { additionalProperties: false },
      ),
    ),
    note: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const ScenarioSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' }),
    description: Type.Optional(Type.String()),
    vars: Type.Optional(Type.Record(Type.String(), Type.String())),
    /** Bus event types a tracker emits for this scenario, in order (checked by the tests). */
    expect: Type.Optional(Type.Array(Type.String())),
    steps: Type.Array(StepSchema, { minItems: 1, maxItems: 1000 }),
  },
  { additionalProperties: false },
);

export interface ScenarioStep {
  delay_ms?: number;
  delta3?: string;
  delta2?: string;
  siptrack?: string;
  cmextn?: string;
  cmextn_state?: { v: number; p1: number; p2: number; text: string };
  note?: string;
}
export interface Scenario {
  name: string;
  description?: string;
  vars?: Record<string, string>;
  expect?: string[];
  steps: ScenarioStep[];
}

export function parseScenario(text: string, file: string): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 50 });
  } catch (e) {
    throw new ValidationError(
      'SIM_SCENARIO_INVALID',
      `${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  const problems = formatProblems(schemaProblems(ScenarioSchema, raw));
  if (problems.length > 0)
    throw new ValidationError('SIM_SCENARIO_INVALID', `${file}: ${problems.join('; ')}`);
  const s = raw as Scenario;
  s.steps.forEach((st, i) => {
    const kinds = ['delta3', 'delta2', 'siptrack', 'cmextn', 'cmextn_state'].filter((k) => k in st);
    if (kinds.length !== 1) {
      throw new ValidationError(
        'SIM_SCENARIO_INVALID',
        `${file}: steps.${i}: needs exactly one of delta3, delta2, siptrack, cmextn, cmextn_state`,
      );
    }
  });
  return s;
}

export const SCENARIO_DIR = new URL('sim/ipoffice/scenarios/', TREE_ROOT);

/** The built-in scenarios (src/sim/ipoffice/scenarios/*.yaml), by name. */
export function builtinScenarios(): Map<string, Scenario> {
  const out = new Map<string, Scenario>();
  for (const f of readdirSync(SCENARIO_DIR)
    .filter((x) => x.endsWith('.yaml'))
    .sort()) {
    const s = parseScenario(readFileSync(new URL(f, SCENARIO_DIR), 'utf8'), f);
    out.set(s.name, s);
  }
  return out;
}

export function loadScenarioFile(path: string): Scenario {
  return parseScenario(readFileSync(path, 'utf8'), path);
}

/** Per-run placeholder state. */
export interface TemplateContext {
  node: string;
  vars: Record<string, string>;
  newCallId: () => number;
  newEndSuffix: () => number;
  now: () => number;
}

/** Fills the placeholders of one scenario run. `ids` keeps the call/end allocations of this run. */
export function renderStep(text: string, ctx: TemplateContext, ids: Map<string, string>): string {
  return text.replace(
    /\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z0-9_]+))?\}/g,
    (m, kind: string, name: string | undefined) => {
      if (kind === 'node') return ctx.node;
      if (kind === 'ts') return String(Math.floor(ctx.now() / 100) % 2147483647);
      if (kind === 'call') {
        const k = `call:${name ?? ''}`;
        let v = ids.get(k);
        if (!v) {
          v = String(ctx.newCallId());
          ids.set(k, v);
        }
        return v;
      }
      if (kind === 'e' && name) {
        const k = `e:${name}`;
        let v = ids.get(k);
        if (!v) {
          v = ctx.node + ctx.newEndSuffix().toString(16).padStart(8, '0');
          ids.set(k, v);
        }
        return v;
      }
      if (name === undefined && kind in ctx.vars) return ctx.vars[kind]!;
      return m;
    },
  );
}
