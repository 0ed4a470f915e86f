import { useEffect } from 'preact/hooks';
import { Async, EmptyState, formatAge, formatTime, PageHeader, useApi } from '../ui.js';

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
          {(d) =>
            d.accounts.length === 0 ? (
              <EmptyState title="No PubSub accounts">
                Create one with <code>POST /api/pubsub/accounts</code>.
              </EmptyState>
            ) : (
              <div class="table-wrap">
                <table class="table">
                  <thead>
                    <tr>
                      <th scope="col">AccountSid</th>
                      <th scope="col">Name</th>
                      <th scope="col">Created</th>
                      <th scope="col">Token rotated</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.accounts.map((a) => (
                      <tr key={a.accountSid}>
                        <td class="mono">{a.accountSid}</td>
                        <td>{a.name || '—'}</td>
                        <td>{formatTime(a.createdAt)}</td>
                        <td>{formatTime(a.rotatedAt)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </Async>
      </section>
      <section class="section" aria-labelledby="ps-queues">
        <h2 id="ps-queues">Queues</h2>
        <Async value={queues} what="PubSub queues">
          {(d) =>
            d.queues.length === 0 ? (
              <EmptyState title="No queue holds messages" />
            ) : (
              <div class="table-wrap">
                <table class="table">
                  <thead>
                    <tr>
                      <th scope="col">Account</th>
                      <th scope="col">Queue</th>
                      <th scope="col" class="num">
                        Depth
                      </th>
                      <th scope="col" class="num">
                        Leased
                      </th>
                      <th scope="col" class="num">
                        Waiting subscribers
                      </th>
                      <th scope="col" class="num">
                        Oldest message
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.queues.map((q) => (
                      <tr key={`${q.accountSid}/${q.queue}`}>
                        <td class="mono">{q.accountSid}</td>
                        <td class="mono">{q.queue}</td>
                        <td class="num">{q.depth}</td>
                        <td class="num">{q.leased}</td>
                        <td class="num">{q.waiting}</td>
                        <td class="num">{formatAge(q.oldestAgeMs)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </Async>
      </section>
      <section class="section" aria-labelledby="ps-publishes">
        <h2 id="ps-publishes">Recent publishes</h2>
        <Async value={publishes} what="recent publishes">
          {(d) =>
            d.publishes.length === 0 ? (
              <EmptyState title="Nothing published since the hub started" />
            ) : (
              <div class="table-wrap">
                <table class="table">
                  <thead>
                    <tr>
                      <th scope="col">Time</th>
                      <th scope="col">Queue</th>
                      <th scope="col" class="num">
                        Bytes
                      </th>
                      <th scope="col">Delivered</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.publishes.map((p) => (
                      <tr key={p.id}>
                        <td>{formatTime(p.at)}</td>
                        <td class="mono">
                          {p.accountSid}/{p.queue}
                        </td>
                        <td class="num">{p.bytes}</td>
                        <td>{p.duplicate ? 'duplicate' : p.delivered ? 'yes' : 'queued'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </Async>
      </section>
    </>
  );
}
