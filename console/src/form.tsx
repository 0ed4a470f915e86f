import { useEffect, useState } from 'preact/hooks';

/** The subset of JSON Schema that the hub generates for action parameters (core/spec.ts paramsSchema). */
export interface JsonSchema {
  type?: string;
  enum?: unknown[];
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: JsonSchema;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

type Values = Record<string, string | boolean>;

function kindOf(s: JsonSchema): 'enum' | 'boolean' | 'number' | 'string' | 'list' | 'json' {
  if (s.enum) return 'enum';
  if (s.type === 'boolean') return 'boolean';
  if (s.type === 'integer' || s.type === 'number') return 'number';
  if (s.type === 'string' || s.type === undefined) return 'string';
  if (s.type === 'array' && s.items && ['string', 'integer', 'number'].includes(s.items.type ?? ''))
    return 'list';
  return 'json';
}

function initial(schema: JsonSchema): Values {
  const v: Values = {};
  for (const [name, s] of Object.entries(schema.properties ?? {})) {
    const k = kindOf(s);
    if (k === 'boolean') v[name] = s.default === true;
    else if (s.default === undefined) v[name] = '';
    else if (k === 'list' && Array.isArray(s.default)) v[name] = s.default.join('\n');
    else if (k === 'json') v[name] = JSON.stringify(s.default, null, 2);
    else v[name] = String(s.default);
  }
  return v;
}

/** Turns form values into params; throws with the field name when a value cannot be read. */
export function toParams(schema: JsonSchema, values: Values): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const required = new Set(schema.required ?? []);
  for (const [name, s] of Object.entries(schema.properties ?? {})) {
    const raw = values[name];
    const k = kindOf(s);
    if (k === 'boolean') {
      if (raw === true || required.has(name) || s.default !== undefined) out[name] = raw === true;
      continue;
    }
    const text = typeof raw === 'string' ? raw : '';
    if (text === '') {
      if (required.has(name) && k === 'string') out[name] = '';
      continue;
    }
    if (k === 'number') {
      const n = Number(text);
      if (!Number.isFinite(n)) throw new FieldError(name, `${name}: must be a number`);
      out[name] = n;
    } else if (k === 'enum') {
      const hit = s.enum!.find((e) => String(e) === text);
      out[name] = hit ?? text;
    } else if (k === 'list') {
      const items = text
        .split(/\r?\n/)
        .map((x) => x.trim())
        .filter(Boolean);
      out[name] = s.items?.type === 'string' ? items : items.map(Number);
    } else if (k === 'json') {
      try {
        out[name] = JSON.parse(text);
      } catch {
        throw new FieldError(name, `${name}: must be JSON`);
      }
    } else out[name] = text;
  }
  return out;
}

export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A form generated from an action's parameter schema: one labelled control per parameter, with the
 * schema's description, limits and default. `errorField` (`params.<name>` from the API) marks a field.
 */
