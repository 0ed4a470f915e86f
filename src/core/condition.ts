import type { Condition } from './spec.js';

/** Reads a dotted path (`data.items.0.status`) from a value. */
export function getPath(value: unknown, path: string | undefined): unknown {
  if (!path) return value;
  let cur: unknown = value;
  for (const k of path.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** Evaluates a spec condition against a value (an ActionResult or an event's data). */
export function evaluateCondition(c: Condition, value: unknown): boolean {
  if (c.any) return c.any.some((x) => evaluateCondition(x, value));
  if (c.all) return c.all.every((x) => evaluateCondition(x, value));
  if (c.not) return !evaluateCondition(c.not, value);
  const v = getPath(value, c.path);
  if (c.exists !== undefined && (v !== undefined && v !== null) !== c.exists) return false;
  // Devices answer numbers as text (`Status="0"`): compare loosely between numbers and numeric strings.
  const same = (a: unknown, b: unknown) =>
    a === b || (a !== null && b !== null && a !== undefined && String(a) === String(b));
  if (c.equals !== undefined && !same(v, c.equals)) return false;
  if (c.in !== undefined && !c.in.some((x) => same(v, x))) return false;
  if (c.matches !== undefined) {
    if (v === undefined || v === null) return false;
    if (!new RegExp(c.matches).test(String(v))) return false;
  }
  return true;
}
