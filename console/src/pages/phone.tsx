import { useEffect, useMemo, useState } from 'preact/hooks';
import { actionWords, groupActions } from '../actions.js';
import { ApiError, api } from '../api.js';
import { DialCard } from '../dial.js';
import { type JsonSchema, SchemaForm } from '../form.js';
import { imageFrom } from '../lib.js';
import { can, useWho } from '../session.js';
import {
  Async,
  Badge,
  EmptyState,
  ErrorState,
  formatTime,
  JsonView,
  Loading,
  PageHeader,
  str,
  useApi,
} from '../ui.js';
import { type Device, locationText, useLastOutcomes } from './phones.js';

interface ActionSpec {
  id: string;
  label?: string;
  kind: 'action' | 'query';
  description?: string;
  notes?: string;
  tags?: string[];
  paramsSchema: JsonSchema;
}

interface KindSpec {
  kind?: string;
  label?: string;
  actions: ActionSpec[];
}

interface ActionResult {
  ok: boolean;
  outcome?: string;
  message?: string;
  data?: unknown;
}

/** Query ids that give a phone's details (Cisco DeviceInformationX, Avaya subscription data). */
const INFO_QUERIES = [
  'query_device_information_xml',
  'device_information',
  'get_device_info',
  'query_subscription',
];
const SCREEN_QUERIES = ['get_screenshot', 'screenshot'];

export function PhonePage(props: { id: string }) {
  const device = useApi<Device>(`/api/devices/${encodeURIComponent(props.id)}`, {}, [props.id]);
  const kind = device.data?.kind;
  const spec = useApi<KindSpec>(kind ? `/api/kinds/${encodeURIComponent(kind)}/spec` : null, {}, [kind]);
  const variables = useApi<{ variables: Record<string, unknown> }>(
    `/api/devices/${encodeURIComponent(props.id)}/variables`,
    {},
    [props.id],
  );
  const outcomes = useLastOutcomes();
  const [screenTick, setScreenTick] = useState(0);
  useWho();

  const d = device.data;
  return (
    <>
      <PageHeader
        title={d ? d.name || d.id : 'Phone'}
        description={d ? `${d.kind} · ${d.address}` : undefined}
      >
        <a class="btn" href="#/phones">
          All phones
        </a>
      </PageHeader>
      <Async value={device} what="this phone">
        {(dev) => (
          <div class="grid-2">
            <section class="card" aria-labelledby="details-title">
              <h2 id="details-title">Details</h2>
              <dl class="dl">
                <dt>Id</dt>
                <dd class="mono">{dev.id}</dd>
                <dt>Kind</dt>
                <dd>{dev.kind}</dd>
                <dt>Address</dt>
                <dd class="mono">{dev.address}</dd>
                <dt>Location</dt>
                <dd>{locationText(dev.location) || '—'}</dd>
                <dt>Groups</dt>
                <dd>{dev.groups.length ? dev.groups.join(', ') : '—'}</dd>
                <dt>Labels</dt>
                <dd>{dev.labels.length ? dev.labels.join(', ') : '—'}</dd>
                <dt>Last push</dt>
                <dd>
                  {outcomes[dev.id] ? (
                    <>
                      <Badge tone={outcomes[dev.id]!.ok ? 'ok' : 'bad'}>{outcomes[dev.id]!.outcome}</Badge>{' '}
                      <span class="muted small">
                        {outcomes[dev.id]!.actionId} · {formatTime(outcomes[dev.id]!.time)}
                      </span>
                    </>
                  ) : (
                    'none yet'
                  )}
                </dd>
                {Object.entries(dev.settings)
                  .filter(([, v]) => typeof v !== 'object')
                  .map(([k, v]) => (
                    <>
                      <dt key={`k${k}`}>{k}</dt>
                      <dd key={`v${k}`}>{str(v)}</dd>
                    </>
                  ))}
              </dl>
              <h3>Variables</h3>
              {variables.error ? (
                <p class="muted">No variables ({variables.error.message}).</p>
              ) : variables.data && Object.keys(variables.data.variables).length ? (
                <KeyValues value={variables.data.variables} />
              ) : (
                <p class="muted">{variables.loading ? 'Loading…' : 'No variables reported.'}</p>
              )}
              {spec.data && can('devices:control') && <DeviceInfo id={dev.id} spec={spec.data} />}
            </section>
            <section class="card" aria-labelledby="screen-title">
              <h2 id="screen-title">Current screen</h2>
              {spec.data && !can('devices:control') ? (
                <p class="muted">Your role may not ask the phone for its screen.</p>
              ) : spec.data ? (
                <Screen
                  id={dev.id}
                  spec={spec.data}
                  tick={screenTick}
                  onRefresh={() => setScreenTick((t) => t + 1)}
                />
              ) : spec.error ? (
                <ErrorState error={spec.error} what="the control spec" />
              ) : (
                <Loading what="control spec" />
              )}
            </section>
            <DialCard device={dev} />
            <section class="card span-2" aria-labelledby="actions-title">
              <h2 id="actions-title">Run an action</h2>
              {spec.error && <ErrorState error={spec.error} what="the control spec" onRetry={spec.reload} />}
              {spec.data && !can('devices:control') && (
                <p class="muted">Your role may see this phone but not run actions on it.</p>
              )}
              {spec.data && can('devices:control') && (
                <ActionRunner
                  id={dev.id}
                  spec={spec.data}
                  onDone={() => {
                    variables.reload();
                    setTimeout(() => setScreenTick((t) => t + 1), 300);
                  }}
                />
              )}
            </section>
          </div>
        )}
      </Async>
    </>
  );
}

