import { ValidationError } from './errors.js';

/** Default nesting limit for JSON request bodies (`http.maxJsonDepth`). */
export const JSON_DEFAULT_MAX_DEPTH = 64;

/**
 * True when `text` nests arrays/objects deeper than `max` (brackets inside strings do not count). A
 * linear scan before JSON.parse, so a body nested 100,000 deep is refused without recursing anywhere.
 */
export function jsonTooDeep(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) return true;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return false;
}

/**
 * JSON.parse for untrusted request bodies: refuses nesting deeper than `maxDepth` and malformed text
 * with a ValidationError (`code`, HTTP 400) instead of a stack overflow or a 500.
 */
export function parseJsonBody(
  text: string,
  opts: { maxDepth: number; code: string; field?: string },
): unknown {
  const field = opts.field ?? 'body';
  if (jsonTooDeep(text, opts.maxDepth))
    throw new ValidationError(opts.code, `${field}: JSON nested deeper than ${opts.maxDepth} levels`, {
      field,
    });
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ValidationError(opts.code, `${field}: not valid JSON: ${(e as Error).message.slice(0, 200)}`, {
      field,
    });
  }
}

/**
 * True when two JSON-like values are equal as JSON: the same keys with equal values in any order; a property
 * whose value is `undefined` counts as absent (JSON.stringify drops it too).
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined);
  const ak = keys(ao);
  return ak.length === keys(bo).length && ak.every((k) => Object.hasOwn(bo, k) && jsonEqual(ao[k], bo[k]));
}
