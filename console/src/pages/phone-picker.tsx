import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useDebounced, usePaged } from '../paging.js';
import type { Device } from './phones.js';

const SHOWN = 20;
/** "Add all matching" fetches at most this many phones (larger sets: target the group or label itself). */
const ADD_ALL_MAX = 1000;

/**
 * The compose screen's phone picker for any fleet size: the hub searches (`GET /api/devices?q&group&label`,
 * 20 at a time), the sender ticks phones or adds every phone matching (up to 1,000); the chosen ones are
 * listed with a Remove button each. Names are looked up in `known` (the loaded devices) when possible.
 */
export function PhonePicker(props: {
  selected: string[];
  onChange: (ids: string[]) => void;
  groups: string[];
  labels: string[];
  known: ReadonlyMap<string, Device>;
  disabled: boolean;
}) {
  const [q, setQ] = useState('');
  const [group, setGroup] = useState('');
  const [label, setLabel] = useState('');
  const [adding, setAdding] = useState(false);
  const filters = useDebounced({ q: q.trim(), group, label, sort: 'name' });
  const searching = !!(filters.q || filters.group || filters.label);
  const found = usePaged<Device>(searching ? '/api/devices' : null, 'devices', filters, { limit: SHOWN });
  const rows = found.rows.filter((d) => d.kind !== 'ipoffice');
  const sel = new Set(props.selected);
  const toggle = (id: string) =>
    props.onChange(sel.has(id) ? props.selected.filter((x) => x !== id) : [...props.selected, id]);
  const addAll = async () => {
    setAdding(true);
    try {
      const r = await api<{ devices: Device[] }>('/api/devices', {
        query: { ...filters, limit: ADD_ALL_MAX },
      });
      const ids = r.devices.filter((d) => d.kind !== 'ipoffice').map((d) => d.id);
      props.onChange([...new Set([...props.selected, ...ids])]);
    } finally {
      setAdding(false);
    }
  };
  const nameOf = (id: string) => props.known.get(id)?.name || id;
  return (
    <fieldset class="field phone-picker" disabled={props.disabled}>
      <legend>Phones</legend>
      <div class="filters">
        <div class="field">
          <label for="pp-q">Find phones</label>
          <input
            id="pp-q"
            type="search"
            value={q}
            placeholder="Name, extension, room…"
            onInput={(e) => setQ(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="pp-group">In group</label>
          <select id="pp-group" value={group} onChange={(e) => setGroup(e.currentTarget.value)}>
            <option value="">Any</option>
            {props.groups.map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="pp-label">With label</label>
          <select id="pp-label" value={label} onChange={(e) => setLabel(e.currentTarget.value)}>
            <option value="">Any</option>
            {props.labels.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </div>
      </div>
      {searching && (
        <div>
          <p class="small" role="status" aria-live="polite">
            {found.loading && !found.loaded
              ? 'Searching…'
              : found.total === 0
                ? 'No phone matches.'
                : `${found.total ?? rows.length} phone${found.total === 1 ? '' : 's'} match${
                    found.total === 1 ? 'es' : ''
                  }${(found.total ?? 0) > SHOWN ? `; the first ${SHOWN} are shown` : ''}.`}
          </p>
          {rows.length > 0 && (
            <ul class="picker-results" aria-label="Phones found">
              {rows.map((d) => (
                <li key={d.id}>
                  <label class="check">
                    <input type="checkbox" checked={sel.has(d.id)} onChange={() => toggle(d.id)} />
                    {d.name || d.id}{' '}
                    <span class="muted small">
                      ({d.kind}, {d.id})
                    </span>
                  </label>
                </li>
              ))}
            </ul>
          )}
          {(found.total ?? 0) > 1 && (found.total ?? 0) <= ADD_ALL_MAX && (
            <button type="button" class="btn" disabled={adding} onClick={() => void addAll()}>
              Add all {found.total} matching phones
            </button>
          )}
        </div>
      )}
      {props.selected.length > 0 && (
        <>
          <p class="small">
            <strong>{props.selected.length}</strong> phone{props.selected.length === 1 ? '' : 's'} chosen:{' '}
            <button type="button" class="btn btn-quiet" onClick={() => props.onChange([])}>
              Remove all
            </button>
          </p>
          <ul class="chips" aria-label="Chosen phones">
            {props.selected.slice(0, 50).map((id) => (
              <li key={id}>
                <span class="badge badge-info">{nameOf(id)}</span>
                <button
                  type="button"
                  class="btn btn-quiet small"
                  aria-label={`Remove ${nameOf(id)}`}
                  onClick={() => toggle(id)}
                >
                  ×
                </button>
              </li>
            ))}
            {props.selected.length > 50 && <li class="muted small">and {props.selected.length - 50} more</li>}
          </ul>
        </>
      )}
    </fieldset>
  );
}