function DeviceInfo(props: { id: string; spec: KindSpec }) {
  const q = props.spec.actions.find((a) => INFO_QUERIES.includes(a.id));
  const [res, setRes] = useState<ActionResult | null>(null);
  const [err, setErr] = useState<Error | null>(null);
  useEffect(() => {
    if (!q) return;
    const c = new AbortController();
    api<ActionResult>(`/api/devices/${encodeURIComponent(props.id)}/actions/${q.id}`, {
      method: 'POST',
      body: {},
      signal: c.signal,
    })
      .then(setRes)
      .catch((e: Error) => e.name !== 'AbortError' && setErr(e));
    return () => c.abort();
  }, [props.id, q]);
  if (!q) return null;
  return (
    <>
      <h3>{actionWords(q)}</h3>
      {err && <p class="form-error">{err.message}</p>}
      {!res && !err && <p class="muted">Asking the phone…</p>}
      {res && !res.ok && <p class="form-error">{res.message ?? res.outcome ?? 'failed'}</p>}
      {res?.ok && <KeyValues value={res.data} />}
    </>
  );
}

/** Raw JSON, only when asked for (a "Details" toggle): the page shows words and values first. */
function Details(props: { value: unknown; label?: string }) {
  return (
    <details class="details">
      <summary>{props.label ?? 'Details'} (JSON)</summary>
      <JsonView value={props.value} label={props.label ?? 'Details'} />
    </details>
  );
}

function KeyValues(props: { value: unknown }) {
  const v = props.value;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return <Details value={v} />;
  const flat = Object.entries(v as Record<string, unknown>).filter(
    ([, x]) => typeof x !== 'object' || x === null,
  );
  const nested = Object.entries(v as Record<string, unknown>).filter(
    ([, x]) => typeof x === 'object' && x !== null,
  );
  return (
    <>
      <dl class="dl">
        {flat.map(([k, x]) => (
          <>
            <dt key={`k${k}`}>{k}</dt>
            <dd key={`v${k}`}>{str(x, '—')}</dd>
          </>
        ))}
      </dl>
      {nested.length > 0 && <Details value={Object.fromEntries(nested)} />}
    </>
  );
}

