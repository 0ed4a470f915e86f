import { ConflictError, errorMessage, isSwitchboardError, ValidationError } from '../../core/errors.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import type { HubContext } from '../../core/module.js';
import { pubsubRuntime } from '../../pubsub/module.js';
import { messageUrl, parseQueueName } from '../../pubsub/protocol.js';
import type { AlertPublisher } from '../rules/types.js';
import {
  type AlertChannel,
  type AlertNotice,
  type ChannelMoment,
  type ChannelOutcome,
  type ChannelReceipt,
  type ChannelResult,
  incidentMessage,
} from './types.js';

/**
 * Publishes rule and 911 messages to the hub's own PubSub relay, as if POSTed to `/<AccountSid>/<queue>`
 * with form parameters: subscribers long-polling that queue receive them. The account is the one named in
 * the rule/config, else the relay's first account.
 */
export function pubsubPublisher(hub: HubContext): AlertPublisher {
  const rt = pubsubRuntime(hub);
  return {
    async publish({ account, queue, message }) {
      const sid = account || (await rt.accounts.list())[0]?.accountSid;
      if (!sid)
        throw new ValidationError(
          'PUBSUB_NO_ACCOUNT',
          'no PubSub account to publish to: create one (switchboard pubsub accounts create) or set the account',
          { field: 'account' },
        );
      const q = parseQueueName(queue);
      const r = await rt.service.publish({
        accountSid: sid,
        queue: q,
        url: messageUrl(sid, q, undefined),
        formParams: message,
        dedupContent: `application/x-www-form-urlencoded\n${JSON.stringify(message)}`,
      });
      return { id: r.id };
    },
  };
}

/**
 * The incident publish to the hub's PubSub relay (`emergency.queue`, `emergency.account`) as an alerting
 * channel (id `pubsub:<queue>`): one durable publish, no retry, so the dispatcher calls it once per moment.
 * Timeline: `published` (`queue`, `messageId`); `publish.skipped` when no account is configured and the
 * relay has none (nobody could receive it: not a failure); else `publish.failed` (`queue`, `error`).
 */
export class PubSubChannel implements AlertChannel {
  readonly kind = 'pubsub';
  readonly retries = 'self' as const;
  readonly id: string;
  readonly moments: readonly ChannelMoment[];
  private readonly log: Logger;

  constructor(
    private readonly o: {
      queue: string;
      /** '' = the relay's first account. */
      account: string;
      moments: readonly ChannelMoment[];
      /** The relay's publisher (set once the PubSub module starts; see setAlertPublisher). */
      publisher: () => AlertPublisher | undefined;
      logger?: Logger;
    },
  ) {
    this.id = `pubsub:${o.queue}`;
    this.moments = o.moments;
    this.log = o.logger ?? silentLogger;
  }

  /** Is there a relay to publish to? (Without one the channel is not run: nothing is noted.) */
  available(): boolean {
    return this.o.publisher() !== undefined;
  }

  async send(n: AlertNotice): Promise<ChannelReceipt> {
    const pub = this.o.publisher();
    if (!pub) throw new ConflictError('PUBSUB_UNAVAILABLE', 'no PubSub relay is available to publish to');
    const { queue, account } = this.o;
    const r = await pub.publish({
      ...(account ? { account } : {}),
      queue,
      message: incidentMessage(n.incident),
    });
    return { id: r.id };
  }

  timeline(n: AlertNotice, r: ChannelResult): ChannelOutcome {
    const queue = this.o.queue;
    if (r.ok) return { type: 'published', detail: { queue, messageId: r.receipt.id ?? '' } };
    if (!this.o.account && isSwitchboardError(r.error) && r.error.code === 'PUBSUB_NO_ACCOUNT')
      return { type: 'publish.skipped', detail: { queue, reason: 'no PubSub account' } };
    const error = errorMessage(r.error);
    this.log.warn({ incidentId: n.incident.id, queue, err: error }, 'incident publish failed');
    return { type: 'publish.failed', detail: { queue, error } };
  }

  describe(): Record<string, string> {
    return { queue: this.o.queue, account: this.o.account || '(first account)' };
  }
}
