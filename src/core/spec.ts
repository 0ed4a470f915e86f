import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Static, type TSchema, Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { parse as parseYaml } from 'yaml';
import { TREE_ROOT } from '../version.js';
import { ValidationError } from './errors.js';
import { formatProblems, schemaProblems } from './schema-errors.js';

/**
 * Control specs: what a driver can do, as data (`specs/<kind>.yaml`), in the shape of seed 003
 * (Transport, Traits, Actions with id/label/kind/command/params, Feedbacks, Variables, Events, Macros).
 * The API, CLI, console and docs are generated from it; a test per driver proves every action is
 * implemented.
 */

const ParamType = Type.Union([
  Type.Literal('integer'),
  Type.Literal('number'),
  Type.Literal('string'),
  Type.Literal('boolean'),
  Type.Literal('enum'),
  Type.Literal('array'),
  Type.Literal('object'),
]);

const ScalarValue = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);

export const ParamSpecSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
    type: ParamType,
    label: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    /** Defaults to true unless a `default` is given. */
    required: Type.Optional(Type.Boolean()),
    default: Type.Optional(Type.Unknown()),
    values: Type.Optional(Type.Array(ScalarValue, { minItems: 1 })),
    min: Type.Optional(Type.Number()),
    max: Type.Optional(Type.Number()),
    /** For integer params: value must be a multiple of this (RTP ports are even: 2). */
    multiple_of: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    min_length: Type.Optional(Type.Integer({ minimum: 0 })),
    max_length: Type.Optional(Type.Integer({ minimum: 0 })),
    pattern: Type.Optional(Type.String()),
    max_items: Type.Optional(Type.Integer({ minimum: 0 })),
    /** For `array`: the item schema (a JSON schema object) or a scalar type name. */
    items: Type.Optional(Type.Unknown()),
    /** For `object`: a JSON schema object describing it. */
    schema: Type.Optional(Type.Unknown()),
    /** Never logged or echoed. */
    secret: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ParamSpec = Static<typeof ParamSpecSchema>;

export const ActionSpecSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9_]+$' }),
    label: Type.String({ minLength: 1 }),
    kind: Type.Union([Type.Literal('action'), Type.Literal('query')]),
    command: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    params: Type.Optional(Type.Array(ParamSpecSchema)),
    /** Model families or other driver-specific tags. */
    tags: Type.Optional(Type.Array(Type.String())),
    notes: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type ActionSpec = Static<typeof ActionSpecSchema>;

/** A condition on a result (`path` into `{ ok, outcome, message, data }`) or on an event's data. */
export interface Condition {
  path?: string;
  equals?: string | number | boolean | null;
  in?: Array<string | number | boolean>;
  matches?: string;
  exists?: boolean;
  not?: Condition;
  any?: Condition[];
  all?: Condition[];
}
const ConditionSchema = Type.Cyclic(
  {
    Condition: Type.Object(
      {
        path: Type.Optional(Type.String()),
        equals: Type.Optional(Type.Union([ScalarValue, Type.Null()])),
        in: Type.Optional(Type.Array(ScalarValue)),
        matches: Type.Optional(Type.String()),
        exists: Type.Optional(Type.Boolean()),
        not: Type.Optional(Type.Ref('Condition')),
        any: Type.Optional(Type.Array(Type.Ref('Condition'))),
        all: Type.Optional(Type.Array(Type.Ref('Condition'))),
      },
      { additionalProperties: false },
    ),
  },
  'Condition',
);

