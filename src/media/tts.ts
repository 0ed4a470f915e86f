import { spawn } from 'node:child_process';
import { SwitchboardError } from '../core/errors.js';
import { wavTo8k } from './wav.js';

/**
 * Text-to-speech as a pluggable audio source. The default engine is espeak-ng (Debian package
 * `espeak-ng`), run as a child process writing a WAV to stdout; when it is not installed, synthesis fails
 * with `TTS_UNAVAILABLE` naming the package to install. Other engines implement `TtsEngine`.
 */
export interface TtsEngine {
  readonly name: string;
  available(): Promise<boolean>;
  /** Returns 8 kHz mono 16-bit PCM. */
  synthesize(
    text: string,
    opts?: { voice?: string; wordsPerMinute?: number; signal?: AbortSignal },
  ): Promise<Int16Array>;
}

export class TtsError extends SwitchboardError {
  constructor(code: string, message: string, opts: { cause?: unknown; status?: number } = {}) {
    super(code, message, { status: opts.status ?? 503, ...(opts.cause ? { cause: opts.cause } : {}) });
  }
}

export const MAX_TTS_TEXT = 2000;
const MAX_TTS_OUTPUT = 16 * 1024 * 1024;

function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs: number; signal?: AbortSignal },
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(cmd, args, {
        stdio: ['pipe', 'pipe', 'pipe'],
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (e) {
      reject(e);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.stdout?.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_TTS_OUTPUT) child.kill('SIGKILL');
      else chunks.push(c);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(chunks));
      else reject(new Error(`${cmd} exited with ${code}`));
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(opts.input ?? '');
  });
}

export class EspeakTts implements TtsEngine {
  readonly name = 'espeak-ng';
  private checked: boolean | undefined;
  constructor(private readonly binary = 'espeak-ng') {}

  async available(): Promise<boolean> {
    if (this.checked === undefined) {
      this.checked = await run(this.binary, ['--version'], { timeoutMs: 5000 }).then(
        () => true,
        () => false,
      );
    }
    return this.checked;
  }

  async synthesize(
    text: string,
    opts: { voice?: string; wordsPerMinute?: number; signal?: AbortSignal } = {},
  ): Promise<Int16Array> {
    if (text.trim() === '') throw new TtsError('TTS_EMPTY', 'text to speak is empty', { status: 400 });
    if (text.length > MAX_TTS_TEXT)
      throw new TtsError('TTS_TOO_LONG', `text to speak is longer than ${MAX_TTS_TEXT} characters`, {
        status: 400,
      });
    if (!(await this.available())) {
      throw new TtsError(
        'TTS_UNAVAILABLE',
        'text-to-speech needs espeak-ng (Debian/Ubuntu: apt-get install espeak-ng); use a WAV file or a tone instead',
      );
    }
    const voice = opts.voice ?? 'en';
    if (!/^[A-Za-z0-9+_-]{1,32}$/.test(voice))
      throw new TtsError('TTS_BAD_VOICE', 'voice name has invalid characters', { status: 400 });
    const wpm = Math.max(80, Math.min(400, Math.round(opts.wordsPerMinute ?? 160)));
    // Text goes on stdin (never on the command line), so nothing in it is interpreted as an option.
    const wav = await run(this.binary, ['--stdout', '-v', voice, '-s', String(wpm)], {
      input: text,
      timeoutMs: 30_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
    }).catch((e: unknown) => {
      throw new TtsError('TTS_FAILED', `espeak-ng failed: ${(e as Error).message}`, { cause: e });
    });
    return wavTo8k(wav);
  }
}

let defaultEngine: TtsEngine = new EspeakTts();
export function getTtsEngine(): TtsEngine {
  return defaultEngine;
}
/** Replaces the process-wide engine (another TTS backend, or a test double). */
export function setTtsEngine(e: TtsEngine): void {
  defaultEngine = e;
}
