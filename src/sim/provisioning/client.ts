import type { Clock } from '../../core/clock.js';
import { httpRequest } from '../../net/http-client.js';
import { decodeSettingsBytes } from '../../provisioning/encoding.js';
import { type EvalInputs, type EvalResult, evaluateSettings } from '../../provisioning/evaluate.js';

/**
 * A settings-file client as an Avaya phone or Workplace client behaves at start-up: fetch
 * 46xxsettings.txt over HTTP with its User-Agent (one connection per file), read it with its own
 * variables and fetch every file it GETs from the same directory. Used by `switchboard demo` and tests.
 */
export interface BootOptions {
  /** Base URL of the settings server (`http://10.0.0.2:8080`). */
  baseUrl: string;
  inputs: EvalInputs;
  userAgent: string;
  /** First file (default 46xxsettings.txt). */
  file?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Typical User-Agent strings per model family (for demos and tests). */
export function userAgentFor(model4: string, mac = ''): string {
  if (/^ac[aimw]$/.test(model4)) {
    const os = { aca: 'Android 14', aci: 'iOS 17.4', acm: 'macOS 14.4', acw: 'Windows 10' }[model4] ?? '';
    return `Avaya Communicator/3.36.0 (${os})`;
  }
  if (/^J1/.test(model4)) return `Avaya ${model4} SIPJ100-4.1.3.0.7${mac ? ` (${mac})` : ''}`;
  return `AVAYA/${model4}-7.1.15`;
}

export async function bootAsClient(o: BootOptions): Promise<EvalResult> {
  const base = o.baseUrl.replace(/\/+$/, '');
  const get = async (name: string): Promise<string | undefined> => {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) return undefined;
    const res = await httpRequest({
      url: `${base}/${name}`,
      headers: { 'user-agent': o.userAgent },
      timeoutMs: o.timeoutMs ?? 5000,
      maxResponseBytes: 1024 * 1024,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    // Decoded as the hub decodes files (UTF-8, else Windows-1252), never mangled.
    return res.status === 200 ? decodeSettingsBytes(res.body, name).text : undefined;
  };
  const file = o.file ?? '46xxsettings.txt';
  const text = (await get(file)) ?? '';
  return evaluateSettings({ name: file, text }, o.inputs, get);
}

/** Boots each client every `intervalMs` (bounded by `maxRounds`) until stopped. */
export function bootPeriodically(
  clients: Array<Omit<BootOptions, 'baseUrl' | 'signal'>>,
  baseUrl: () => string,
  opts: { clock: Clock; intervalMs: number; maxRounds: number; onError?: (e: unknown) => void },
): { stop(): Promise<void>; rounds(): number } {
  const abort = new AbortController();
  let rounds = 0;
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  let running: Promise<void> = Promise.resolve();
  const round = () => {
    timer = undefined;
    if (abort.signal.aborted || rounds >= opts.maxRounds) return;
    rounds++;
    running = Promise.all(
      clients.map((c) =>
        bootAsClient({ ...c, baseUrl: baseUrl(), signal: abort.signal }).catch((e) => opts.onError?.(e)),
      ),
    ).then(() => {
      if (!abort.signal.aborted && rounds < opts.maxRounds)
        timer = opts.clock.setTimeout(round, opts.intervalMs);
    });
  };
  timer = opts.clock.setTimeout(round, 0);
  return {
    rounds: () => rounds,
    async stop() {
      abort.abort(new Error('stopped'));
      if (timer) opts.clock.clearTimeout(timer);
      await running.catch(() => {});
    },
  };
}