function Screen(props: { id: string; spec: KindSpec; tick: number; onRefresh: () => void }) {
  const q = props.spec.actions.find((a) => SCREEN_QUERIES.includes(a.id));
  const [img, setImg] = useState<string | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!q) return;
    const c = new AbortController();
    setBusy(true);
    api<ActionResult>(`/api/devices/${encodeURIComponent(props.id)}/actions/${q.id}`, {
      method: 'POST',
      body: {},
      signal: c.signal,
    })
      .then((r) => {
        if (!r.ok) {
          setErr(r.message ?? r.outcome ?? 'the phone refused the screenshot');
          return;
        }
        const src = imageFrom(r.data);
        if (src) {
          setImg(src);
          setErr(null);
        } else setErr('the phone answered without an image');
      })
      .catch((e: Error) => {
        if (e.name !== 'AbortError') setErr(e instanceof ApiError ? `${e.message} (${e.code})` : e.message);
      })
      .finally(() => !c.signal.aborted && setBusy(false));
    return () => c.abort();
  }, [props.id, q, props.tick]);
  if (!q)
    return (
      <EmptyState title="No screenshot for this kind of phone">
        Its control spec has no screenshot query. Push results and variables are shown instead.
      </EmptyState>
    );
  return (
    <div class="screen">
      <div class="screen-frame" aria-busy={busy}>
        {img ? (
          <img src={img} alt="Screenshot of the phone's current screen" class="screenshot" />
        ) : (
          <span class="muted">{err ? '' : 'Loading screenshot…'}</span>
        )}
      </div>
      {err && (
        <p class="form-error" role="alert">
          Screenshot failed: {err}
        </p>
      )}
      <button type="button" class="btn" onClick={props.onRefresh} disabled={busy}>
        {busy ? 'Refreshing…' : 'Refresh screen'}
      </button>
    </div>
  );
}

function ActionRunner(props: { id: string; spec: KindSpec; onDone: () => void }) {
  const all = props.spec.actions;
  const [filter, setFilter] = useState('');
  const [actionId, setActionId] = useState(() => {
    const preferred = ['object_text', 'push_display', 'push_topline'];
    return preferred.find((p) => all.some((a) => a.id === p)) ?? all[0]?.id ?? '';
  });
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ActionResult | null>(null);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const action = all.find((a) => a.id === actionId);
  const groups = useMemo(() => groupActions(all), [all]);
  const words = new Map(groups.flatMap((g) => g.actions.map((a) => [a.action.id, a.label] as const)));
  const visible = useMemo(() => {
    const f = filter.trim().toLowerCase();
    return groups
      .map((g) => ({
        ...g,
        actions: g.actions.filter(
          (a) =>
            !f || `${a.label} ${g.label} ${a.action.id} ${a.action.label ?? ''}`.toLowerCase().includes(f),
        ),
      }))
      .filter((g) => g.actions.length > 0);
  }, [groups, filter]);
  const shown = visible.reduce((n, g) => n + g.actions.length, 0);
  if (all.length === 0) return <EmptyState title="This kind has no actions" />;
  const run = async (params: Record<string, unknown>) => {
    if (!action) return;
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const r = await api<ActionResult>(`/api/devices/${encodeURIComponent(props.id)}/actions/${action.id}`, {
        method: 'POST',
        body: params,
      });
      setResult(r);
      props.onDone();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="action-runner">
      <div class="filters">
        <div class="field">
          <label for="action-filter">Find an action</label>
          <input
            id="action-filter"
            type="search"
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
          />
        </div>
        <div class="field grow">
          <label for="action-select">Action ({shown})</label>
          <select
            id="action-select"
            value={actionId}
            onChange={(e) => {
              setActionId(e.currentTarget.value);
              setResult(null);
              setError(null);
            }}
          >
            {visible.map((g) => (
              <optgroup key={g.id} label={g.label}>
                {g.actions.map((a) => (
                  <option key={a.action.id} value={a.action.id}>
                    {a.label}
                  </option>
                ))}
              </optgroup>
            ))}
          </select>
        </div>
      </div>
      {action && (
        <>
          <h3 class="action-title">{words.get(action.id) ?? action.label ?? action.id}</h3>
          {(action.description || action.notes) && <p class="muted">{action.description ?? action.notes}</p>}
          <p class="muted small">
            Spec: {action.label ?? action.id} <code class="code">{action.id}</code>
          </p>
          <SchemaForm
            id={`act-${action.id}`}
            schema={action.paramsSchema}
            submitLabel={action.kind === 'query' ? 'Run query' : 'Run action'}
            busy={busy}
            errorField={error instanceof ApiError ? error.field : undefined}
            errorMessage={error ? error.message : undefined}
            onSubmit={run}
          />
        </>
      )}
      <div aria-live="polite">
        {result && (
          <div class={`result ${result.ok ? 'result-ok' : 'result-bad'}`}>
            <p>
              <Badge tone={result.ok ? 'ok' : 'bad'}>{result.ok ? 'OK' : 'Failed'}</Badge>{' '}
              {result.outcome && <span class="mono">{result.outcome}</span>} {result.message}
            </p>
            {result.data !== undefined && <Details value={result.data} label="Result data" />}
          </div>
        )}
      </div>
    </div>
  );
}
