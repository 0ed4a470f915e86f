import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { ValidationError } from '../core/errors.js';
import { MAX_AUDIO_SECONDS } from './audio.js';
import { namedTone, TONE_NAMES, type ToneName } from './tone.js';
import { getTtsEngine } from './tts.js';
import { MAX_WAV_BYTES, wavTo8k } from './wav.js';

/** Where audio for a push or a broadcast comes from. */
export type AudioSource =
  | { source: 'tone'; tone: ToneName; repeat?: number }
  | { source: 'file'; file: string }
  | { source: 'tts'; text: string; voice?: string };

export interface LoadAudioOptions {
  /** Directory the `file` source is confined to. */
  mediaDir: string;
  signal?: AbortSignal;
  /** Error code prefix (`AVAYA` → `AVAYA_MEDIA_NOT_FOUND`) and the field path named in errors. */
  codePrefix: string;
  field: { tone: string; file: string; source: string };
}

/**
 * 8 kHz mono PCM from a named tone, a WAV file inside the media directory (no path escapes), or
 * text-to-speech, at most MAX_AUDIO_SECONDS long. Errors are ValidationErrors naming the field.
 */
export async function loadAudioSource(src: AudioSource, o: LoadAudioOptions): Promise<Int16Array> {
  const code = (c: string) => `${o.codePrefix}_${c}`;
  let pcm: Int16Array;
  if (src.source === 'tone') {
    if (!TONE_NAMES.includes(src.tone))
      throw new ValidationError(code('BAD_TONE'), `tone must be one of ${TONE_NAMES.join(', ')}`, {
        field: o.field.tone,
      });
    pcm = namedTone(src.tone, src.repeat ?? 1);
  } else if (src.source === 'file') {
    const dir = resolve(o.mediaDir);
    const path = resolve(dir, src.file);
    const rel = relative(dir, path);
    if (rel.startsWith('..') || isAbsolute(rel) || rel === '') {
      throw new ValidationError(code('BAD_MEDIA_FILE'), 'file must name a WAV inside the media directory', {
        field: o.field.file,
      });
    }
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile())
      throw new ValidationError(code('MEDIA_NOT_FOUND'), `no media file ${JSON.stringify(src.file)}`, {
        field: o.field.file,
        status: 404,
      });
    if (st.size > MAX_WAV_BYTES)
      throw new ValidationError(code('MEDIA_TOO_LARGE'), `media file larger than ${MAX_WAV_BYTES} bytes`, {
        field: o.field.file,
      });
    pcm = wavTo8k(await readFile(path));
  } else {
    pcm = await getTtsEngine().synthesize(src.text, {
      ...(src.voice ? { voice: src.voice } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  }
  if (pcm.length > MAX_AUDIO_SECONDS * 8000) {
    throw new ValidationError(code('AUDIO_TOO_LONG'), `audio longer than ${MAX_AUDIO_SECONDS} s`, {
      field: o.field.source,
    });
  }
  return pcm;
}
