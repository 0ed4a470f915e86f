import { useState } from 'preact/hooks';
import { ApiError, apiUrl, getKey } from '../api.js';
import { Pager, useDebounced, usePaged } from '../paging.js';
import { Badge, EmptyState, ErrorState, Loading, PageHeader } from '../ui.js';

export interface AuditEntry {
  seq: number;
  time: string;
  actorKind: string;
  actorId: string | null;
  actorName: string | null;
  address: string | null;
  action: string;
  target: string | null;
  outcome: string;
  detail: Record<string, unknown>;
}

const PAGE = 50;

/** Common actions (the table of docs/security.md); any other action name can be typed. */
const ACTIONS: Array<[string, string]> = [
  ['signin.*', 'Sign-ins (succeeded and failed)'],
  ['signout', 'Sign-outs'],
  ['access.denied', 'Refused by role (403)'],
  ['broadcast.*', 'Broadcasts: sent, cancelled, recalled, retried'],
  ['schedule.*', 'Scheduled broadcasts'],
  ['incident.*', 'Incidents acknowledged'],
  ['device.*', 'Phones: added, changed, removed, actions'],
  ['group.*', 'Groups'],
  ['key.*', 'API keys'],
  ['user.*', 'Users'],
  ['template.*', 'Templates'],
  ['rule.*', 'Rules'],
  ['location.*', 'Locations (911)'],
  ['pubsub.*', 'PubSub accounts'],
];
const ACTION_RE = /^[a-z][a-z0-9.-]*(\.\*)?$/;

/** A `datetime-local` value (the browser's time zone) as an ISO time, or undefined when empty or invalid. */
export function localToIso(v: string): string | undefined {
  if (!v) return undefined;
  const t = new Date(v).getTime();
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

function detailText(d: Record<string, unknown>): string {
  return Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' · ');
}

function dateOf(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: '2-digit' });
}

