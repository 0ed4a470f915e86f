import type { Incident } from './types.js';

/**
 * Incident exactly-once (docs/high-availability.md "Incident exactly-once"): the incident of a live call is
 * created once whichever hub (or how many) sees the emergency event. The key is the one the emergency
 * service uses for "the same call" (service.ts sameCall): the PBX the event came from (`incident.pbx`, stored
 * as `source_device`) and the call key (`<node>:<callId>`), while the call is live. The store enforces it
 * with a unique index over the live incidents, so no "check then insert" can race.
 *
 * A live claim ends when the incident is updated with `callEndedAt` set, or when a new incident of the same
 * key finds it stale: older than `staleBefore` (the service's maxCallSeconds: IP Office reuses CallIDs after a
 * restart, and an end that was never seen must not block the next real call), or from another caller
 * extension (a reused CallID). A stale claim is released, never the incident: its body is not touched.
 */
export interface CallClaimOptions {
  /** ISO time: a live incident of the same key created before this is stale (the call cannot last that long). */
  staleBefore: string;
}

export interface CallClaim {
  /** True when this call created the incident (this hub owns its notification). */
  created: boolean;
  /** The incident of the call: the one given (created), or the one another hub created first. */
  incident: Incident;
}

export interface IncidentCallClaims {
  /**
   * Stores `incident` unless a live incident of the same (pbx, callKey) exists (answered instead). An
   * incident without a call key, or of a call that has already ended (a late source), is simply stored.
   */
  claimCall(incident: Incident, o: CallClaimOptions): Promise<CallClaim>;
}
