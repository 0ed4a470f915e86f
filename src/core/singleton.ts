import type { Cluster } from './cluster.js';
import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';

/**
 * Singleton work (docs/high-availability.md "Broadcasts and scheduled work across hubs"): `start` runs
 * while this hub holds the lease `name`, `stop` as soon as it is lost or given up; another hub starts it
 * when this one dies. A lone SQLite hub always holds its leases, so there the work simply runs.
 * Returns the function that stops the work and gives the lease up.
 */
export function holdSingleton(
  cluster: Cluster,
  name: string,
  work: { start(): void | Promise<void>; stop(): void | Promise<void> },
  log: Logger,
): () => Promise<void> {
  return cluster.hold(name, {
    async onAcquired() {
      try {
        await work.start();
      } catch (e) {
        // Started anyway (a timer may be armed): the next tick tries again; stop() still runs at the loss.
        log.error({ lease: name, err: errorMessage(e) }, 'singleton work failed to start');
      }
      return () => work.stop();
    },
  });
}

/**
 * A periodic job (pruning, sweeping) run by one hub at a time: at once when this hub gets the lease, then
 * every `everyMs` while it holds it. Failures are the job's to log.
 */
export function holdPeriodic(
  cluster: Cluster,
  name: string,
  everyMs: number,
  job: () => Promise<void>,
  log: Logger,
): () => Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return holdSingleton(
    cluster,
    name,
    {
      start() {
        void job();
        timer = setInterval(() => void job(), everyMs);
        timer.unref();
      },
      stop() {
        if (timer) clearInterval(timer);
        timer = undefined;
      },
    },
    log,
  );
}
