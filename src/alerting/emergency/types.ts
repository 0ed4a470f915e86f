import type { Location } from '../../core/devices.js';
import type { Page, PageRequest } from '../../core/paging.js';
import type { IncidentCallClaims } from './call-claim.js';

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
  get(extension: string): Promise<LocationEntry | undefined>;
  list(): Promise<LocationEntry[]>;
  /** Inserts or replaces many rows in one transaction. */
  upsertMany(rows: LocationEntry[]): Promise<void>;
  remove(extension: string): Promise<boolean>;
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
  /**
   * A drill (the console's demo drill button, or call events flagged `drill: true`): not a real emergency,
   * left out of the compliance record with `GET /api/incidents?drills=exclude`; alerts say DRILL in their
   * first line. Absent on older records.
   */
  drill?: boolean;
  /** IANA zone the alert's local times are shown in; the stored times stay UTC. Absent on older records. */
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
  /** The note the first acknowledger left (console or API), if any. Absent on older records. */
  acknowledgedNote?: string | null;
  callEndedAt: string | null;
  /**
   * Opened from a late source (a 911 call seen only in the SMDR call record, after the call): the phones were
   * alerted late. Absent on incidents stored before this field existed.
   */
  late?: boolean;
  timeline: IncidentEvent[];
}

export interface IncidentStore extends IncidentCallClaims {
  insert(i: Incident): Promise<void>;
  update(i: Incident): Promise<void>;
  get(id: string): Promise<Incident | undefined>;
  byCallKey(callKey: string): Promise<Incident | undefined>;
  /** Incidents not acknowledged, created at or after `since` (ISO), oldest first (bounded by `limit`). */
  listOpen(q: { since: string; limit: number }): Promise<Incident[]>;
  list(q: IncidentQuery): Promise<Incident[]>;
  /** A keyset page by time with the incident log's filters; `q` searches caller, location and id. */
  page(req: PageRequest, f: Omit<IncidentQuery, 'limit'>): Promise<Page<Incident>>;
}

/** Which incidents a listing returns (newest first). */
export interface IncidentQuery {
  limit: number;
  /** Only incidents created before this ISO time (paging). */
  before?: string;
  /**
   * Drills and test calls (933): `include` (default), `exclude` (the compliance record: real emergencies
   * only) or `only`.
   */
  drills?: 'include' | 'exclude' | 'only';
  /** Only incidents nobody has acknowledged yet (the console's alarm). */
  open?: boolean;
}

/** Which moment of an incident a notification mail is about. */
export type IncidentMailKind = 'opened' | 'escalated' | 'acknowledged' | 'unnotified';

/** A notice about the 911 notification itself (not about an incident). */
export interface EmergencyNotice {
  kind: 'degraded' | 'recovered';
  subject: string;
  text: string;
}

/**
 * Sends incident mails (the email relay). The implementation lives outside the core (SMTP adapter); it
 * retries on its own and resolves once the relay accepted the mail, or rejects with the reason.
 */
export interface IncidentMailer {
  send(kind: IncidentMailKind, incident: Incident): Promise<{ messageId: string; attempts: number }>;
  /** Degraded/recovered notices (optional: mailers without it send none). */
  notice?(n: EmergencyNotice): Promise<{ messageId: string; attempts: number }>;
}

declare module '../../core/module.js' {
  interface StorePorts {
    locations: LocationStore;
    incidents: IncidentStore;
  }
}
