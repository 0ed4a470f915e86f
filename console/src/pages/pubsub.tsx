import { useEffect } from 'preact/hooks';
import { Async, DataTable, formatAge, formatTime, PageHeader, useApi } from '../ui.js';

interface Account {
  accountSid: string;
  name: string;
  createdAt: string;
  rotatedAt: string | null;
}
interface Queue {
  accountSid: string;
  queue: string;
  depth: number;
  leased: number;
  waiting: number;
  oldestAgeMs: number | null;
}
interface Publish {
  id: string;
  accountSid: string;
  queue: string;
  at: string;
  bytes: number;
  delivered: boolean;
  duplicate: boolean;
}

export function PubSubPage() {
  const accounts = useApi<{ accounts: Account[] }>('/api/pubsub/accounts');
  const queues = useApi<{ queues: Queue[] }>('/api/pubsub/queues');
  const publishes = useApi<{ publishes: Publish[] }>('/api/pubsub/publishes', { query: { limit: 50 } });
  // Queue depth and ages change without bus events: refresh every 5 s (keeps the last data shown).
  useEffect(() => {
    const t = setInterval(() => {
      queues.reload();
      publishes.reload();
    }, 5000);
    return () => clearInterval(t);
  }, [queues.reload, publishes.reload]);
  return (
    <>
      <PageHeader title="PubSub" description="The long-poll relay: accounts, queues and recent publishes." />
      <section class="section" aria-labelledby="ps-accounts">
        <h2 id="ps-accounts">Accounts</h2>
        <Async value={accounts} what="PubSub">
          {(d) => (
            <DataTable
              rows={d.accounts}
              rowKey={(a) => a.accountSid}
              empty="No PubSub accounts"
              emptyHint={
                <>
                  Create one with <code>POST /api/pubsub/accounts</code>.
                </>
              }
              columns={[
                { head: 'AccountSid', class: 'mono', cell: (a) => a.accountSid },
                { head: 'Name', cell: (a) => a.name || '—' },
                { head: 'Created', cell: (a) => formatTime(a.createdAt) },
                { head: 'Token rotated', cell: (a) => formatTime(a.rotatedAt) },
              ]}
            />
          )}
        </Async>
      </section>
      <section class="section" aria-labelledby="ps-queues">
        <h2 id="ps-queues">Queues</h2>
        <Async value={queues} what="PubSub queues">
          {(d) => (
            <DataTable
              rows={d.queues}
              rowKey={(q) => `${q.accountSid}/${q.queue}`}
              empty="No queue holds messages"
              columns={[
                { head: 'Account', class: 'mono', cell: (q) => q.accountSid },
                { head: 'Queue', class: 'mono', cell: (q) => q.queue },
                { head: 'Depth', class: 'num', cell: (q) => q.depth },
                { head: 'Leased', class: 'num', cell: (q) => q.leased },
                { head: 'Waiting subscribers', class: 'num', cell: (q) => q.waiting },
                { head: 'Oldest message', class: 'num', cell: (q) => formatAge(q.oldestAgeMs) },
              ]}
            />
          )}
        </Async>
      </section>
      <section class="section" aria-labelledby="ps-publishes">
        <h2 id="ps-publishes">Recent publishes</h2>
        <Async value={publishes} what="recent publishes">
          {(d) => (
            <DataTable
              rows={d.publishes}
              rowKey={(p) => p.id}
              empty="Nothing published since the hub started"
              columns={[
                { head: 'Time', class: 'time', cell: (p) => formatTime(p.at) },
                { head: 'Queue', class: 'mono', cell: (p) => `${p.accountSid}/${p.queue}` },
                { head: 'Bytes', class: 'num', cell: (p) => p.bytes },
                {
                  head: 'Delivered',
                  cell: (p) => (p.duplicate ? 'duplicate' : p.delivered ? 'yes' : 'queued'),
                },
              ]}
            />
          )}
        </Async>
      </section>
    </>
  );
}
