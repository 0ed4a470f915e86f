import { join } from 'node:path';
import { type Clock, systemClock } from '../../core/clock.js';
import type { DeviceRegistry } from '../../core/devices.js';
import { LimitError } from '../../core/errors.js';
import type { EventEmitter } from '../../core/events.js';
import { encodeG711 } from '../../media/g711.js';
import { type AudioSource, loadAudioSource } from '../../media/source.js';
import { AvayaAudioService } from './audio-service.js';
import { AVAYA_CONFIG_DEFAULTS, type AvayaConfig } from './config.js';
import type { AudioSpec, ContentItem, ContentKind, ContentStore } from './content-store.js';
import { PushInitiator } from './initiator.js';
import type { SubscriptionInfo } from './subscription.js';

/**
 * The Avaya module's shared state: content store, audio streaming, the push initiator, discovery. One
 * instance per hub (or per standalone CLI push server); drivers and routes both use it.
 */
export interface AvayaServiceOptions {
  store: ContentStore;
  config?: Partial<AvayaConfig>;
  /** Base URL phones use to reach the trusted push server (the hub's publicUrl). */
  publicUrl: () => string;
  dataDir?: string;
  clock?: Clock;
  bus?: EventEmitter;
  devices?: DeviceRegistry;
  /** Groups whose phones' moves are flagged (the 911 notify groups). */
  securityGroups?: string[];
}

export type { AudioSource };

/**
 * A phone refuses a second Subscribe push within a minute of the last one (503, 4600 API guide p.65), so the
 * hub sends at most one per phone per minute (research note §9).
 */
export const SUBSCRIBE_PUSH_INTERVAL_MS = 60_000;

export class AvayaService {
  readonly config: AvayaConfig;
  readonly store: ContentStore;
  readonly audio: AvayaAudioService;
  readonly initiator: PushInitiator;
  readonly clock: Clock;
  /** Where the service's events go (the hub's bus; none in the standalone CLI server). */
  readonly bus: EventEmitter | undefined;
  /** Device id → ISO time of the last subscription. */
  readonly subscribedAt = new Map<string, string>();
  private readonly o: AvayaServiceOptions;
  /** Phone (host:port) → clock time of the last Subscribe push that reached it. */
  private readonly subscribePushes = new Map<string, number>();

  constructor(o: AvayaServiceOptions) {
    this.o = o;
    this.bus = o.bus;
    this.config = { ...AVAYA_CONFIG_DEFAULTS, ...(o.config ?? {}) };
    this.store = o.store;
    this.clock = o.clock ?? systemClock;
    this.initiator = new PushInitiator({ timeoutMs: this.config.pushTimeoutMs });
    this.audio = new AvayaAudioService({
      ...(this.config.multicastInterface ? { multicastInterface: this.config.multicastInterface } : {}),
      multicastTtl: this.config.multicastTtl,
      onStreamEnd: (r) =>
        o.bus?.emit({
          source: 'avaya',
          type: 'avaya.audio.streamed',
          data: {
            kind: r.kind,
            host: r.host,
            port: r.port,
            sent: r.sent,
            packets: r.packets,
            aborted: r.aborted,
            jitterMs: r.jitterMs,
            latenessP50Ms: r.lateness.p50Ms,
            latenessP99Ms: r.lateness.p99Ms,
            latenessMaxMs: r.lateness.maxMs,
          },
        }),
      onTransmitEnd: (r) => o.bus?.emit({ source: 'avaya', type: 'avaya.audio.transmitted', data: { ...r } }),
    });
  }

  get publicUrl(): string {
    return this.o.publicUrl().replace(/\/+$/, '');
  }
  contentUrl(id: string): string {
    return `${this.publicUrl}/avaya/content/${id}`;
  }
  subscriptionUrl(): string {
    return `${this.publicUrl}/avaya/subscribe`;
  }
  /** Host part of the public URL (where the hub receives transmitted audio). */
  publicHost(): string {
    return new URL(this.publicUrl).hostname.replace(/^\[|\]$/g, '');
  }

  async putContent(
    kind: ContentKind,
    contentType: string,
    body: string,
    extra: { audio?: AudioSpec; audioData?: Uint8Array; deviceId?: string } = {},
  ): Promise<ContentItem> {
    const now = this.clock.now();
    return await this.store.put({
      kind,
      contentType,
      body,
      ...extra,
      createdAt: now,
      expiresAt: now + this.config.contentTtlS * 1000,
    });
  }

