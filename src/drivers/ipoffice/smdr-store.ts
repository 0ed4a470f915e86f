/**
 * Store port for SMDR call history (async, no backend types; the SQLite implementation is in
 * src/store/sqlite/smdr.ts). A record is kept as the line IP Office wrote; readers parse it again with the
 * pure codec, so the stored form never drifts from the wire form.
 */
export interface StoredSmdrRow {
  id: string;
  deviceId: string;
  /** When the hub received the record (ISO-8601 UTC). */
  receivedAt: string;
  /** Call Start converted to UTC with the device's SMDR time zone (ISO-8601), or null if unknown. */
  callStart: string | null;
  callId: string;
  continuation: boolean;
  line: string;
  emergency: boolean;
  /** The DevLink3 call this record was reconciled with (`<node>:<callId>`), or null. */
  devlinkCallKey: string | null;
}

export interface SmdrListQuery {
  deviceId: string;
  /** Call Start at or after (ISO-8601). */
  from?: string;
  /** Call Start before (ISO-8601). */
  to?: string;
  callId?: string;
  limit: number;
}

export interface SmdrStore {
  /** Stores a record; false when the same line of the same device is already stored (a resend). */
  insert(row: StoredSmdrRow): Promise<boolean>;
  /** Records by Call Start, oldest first. */
  list(q: SmdrListQuery): Promise<StoredSmdrRow[]>;
  /** Records not yet reconciled with a DevLink3 call whose Call Start is in [from, to]. */
  unreconciled(deviceId: string, from: string, to: string): Promise<StoredSmdrRow[]>;
  setDevlinkCallKey(id: string, callKey: string): Promise<void>;
}

declare module '../../core/module.js' {
  interface StorePorts {
    smdr: SmdrStore;
  }
}
