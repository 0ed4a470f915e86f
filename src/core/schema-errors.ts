import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';

/**
 * Turns JSON-schema validation failures into one readable line per problem, naming the key path, the
 * value and what is allowed: `http.port: 70000 is above the maximum 65535`.
 * Works for TypeBox schemas and for plain JSON-schema objects (control-spec parameters, driver settings).
 */
export interface SchemaProblem {
  path: string;
  message: string;
}

type Json = Record<string, unknown>;

function show(v: unknown): string {
  if (v === undefined) return 'missing';
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return String(v);
  }
}

function pointerToPath(prefix: string, pointer: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const all = [prefix, ...parts].filter((p) => p !== '');
  return all.join('.') || '(root)';
}

function getAt(root: unknown, pointer: string): unknown {
  let cur: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Json)[key];
  }
  return cur;
}

function schemaAt(schema: unknown, schemaPath: string): Json | undefined {
  let cur: unknown = schema;
  for (const raw of schemaPath.replace(/^#/, '').split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Json)[raw];
  }
  return cur && typeof cur === 'object' ? (cur as Json) : undefined;
}

function allowedOf(s: Json | undefined): string | undefined {
  if (!s) return undefined;
  const variants = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (Array.isArray(variants) && variants.every((v) => v && 'const' in v)) {
    return variants.map((v) => show(v.const)).join(', ');
  }
  if (Array.isArray(s.enum)) return (s.enum as unknown[]).map(show).join(', ');
  return undefined;
}

export function schemaProblems(schema: TSchema | Json, value: unknown, prefix = ''): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const seen = new Set<string>();
  const anyOfPaths = new Set<string>();
  const errors = [...Value.Errors(schema as TSchema, value)];
  for (const e of errors) if (e.keyword === 'anyOf' || e.keyword === 'oneOf') anyOfPaths.add(e.instancePath);
  for (const e of errors) {
    const params = (e.params ?? {}) as Json;
    let path = pointerToPath(prefix, e.instancePath);
    const v = getAt(value, e.instancePath);
    let msg: string;
    switch (e.keyword) {
      case 'maximum':
        msg = `${show(v)} is above the maximum ${params.limit}`;
        break;
      case 'minimum':
        msg = `${show(v)} is below the minimum ${params.limit}`;
        break;
      case 'exclusiveMaximum':
        msg = `${show(v)} must be below ${params.limit}`;
        break;
      case 'exclusiveMinimum':
        msg = `${show(v)} must be above ${params.limit}`;
        break;
      case 'maxLength':
        msg = `${show(v)} is longer than ${params.limit} characters`;
        break;
      case 'minLength':
        msg = `${show(v)} is shorter than ${params.limit} characters`;
        break;
      case 'maxItems':
        msg = `has more than ${params.limit} items`;
        break;
      case 'minItems':
        msg = `has fewer than ${params.limit} items`;
        break;
      case 'pattern':
        msg = `${show(v)} does not match the pattern ${params.pattern}`;
        break;
      case 'format':
        msg = `${show(v)} is not a valid ${params.format}`;
        break;
      case 'type': {
        const t = params.type ?? schemaAt(schema, e.schemaPath)?.type;
        msg = `${show(v)} is not ${Array.isArray(t) ? t.join(' or ') : `a${/^[aeiou]/.test(String(t)) ? 'n' : ''} ${t}`}`;
        break;
      }
      case 'required': {
        const names = (params.requiredProperties ?? []) as string[];
        for (const n of names) {
          const p = path === '(root)' ? n : `${path}.${n}`;
          if (!seen.has(`${p}|required`)) {
            seen.add(`${p}|required`);
            problems.push({ path: p, message: 'is required' });
          }
        }
        continue;
      }
      case 'additionalProperties': {
        const names = (params.additionalProperties ?? []) as string[];
        for (const n of names) {
          const p = path === '(root)' ? n : `${path}.${n}`;
          if (!seen.has(`${p}|additional`)) {
            seen.add(`${p}|additional`);
            problems.push({ path: p, message: 'is not a known key' });
          }
        }
        continue;
      }
      case 'boolean':
        // `schema is false` for additional properties: reported by the additionalProperties entry.
        continue;
      case 'const':
      case 'enum': {
        // A const inside a union: describe the whole union once.
        const union = /\/(anyOf|oneOf)\/\d+$/.test(e.schemaPath)
          ? schemaAt(schema, e.schemaPath.replace(/\/(anyOf|oneOf)\/\d+$/, ''))
          : undefined;
        msg = `${show(v)} is not allowed (allowed: ${allowedOf(union) ?? allowedOf(schemaAt(schema, e.schemaPath)) ?? show(params.allowedValue ?? params.allowedValues)})`;
        break;
      }
      case 'anyOf':
      case 'oneOf': {
        const allowed = allowedOf(schemaAt(schema, e.schemaPath));
        msg = allowed ? `${show(v)} is not allowed (allowed: ${allowed})` : `${show(v)} is not a valid value`;
        break;
      }
      default:
        if (anyOfPaths.has(e.instancePath)) continue;
        msg = `${show(v)} ${e.message}`;
    }
    if (path === '') path = '(root)';
    const key = `${path}|${msg}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ path, message: msg });
  }
  // Problems inside a failed anyOf branch are noise when the anyOf itself was reported.
  return problems.filter(
    (p, i) =>
      !problems.some(
        (q, j) =>
          j !== i &&
          q.path === p.path &&
          q.message.includes('not allowed') &&
          p !== q &&
          !p.message.includes('not allowed'),
      ),
  );
}

export function formatProblems(problems: SchemaProblem[]): string[] {
  return problems.map((p) => `${p.path}: ${p.message}`);
}
