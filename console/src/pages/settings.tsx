import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { SpacesProfileCard } from '../dial.js';
import { Async, DataTable, ErrorState, formatTime, PageHeader, useApi } from '../ui.js';

interface EvalResult {
  inputs: Record<string, string>;
  userAgentRule: string;
  source: string;
  files: string[];
  end: string;
  values: Record<string, string>;
  settings: Array<{ name: string; value: string; file: string; line: number; op: string }>;
  trace: Array<{ file: string; line: number; kind: string; detail: string }>;
  traceTruncated: boolean;
  diagnostics: Array<{ severity: string; code: string; message: string; file: string; line: number }>;
}

interface Client {
  address: string;
  userAgent: string;
  model: string;
  lastSeen: string;
  requests: number;
  lastFile: string;
  lastStatus: number;
}

const MODELS = ['J179', 'J169', 'J189', 'J139', '9611', '9641', '9608', 'aca', 'aci', 'acm', 'acw'];

export function SettingsPage() {
  const [model, setModel] = useState('J179');
  const [group, setGroup] = useState('');
  const [sig, setSig] = useState('SIP');
  const [mac, setMac] = useState('');
  const [ua, setUa] = useState('');
  const [result, setResult] = useState<EvalResult | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const [filter, setFilter] = useState('');
  const clients = useApi<{ clients: Client[] }>('/api/settings/clients');

  const run = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setResult(
        await api<EvalResult>('/api/settings/eval', {
          query: { model, group, sig, mac, ua, trace: true },
        }),
      );
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const settings = (result?.settings ?? []).filter((s) =>
    `${s.name} ${s.value}`.toLowerCase().includes(filter.toLowerCase()),
  );
  return (
    <>
      <PageHeader
        title="Settings files"
        description="What a given phone or Workplace client receives from 46xxsettings.txt, and why (the evaluator's trace)."
      />
      <form class="card filters" onSubmit={run} aria-label="Client to evaluate as">
        <div class="field">
          <label for="s-model">Model (MODEL4)</label>
          <input
            id="s-model"
            list="s-models"
            required
            maxLength={16}
            value={model}
            onInput={(e) => setModel(e.currentTarget.value)}
          />
          <datalist id="s-models">
            {MODELS.map((m) => (
              <option key={m} value={m} />
            ))}
          </datalist>
        </div>
        <div class="field">
          <label for="s-group">GROUP</label>
          <input id="s-group" maxLength={8} value={group} onInput={(e) => setGroup(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="s-sig">Signalling</label>
          <select id="s-sig" value={sig} onChange={(e) => setSig(e.currentTarget.value)}>
            <option value="SIP">SIP</option>
            <option value="H323">H.323</option>
          </select>
        </div>
        <div class="field">
          <label for="s-mac">MAC address</label>
          <input id="s-mac" maxLength={32} value={mac} onInput={(e) => setMac(e.currentTarget.value)} />
        </div>
        <div class="field grow">
          <label for="s-ua">User-Agent</label>
          <input
            id="s-ua"
            maxLength={512}
            value={ua}
            onInput={(e) => setUa(e.currentTarget.value)}
            placeholder="(optional) e.g. AVAYA/J179-4.0.13"
          />
        </div>
        <div class="form-actions">
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {busy ? 'Evaluating…' : 'Evaluate'}
          </button>
        </div>
      </form>
      {error && <ErrorState error={error} what="The settings evaluator" />}
      {!result && !error && <p class="muted">Pick a model and press Evaluate.</p>}
      {result && (
        <div class="grid-2">
          <section class="card" aria-labelledby="s-result">
            <h2 id="s-result">Effective settings ({result.settings.length})</h2>
            <p class="muted small">
              {result.source} file · files read: {result.files.join(', ')} · ended: {result.end} · rule:{' '}
              {result.userAgentRule}
            </p>
            {result.diagnostics.length > 0 && (
              <ul class="list">
                {result.diagnostics.map((d, n) => (
                  <li key={n} class={d.severity === 'error' ? 'form-error' : ''}>
                    {d.severity} {d.code}: {d.message} ({d.file}:{d.line})
                  </li>
                ))}
              </ul>
            )}
            <label for="s-filter" class="sr-only">
              Filter settings
            </label>
            <input
              id="s-filter"
              type="search"
              placeholder="Filter settings…"
              value={filter}
              onInput={(e) => setFilter(e.currentTarget.value)}
            />
            <div class="table-wrap scroll-y">
              <table class="table">
                <thead>
                  <tr>
                    <th scope="col">Setting</th>
                    <th scope="col">Value</th>
                    <th scope="col">Where</th>
                  </tr>
                </thead>
                <tbody>
                  {settings.map((s) => (
                    <tr key={s.name}>
                      <td class="mono">{s.name}</td>
                      <td class="mono wrap">{s.value}</td>
                      <td class="muted small">
                        {s.file}:{s.line}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
          <section class="card" aria-labelledby="s-trace">
            <h2 id="s-trace">
              Trace ({result.trace.length}
              {result.traceTruncated ? '+, truncated' : ''})
            </h2>
            <ol class="trace scroll-y">
              {result.trace.map((t, n) => (
                <li key={n}>
                  <span class="muted small mono">
                    {t.file}:{t.line}
                  </span>{' '}
                  <strong>{t.kind}</strong> {t.detail}
                </li>
              ))}
            </ol>
          </section>
        </div>
      )}
      <SpacesProfileCard />
      <section class="section" aria-labelledby="s-clients">
        <h2 id="s-clients">Clients that fetched settings</h2>
        <Async value={clients} what="The settings server">
          {(d) => (
            <DataTable
              rows={d.clients}
              rowKey={(c) => `${c.address}${c.userAgent}`}
              empty="No client has fetched a settings file yet"
              columns={[
                { head: 'Address', class: 'mono', cell: (c) => c.address },
                { head: 'Model', cell: (c) => c.model },
                { head: 'User-Agent', class: 'small', cell: (c) => c.userAgent },
                { head: 'Last file', cell: (c) => `${c.lastFile} (${c.lastStatus})` },
                { head: 'Requests', class: 'num', cell: (c) => c.requests },
                { head: 'Last seen', cell: (c) => formatTime(c.lastSeen) },
              ]}
            />
          )}
        </Async>
      </section>
    </>
  );
}
