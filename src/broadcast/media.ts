import type { AudioRequest, MulticastAudio } from '../core/broadcast/types.js';
import { ValidationError } from '../core/errors.js';
import { pcmToRtpPackets } from '../media/audio.js';
import { sendRtpStream } from '../media/sender.js';
import { namedTone, TONE_NAMES, type ToneName } from '../media/tone.js';

/**
 * The hub's multicast streamer for broadcasts: one G.711 µ-law RTP stream (20 ms packets) per group
 * session, starting `leadMs` after the first phones were told to join. Tones only (file and TTS sources
 * are streamed per session by drivers that support them, e.g. Avaya's push_audio_multicast).
 */
export function toneMulticast(opts: { multicastInterface?: string; ttl?: number } = {}): MulticastAudio {
  return {
    async start(req: AudioRequest, s: { address: string; port: number; leadMs: number }) {
      if (req.source !== 'tone')
        throw new ValidationError(
          'BROADCAST_AUDIO_UNSUPPORTED',
          `audio.source: the hub streams tones to groups, not ${req.source}`,
          {
            field: 'audio.source',
          },
        );
      const name: ToneName = TONE_NAMES.includes(req.tone as ToneName) ? (req.tone as ToneName) : 'alert';
      const packets = pcmToRtpPackets(namedTone(name, req.repeat ?? 1), 'PCMU', 20);
      const ac = new AbortController();
      const t = setTimeout(() => {
        void sendRtpStream({
          host: s.address,
          port: s.port,
          packets,
          ptimeMs: 20,
          signal: ac.signal,
          ...(opts.multicastInterface ? { multicastInterface: opts.multicastInterface } : {}),
          ...(opts.ttl ? { multicastTtl: opts.ttl } : {}),
        }).catch(() => {});
      }, s.leadMs);
      return {
        stop() {
          clearTimeout(t);
          ac.abort();
        },
      };
    },
  };
}
