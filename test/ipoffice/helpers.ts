import { Devlink3Monitor, type MonitorOptions } from '../../src/drivers/ipoffice/monitor.js';

export { makeCert } from '../helpers/tls.js';
export { sleep, waitFor } from '../helpers/wait.js';

export interface Captured {
  type: string;
  data: Record<string, unknown>;
}

export function monitor(opts: Partial<MonitorOptions> & { client: MonitorOptions['client'] }): {
  m: Devlink3Monitor;
  events: Captured[];
} {
  const events: Captured[] = [];
  const m = new Devlink3Monitor({
    resyncQuietMs: 150,
    loadUsers: false,
    ...opts,
    emit: (type, data) => events.push({ type, data }),
    client: {
      reconnect: { initialMs: 20, maxMs: 100 },
      keepaliveMs: 0,
      requestTimeoutMs: 2000,
      ...opts.client,
    },
  });
  return { m, events };
}
