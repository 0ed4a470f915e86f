import { getPath } from '../../core/condition.js';
import { ValidationError } from '../../core/errors.js';

/**
 * The template language of broadcasts and rules: `{{caller.name}}` inserts a value from the context by
 * dotted path; `{{location.room | unknown room}}` gives a fallback for a missing or empty value. Nothing
 * else: no logic, no loops, no escaping (the drivers' builders escape for XML/WML when they build the
 * object). Rendering is linear in the template size and the output is capped.
 */
const VAR = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*(?:\|([^}]*))?\}\}/g;

export const MAX_TEMPLATE_CHARS = 8000;
export const MAX_RENDERED_CHARS = 16000;

export interface TemplateVar {
  path: string;
  fallback: string | undefined;
}

/** The variables a template uses, in order of first use. Throws on a malformed `{{`. */
export function templateVariables(text: string, field = 'text'): TemplateVar[] {
  checkTemplate(text, field);
  const out: TemplateVar[] = [];
  const seen = new Set<string>();
  for (const m of text.matchAll(VAR)) {
    if (seen.has(m[1]!)) continue;
    seen.add(m[1]!);
    out.push({ path: m[1]!, fallback: m[2]?.trim() });
  }
  return out;
}

/** Validates the syntax: every `{{` opens a well-formed variable. */
export function checkTemplate(text: string, field = 'text'): void {
  if (text.length > MAX_TEMPLATE_CHARS)
    throw new ValidationError('TEMPLATE_TOO_LONG', `${field}: at most ${MAX_TEMPLATE_CHARS} characters`, {
      field,
    });
  const stripped = text.replace(VAR, '');
  const bad = stripped.indexOf('{{');
  if (bad >= 0) {
    throw new ValidationError(
      'TEMPLATE_INVALID',
      `${field}: malformed variable near ${JSON.stringify(stripped.slice(bad, bad + 24))} (use {{name}} or {{a.b | fallback}})`,
      { field },
    );
  }
}

function show(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(show).join(', ');
  return JSON.stringify(v);
}

/** Renders a template against a context. Missing values become the fallback or an empty string. */
export function renderTemplate(text: string, ctx: Record<string, unknown>, field = 'text'): string {
  checkTemplate(text, field);
  const out = text.replace(VAR, (_m, path: string, fallback: string | undefined) => {
    const v = show(getPath(ctx, path));
    return v === '' && fallback !== undefined ? fallback.trim() : v;
  });
  return out.length > MAX_RENDERED_CHARS ? out.slice(0, MAX_RENDERED_CHARS) : out;
}
