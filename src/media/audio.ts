import { encodeG711, type G711Codec, payloadTypeOf } from './g711.js';
import { packetize, type RtpPacket, silenceByteOf } from './rtp.js';

/** 8 kHz PCM → G.711 → RTP packets at `packetSizeMs`, ready for `sendRtpStream`. */
export function pcmToRtpPackets(
  pcm: Int16Array,
  codec: G711Codec,
  packetSizeMs: number,
  opts: { ssrc?: number; initialSequence?: number; initialTimestamp?: number } = {},
): RtpPacket[] {
  const pt = payloadTypeOf(codec);
  return packetize(
    encodeG711(pcm, codec),
    { payloadType: pt, samplesPerPacket: packetSizeMs * 8, ...opts },
    silenceByteOf(pt),
  );
}

/** Maximum audio we stream in one push (seconds). */
export const MAX_AUDIO_SECONDS = 600;
