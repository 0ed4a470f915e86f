import { sleep } from '../../core/clock.js';
import { ValidationError } from '../../core/errors.js';
import { pcmToRtpPackets } from '../../media/audio.js';
import { LiveRtpRelay } from '../../media/relay.js';
import { sendRtpStream } from '../../media/sender.js';
import { type AudioSource, loadAudioSource } from '../../media/source.js';
import { TONE_NAMES, type ToneName } from '../../media/tone.js';
import type { AudioRequest, MulticastAudio } from './types.js';

export interface GroupAudioOptions {
  /** Directory WAV files (`source: file`) are read from. */
  mediaDir: string;
  /** Address live audio (`source: live`) is received on (default all interfaces). */
  liveBindAddress?: string;
  multicastInterface?: string;
  ttl?: number;
  /** Told when a stream could not be prepared or sent (after `start` answered). */
  onError?: (err: unknown, session: { address: string; port: number }) => void;
}

/** The request as a loadable source; what can be checked without I/O is checked here. */
function sourceOf(req: AudioRequest & { source: AudioSource['source'] }): AudioSource {
  switch (req.source) {
    case 'tone':
      return {
        source: 'tone',
        tone: TONE_NAMES.includes(req.tone as ToneName) ? (req.tone as ToneName) : 'alert',
        ...(req.repeat ? { repeat: req.repeat } : {}),
      };
    case 'file':
      if (!req.file)
        throw new ValidationError(
          'BROADCAST_AUDIO_FILE_REQUIRED',
          'audio.file: name a WAV file of the media directory',
          {
            field: 'audio.file',
          },
        );
      return { source: 'file', file: req.file };
    case 'tts':
      if (!req.text)
        throw new ValidationError('BROADCAST_AUDIO_TEXT_REQUIRED', 'audio.text: give the text to speak', {
          field: 'audio.text',
        });
      return { source: 'tts', text: req.text };
    default:
      throw new ValidationError(
        'BROADCAST_AUDIO_UNSUPPORTED',
        `audio.source: ${String(req.source)} is not known`,
        {
          field: 'audio.source',
        },
      );
  }
}

/**
 * The hub's multicast streamer for broadcasts (for phones that join a group stream, e.g. Cisco RTPMRx): one
 * G.711 µ-law RTP stream (20 ms packets) per group session, from a tone, a WAV file of the media directory or
 * text-to-speech. The audio is prepared as soon as the broadcast starts (while its alerts go out); the stream
 * begins `leadMs` after the session's `ready` (its phones were told to join).
 */
export function groupAudioStreamer(opts: GroupAudioOptions): MulticastAudio {
  /** Live relays by receive port (every group session of a live broadcast shares one). */
  const relays = new Map<number, LiveRtpRelay>();
  const relayFor = async (live: NonNullable<AudioRequest['live']>): Promise<LiveRtpRelay> => {
    const cur = relays.get(live.port);
    if (cur && !cur.done) return cur;
    const relay = new LiveRtpRelay({
      port: live.port,
      ...(opts.liveBindAddress ? { bindAddress: opts.liveBindAddress } : {}),
      ...(live.from ? { allowFrom: live.from } : {}),
      maxSeconds: live.maxSeconds ?? 300,
      idleSeconds: live.idleSeconds ?? 5,
      ...(opts.multicastInterface ? { multicastInterface: opts.multicastInterface } : {}),
      ...(opts.ttl ? { ttl: opts.ttl } : {}),
      onEnd: () => {
        if (relays.get(live.port) === relay) relays.delete(live.port);
      },
    });
    relays.set(live.port, relay);
    try {
      await relay.open();
    } catch (e) {
      relays.delete(live.port);
      throw e;
    }
    return relay;
  };
  return {
    async start(req, s) {
      if (req.source === 'live') {
        if (!req.live)
          throw new ValidationError(
            'BROADCAST_AUDIO_LIVE_PORT_REQUIRED',
            'audio.live.port: give the UDP port',
            {
              field: 'audio.live.port',
            },
          );
        const relay = await relayFor(req.live);
        const ac = new AbortController();
        let remove: (() => void) | undefined;
        void (async () => {
          await (s.ready ?? Promise.resolve());
          await sleep(s.leadMs, { signal: ac.signal });
          if (!relay.done) remove = relay.add(s.address, s.port);
        })().catch(() => {});
        return {
          stop() {
            ac.abort();
            remove?.();
            // The last group of the broadcast leaving ends the relay (the port is free again).
            if (relay.destinations === 0) relay.close();
          },
        };
      }
      const src = sourceOf({ ...req, source: req.source });
      const ac = new AbortController();
      const session = { address: s.address, port: s.port };
      const run = async () => {
        const pcm = await loadAudioSource(src, {
          mediaDir: opts.mediaDir,
          signal: ac.signal,
          codePrefix: 'BROADCAST',
          field: { tone: 'audio.tone', file: 'audio.file', source: 'audio.source' },
        });
        const packets = pcmToRtpPackets(pcm, 'PCMU', 20);
        await (s.ready ?? Promise.resolve());
        if (ac.signal.aborted) return;
        await sleep(s.leadMs, { signal: ac.signal });
        await sendRtpStream({
          host: s.address,
          port: s.port,
          packets,
          ptimeMs: 20,
          signal: ac.signal,
          ...(opts.multicastInterface ? { multicastInterface: opts.multicastInterface } : {}),
          ...(opts.ttl ? { multicastTtl: opts.ttl } : {}),
        });
      };
      void run().catch((e: unknown) => {
        if (!ac.signal.aborted) opts.onError?.(e, session);
      });
      return {
        stop() {
          ac.abort();
        },
      };
    },
  };
}
