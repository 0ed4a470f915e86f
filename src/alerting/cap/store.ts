import type { CapMsgType, CapStatus } from './types.js';

/**
 * What the hub keeps of each CAP message it received (dedupe by `sender|identifier`, the broadcasts it
 * caused, what became of it). Async store port; SQLite in src/store/sqlite/alerting.ts.
 */
export interface CapRecord {
  /** `sender|identifier` (capKey). */
  key: string;
  sender: string;
  identifier: string;
  sent: string;
  msgType: CapMsgType;
  status: CapStatus;
  /** `feed:<name>` or `api`. */
  origin: string;
  receivedAt: string;
  /** Latest expiry of its info blocks (ISO), or null (none). */
  expiresAt: string | null;
  /** The `cap.alert` event it was emitted as (null: not emitted). */
  eventId: string | null;
  /** Broadcasts rules started for it (recalled by its Update or Cancel). */
  broadcasts: string[];
  /** `active`; `superseded` by an Update; `cancelled`; `expired` on arrival; `ignored` (status/scope filter). */
  state: 'active' | 'superseded' | 'cancelled' | 'expired' | 'ignored';
  /** `sender|identifier` of the messages it references. */
  references: string[];
  event: string;
  severity: string;
  inArea: boolean;
}

export interface CapAlertStore {
  get(key: string): Promise<CapRecord | undefined>;
  /** Inserts a new record; false (and nothing written) when the key is already there. */
  insert(r: CapRecord): Promise<boolean>;
  update(r: CapRecord): Promise<void>;
  byEventId(eventId: string): Promise<CapRecord | undefined>;
  /** Newest first. */
  list(q: { limit: number }): Promise<CapRecord[]>;
  /** Keeps the newest `keep` records. */
  prune(keep: number): Promise<void>;
}

declare module '../../core/module.js' {
  interface StorePorts {
    capAlerts: CapAlertStore;
  }
}
