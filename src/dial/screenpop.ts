import type { ActionRunner } from '../core/actions.js';
import type { EventBus } from '../core/bus.js';
import type { Device } from '../core/devices.js';
import { errorMessage } from '../core/errors.js';
import type { HubEvent } from '../core/events.js';
import type { Logger } from '../core/logger.js';

/**
 * Screen pops (rule action `screenpop`, docs/click-to-dial.md): on `call.ringing` (or `call.answered`),
 * the caller's details go to the phone of each extension the call rings (or that answered it), and to the
 * console as a `screen.pop` event on the bus (the console shows it to the signed-in user whose desk phone
 * is one of those phones, and in the live calls page).
 *
 * - Cisco: a CiscoIPPhoneText (title, caller, number) with an Exit softkey; the phone keeps ringing.
 * - Avaya: a top-line message, barge (a full-screen push is refused while a call appearance alerts, and
 *   would hide the call on the phone's own screen).
 */

/** At most this many phones get one pop (a hunt group that rings 200 phones pops the first 32). */
export const SCREEN_POP_MAX_PHONES = 32;
const EXT_RE = /^(?:Extn)?([0-9*#]{1,32})$/;

export interface ScreenPopRequest {
  ruleId: string;
  event: HubEvent;
  title: string;
  text: string;
}

export interface ScreenPopDeps {
  devices: { list(): Device[] };
  actions: Pick<ActionRunner, 'execute'>;
  bus: Pick<EventBus, 'emit'>;
  logger: Logger;
}

/** The extensions a call event is about: who answered, else who it rings, else its first extension. */
export function popExtensions(data: Record<string, unknown>): string[] {
  const list = (v: unknown): string[] =>
    (Array.isArray(v) ? v : typeof v === 'string' && v ? [v] : []).flatMap((x) => {
      const m = typeof x === 'string' ? EXT_RE.exec(x.trim()) : null;
      return m ? [m[1]!] : [];
    });
  for (const k of ['answeredBy', 'ringing', 'targets', 'extension']) {
    const found = list(data[k]);
    if (found.length) return [...new Set(found)].slice(0, SCREEN_POP_MAX_PHONES);
  }
  return [];
}

/** The phones of some extensions: `settings.extension` or an `ext:<n>` label (as the 911 locator). */
export function phonesOf(devices: Device[], extensions: string[]): Device[] {
  const want = new Set(extensions);
  return devices
    .filter((d) => d.kind === 'cisco' || d.kind === 'avaya')
    .filter((d) => {
      const ext = (d.settings as Record<string, unknown>).extension;
      return (
        ((typeof ext === 'string' || typeof ext === 'number') && want.has(String(ext))) ||
        d.labels.some((l) => l.startsWith('ext:') && want.has(l.slice(4)))
      );
    })
    .slice(0, SCREEN_POP_MAX_PHONES);
}

export async function screenPop(
  deps: ScreenPopDeps,
  p: ScreenPopRequest,
): Promise<{ ok: boolean; id?: string; phones: Array<{ deviceId: string; ok: boolean; outcome?: string }> }> {
  const extensions = popExtensions(p.event.data);
  const phones = phonesOf(deps.devices.list(), extensions);
  const title = p.title.slice(0, 64);
  const text = p.text.slice(0, 1000);
  const results = await Promise.all(
    phones.map(async (d) => {
      try {
        const r =
          d.kind === 'cisco'
            ? await deps.actions.execute(d.id, 'object_text', {
                title,
                text,
                softkeys: [{ name: 'Exit', url: 'SoftKey:Exit', position: 1 }],
              })
            : await deps.actions.execute(d.id, 'push_topline', {
                text: `${title}: ${text}`.replace(/\s+/g, ' ').slice(0, 312),
                mode: 'barge',
              });
        return { deviceId: d.id, ok: r.ok, ...(r.outcome ? { outcome: r.outcome } : {}) };
      } catch (e) {
        deps.logger.warn({ deviceId: d.id, err: errorMessage(e) }, 'screen pop not shown');
        return { deviceId: d.id, ok: false, outcome: errorMessage(e).slice(0, 200) };
      }
    }),
  );
  const e = deps.bus.emit({
    source: 'hub',
    type: 'screen.pop',
    data: {
      ruleId: p.ruleId,
      eventId: p.event.id,
      callKey: p.event.data.callKey ?? null,
      extensions,
      title,
      text,
      from: p.event.data.from ?? '',
      fromName: p.event.data.fromName ?? '',
      phones: results,
    },
  });
  // The console always gets the pop; phones are best effort (a phone that is off does not fail the rule).
  return { ok: true, id: String(e.id), phones: results };
}
