import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';

interface DemoInfo {
  demo: boolean;
  drill: { available: boolean; via: string };
}

/**
 * The emergency drill button: only in demo mode (`switchboard demo` registers /api/demo). It places a
 * simulated 911 call, which flows through the hub like a real one (marked as a drill). It asks for
 * confirmation first, and pages place it after their other controls (never the first Tab stop).
 */
export function DrillButton() {
  const [info, setInfo] = useState<DemoInfo | null>(null);
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [confirming, setConfirming] = useState(false);
  useEffect(() => {
    const c = new AbortController();
    api<DemoInfo>('/api/demo', { signal: c.signal })
      .then(setInfo)
      .catch(() => setInfo(null));
    return () => c.abort();
  }, []);
  if (!info?.drill.available) return null;
  const run = async () => {
    setConfirming(false);
    setBusy(true);
    setMsg(null);
    try {
      const r = await api<{ message: string }>('/api/demo/drill', { method: 'POST', body: {} });
      setMsg({ ok: true, text: r.message });
    } catch (e) {
      setMsg({ ok: false, text: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="drill">
      {confirming ? (
        <fieldset class="drill-confirm">
          <legend>Place a drill 911 call?</legend>
          <p class="small">
            The security phones are alerted and the alarm sounds here, marked DRILL. It is left out of the
            real-emergency record.
          </p>
          <button type="button" class="btn btn-danger" onClick={run} ref={(b) => b?.focus()}>
            Place drill call
          </button>{' '}
          <button type="button" class="btn" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </fieldset>
      ) : (
        <button
          type="button"
          class="btn btn-drill"
          onClick={() => setConfirming(true)}
          disabled={busy}
          aria-describedby="drill-note"
        >
          {busy ? 'Placing drill call…' : 'Emergency drill…'}
        </button>
      )}
      <span id="drill-note" class={`small ${msg && !msg.ok ? 'form-error' : 'muted'}`} role="status">
        {msg ? msg.text : 'Demo only: places a simulated 911 call, marked as a drill.'}
      </span>
    </div>
  );
}