  /** Milliseconds until a Subscribe push may go to `phone` again (0: now). */
  subscribePushWaitMs(phone: string): number {
    const last = this.subscribePushes.get(phone);
    if (last === undefined) return 0;
    const wait = last + SUBSCRIBE_PUSH_INTERVAL_MS - this.clock.now();
    if (wait <= 0) this.subscribePushes.delete(phone);
    return Math.max(0, wait);
  }

  /** Records that a Subscribe push reached `phone` (it starts the phone's one-minute window). */
  noteSubscribePush(phone: string): void {
    this.subscribePushes.set(phone, this.clock.now());
  }

  async close(): Promise<void> {
    this.audio.close();
    await this.o.store.flush?.();
  }

  mediaDir(): string {
    return this.config.mediaDir || join(this.o.dataDir ?? '.', 'media');
  }

  /** 8 kHz PCM from a tone, a WAV in the media directory, or text-to-speech. */
  loadAudio(src: AudioSource, signal?: AbortSignal): Promise<Int16Array> {
    return loadAudioSource(src, {
      mediaDir: this.mediaDir(),
      ...(signal ? { signal } : {}),
      codePrefix: 'AVAYA',
      field: { tone: 'params.tone', file: 'params.file', source: 'params.source' },
    });
  }

  encode(pcm: Int16Array, codec: 'PCMU' | 'PCMA'): Uint8Array {
    return encodeG711(pcm, codec);
  }

  /**
   * Discovery: upserts the subscribing phone as an `avaya` device (id `avaya-<mac>`), keeps admin-set
   * name, groups and location, and emits `phone.subscribed`.
   */
  async onSubscription(
    info: SubscriptionInfo,
    remoteIp: string,
  ): Promise<{
    deviceId: string;
    created: boolean;
    /** Set when an existing phone changed its address or extension (`phone.moved` was emitted). */
    moved?: { from: string; to: string; securityGroup: boolean };
  }> {
    const id = `avaya-${info.mac}`;
    const ip = info.ip || remoteIp;
    const port = info.pushPort ?? this.config.pushPort;
    const address = port === 80 ? ip : `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
    let created = false;
    let moved: { from: string; to: string; securityGroup: boolean } | undefined;
    if (this.o.devices) {
      const cur = this.o.devices.get(id);
      if (cur && (cur.address !== address || (cur.settings.extension ?? '') !== info.extension)) {
        const securityGroup = cur.groups.some((g) => (this.o.securityGroups ?? []).includes(g));
        moved = {
          from: `${cur.address} x${String(cur.settings.extension ?? '')}`,
          to: `${address} x${info.extension}`,
          securityGroup,
        };
        this.o.bus?.emit({
          source: id,
          type: 'phone.moved',
          data: { deviceId: id, mac: info.mac, ...moved, groups: cur.groups },
        });
      }
      if (!cur && this.o.devices.list({ kind: 'avaya' }).length >= this.config.maxDiscoveredPhones) {
        throw new LimitError(
          'AVAYA_TOO_MANY_PHONES',
          `already ${this.config.maxDiscoveredPhones} avaya devices (avaya.maxDiscoveredPhones)`,
          { status: 429 },
        );
      }
      const settings = {
        model: info.model,
        extension: info.extension,
        mac: info.mac,
        setId: info.setId,
        ...(info.pushPort ? { pushPort: info.pushPort } : {}),
      };
      const r = await this.o.devices.upsert({
        id,
        kind: 'avaya',
        address,
        ...(cur
          ? {}
          : { name: info.extension ? `Avaya ${info.model} x${info.extension}` : `Avaya ${info.model}` }),
        settings,
      });
      created = r.created;
    }
    const at = new Date(this.clock.now()).toISOString();
    this.subscribedAt.set(id, at);
    this.o.bus?.emit({
      source: id,
      type: 'phone.subscribed',
      data: {
        deviceId: id,
        mac: info.mac,
        extension: info.extension,
        ip,
        model: info.model,
        setId: info.setId,
        address,
        created,
        at,
      },
    });
    return { deviceId: id, created, ...(moved ? { moved } : {}) };
  }
}