const MacroStepSchema = Type.Object(
  {
    /** Driver-interpreted raw command (`DeviceSession.push`). */
    push: Type.Optional(Type.String()),
    /** Run a spec action or query. */
    action: Type.Optional(Type.String()),
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    /** A condition on the last result, or `{ event, where, timeout_ms }` to wait for a bus event. */
    wait_for: Type.Optional(
      Type.Union([
        ConditionSchema,
        Type.Object(
          {
            event: Type.String(),
            where: Type.Optional(ConditionSchema),
            timeout_ms: Type.Optional(Type.Integer({ minimum: 1 })),
          },
          { additionalProperties: false },
        ),
      ]),
    ),
    /** Repeat a raw command (string) or an action (`{ action, params }`) until `until` holds. */
    poll: Type.Optional(
      Type.Union([
        Type.String(),
        Type.Object(
          { action: Type.String(), params: Type.Optional(Type.Record(Type.String(), Type.Unknown())) },
          { additionalProperties: false },
        ),
      ]),
    ),
    until: Type.Optional(ConditionSchema),
    interval_ms: Type.Optional(Type.Integer({ minimum: 1 })),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Pause. */
    sleep_ms: Type.Optional(Type.Integer({ minimum: 0 })),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type MacroStep = {
  push?: string;
  action?: string;
  params?: Record<string, unknown>;
  wait_for?: Condition | { event: string; where?: Condition; timeout_ms?: number };
  poll?: string | { action: string; params?: Record<string, unknown> };
  until?: Condition;
  interval_ms?: number;
  timeout_ms?: number;
  sleep_ms?: number;
  description?: string;
};

export const MacroSpecSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9_]+$' }),
    label: Type.String(),
    description: Type.Optional(Type.String()),
    params: Type.Optional(Type.Array(ParamSpecSchema)),
    steps: Type.Array(MacroStepSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);
export type MacroSpec = Omit<Static<typeof MacroSpecSchema>, 'steps'> & { steps: MacroStep[] };

const NamedSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9_]+$' }),
    type: Type.Optional(Type.String()),
    label: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    trigger: Type.Optional(Type.String()),
    payload: Type.Optional(Type.String()),
    shape: Type.Optional(Type.String()),
    values: Type.Optional(Type.Array(Type.Unknown())),
    notes: Type.Optional(Type.String()),
    /** For events: the bus event type this spec event is emitted as. */
    bus_type: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type NamedSpec = Static<typeof NamedSchema>;

export const ControlSpecSchema = Type.Object(
  {
    kind: Type.String({ pattern: '^[a-z][a-z0-9_-]*$' }),
    label: Type.String(),
    summary: Type.Optional(Type.String()),
    transport: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    traits: Type.Optional(Type.Array(Type.String())),
    actions: Type.Array(ActionSpecSchema),
    feedbacks: Type.Optional(Type.Array(NamedSchema)),
    variables: Type.Optional(Type.Array(NamedSchema)),
    events: Type.Optional(Type.Array(NamedSchema)),
    macros: Type.Optional(Type.Array(MacroSpecSchema)),
    notes: Type.Optional(Type.Array(Type.String())),
    provenance: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type ControlSpec = Omit<Static<typeof ControlSpecSchema>, 'macros'> & { macros?: MacroSpec[] };

/** Error in a spec file: names the file, the path inside it and the problem. */
export class SpecError extends ValidationError {
  constructor(file: string, problems: string[]) {
    super('SPEC_INVALID', `${file}: ${problems.join('; ')}`, { details: { file, problems } });
  }
}

/** Parses and validates spec text. `file` is used in error messages. */
export function parseSpec(text: string, file: string): ControlSpec {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new SpecError(file, [`not valid YAML: ${(e as Error).message.split('\n')[0]}`]);
  }
  if (raw === null || typeof raw !== 'object') throw new SpecError(file, ['(root): must be a mapping']);
  // Seed 003 writes `- poll: …` and `- until: …` as two steps: fold a lone `until` into the poll before it.
  for (const m of ((raw as Record<string, unknown>).macros as Array<{ steps?: unknown[] }> | undefined) ??
    []) {
    if (!Array.isArray(m?.steps)) continue;
    const folded: unknown[] = [];
    for (const s of m.steps) {
      const prev = folded[folded.length - 1] as Record<string, unknown> | undefined;
      if (
        s &&
        typeof s === 'object' &&
        Object.keys(s).length === 1 &&
        'until' in s &&
        prev &&
        'poll' in prev &&
        !('until' in prev)
      ) {
        prev.until = (s as Record<string, unknown>).until;
      } else folded.push(s);
    }
    m.steps = folded;
  }
  const problems = formatProblems(schemaProblems(ControlSpecSchema, raw));
  if (problems.length > 0) throw new SpecError(file, problems);
  const spec = raw as ControlSpec;
  problems.push(...semanticProblems(spec));
  if (problems.length > 0) throw new SpecError(file, problems);
  return spec;
}

function semanticProblems(spec: ControlSpec): string[] {
  const out: string[] = [];
  const ids = new Map<string, number>();
  spec.actions.forEach((a, i) => {
    if (ids.has(a.id))
      out.push(`actions.${i}.id: ${JSON.stringify(a.id)} duplicates actions.${ids.get(a.id)}.id`);
    ids.set(a.id, i);
    const names = new Set<string>();
    (a.params ?? []).forEach((p, j) => {
      const at = `actions.${i}.params.${j}`;
      if (names.has(p.name)) out.push(`${at}.name: ${JSON.stringify(p.name)} appears twice`);
      names.add(p.name);
      if (p.type === 'enum' && !p.values) out.push(`${at}.values: is required for an enum parameter`);
      if (p.min !== undefined && p.max !== undefined && p.min > p.max)
        out.push(`${at}.min: ${p.min} is above max ${p.max}`);
      if (p.pattern !== undefined) {
        try {
          new RegExp(p.pattern);
        } catch {
          out.push(`${at}.pattern: ${JSON.stringify(p.pattern)} is not a valid regular expression`);
        }
      }
    });
    for (const m of a.command?.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g) ?? []) {
      if (!names.has(m[1]!))
        out.push(`actions.${i}.command: placeholder {${m[1]}} has no parameter of that name`);
    }
  });
  (spec.macros ?? []).forEach((m, i) => {
    m.steps.forEach((s, j) => {
      const at = `macros.${i}.steps.${j}`;
      const verbs = ['push', 'action', 'wait_for', 'poll', 'sleep_ms'].filter((k) => k in s);
      if (verbs.length !== 1)
        out.push(
          `${at}: a step needs exactly one of push, action, wait_for, poll, sleep_ms (has ${verbs.join(', ') || 'none'})`,
        );
      if (s.action && !ids.has(s.action))
        out.push(`${at}.action: ${JSON.stringify(s.action)} is not an action of this spec`);
      if (s.poll && typeof s.poll === 'object' && !ids.has(s.poll.action))
        out.push(`${at}.poll.action: ${JSON.stringify(s.poll.action)} is not an action of this spec`);
      if (s.poll !== undefined && !s.until) out.push(`${at}.until: a poll step needs an until condition`);
    });
  });
  return out;
}