export function SchemaForm(props: {
  id: string;
  schema: JsonSchema;
  submitLabel: string;
  busy?: boolean;
  errorField?: string | undefined;
  errorMessage?: string | undefined;
  onSubmit: (params: Record<string, unknown>) => void;
}) {
  const { schema } = props;
  const [values, setValues] = useState<Values>(() => initial(schema));
  const [localError, setLocalError] = useState<FieldError | null>(null);
  useEffect(() => {
    setValues(initial(schema));
    setLocalError(null);
  }, [props.id]);
  const required = new Set(schema.required ?? []);
  const entries = Object.entries(schema.properties ?? {});
  const bad = localError?.field ?? props.errorField?.replace(/^params\./, '').split(/[.[]/)[0];
  const message = localError?.message ?? props.errorMessage;

  const submit = (ev: Event) => {
    ev.preventDefault();
    try {
      setLocalError(null);
      props.onSubmit(toParams(schema, values));
    } catch (e) {
      if (e instanceof FieldError) setLocalError(e);
      else throw e;
    }
  };

  return (
    <form class="schema-form" onSubmit={submit} aria-describedby={message ? `${props.id}-error` : undefined}>
      {entries.length === 0 && <p class="muted">This action takes no parameters.</p>}
      {entries.map(([name, s]) => {
        const fid = `${props.id}-${name}`;
        const hint = describe(s);
        const k = kindOf(s);
        const common = {
          id: fid,
          name,
          'aria-invalid': bad === name ? ('true' as const) : undefined,
          'aria-describedby': hint ? `${fid}-hint` : undefined,
        };
        const set = (v: string | boolean) => setValues((old) => ({ ...old, [name]: v }));
        return (
          <div class={`field ${bad === name ? 'field-invalid' : ''}`} key={name}>
            {k === 'boolean' ? (
              <label class="check">
                <input
                  {...common}
                  type="checkbox"
                  checked={values[name] === true}
                  onChange={(e) => set(e.currentTarget.checked)}
                />
                {name}
              </label>
            ) : (
              <label for={fid}>
                {name}
                {required.has(name) ? (
                  <span class="req" aria-hidden="true">
                    {' '}
                    *
                  </span>
                ) : (
                  <span class="muted"> (optional)</span>
                )}
              </label>
            )}
            {k === 'enum' && (
              <select
                {...common}
                required={required.has(name)}
                value={String(values[name] ?? '')}
                onChange={(e) => set(e.currentTarget.value)}
              >
                {!required.has(name) && <option value="">—</option>}
                {s.enum!.map((o) => (
                  <option key={String(o)} value={String(o)}>
                    {String(o)}
                  </option>
                ))}
              </select>
            )}
            {k === 'number' && (
              <input
                {...common}
                type="number"
                inputMode="numeric"
                required={required.has(name)}
                min={s.minimum}
                max={s.maximum}
                step={s.type === 'integer' ? (s.multipleOf ?? 1) : 'any'}
                value={String(values[name] ?? '')}
                onInput={(e) => set(e.currentTarget.value)}
              />
            )}
            {k === 'string' &&
              ((s.maxLength ?? 0) > 120 || s.maxLength === undefined ? (
                <textarea
                  {...common}
                  rows={3}
                  required={required.has(name)}
                  maxLength={s.maxLength}
                  value={String(values[name] ?? '')}
                  onInput={(e) => set(e.currentTarget.value)}
                />
              ) : (
                <input
                  {...common}
                  type="text"
                  required={required.has(name)}
                  maxLength={s.maxLength}
                  minLength={s.minLength}
                  value={String(values[name] ?? '')}
                  onInput={(e) => set(e.currentTarget.value)}
                />
              ))}
            {(k === 'list' || k === 'json') && (
              <textarea
                {...common}
                class="mono"
                rows={4}
                required={required.has(name)}
                value={String(values[name] ?? '')}
                onInput={(e) => set(e.currentTarget.value)}
              />
            )}
            {hint && (
              <small id={`${fid}-hint`} class="hint">
                {hint}
                {k === 'list' && ' One item per line.'}
                {k === 'json' && ' JSON.'}
              </small>
            )}
          </div>
        );
      })}
      {message && (
        <p id={`${props.id}-error`} class="form-error" role="alert">
          {message}
        </p>
      )}
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled={props.busy}>
          {props.busy ? 'Running…' : props.submitLabel}
        </button>
      </div>
    </form>
  );
}

function describe(s: JsonSchema): string {
  const parts: string[] = [];
  if (s.description) parts.push(s.description);
  const lim: string[] = [];
  if (s.minimum !== undefined) lim.push(`min ${s.minimum}`);
  if (s.maximum !== undefined) lim.push(`max ${s.maximum}`);
  if (s.maxLength !== undefined) lim.push(`up to ${s.maxLength} characters`);
  if (s.maxItems !== undefined) lim.push(`up to ${s.maxItems} items`);
  if (s.pattern) lim.push(`pattern ${s.pattern}`);
  if (lim.length) parts.push(`(${lim.join(', ')})`);
  return parts.join(' ');
}
