import type { Location } from '../devices.js';

/** A row of the location table: where an extension is (Kari's Law dispatchable location). */
export interface LocationEntry extends Location {
  extension: string;
  /** User name shown when the PBX event has none. */
  name?: string;
  /** Callback number when it differs from the caller's CLI (e.g. a DID). */
  callback?: string;
  /** IANA time zone of the extension's site (`America/Chicago`); overrides `emergency.timeZone`. */
  timeZone?: string;
  updatedAt: string;
}

export interface LocationStore {
  get(extension: string): LocationEntry | undefined;
  list(): LocationEntry[];
  /** Inserts or replaces many rows in one transaction. */
  upsertMany(rows: LocationEntry[]): void;
  remove(extension: string): boolean;
}

export type IncidentState = 'notifying' | 'acknowledged' | 'unacknowledged';

export interface IncidentEvent {
  at: string;
  type: string;
  detail: Record<string, unknown>;
}

export interface Incident {
  id: string;
  createdAt: string;
  /** Milliseconds from the emergency event's time to this incident's creation. */
  detectLagMs: number;
  callKey: string | null;
  test: boolean;
  /** A drill (the console's drill button): alerts say DRILL in their first line. */
  drill?: boolean;
  /** IANA zone the alert's local times are shown in ('' = the hub's zone); the stored times stay UTC. */
  timeZone?: string;
  pbx: string;
  caller: {
    extension: string;
    name: string;
    /** External number to call back (see alert-text.ts resolveCallback); the extension when none is known. */
    callbackNumber: string;
    /** Where callbackNumber came from: location table, PBX CLI, the site's number, or only the extension. */
    callbackSource?: 'table' | 'pbx' | 'site' | 'extension';
    dialled: string;
    detectedBy: string;
  };
  location: Location & { from: 'table' | 'device' | 'pbx' | 'none' };
  state: IncidentState;
  broadcasts: string[];
  notifiedGroups: string[];
  escalations: number;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  callEndedAt: string | null;
  timeline: IncidentEvent[];
}

export interface IncidentStore {
  insert(i: Incident): void;
  update(i: Incident): void;
  get(id: string): Incident | undefined;
  byCallKey(callKey: string): Incident | undefined;
  list(q: { limit: number; before?: string }): Incident[];
}

/** Which moment of an incident a notification mail is about. */
export type IncidentMailKind = 'opened' | 'escalated' | 'acknowledged';

/**
 * Sends incident mails (the email relay). The implementation lives outside the core (SMTP adapter); it
 * retries on its own and resolves once the relay accepted the mail, or rejects with the reason.
 */
export interface IncidentMailer {
  send(kind: IncidentMailKind, incident: Incident): Promise<{ messageId: string; attempts: number }>;
}
