import { startPostgres } from './test/helpers/postgres.js';
import { PostgresPubSubStore } from './src/store/postgres/pubsub.js';
import { Accounts } from './src/pubsub/accounts.js';
import { PubSubService } from './src/pubsub/service.js';
const c = await startPostgres();
try {
  const store = new PostgresPubSubStore({ url: c.url });
  const sid = (await new Accounts(store).create()).accountSid;
  const svc = new PubSubService({ store, hostname: 'h', retentionMs: 7*86400000, leaseMs: 5000, dedupWindowMs: 0, idempotencyWindowMs: 1000, maxMessageBytes: 65536, maxQueueLength: 10000, maxQueuesPerAccount: 1000, maxPollsPerSession: 10, maxTimeoutMs: 300000 });
  svc.start();
  for (let i = 0; i < 20; i++) await svc.publish({ accountSid: sid, queue: 'orders', url: '/', formParams: { K: String(i) }, dedupContent: String(i) });
  console.log('depth', await store.depth(sid, 'orders'));
  console.log('direct claim', (await store.claim(sid, 'orders', 'x', 2, Date.now(), Date.now() + 5000)).length);
  const p = await svc.poll({ accountSid: sid, queue: 'orders', session: 's', timeoutMs: 0, onMessage: () => {} });
  console.log('poll', (await p.result).length);
  svc.stop(); await store.close();
} finally { await c.stop(); }