function timeOf(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? ''
    : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

const OUTCOME_TONE: Record<string, 'ok' | 'warn' | 'bad'> = { ok: 'ok', denied: 'warn', failed: 'bad' };

/**
 * The audit trail (`GET /api/audit`, admins: `audit:read`): who did what, when, from which address,
 * newest first, filtered and paged by the hub; the CSV export (`GET /api/audit.csv`) follows the filters.
 */
export function AuditPage() {
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [outcome, setOutcome] = useState('');
  const [address, setAddress] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [exportError, setExportError] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);
  const a = action.trim();
  const actionBad = a !== '' && !ACTION_RE.test(a);
  const sinceIso = localToIso(since);
  const untilIso = localToIso(until);
  const rangeBad = !!(sinceIso && untilIso && sinceIso >= untilIso);
  const filters = useDebounced({
    actor: actor.trim() || undefined,
    action: actionBad ? undefined : a || undefined,
    outcome: outcome || undefined,
    address: address.trim() || undefined,
    since: rangeBad ? undefined : sinceIso,
    until: rangeBad ? undefined : untilIso,
  });
  const paged = usePaged<AuditEntry>('/api/audit', 'entries', filters, { limit: PAGE });

  const exportCsv = async () => {
    setExportError(null);
    setExporting(true);
    try {
      const res = await fetch(apiUrl('/api/audit.csv', filters), {
        headers: { authorization: `Bearer ${getKey() ?? ''}`, accept: 'text/csv' },
      });
      if (!res.ok) {
        const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
        throw new ApiError(res.status, body.error?.code ?? `HTTP_${res.status}`, body.error?.message ?? '');
      }
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = `audit-${new Date().toISOString().slice(0, 10)}.csv`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (e) {
      setExportError(
        e instanceof ApiError ? `${e.message} (${e.code})` : `Export failed: ${(e as Error).message}`,
      );
    } finally {
      setExporting(false);
    }
  };

  return (
    <>
      <PageHeader
        title="Audit trail"
        description="Every change and every send: who, when, from which address, what, and the outcome. Newest first."
      >
        <button type="button" class="btn" onClick={() => void exportCsv()} disabled={exporting}>
          {exporting ? 'Exporting…' : 'Export CSV'}
        </button>
      </PageHeader>
      {exportError && (
        <p class="form-error" role="alert">
          {exportError}
        </p>
      )}
      <form class="filters" aria-label="Filter the audit trail" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="au-actor">Who</label>
          <input
            id="au-actor"
            type="search"
            value={actor}
            placeholder="Name, exactly"
            onInput={(e) => setActor(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="au-action">What</label>
          <input
            id="au-action"
            type="search"
            list="au-actions"
            value={action}
            placeholder="e.g. device.*"
            aria-invalid={actionBad}
            aria-describedby={actionBad ? 'au-action-error' : undefined}
            onInput={(e) => setAction(e.currentTarget.value)}
          />
          <datalist id="au-actions">
            {ACTIONS.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </datalist>
          {actionBad && (
            <span id="au-action-error" class="field-error" role="alert">
              An action (key.created) or a family ending in .* (device.*), lower case.
            </span>
          )}
        </div>
        <div class="field">
          <label for="au-outcome">Outcome</label>
          <select id="au-outcome" value={outcome} onChange={(e) => setOutcome(e.currentTarget.value)}>
            <option value="">Any</option>
            <option value="ok">OK</option>
            <option value="denied">Denied</option>
            <option value="failed">Failed</option>
          </select>
        </div>
        <div class="field">
          <label for="au-address">Address</label>
          <input
            id="au-address"
            type="search"
            value={address}
            placeholder="IP, exactly"
            onInput={(e) => setAddress(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="au-since">From</label>
          <input
            id="au-since"
            type="datetime-local"
            value={since}
            onInput={(e) => setSince(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="au-until">To</label>
          <input
            id="au-until"
            type="datetime-local"
            value={until}
            aria-invalid={rangeBad}
            aria-describedby={rangeBad ? 'au-range-error' : undefined}
            onInput={(e) => setUntil(e.currentTarget.value)}
          />
          {rangeBad && (
            <span id="au-range-error" class="field-error" role="alert">
              "To" must be after "From".
            </span>
          )}
        </div>
      </form>
      {paged.error && !paged.loaded ? (
        <ErrorState error={paged.error} what="the audit trail" onRetry={paged.reload} />
      ) : !paged.loaded ? (
        <Loading what="the audit trail" />
      ) : paged.rows.length === 0 && paged.index === 0 ? (
        <EmptyState title="No audit entries match these filters" />
      ) : (
        <>
          {paged.error && <ErrorState error={paged.error} what="the audit trail" onRetry={paged.reload} />}
          <Pager paged={paged} limit={PAGE} what="entries" id="audit-pager" />
          <div class="table-wrap">
            <table class="table audit-table">
              <caption class="sr-only">Audit trail, newest first</caption>
              <colgroup>
                <col class="au-col-when" />
                <col class="au-col-who" />
                <col class="au-col-what" />
                <col class="au-col-outcome" />
                <col />
              </colgroup>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who, from where</th>
                  <th scope="col">What</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {paged.rows.map((e) => (
                  <tr key={e.seq}>
                    <td>
                      <div>{dateOf(e.time)}</div>
                      <div class="small">{timeOf(e.time)}</div>
                    </td>
                    <td class="wrap-anywhere">
                      {e.actorName ?? e.actorId ?? '—'}
                      <div class="muted small">
                        {e.actorKind}
                        {e.address ? ' · ' : ''}
                        {e.address && <span class="mono au-address">{e.address}</span>}
                      </div>
                    </td>
                    <td class="wrap-anywhere">
                      <span class="mono au-action">{e.action}</span>
                      {e.target && <div class="muted small">{e.target}</div>}
                    </td>
                    <td>
                      <Badge tone={OUTCOME_TONE[e.outcome] ?? 'muted'}>{e.outcome}</Badge>
                    </td>
                    <td class="small wrap-anywhere">{detailText(e.detail) || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  );
}
