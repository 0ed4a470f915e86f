import type { Device } from '../../core/devices.js';
import type { ActionResult } from '../../core/driver.js';
import type { Page, PageRequest } from '../../core/paging.js';

/**
 * Broadcasts: one message to many phones, planned per device kind, delivered with bounded concurrency,
 * per-phone serialization and retries, with one delivery record per phone. Pure types; the engine is in
 * engine.ts, storage behind the interfaces at the bottom (SQLite implementation in store/sqlite/broadcast.ts).
 */
export type Priority = 'normal' | 'urgent' | 'emergency';
export const PRIORITIES: readonly Priority[] = ['normal', 'urgent', 'emergency'];

/** Tone names every planner understands (each maps them to what its phones can play). */
export type ToneName = 'none' | 'chime' | 'alert' | 'beep' | 'attention' | 'urgent';

/** What to do with a phone that is busy (on a call) when an alert arrives. */
export type BusyPolicy = 'whisper' | 'suppress' | 'retry';

export interface AudioRequest {
  /**
   * tone: a generated tone; file: a WAV file of the media directory; tts: text to speech; live: RTP the hub
   * receives on `live.port` and relays to the group streams (multicast, hub-streamed groups only).
   */
  source: 'tone' | 'file' | 'tts' | 'live';
  tone?: string;
  file?: string;
  text?: string;
  live?: { port: number; from?: string; maxSeconds?: number; idleSeconds?: number };
  repeat?: number;
  /** multicast: one stream per target group (default for more than one phone); unicast: per phone. */
  mode?: 'multicast' | 'unicast';
}

export interface TargetSpec {
  devices?: string[];
  groups?: string[];
  labels?: string[];
  all?: boolean;
  /** Only these device kinds (e.g. phones only). */
  kinds?: string[];
}

export interface BroadcastInput {
  title: string;
  text: string;
  priority?: Priority;
  tones?: ToneName;
  audio?: AudioRequest;
  /** Ask for an acknowledgement (Acknowledge softkey/link pointing back at the hub). */
  ack?: boolean;
  /** ISO time or seconds from now after which undelivered phones are given up and screens may clear. */
  expiresAt?: string;
  expiresInSeconds?: number;
  targets: TargetSpec;
  /** Busy-phone policy override for this broadcast (default: per priority from config). */
  busyPolicy?: BusyPolicy;
  /** Free-form context (incident id, rule id …), stored with the broadcast. */
  meta?: Record<string, string | number | boolean | null>;
  /** A number the phones offer to call ("Call back" softkey / click-to-dial): digits, `*`, `#`. */
  dial?: string;
  /** A shorter text (and prompt line) for the smallest displays, e.g. a 20-column Cisco 7940. */
  compact?: { text: string; prompt?: string };
}

/** Re-show the alert and repeat its tone every `everyMs` until someone acknowledges (or it expires). */
export interface RepeatOptions {
  everyMs: number;
  /** At most this many repeats (default: until expiry, capped at 1000). */
  maxTimes?: number;
}

/** `recalled`: cancelled (if it was still delivering) and cleared from the phones that showed it. */
export type BroadcastState = 'planning' | 'delivering' | 'done' | 'cancelled' | 'expired' | 'recalled';

export interface Broadcast {
  id: string;
  title: string;
  text: string;
  priority: Priority;
  tones: ToneName;
  audio: AudioRequest | null;
  ack: boolean;
  expiresAt: string | null;
  targets: TargetSpec;
  busyPolicy: BusyPolicy;
  meta: Record<string, string | number | boolean | null>;
  state: BroadcastState;
  createdAt: string;
  createdBy: string;
  finishedAt: string | null;
  /** The final report once delivery has finished. */
  report: BroadcastReport | null;
  /** The number the phones offer to call back (absent on older records). */
  dial?: string | null;
  /** Shorter text and prompt for the smallest displays. */
  compact?: { text: string; prompt?: string } | null;
  /** Repeated until acknowledged, every so many milliseconds (absent = not repeated). */
  repeatEveryMs?: number | null;
  /**
   * The alert is over for every phone (someone acknowledged it): a phone that pulls it again gets the
   * closing page with this text instead of the alert.
   */
  settled?: { by: string; at: string; text: string } | null;
  /** Who cancelled it through the API and when (see control.ts). */
  cancelled?: { by: string; at: string } | null;
  /** Who recalled it, when, and how many phones were cleared (see control.ts). */
  recalled?: { by: string; at: string; phones: number; cleared: number; failed: number } | null;
  /** Retries of its failed phones (`POST /api/broadcasts/:id/retry`), newest last. */
  retries?: Array<{ by: string; at: string; phones: number }>;
  /**
   * Several hubs on one store: the hubs that delivered it, in order, each with its lease token (the first
   * started it; a later one resumed it after the one before died or was cut off). Absent on a lone hub.
   */
  owners?: Array<{ instance: string; token: number; at: string }>;
}

