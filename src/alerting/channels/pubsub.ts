import { ValidationError } from '../../core/errors.js';
import type { HubContext } from '../../core/module.js';
import { pubsubRuntime } from '../../pubsub/module.js';
import { messageUrl, parseQueueName } from '../../pubsub/protocol.js';
import type { AlertPublisher } from '../rules/types.js';

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
