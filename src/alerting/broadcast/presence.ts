import type { EventBus, Subscription } from '../../core/bus.js';
import type { Device } from '../../core/devices.js';
import type { HubEvent } from '../../core/events.js';

/**
 * Which extensions are on a call right now, from the PBX's call events (`call.*` with `parties`,
 * `extension`, `callKey`). Used by broadcasts for the busy-phone policy before anything is sent.
 * A phone's extension is its `settings.extension` or a label `ext:<n>`.
 */
export class CallPresence {
  private byCall = new Map<string, Set<string>>();
  private count = new Map<string, number>();
  private sub: Subscription | undefined;
  private static readonly MAX_CALLS = 100_000;

  start(bus: EventBus): void {
    this.sub ??= bus.subscribe((e) => this.onEvent(e), { filter: { types: ['call.*'] } });
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  onEvent(e: HubEvent): void {
    const key = typeof e.data.callKey === 'string' ? e.data.callKey : '';
    if (!key) return;
    if (e.type === 'call.ended') {
      this.set(key, new Set());
      this.byCall.delete(key);
      return;
    }
    const exts = new Set<string>();
    for (const p of Array.isArray(e.data.parties) ? e.data.parties : [])
      if (typeof p === 'string' && p) exts.add(p);
    if (typeof e.data.extension === 'string' && e.data.extension) exts.add(e.data.extension);
    if (this.byCall.size >= CallPresence.MAX_CALLS && !this.byCall.has(key)) return;
    this.set(key, exts);
  }

  private set(key: string, next: Set<string>): void {
    const prev = this.byCall.get(key) ?? new Set<string>();
    for (const x of prev) if (!next.has(x)) this.count.set(x, (this.count.get(x) ?? 1) - 1);
    for (const x of next) if (!prev.has(x)) this.count.set(x, (this.count.get(x) ?? 0) + 1);
    for (const x of prev) if ((this.count.get(x) ?? 0) <= 0) this.count.delete(x);
    this.byCall.set(key, next);
  }

  onCall(extension: string): boolean {
    return (this.count.get(extension) ?? 0) > 0;
  }

  isBusy(device: Device): boolean {
    const ext = extensionOf(device);
    return ext !== undefined && this.onCall(ext);
  }
}

export function extensionOf(device: Device): string | undefined {
  const s = (device.settings as Record<string, unknown>).extension;
  if (typeof s === 'string' && s) return s;
  if (typeof s === 'number') return String(s);
  const l = device.labels.find((x) => x.startsWith('ext:'));
  return l ? l.slice(4) : undefined;
}