/**
 * `cancelled`: the broadcast was cancelled before this phone was served (never shown); `recalled`: the phone
 * showed it (or may have) and the recall cleared it.
 */
export type DeliveryState =
  | 'queued'
  | 'sent'
  | 'accepted'
  | 'displayed'
  | 'acknowledged'
  | 'failed'
  | 'cancelled'
  | 'recalled';
export const TERMINAL_DELIVERY: ReadonlySet<DeliveryState> = new Set([
  'accepted',
  'displayed',
  'acknowledged',
  'failed',
  'cancelled',
  'recalled',
]);

export interface Delivery {
  id: string;
  broadcastId: string;
  deviceId: string;
  kind: string;
  state: DeliveryState;
  /** Stable failure reason (`unreachable`, `busy_suppressed`, `no_planner`, `CISCO_ERROR_4` …). */
  reason: string | null;
  message: string | null;
  attempts: number;
  /** Whether the phone was busy (refused as busy at least once). */
  busy: boolean;
  /** SHA-256 (hex) of the acknowledgement token; the token itself is only ever in the phone's URL. */
  ackTokenHash: string | null;
  queuedAt: string;
  sentAt: string | null;
  acceptedAt: string | null;
  /** Milliseconds from queued to accepted/displayed (the per-phone latency in reports). */
  latencyMs: number | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  /** Outcomes of the planned steps, in order. */
  steps: Array<{ actionId: string; ok: boolean; outcome: string | null }>;
  /** The recall of this phone: cleared (`ok`) or not, with the phone's answer (absent: not recalled). */
  recall?: { at: string; ok: boolean; outcome: string | null; message: string | null } | null;
  /**
   * Several hubs: the hubs (instance ids) that pushed it to this phone, in order. Two entries: the first
   * owner's push was in flight when it died, and the next owner pushed again (a possible duplicate).
   */
  owners?: string[];
}

export interface BroadcastReport {
  total: number;
  counts: Record<DeliveryState, number>;
  failuresByReason: Record<string, number>;
  /** The slowest phones to accept (up to 10). */
  slowest: Array<{ deviceId: string; latencyMs: number }>;
  /** Milliseconds from the start of delivery to the last phone accepting (null when none did). */
  timeToLastMs: number | null;
  timeToFirstMs: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Multicast audio sessions started (one per group). */
  audioSessions: number;
  /**
   * Several hubs: phones pushed by more than one owner (the push of a hub that died was in flight, and the
   * hub that resumed the broadcast pushed again). At most the deliveries in flight at the death (the
   * concurrency limit). Absent on a lone hub.
   */
  duplicates?: number;
  /** Several hubs: phones that accepted it, by the hub that delivered them. Absent on a lone hub. */
  deliveredBy?: Record<string, number>;
  startedAt: string;
  finishedAt: string;
}

// ---------------------------------------------------------------- planning contract

/** The alert as a planner sees it (already rendered, no template syntax left). */
export interface PlannedAlert {
  broadcastId: string;
  title: string;
  text: string;
  priority: Priority;
  tones: ToneName;
  /** Absolute URL of this phone's Acknowledge link (null when no acknowledgement is requested). */
  ackUrl: string | null;
  /** Audio for this phone: a multicast session to join, or a unicast request. */
  audio:
    | { kind: 'multicast'; address: string; port: number; request: AudioRequest }
    | { kind: 'unicast'; request: AudioRequest }
    | null;
  expiresAt: string | null;
  /** True when the phone is known (or was just found) to be busy and the policy is `whisper`. */
  whisper: boolean;
  /**
   * Absolute URL that shows this phone's alert again while it is open (and the closing page once it is
   * acknowledged): the target of an Exit key and of repeats. Null/absent when the alert is not repeated.
   */
  showUrl?: string | null;
  /** Number to offer for calling back (a "Call back" softkey), when the broadcast has one. */
  dial?: string | null;
  /** 0 for the first delivery, n for the n-th repeat. */
  repeat?: number;
  /** Shorter text and prompt line for the smallest displays, when the broadcast has them. */
  compact?: { text: string; prompt?: string } | null;
}

export interface PlannedStep {
  actionId: string;
  params: Record<string, unknown>;
  /** display: puts the message on the screen (its success is what "accepted" means); others are extras. */
  role: 'display' | 'tone' | 'audio' | 'other';
  /** A failure of an optional step is recorded but does not fail the delivery. */
  optional?: boolean;
}

