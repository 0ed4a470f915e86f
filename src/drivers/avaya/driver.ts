import { fileURLToPath } from 'node:url';
import { Type } from 'typebox';
import type { Device } from '../../core/devices.js';
import type {
  ActionResult,
  DeviceSession,
  Driver,
  DriverContext,
  ExecuteOptions,
} from '../../core/driver.js';
import {
  errorMessage,
  isSwitchboardError,
  NotFoundError,
  SwitchboardError,
  ValidationError,
} from '../../core/errors.js';
import { type ControlSpec, findAction, loadSpecFile, validateParams } from '../../core/spec.js';
import type { ToneName } from '../../media/tone.js';
import { PACKAGE_ROOT } from '../../version.js';
import { avayaAlertPlanner } from './alert.js';
import {
  type AudioPacketSize,
  buildAudioStopContent,
  buildDisplayDeck,
  buildPhonexmlContent,
  buildSubscribeContent,
  buildToplineContent,
  CONTENT_TYPE_WML,
  CONTENT_TYPE_XML,
  type Softkey,
} from './content.js';
import type { AudioSpec, ContentItem } from './content-store.js';
import { type PushResult, parseTarget } from './initiator.js';
import { assertModelSupports, type PushCapabilityName } from './models.js';
import { type PushAlert, type PushMode, type PushType, parsePushMessage } from './push-message.js';
import { type AudioSource, type AvayaService, SUBSCRIBE_PUSH_INTERVAL_MS } from './service.js';

/**
 * The `avaya` driver: one session per phone; every action stores content on the Trusted Push Server and
 * sends one Push Message (serialised per phone by the initiator).
 */
export const AVAYA_SPEC_PATH = fileURLToPath(new URL('specs/avaya.yaml', PACKAGE_ROOT));

export const AvayaDeviceSettingsSchema = Type.Object(
  {
    model: Type.Optional(
      Type.String({ maxLength: 32, description: 'Model (J179, 9611G …), from SetID when discovered.' }),
    ),
    extension: Type.Optional(Type.String({ maxLength: 64 })),
    mac: Type.Optional(Type.String({ maxLength: 17 })),
    setId: Type.Optional(Type.String({ maxLength: 32 })),
    pushPort: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 65535,
        description: 'PUSHPORT used when the address has no port (default avaya.pushPort, 80).',
      }),
    ),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 120_000 })),
  },
  { additionalProperties: false },
);
export interface AvayaDeviceSettings {
  model?: string;
  extension?: string;
  mac?: string;
  setId?: string;
  pushPort?: number;
  timeoutMs?: number;
}

interface Vars {
  last_push_outcome?: string;
  last_push_status?: number;
  last_push_at?: string;
  last_push_action?: string;
}

export function avayaDriver(getService: (ctx: DriverContext) => AvayaService): Driver<AvayaDeviceSettings> {
  const spec = loadSpecFile(AVAYA_SPEC_PATH);
  return {
    kind: 'avaya',
    spec,
    configSchema: AvayaDeviceSettingsSchema,
    alertPlanner: avayaAlertPlanner(),
    open(device: Device<AvayaDeviceSettings>, ctx: DriverContext): DeviceSession {
      return new AvayaSession(device, ctx, () => getService(ctx), spec);
    },
  };
}

function audioSource(p: Record<string, unknown>): AudioSource {
  switch (p.source) {
    case 'file':
      if (typeof p.file !== 'string' || p.file === '')
        throw new SwitchboardError('ACTION_PARAMS_INVALID', 'params.file is required when source is file', {
          field: 'params.file',
          status: 400,
        });
      return { source: 'file', file: p.file };
    case 'tts':
      if (typeof p.text !== 'string' || p.text === '')
        throw new SwitchboardError('ACTION_PARAMS_INVALID', 'params.text is required when source is tts', {
          field: 'params.text',
          status: 400,
        });
      return { source: 'tts', text: p.text, ...(typeof p.voice === 'string' ? { voice: p.voice } : {}) };
    default:
      return { source: 'tone', tone: (p.tone as ToneName) ?? 'chime', repeat: Number(p.repeat ?? 1) };
  }
}

function audioSpec(p: Record<string, unknown>): AudioSpec {
  return {
    codec: p.codec === 'PCMA' ? 'PCMA' : 'PCMU',
    packetSizeMs: Number(p.packetsize ?? 40) as AudioPacketSize,
    audioTimerS: Number(p.audio_timer ?? 20),
    ...(typeof p.promptline === 'string' ? { promptline: p.promptline } : {}),
  };
}