/**
 * A control spec compiled at build time (`scripts/compile-specs.mjs` writes `dist/specs/<kind>.json`): the
 * parsed and validated spec, and the SHA-256 of the YAML text it came from. Loading it costs a JSON parse
 * instead of the YAML parser and the schema check (≈ 0.3–1 s at start-up for the Cisco spec).
 */
export interface CompiledSpec {
  format: 1;
  /** The YAML file's name (`cisco.yaml`), for people reading the JSON. */
  source: string;
  /** SHA-256 (hex) of the YAML text: a compiled spec is used only while the YAML is unchanged. */
  sha256: string;
  spec: ControlSpec;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Parses and validates spec text into its compiled form (what the build writes). */
export function compileSpec(text: string, file: string): CompiledSpec {
  return { format: 1, source: basename(file), sha256: sha256(text), spec: parseSpec(text, file) };
}

/**
 * Where the build puts compiled specs: `dist/specs/` when running from `dist/`. Running from `src/`
 * (tsx, tests), `src/specs/` does not exist and the YAML is parsed.
 */
export const COMPILED_SPEC_DIR = fileURLToPath(new URL('specs/', TREE_ROOT));

/** The compiled form of `yamlPath` in `dir`, if it is there and was compiled from exactly `text`. */
function compiledFor(yamlPath: string, text: string, dir: string): ControlSpec | undefined {
  let json: string;
  try {
    json = readFileSync(join(dir, `${basename(yamlPath).replace(/\.ya?ml$/, '')}.json`), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const c = JSON.parse(json) as Partial<CompiledSpec>;
    return c.format === 1 && c.sha256 === sha256(text) && c.spec ? c.spec : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Loads `specs/<kind>.yaml`. The build's compiled copy is used when it was made from the same YAML text
 * (checked by hash, so an edited YAML is never shadowed by a stale build); otherwise the YAML is parsed.
 */
export function loadSpecFile(path: string, compiledDir: string = COMPILED_SPEC_DIR): ControlSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SpecError(path, [`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  }
  return compiledFor(path, text, compiledDir) ?? parseSpec(text, path);
}

/** JSON schema of an action's parameters (used for validation, OpenAPI and console forms). */
export function paramsSchema(params: ParamSpec[] | undefined): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const p of params ?? []) {
    const s: Record<string, unknown> = {};
    switch (p.type) {
      case 'integer':
      case 'number':
        s.type = p.type;
        if (p.min !== undefined) s.minimum = p.min;
        if (p.max !== undefined) s.maximum = p.max;
        if (p.multiple_of !== undefined) s.multipleOf = p.multiple_of;
        break;
      case 'string':
        s.type = 'string';
        if (p.min_length !== undefined) s.minLength = p.min_length;
        if (p.max_length !== undefined) s.maxLength = p.max_length;
        if (p.pattern !== undefined) s.pattern = p.pattern;
        break;
      case 'boolean':
        s.type = 'boolean';
        break;
      case 'enum':
        s.enum = p.values;
        break;
      case 'array':
        s.type = 'array';
        s.items = typeof p.items === 'string' ? { type: p.items } : (p.items ?? {});
        if (p.max_items !== undefined) s.maxItems = p.max_items;
        break;
      case 'object':
        Object.assign(s, (p.schema as object | undefined) ?? { type: 'object' });
        break;
    }
    if (p.values && p.type !== 'enum') s.enum = p.values;
    if (p.description) s.description = p.description;
    if (p.default !== undefined) s.default = p.default;
    properties[p.name] = s;
    if (p.required ?? p.default === undefined) required.push(p.name);
  }
  return { type: 'object', properties, required, additionalProperties: false };
}

/**
 * Validates params against the spec (with string → number/boolean coercion for CLI and form input) and
 * applies defaults. Throws ValidationError naming `params.<name>`.
 */
export function validateParams(
  action: Pick<ActionSpec, 'id' | 'params'>,
  input: unknown,
): Record<string, unknown> {
  const params: Record<string, unknown> = {
    ...((input as Record<string, unknown> | null | undefined) ?? {}),
  };
  if (input !== undefined && input !== null && (typeof input !== 'object' || Array.isArray(input))) {
    throw new ValidationError('ACTION_PARAMS_INVALID', `params: must be an object for action ${action.id}`, {
      field: 'params',
    });
  }
  for (const p of action.params ?? []) {
    const v = params[p.name];
    if (v === undefined && p.default !== undefined) params[p.name] = p.default;
    else if (typeof v === 'string') params[p.name] = coerce(p, v);
  }
  const schema = paramsSchemaCached(action);
  if (schema.check?.(params)) return params;
  const problems = schemaProblems(schema.schema, params, 'params');
  if (problems.length > 0) {
    throw new ValidationError(
      'ACTION_PARAMS_INVALID',
      `${action.id}: ${formatProblems(problems).join('; ')}`,
      {
        field: problems[0]!.path,
      },
    );
  }
  return params;
}

/**
 * The params schema of an action, built once per action object, with a compiled checker (about 25× faster
 * than the interpreted one: broadcasts validate thousands of actions in a burst). The readable problem list
 * still comes from schemaProblems when the check fails.
 */
const NO_PARAMS: ParamSpec[] = [];
const schemaCache = new WeakMap<
  object,
  { schema: Record<string, unknown>; check: ((v: unknown) => boolean) | undefined }
>();
function paramsSchemaCached(action: Pick<ActionSpec, 'id' | 'params'>): {
  schema: Record<string, unknown>;
  check: ((v: unknown) => boolean) | undefined;
} {
  const key = action.params ?? NO_PARAMS;
  let c = schemaCache.get(key);
  if (!c) {
    const schema = paramsSchema(action.params);
    let check: ((v: unknown) => boolean) | undefined;
    try {
      const compiled = Compile(schema as unknown as TSchema);
      check = (v) => compiled.Check(v);
    } catch {
      check = undefined;
    }
    c = { schema, check };
    schemaCache.set(key, c);
  }
  return c;
}

function coerce(p: ParamSpec, v: string): unknown {
  if ((p.type === 'integer' || p.type === 'number') && v.trim() !== '' && Number.isFinite(Number(v)))
    return Number(v);
  if (p.type === 'boolean' && (v === 'true' || v === 'false')) return v === 'true';
  if (p.type === 'enum' && p.values && !p.values.includes(v)) {
    const n = Number(v);
    if (v.trim() !== '' && p.values.includes(n)) return n;
  }
  return v;
}

/** Substitutes `{name}` placeholders of a spec command with parameter values. */
export function renderCommand(template: string, params: Record<string, unknown>): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = params[name];
    return v === undefined || v === null ? '' : String(v);
  });
}

export function findAction(spec: ControlSpec, id: string): ActionSpec | undefined {
  return spec.actions.find((a) => a.id === id);
}
