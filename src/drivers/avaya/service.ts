import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { type Clock, systemClock } from '../../core/clock.js';
import type { DeviceRegistry } from '../../core/devices.js';
import { LimitError, ValidationError } from '../../core/errors.js';
import type { EventEmitter } from '../../core/events.js';
import { MAX_AUDIO_SECONDS } from '../../media/audio.js';
import { encodeG711 } from '../../media/g711.js';
import { namedTone, TONE_NAMES, type ToneName } from '../../media/tone.js';
import { getTtsEngine } from '../../media/tts.js';
import { MAX_WAV_BYTES, wavTo8k } from '../../media/wav.js';
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
}

export type AudioSource =
  | { source: 'tone'; tone: ToneName; repeat?: number }
  | { source: 'file'; file: string }
  | { source: 'tts'; text: string; voice?: string };

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
  private sweeper: NodeJS.Timeout | undefined;

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

  putContent(
    kind: ContentKind,
    contentType: string,
    body: string,
    extra: { audio?: AudioSpec; audioData?: Uint8Array; deviceId?: string } = {},
  ): ContentItem {
    const now = this.clock.now();
    return this.store.put({
      kind,
      contentType,
      body,
      ...extra,
      createdAt: now,
      expiresAt: now + this.config.contentTtlS * 1000,
    });
  }

  /** Starts the periodic sweep of expired content. */
  startSweeper(everyMs = 60_000): void {
    this.sweeper = setInterval(() => this.store.sweep(this.clock.now()), everyMs);
    this.sweeper.unref();
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.audio.close();
    this.o.store.flush?.();
  }

  mediaDir(): string {
    return this.config.mediaDir || join(this.o.dataDir ?? '.', 'media');
  }

  /** 8 kHz PCM from a tone, a WAV in the media directory, or text-to-speech. */
  async loadAudio(src: AudioSource, signal?: AbortSignal): Promise<Int16Array> {
    let pcm: Int16Array;
    if (src.source === 'tone') {
      if (!TONE_NAMES.includes(src.tone))
        throw new ValidationError('AVAYA_BAD_TONE', `tone must be one of ${TONE_NAMES.join(', ')}`, {
          field: 'params.tone',
        });
      pcm = namedTone(src.tone, src.repeat ?? 1);
    } else if (src.source === 'file') {
      const dir = resolve(this.mediaDir());
      const path = resolve(dir, src.file);
      const rel = relative(dir, path);
      if (rel.startsWith('..') || isAbsolute(rel) || rel === '') {
        throw new ValidationError('AVAYA_BAD_MEDIA_FILE', 'file must name a WAV inside the media directory', {
          field: 'params.file',
        });
      }
      const st = await stat(path).catch(() => undefined);
      if (!st?.isFile())
        throw new ValidationError('AVAYA_MEDIA_NOT_FOUND', `no media file ${JSON.stringify(src.file)}`, {
          field: 'params.file',
          status: 404,
        });
      if (st.size > MAX_WAV_BYTES)
        throw new ValidationError('AVAYA_MEDIA_TOO_LARGE', `media file larger than ${MAX_WAV_BYTES} bytes`, {
          field: 'params.file',
        });
      pcm = wavTo8k(await readFile(path));
    } else {
      pcm = await getTtsEngine().synthesize(src.text, {
        ...(src.voice ? { voice: src.voice } : {}),
        ...(signal ? { signal } : {}),
      });
    }
    if (pcm.length > MAX_AUDIO_SECONDS * 8000) {
      throw new ValidationError('AVAYA_AUDIO_TOO_LONG', `audio longer than ${MAX_AUDIO_SECONDS} s`, {
        field: 'params.source',
      });
    }
    return pcm;
  }

  encode(pcm: Int16Array, codec: 'PCMU' | 'PCMA'): Uint8Array {
    return encodeG711(pcm, codec);
  }

  /**
   * Discovery: upserts the subscribing phone as an `avaya` device (id `avaya-<mac>`), keeps admin-set
   * name, groups and location, and emits `phone.subscribed`.
   */
  onSubscription(info: SubscriptionInfo, remoteIp: string): { deviceId: string; created: boolean } {
    const id = `avaya-${info.mac}`;
    const ip = info.ip || remoteIp;
    const port = info.pushPort ?? this.config.pushPort;
    const address = port === 80 ? ip : `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
    let created = false;
    if (this.o.devices) {
      const cur = this.o.devices.get(id);
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
      const r = this.o.devices.upsert({
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
    return { deviceId: id, created };
  }
}
