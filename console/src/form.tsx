import { useEffect, useState } from 'preact/hooks';
import { FieldError, type FormValues, initialValues, type JsonSchema, kindOf, toParams } from './lib.js';

export type { JsonSchema };

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
  const [values, setValues] = useState<FormValues>(() => initialValues(schema));
  const [localError, setLocalError] = useState<FieldError | null>(null);
  useEffect(() => {
    setValues(initialValues(schema));
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
