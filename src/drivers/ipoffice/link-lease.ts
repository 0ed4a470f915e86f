import type { Cluster } from '../../core/cluster.js';
import type { Logger } from '../../core/logger.js';

/**
 * Which hub keeps the DevLink3 link of an IP Office when several hubs serve one site (issue 15,
 * docs/high-availability.md "The IP Office link across hubs"):
 *
 * - `active`: holds the lease `ipoffice:<id>`; its link's call events reach the hub (rules, 911);
 * - `standby`: holds `ipoffice:<id>:standby`; keeps its own monitoring link (IP Office allows three) and
 *   tracks calls, but emits nothing. When the active hub dies the standby takes the active lease first (the
 *   others wait a grace), already connected and already knowing the calls in progress: a 911 call placed at
 *   that moment is re-driven from its tracker, so the takeover loses no emergency call;
 * - `none`: neither; no link (so at most two of the PBX's three monitoring connections are used).
 *
 * A hub that cannot reach the store keeps the role it has (the store's outage must not silence 911: two hubs
 * emitting beats none, and the incident claim keeps one incident when the store is back).
 */
export type LinkRole = 'active' | 'standby' | 'none';

export interface LinkLeaseOptions {
  cluster: Cluster;
  deviceId: string;
  /** Called at every change of role, in order (the caller starts/stops its link and opens its gate). */
  onRole: (role: LinkRole, was: LinkRole) => void;
  logger: Logger;
}

export const linkLeaseName = (deviceId: string) => `ipoffice:${deviceId}`;
export const standbyLeaseName = (deviceId: string) => `ipoffice:${deviceId}:standby`;

export class LinkLease {
  private role: LinkRole = 'none';
  private standbyHeld = false;
  private unholdActive: (() => Promise<void>) | undefined;
  private unholdStandby: (() => Promise<void>) | undefined;
  private closed = false;
  /** Times a renewal attempt of the standby lease found another standby (then the link is not needed). */
  private standbyMisses = 0;

  constructor(private readonly o: LinkLeaseOptions) {}

  get current(): LinkRole {
    return this.role;
  }

  start(): void {
    const c = this.o.cluster;
    // A hub that is not the standby waits one lease time more before it takes a run-out active lease, so the
    // standby (connected, with the calls in progress) wins the race.
    this.unholdActive = c.hold(linkLeaseName(this.o.deviceId), {
      graceMs: () => (this.standbyHeld ? 0 : c.ttlMs + c.renewMs),
      keepOnStoreError: true,
      onAcquired: () => {
        this.set('active');
        this.dropStandby();
        return () => {
          if (this.closed) return;
          // Lost to another hub: keep the link up while trying to become the standby.
          this.set('standby');
          this.holdStandby();
        };
      },
    });
    this.holdStandby();
  }

  private holdStandby(): void {
    if (this.closed || this.unholdStandby) return;
    this.standbyMisses = 0;
    this.unholdStandby = this.o.cluster.hold(standbyLeaseName(this.o.deviceId), {
      keepOnStoreError: true,
      onAcquired: () => {
        this.standbyHeld = true;
        if (this.role !== 'active') this.set('standby');
        return () => {
          this.standbyHeld = false;
          if (this.role === 'standby' && !this.closed) this.set('none');
        };
      },
      onMissed: () => {
        // Another hub is the standby: this one needs no link (after a lost active lease, the first miss).
        this.standbyMisses++;
        if (this.role === 'standby' && !this.standbyHeld) this.set('none');
        // A hub that starts with neither lease says once that the link is elsewhere (its readiness).
        else if (this.role === 'none' && this.standbyMisses === 1) this.o.onRole('none', 'none');
      },
    });
  }

  private dropStandby(): void {
    const u = this.unholdStandby;
    this.unholdStandby = undefined;
    this.standbyHeld = false;
    // Released so a third hub can become the standby at once.
    if (u) void u();
  }

  private set(role: LinkRole): void {
    if (role === this.role) return;
    const was = this.role;
    this.role = role;
    this.o.logger.info({ device: this.o.deviceId, role, was }, 'ipoffice: link role');
    this.o.onRole(role, was);
  }

  async stop(): Promise<void> {
    this.closed = true;
    const a = this.unholdActive;
    const s = this.unholdStandby;
    this.unholdActive = this.unholdStandby = undefined;
    await Promise.all([a?.(), s?.()]);
  }
}
