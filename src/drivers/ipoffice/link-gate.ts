import type { LinkRole } from './link-lease.js';

/** How long after taking the link over emergency calls are marked `takeover` (the reconnect's snapshot). */
export const TAKEOVER_WINDOW_MS = 15_000;
/** Emergency calls a standby keeps to re-drive (911 calls are rare; a flood must not grow memory). */
const MAX_HELD = 256;
/**
 * How long a standby keeps an emergency call that has ended: a caller who hangs up at once while the active
 * hub is dying must still reach the security desk (re-driven as a late call: "seen only after it ended").
 */
export const HELD_ENDED_MS = 60_000;

interface Held {
  data: Record<string, unknown>;
  endedAt: number | undefined;
}

type Post = (type: string, data: Record<string, unknown>) => void;

/**
 * What of an IP Office link reaches the hub, by the hub's role for that link (link-lease.ts):
 *
 * - `active`: everything, as a lone hub does;
 * - `standby`: the link's own state (`pbx.link`, marked `role: standby`: it is a real link to the PBX) and
 *   nothing else, but the emergency calls it sees are kept while they are in progress;
 * - `none`: only `pbx.link` with state `elsewhere` (another hub holds the link), so this hub's 911
 *   readiness does not report a link it is not meant to have as down.
 *
 * On becoming `active`, the kept emergency calls are passed on, marked `takeover: true` (and `late: true` when
 * the call has ended meanwhile: a caller who hung up at once still reaches the security desk),
 * and so is every emergency call of the next TAKEOVER_WINDOW_MS (a hub that had no link announces the calls
 * in progress as its new link's snapshot arrives): the emergency service then makes sure that the incident
 * of such a call, opened by the hub that died, has alerted (docs/high-availability.md).
 */
export class LinkGate {
  role: LinkRole = 'none';
  private readonly held = new Map<string, Held>();
  private takeoverUntil = 0;

  constructor(
    private readonly post: Post,
    private readonly now: () => number = Date.now,
  ) {}

  emit(type: string, data: Record<string, unknown>): void {
    if (this.role === 'active') {
      if (type === 'call.emergency' && this.now() < this.takeoverUntil) data.takeover = true;
      this.post(type, data);
      return;
    }
    if (type === 'pbx.link') {
      if (this.role === 'standby') this.post(type, { ...data, role: 'standby' });
      return;
    }
    if (this.role !== 'standby') return;
    const key = typeof data.callKey === 'string' ? data.callKey : '';
    if (!key) return;
    const now = this.now();
    if (type === 'call.emergency') {
      this.held.delete(key);
      this.held.set(key, { data, endedAt: undefined });
    } else if (type === 'call.ended' || type === 'call.rejected') {
      const h = this.held.get(key);
      if (h) h.endedAt ??= now;
    } else return;
    for (const [k, h] of this.held)
      if (this.held.size > MAX_HELD || (h.endedAt !== undefined && now - h.endedAt > HELD_ENDED_MS))
        this.held.delete(k);
  }

  /** A change of role; `live` = the call keys the link's tracker has in progress now. */
  setRole(role: LinkRole, live: readonly string[]): void {
    const was = this.role;
    this.role = role;
    if (role === 'active' && was !== 'active') {
      // Also at a hub's start: the hub that held the link before may have died during a 911 call (on a lone
      // hub, or when this hub's own incident is known, the emergency service simply attaches).
      this.takeoverUntil = this.now() + TAKEOVER_WINDOW_MS;
      const inProgress = new Set(live);
      const now = this.now();
      const kept = [...this.held.entries()];
      this.held.clear();
      for (const [k, h] of kept) {
        if (inProgress.has(k) && h.endedAt === undefined)
          this.post('call.emergency', { ...h.data, takeover: true });
        else if (h.endedAt === undefined || now - h.endedAt <= HELD_ENDED_MS)
          // Over already (or gone from the tracker): a late call, whose incident is found or opened.
          this.post('call.emergency', { ...h.data, takeover: true, late: true, via: 'devlink3-standby' });
      }
    }
    if (role === 'none') this.held.clear();
  }

  /** The link was stopped because another hub holds it. */
  elsewhere(): void {
    if (this.role === 'none')
      this.post('pbx.link', { state: 'elsewhere', reason: 'another hub holds the link (standby or active)' });
  }
}
