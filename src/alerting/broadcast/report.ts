import type { BroadcastReport, Delivery, DeliveryState } from './types.js';

/** p-th percentile (0..100), nearest-rank. */
export function percentileOf(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function emptyCounts(): Record<DeliveryState, number> {
  return {
    queued: 0,
    sent: 0,
    accepted: 0,
    displayed: 0,
    acknowledged: 0,
    failed: 0,
    cancelled: 0,
    recalled: 0,
  };
}

/** Full counts (every state, 0 where none) from a store's partial ones. */
export function fullCounts(partial: Partial<Record<DeliveryState, number>>): Record<DeliveryState, number> {
  return { ...emptyCounts(), ...partial };
}

export function countStates(ds: Iterable<Delivery>): Record<DeliveryState, number> {
  const c = emptyCounts();
  for (const d of ds) c[d.state]++;
  return c;
}

/** The final report of a broadcast: counts, failures by reason, slowest phones, time to last delivery. */
export function buildReport(
  ds: Delivery[],
  startedAtMs: number,
  finishedAtMs: number,
  audioSessions: number,
): BroadcastReport {
  const failuresByReason: Record<string, number> = {};
  const lat: Array<{ deviceId: string; latencyMs: number }> = [];
  for (const d of ds) {
    if (d.state === 'failed') {
      const r = d.reason ?? 'unknown';
      failuresByReason[r] = (failuresByReason[r] ?? 0) + 1;
    }
    if (d.latencyMs !== null) lat.push({ deviceId: d.deviceId, latencyMs: d.latencyMs });
  }
  lat.sort((a, b) => a.latencyMs - b.latencyMs);
  const owned = ownersReport(ds);
  const sorted = lat.map((x) => x.latencyMs);
  return {
    total: ds.length,
    counts: countStates(ds),
    failuresByReason,
    slowest: lat.slice(-10).reverse(),
    timeToLastMs: sorted.length ? sorted[sorted.length - 1]! : null,
    timeToFirstMs: sorted.length ? sorted[0]! : null,
    p50Ms: percentileOf(sorted, 50),
    p99Ms: percentileOf(sorted, 99),
    audioSessions,
    ...owned,
    startedAt: new Date(startedAtMs).toISOString(),
    finishedAt: new Date(finishedAtMs).toISOString(),
  };
}

const SHOWN: ReadonlySet<DeliveryState> = new Set(['accepted', 'displayed', 'acknowledged']);

/**
 * Several hubs (deliveries carry `owners`): phones pushed by more than one hub (counted duplicates), and
 * the phones that have it by the hub that delivered them. Nothing on a lone hub.
 */
function ownersReport(ds: Delivery[]): Pick<BroadcastReport, 'duplicates' | 'deliveredBy'> {
  if (!ds.some((d) => d.owners !== undefined)) return {};
  let duplicates = 0;
  const deliveredBy: Record<string, number> = {};
  for (const d of ds) {
    if ((d.owners?.length ?? 0) > 1) duplicates++;
    const by = d.owners?.at(-1);
    if (by !== undefined && SHOWN.has(d.state)) deliveredBy[by] = (deliveredBy[by] ?? 0) + 1;
  }
  return { duplicates, deliveredBy };
}
