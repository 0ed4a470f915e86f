import { type Clock, systemClock, type TimerHandle } from '../../core/clock.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import { type ClientOptions, Devlink3Client, type LinkInfo } from './client.js';
import { decodeEventRecords, type EventRecord } from './event-records.js';
import type { PacketOf } from './packets.js';
import { CallTracker, type TrackerEventType } from './tracker.js';
import { decodeFileText, type IpoUser, parseUserList } from './users.js';

/**
 * Client + record decoding + call tracker: what a driver session, `switchboard devlink tail` and the bench
 * run. Emits tracker events (`call.*`, `extension.state`, `pbx.gap`) and `pbx.link` through `emit`.
 */
export type MonitorEventType = TrackerEventType | 'pbx.link';

export interface MonitorOptions {
  client: ClientOptions;
  emit: (type: MonitorEventType, data: Record<string, unknown>) => void;
  emergencyNumbers?: string[];
  testNumbers?: string[];
  /** Quiet period after the snapshot that closes the resync window (default 1500 ms). */
  resyncQuietMs?: number;
  /** Read `nasystem/user_list` after each link up to name callers (default true). */
  loadUsers?: boolean;
  /** Every decoded record (for `devlink tail`). */
  onRecord?: (r: EventRecord, p: PacketOf<'event'>) => void;
  clock?: Clock;
  logger?: Logger;
}

export class Devlink3Monitor {
  readonly client: Devlink3Client;
  readonly tracker: CallTracker;
  private users: IpoUser[] = [];
  private resyncTimer: TimerHandle | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private lastLinkState: string | undefined;
  readonly stats = { events: 0, records: 0, invalid: 0, gaps: 0 };

  constructor(private readonly opts: MonitorOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.tracker = new CallTracker({
      emit: (t, d) => {
        if (t === 'pbx.gap') this.stats.gaps++;
        opts.emit(t, d);
      },
      clock: this.clock,
      ...(opts.emergencyNumbers ? { emergencyNumbers: opts.emergencyNumbers } : {}),
      ...(opts.testNumbers ? { testNumbers: opts.testNumbers } : {}),
    });
    this.client = new Devlink3Client(opts.client);
    this.client.onLink((i) => this.onLink(i));
    this.client.onEvent((p, text) => this.onEvent(p, text));
  }

  get link(): LinkInfo {
    return this.client.info;
  }

  get userList(): IpoUser[] {
    return this.users;
  }

  start(): void {
    this.client.start();
  }

  async stop(): Promise<void> {
    if (this.resyncTimer) this.clock.clearTimeout(this.resyncTimer);
    await this.client.stop();
  }

  /** Reads and parses `nasystem/user_list` (short-lived connection) and names callers with it. */
  async loadUsers(): Promise<IpoUser[]> {
    const buf = await this.client.readFile('nasystem/user_list');
    this.users = parseUserList(decodeFileText(buf));
    this.tracker.setUsers(this.users);
    return this.users;
  }

  private onLink(i: LinkInfo): void {
    if (i.state === 'up') {
      this.tracker.beginResync();
      this.armResync();
      if (i.partial)
        this.log.warn(
          { refused: i.refusedFlags },
          'DevLink3: the PBX refused some event flags (PARTIAL SUCCESS)',
        );
      if (this.opts.loadUsers ?? true) {
        this.loadUsers().catch((e) =>
          this.log.warn({ err: errorMessage(e) }, 'DevLink3: cannot read nasystem/user_list'),
        );
      }
    }
    if (i.state === 'connecting') return;
    if (i.state === this.lastLinkState && i.state !== 'up') return;
    this.lastLinkState = i.state;
    this.opts.emit('pbx.link', { ...i });
  }

  private armResync(): void {
    if (this.resyncTimer) this.clock.clearTimeout(this.resyncTimer);
    this.resyncTimer = this.clock.setTimeout(() => {
      this.resyncTimer = undefined;
      const n = this.tracker.endResync();
      if (n > 0)
        this.log.info({ ended: n }, 'DevLink3: calls not re-announced after reconnect were ended (resync)');
    }, this.opts.resyncQuietMs ?? 1500);
  }

  private onEvent(p: PacketOf<'event'>, text: boolean): void {
    this.stats.events++;
    this.tracker.noteCounter(p.pbxIp, p.counter);
    if (this.resyncTimer) this.armResync();
    for (const r of decodeEventRecords(p, { text })) {
      this.stats.records++;
      if (r.kind === 'invalid') {
        this.stats.invalid++;
        this.log.warn({ err: r.error, text: r.text.slice(0, 200) }, 'DevLink3: record could not be parsed');
      }
      this.opts.onRecord?.(r, p);
      this.tracker.onRecord(r);
    }
  }
}
