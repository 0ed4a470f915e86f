// The security desk's alarm outside the page: the siren (Web Audio), the flashing tab title and desktop
// notifications. Browsers only start audio after a user gesture, so the sign-in button and the "sound off"
// button call `enableSound()` from their click handlers.

/** Seconds between two siren bursts while an incident is unacknowledged. */
export const SIREN_PERIOD_MS = 2500;
/** Tab title flash period. */
export const TITLE_FLASH_MS = 1000;

export type SoundState = 'on' | 'off' | 'unsupported';

type AudioCtor = typeof AudioContext;
const Ctx: AudioCtor | undefined =
  typeof window === 'undefined'
    ? undefined
    : (window.AudioContext ?? (window as unknown as { webkitAudioContext?: AudioCtor }).webkitAudioContext);

let ctx: AudioContext | undefined;
let sirenTimer: ReturnType<typeof setInterval> | undefined;
const soundListeners = new Set<(s: SoundState) => void>();

export function soundState(): SoundState {
  if (!Ctx) return 'unsupported';
  return ctx?.state === 'running' ? 'on' : 'off';
}

function emitSound(): void {
  const s = soundState();
  for (const l of soundListeners) l(s);
}

export function onSoundState(l: (s: SoundState) => void): () => void {
  soundListeners.add(l);
  l(soundState());
  return () => soundListeners.delete(l);
}

/** Starts (or resumes) audio. Call it from a click or key handler: browsers refuse otherwise. */
export function enableSound(o: { test?: boolean } = {}): void {
  if (!Ctx) return;
  try {
    if (!ctx) {
      ctx = new Ctx();
      ctx.addEventListener('statechange', emitSound);
    }
    void ctx
      .resume()
      .then(() => {
        emitSound();
        if (o.test) burst();
      })
      .catch(() => emitSound());
  } catch {
    // no audio device: stays off, the page says so
  }
  emitSound();
}

/** One hi-lo siren burst (two tones, 0.35 s each). */
function burst(): void {
  if (ctx?.state !== 'running') return;
  const t0 = ctx.currentTime;
  const gain = ctx.createGain();
  gain.connect(ctx.destination);
  gain.gain.setValueAtTime(0.0001, t0);
  gain.gain.exponentialRampToValueAtTime(0.35, t0 + 0.02);
  gain.gain.setValueAtTime(0.35, t0 + 0.68);
  gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.72);
  const osc = ctx.createOscillator();
  osc.type = 'square';
  osc.frequency.setValueAtTime(960, t0);
  osc.frequency.setValueAtTime(770, t0 + 0.36);
  osc.connect(gain);
  osc.start(t0);
  osc.stop(t0 + 0.75);
}

/** Sounds the siren every SIREN_PERIOD_MS until `stopSiren()`; silently waits while sound is off. */
export function startSiren(): void {
  if (sirenTimer) return;
  burst();
  sirenTimer = setInterval(burst, SIREN_PERIOD_MS);
}

export function stopSiren(): void {
  if (sirenTimer) clearInterval(sirenTimer);
  sirenTimer = undefined;
}

export function sirenSounding(): boolean {
  return sirenTimer !== undefined && soundState() === 'on';
}

// ------------------------------------------------------------------ tab title

let baseTitle = typeof document === 'undefined' ? 'Switchboard' : document.title;
let flashTimer: ReturnType<typeof setInterval> | undefined;
let flashText = '';

/** The page's own title (the flasher restores it). */
export function setBaseTitle(t: string): void {
  baseTitle = t;
  if (!flashTimer) document.title = t;
}

/** Alternates the tab title between `text` and the page title until `stopTitleFlash()`. */
export function flashTitle(text: string): void {
  flashText = text;
  if (flashTimer) return;
  let on = false;
  const tick = () => {
    on = !on;
    document.title = on ? flashText : baseTitle;
  };
  tick();
  flashTimer = setInterval(tick, TITLE_FLASH_MS);
}

export function stopTitleFlash(): void {
  if (flashTimer) clearInterval(flashTimer);
  flashTimer = undefined;
  if (typeof document !== 'undefined') document.title = baseTitle;
}

// ------------------------------------------------------------------ desktop notifications

export type NotifyState = NotificationPermission | 'unsupported';

export function notifyState(): NotifyState {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

/** Asks for desktop notifications (from a click handler); resolves with the answer. */
export async function askNotifications(): Promise<NotifyState> {
  if (typeof Notification === 'undefined') return 'unsupported';
  if (Notification.permission !== 'default') return Notification.permission;
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

/** Shows (or replaces, same tag) a desktop notification that stays until dismissed, when permitted. */
export function desktopNotify(tag: string, title: string, body: string, onClick: () => void): void {
  if (notifyState() !== 'granted') return;
  try {
    const n = new Notification(title, { body, tag, requireInteraction: true });
    n.onclick = () => {
      window.focus();
      onClick();
      n.close();
    };
  } catch {
    // some platforms only allow notifications from a service worker: the page alarm still shows
  }
}