/** A per-kind alert planner: pure functions from (alert, device) to device actions. */
export interface AlertPlanner {
  kind: string;
  plan(alert: PlannedAlert, device: Device): PlannedStep[];
  /** Does this result mean "the phone is busy" (on a call, not in push state)? */
  isBusy?(result: ActionResult): boolean;
  /** Does an accepted display step mean the text is on the screen already (vs. fetched later)? */
  displaysOnAccept?: boolean;
  /**
   * The page a phone gets back when its Acknowledge link is followed; `close: true` when the alert is over
   * for this phone (its one key then leaves the alert instead of going back to it).
   */
  ackPage?(text: string, o?: { close?: boolean }): { contentType: string; body: string };
  /** What a repeat sends while the alert is unacknowledged (re-show and tone, as the model allows). */
  planRepeat?(alert: PlannedAlert, device: Device): PlannedStep[];
  /** The alert as a page the phone pulls from `showUrl` (Exit key, repeat), in the phone's format. */
  alertPage?(alert: PlannedAlert, device: Device | undefined): { contentType: string; body: string };
  /**
   * What clears this alert from a phone that shows it (a recall): `shown` are the steps its delivery ran
   * (the display step tells which screen the alert is on). Kinds without it cannot be recalled.
   */
  planClear?(alert: PlannedAlert, device: Device, shown: Delivery['steps']): PlannedStep[];
  /** Can this kind join a multicast RTP session (so audio goes once per group)? */
  multicastAudio?: boolean;
  /** The driver streams a multicast session itself (once per address:port): the hub must not stream too. */
  streamsOwnMulticast?: boolean;
}

/**
 * The one multicast audio stream of a group; the media module provides it. `start` answers at once (it may
 * load or synthesise the audio meanwhile) and sends `leadMs` after `ready` resolves (when the group's phones
 * were told to join; at once without it). Problems found after `start` answered are the streamer's to log.
 */
export interface MulticastAudio {
  start(
    req: AudioRequest,
    session: { address: string; port: number; leadMs: number; ready?: Promise<void> },
  ): Promise<{ stop(): void }>;
}

// ---------------------------------------------------------------- templates

export interface Template {
  id: string;
  name: string;
  title: string;
  text: string;
  priority: Priority;
  tones: ToneName;
  ack: boolean;
  expiresInSeconds: number | null;
  description: string;
  createdAt: string;
  updatedAt: string;
}

// ---------------------------------------------------------------- stores

/** A phone a broadcast targets, as stored with the broadcast (what a restart needs to resume it). */
export interface BroadcastTarget {
  deviceId: string;
  kind: string;
}

/**
 * A fencing check for the writes of a broadcast delivered under a lease (several hubs): the write happens
 * only while `holder` holds `lease` with `token` (the lease row is locked meanwhile, so a takeover orders
 * before or after it); otherwise it fails with LEASE_LOST (409) and changes nothing.
 */
export interface WriteFence {
  lease: string;
  holder: string;
  token: number;
}

/** The lease a running broadcast is delivered under (several hubs). */
export const broadcastLeaseName = (id: string): string => `broadcast:${id}`;

export interface BroadcastStore {
  /**
   * Stores a new broadcast with the phones it targets, in one transaction, before the first phone is
   * contacted. Delivery records are written later, with their outcomes (see BroadcastEngine.flush).
   */
  insertBroadcast(b: Broadcast, targets?: readonly BroadcastTarget[]): Promise<void>;
  /** The targets stored with the broadcast (empty when it was stored without them). */
  listTargets(broadcastId: string): Promise<BroadcastTarget[]>;
  updateBroadcast(b: Broadcast, fence?: WriteFence): Promise<void>;
  /**
   * Broadcasts still `delivering` whose lease (`broadcast:<id>`, broadcastLeaseName) is missing or has run
   * out for at least `graceMs` on the store's clock: their hub died or was cut off. Oldest first.
   */
  listUnowned(q: { graceMs: number; limit: number }): Promise<Array<{ id: string; priority: Priority }>>;
  getBroadcast(id: string): Promise<Broadcast | undefined>;
  listBroadcasts(q: { limit: number; before?: string; state?: BroadcastState }): Promise<Broadcast[]>;
  /** A keyset page by time; `q` searches title, text, sender and id. */
  pageBroadcasts(
    req: PageRequest,
    f: { before?: string | undefined; state?: BroadcastState | undefined },
  ): Promise<Page<Broadcast>>;
  /** Inserts or updates many deliveries in one transaction (refused as a whole when fenced out). */
  saveDeliveries(ds: Delivery[], fence?: WriteFence): Promise<void>;
  listDeliveries(broadcastId: string): Promise<Delivery[]>;
  /** How many deliveries of the broadcast are in each state (states with none may be absent). */
  countDeliveries(broadcastId: string): Promise<Partial<Record<DeliveryState, number>>>;
  getDelivery(id: string): Promise<Delivery | undefined>;
}

export interface TemplateStore {
  list(): Promise<Template[]>;
  get(id: string): Promise<Template | undefined>;
  upsert(t: Template): Promise<void>;
  remove(id: string): Promise<boolean>;
}

declare module '../../core/module.js' {
  interface StorePorts {
    broadcasts: BroadcastStore;
    templates: TemplateStore;
  }
}