/**
 * Pushes whose repetition leaves the phone as one push would: a Top Line or Display push replaces what the
 * previous one showed (its ring pings may sound again), a stop stops. Audio, multicast, transmit, subscribe
 * and phonexml act again.
 */
const IDEMPOTENT_ACTIONS = new Set(['push_topline', 'push_display', 'push_audio_stop']);

/** The push type each action sends, for the per-model check (models.ts). */
const ACTION_CAPABILITY: Record<string, PushCapabilityName> = {
  push_topline: 'topline',
  push_display: 'display',
  push_audio: 'audio',
  push_audio_multicast: 'audio_multicast',
  push_audio_transmit: 'audio_transmit',
  push_audio_stop: 'audio',
  push_subscribe: 'subscribe',
  push_phonexml: 'phonexml',
};

class AvayaSession implements DeviceSession {
  private vars: Vars = {};
  constructor(
    private readonly device: Device<AvayaDeviceSettings>,
    private readonly ctx: DriverContext,
    private readonly getService: () => AvayaService,
    private readonly spec: ControlSpec,
  ) {}

  /**
   * Raw commands for macro `push` steps: a complete Push Message (`<Push …>…</Push>`, sent as is after
   * validation), or `topline:<text>`, `display:<text>`, `audio:<tone>`, `audio-stop`, `subscribe:<all|me>`.
   */
  async push(command: string, opts: ExecuteOptions = {}): Promise<ActionResult> {
    const c = command.trim();
    if (c.startsWith('<')) {
      const m = parsePushMessage(c);
      assertModelSupports(this.device.settings.model, m.type);
      const r = await this.getService().initiator.send(this.target(), c, m.mode, {
        timeoutMs: opts.timeoutMs ?? this.device.settings.timeoutMs ?? this.getService().config.pushTimeoutMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      this.record('push', r.outcome, r.pushStatus);
      return {
        ok: r.ok,
        outcome: r.outcome,
        message: `${r.pushStatus ?? r.httpStatus} ${r.reason}`,
        retryable: r.retryable,
        data: { pushStatus: r.pushStatus ?? null, httpStatus: r.httpStatus },
      };
    }
    const i = c.indexOf(':');
    const verb = i < 0 ? c : c.slice(0, i);
    const arg = i < 0 ? '' : c.slice(i + 1);
    const map: Record<string, [string, Record<string, unknown>]> = {
      topline: ['push_topline', { text: arg }],
      display: ['push_display', { text: arg }],
      audio: ['push_audio', arg ? { tone: arg } : {}],
      'audio-stop': ['push_audio_stop', {}],
      subscribe: ['push_subscribe', arg ? { type: arg } : {}],
    };
    const hit = map[verb];
    if (!hit) {
      throw new ValidationError(
        'AVAYA_BAD_COMMAND',
        'push command must be <Push …>, topline:, display:, audio:, audio-stop or subscribe:',
        { field: 'push' },
      );
    }
    const action = findAction(this.spec, hit[0])!;
    return this.execute(hit[0], validateParams(action, hit[1]), opts);
  }

  variables(): Record<string, unknown> {
    const at = this.getService().subscribedAt.get(this.device.id);
    return { ...this.vars, ...(at ? { subscribed_at: at } : {}) };
  }

  async close(): Promise<void> {}

  async query(queryId: string): Promise<ActionResult> {
    throw new NotFoundError('ACTION_UNKNOWN', `avaya has no query ${queryId}`);
  }

  async execute(
    actionId: string,
    p: Record<string, unknown>,
    opts: ExecuteOptions = {},
  ): Promise<ActionResult> {
    const cap = ACTION_CAPABILITY[actionId];
    // Refused before any content is stored or anything is sent: the model cannot take this push type.
    if (cap) assertModelSupports(this.device.settings.model, cap);
    const s = this.getService();
    const mode = (p.mode as PushMode | undefined) ?? 'normal';
    const alert = Number(p.alert ?? 0) as PushAlert;
    const retry = p.retry_as_barge === true;
    switch (actionId) {
      case 'push_topline':
        return this.sendPush(
          actionId,
          'topline',
          mode,
          alert,
          retry,
          await s.putContent('topline', CONTENT_TYPE_XML, buildToplineContent(String(p.text)), {
            deviceId: this.device.id,
          }),
          opts,
        );
      case 'push_display': {
        const softkeys = (p.softkeys as Softkey[] | undefined) ?? [];
        const links = typeof p.dial === 'string' ? [{ label: `Call ${p.dial}`, dial: p.dial }] : [];
        const title = typeof p.title === 'string' && p.title !== '' ? p.title : undefined;
        const deck = buildDisplayDeck({
          ...(title !== undefined ? { title } : {}),
          text: String(p.text).split(/\n{2,}/),
          softkeys,
          links,
        });
        return this.sendPush(
          actionId,
          'display',
          mode,
          alert,
          retry,
          await s.putContent('display', CONTENT_TYPE_WML, deck, { deviceId: this.device.id }),
          opts,
        );
      }
      case 'push_audio': {
        const a = audioSpec(p);
        const pcm = await s.loadAudio(audioSource(p), opts.signal);
        const item = await s.putContent('audio', CONTENT_TYPE_XML, '', {
          audio: a,
          audioData: s.encode(pcm, a.codec),
          deviceId: this.device.id,
        });
        return this.sendPush(actionId, 'audio', mode, alert, retry, item, opts, {
          seconds: pcm.length / 8000,
          packets: Math.ceil(pcm.length / (a.packetSizeMs * 8)),
        });
      }
      case 'push_audio_multicast': {
        const a = { ...audioSpec(p), host: String(p.group), port: Number(p.port) };
        const pcm = await s.loadAudio(audioSource(p), opts.signal);
        const item = await s.putContent('audio_multicast', CONTENT_TYPE_XML, '', {
          audio: a,
          deviceId: this.device.id,
        });
        const r = await this.sendPush(
          actionId,
          'audio',
          (p.mode as PushMode | undefined) ?? 'barge',
          alert,
          false,
          item,
          opts,
        );
        if (r.ok) {
          const lead = typeof p.lead_ms === 'number' ? p.lead_ms : s.config.multicastLeadMs;
          const sess = s.audio.multicast(a.host, a.port, a, pcm, lead);
          r.data = {
            ...(r.data as object),
            multicast: {
              session: sess.key,
              joined: sess.joined,
              leadMs: lead,
              packets: Math.ceil(pcm.length / (a.packetSizeMs * 8)),
            },
          };
        }
        return r;
      }
      case 'push_audio_transmit': {
        const base = audioSpec(p);
        const host = s.publicHost();
        const rx = await s.audio.openTransmitReceiver(host, base.codec, s.config.transmitIdleS);
        const item = await s.putContent('audio_transmit', CONTENT_TYPE_XML, '', {
          audio: { ...base, host, port: rx.port },
          deviceId: this.device.id,
        });
        const r = await this.sendPush(
          actionId,
          'audio',
          (p.mode as PushMode | undefined) ?? 'barge',
          alert,
          false,
          item,
          opts,
        );
        r.data = { ...(r.data as object), receivePort: rx.port };
        return r;
      }
      case 'push_audio_stop': {
        const item = await s.putContent('audio_stop', CONTENT_TYPE_XML, buildAudioStopContent(), {
          deviceId: this.device.id,
        });
        const r = await this.sendPush(actionId, 'audio', 'barge', 0, false, item, opts);
        const stopped = s.audio.stopTo(this.target().host);
        r.data = { ...(r.data as object), streamsStopped: stopped };
        return r;
      }
      case 'push_subscribe': {
        const t = this.target();
        const phone = `${t.host}:${t.port}`;
        const wait = s.subscribePushWaitMs(phone);
        if (wait > 0) {
          // Not sent: the phone would answer 503 within a minute of the last Subscribe push.
          this.record(actionId, 'paced', undefined);
          return {
            ok: false,
            outcome: 'paced',
            message: `a Subscribe push reached this phone less than ${SUBSCRIBE_PUSH_INTERVAL_MS / 1000} s ago (the phone refuses another within a minute); not sent, try again in ${Math.ceil(wait / 1000)} s`,
            retryable: true,
            data: { retryAfterMs: wait, sent: false },
          };
        }
        const type = p.type === 'me' ? 'me' : 'all';
        const url = typeof p.url === 'string' ? p.url : type === 'me' ? s.subscriptionUrl() : undefined;
        const item = await s.putContent('subscribe', CONTENT_TYPE_XML, buildSubscribeContent(type, url), {
          deviceId: this.device.id,
        });
        const r = await this.sendPush(actionId, 'subscribe', undefined, undefined, false, item, opts);
        if (r.outcome !== 'unreachable') s.noteSubscribePush(phone);
        return r;
      }
      case 'push_phonexml':
        return this.sendPush(
          actionId,
          'phonexml',
          mode,
          alert,
          retry,
          await s.putContent('phonexml', CONTENT_TYPE_XML, buildPhonexmlContent(String(p.xml)), {
            deviceId: this.device.id,
          }),
          opts,
        );
      default:
        throw new NotFoundError('ACTION_UNKNOWN', `avaya has no action ${actionId}`, { field: 'action' });
    }
  }

  private target() {
    return parseTarget(
      this.device.address,
      this.device.settings.pushPort ?? this.getService().config.pushPort,
    );
  }

  private async sendPush(
    action: string,
    type: PushType,
    mode: PushMode | undefined,
    alert: PushAlert | undefined,
    retryAsBarge: boolean,
    item: ContentItem,
    opts: ExecuteOptions,
    extra: Record<string, unknown> = {},
  ): Promise<ActionResult> {
    const s = this.getService();
    const target = this.target();
    let r: PushResult;
    try {
      r = await s.initiator.push(
        target,
        {
          type,
          ...(mode ? { mode } : {}),
          ...(alert !== undefined ? { alert } : {}),
          href: s.contentUrl(item.id),
          method: 'get',
          postfields: [],
        },
        {
          retryAsBarge,
          timeoutMs: opts.timeoutMs ?? this.device.settings.timeoutMs ?? s.config.pushTimeoutMs,
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
      );
    } catch (e) {
      if (
        !isSwitchboardError(e) ||
        (e.code !== 'HTTP_NETWORK_ERROR' && e.code !== 'HTTP_TIMEOUT' && e.code !== 'HTTP_ABORTED')
      )
        throw e;
      const sent = (e.details as { requestSent?: unknown } | undefined)?.requestSent === true;
      // "Not sent" (refused, unreachable, timed out before the request was out) is always safe to retry.
      // "Sent, no answer" (the phone closed or timed out after reading it) may already have been accepted:
      // only idempotent pushes (the same text shown again, a stop) are retryable; audio would play twice.
      const idempotent = IDEMPOTENT_ACTIONS.has(action);
      const outcome = sent ? 'no_answer' : 'unreachable';
      this.record(action, outcome, undefined);
      if (!opts.quiet)
        this.ctx.bus.emit({
          source: this.device.id,
          type: 'avaya.push',
          data: { action, type, mode: mode ?? null, outcome, sent, error: e.code },
        });
      const note = !sent
        ? 'not sent'
        : idempotent
          ? 'sent, no answer: the phone may have shown it; retrying is safe (the same content replaces itself)'
          : 'sent, no answer: the phone may have accepted it; not retried (it would play or apply twice)';
      return {
        ok: false,
        outcome,
        message: `${target.host}:${target.port}: ${errorMessage(e)} (${note})`,
        retryable: !sent || idempotent,
        data: { error: e.code, sent, idempotent },
      };
    }
    this.record(action, r.outcome, r.pushStatus);
    const data = {
      pushStatus: r.pushStatus ?? null,
      httpStatus: r.httpStatus,
      reason: r.reason,
      header: r.header ?? null,
      retriedAsBarge: r.retriedAsBarge,
      retryAsBarge: r.retryAsBarge,
      contentId: item.id,
      href: s.contentUrl(item.id),
      ms: Math.round(r.ms),
      // Text the phone will fetch and show: its fetch confirms the display (`device.displayed`).
      ...(r.ok && (item.kind === 'topline' || item.kind === 'display') ? { displayRef: item.id } : {}),
      ...extra,
    };
    if (!opts.quiet)
      this.ctx.bus.emit({
        source: this.device.id,
        type: 'avaya.push',
        data: {
          action,
          type,
          mode: r.retriedAsBarge ? 'barge' : (mode ?? null),
          outcome: r.outcome,
          pushStatus: r.pushStatus ?? null,
          httpStatus: r.httpStatus,
          retriedAsBarge: r.retriedAsBarge,
          contentId: item.id,
        },
      });
    return {
      ok: r.ok,
      outcome: r.outcome,
      message: `${r.pushStatus ?? r.httpStatus} ${r.reason}${r.retriedAsBarge ? ' (retried as barge)' : ''}${r.retryAsBarge && !r.retriedAsBarge ? ' — retry with mode barge to show it now' : ''}`,
      retryable: r.retryable,
      data,
    };
  }

  private record(action: string, outcome: string, status: number | undefined): void {
    this.vars = {
      last_push_outcome: outcome,
      ...(status !== undefined ? { last_push_status: status } : {}),
      last_push_at: new Date(this.ctx.clock.now()).toISOString(),
      last_push_action: action,
    };
  }
}
