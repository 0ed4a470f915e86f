import { decodeMessage } from '../pubsub/protocol.js';
import type { AccountRecord, SessionRecord, StoredMessage } from '../pubsub/store.js';

/** Rows of the PubSub tables, the same columns in every SQL backend (SQLite, PostgreSQL), and their records. */
export interface AccountRow {
  sid: string;
  name: string;
  token_hash: string;
  token_salt: string;
  created_at: number;
  rotated_at: number | null;
}
export interface MessageRow {
  id: string;
  account_sid: string;
  queue: string;
  payload: string;
  bytes: number;
  created_at: number;
  expires_at: number;
}
export interface SessionRow {
  token_hash: string;
  account_sid: string;
  created_at: number;
  expires_at: number;
}
export interface StatsRow {
  account_sid: string;
  queue: string;
  depth: number;
  leased: number;
  oldest: number | null;
}

export const toAccount = (r: AccountRow): AccountRecord => ({
  sid: r.sid,
  name: r.name,
  tokenHash: r.token_hash,
  tokenSalt: r.token_salt,
  createdAt: r.created_at,
  rotatedAt: r.rotated_at,
});
export const toMessage = (r: MessageRow): StoredMessage => ({
  id: r.id,
  accountSid: r.account_sid,
  queue: r.queue,
  message: decodeMessage(r.payload),
  bytes: r.bytes,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});
export const toSession = (r: SessionRow): SessionRecord => ({
  tokenHash: r.token_hash,
  accountSid: r.account_sid,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});
export const toStats = (r: StatsRow) => ({
  accountSid: r.account_sid,
  queue: r.queue,
  depth: r.depth,
  leased: r.leased,
  oldestCreatedAt: r.oldest,
});
