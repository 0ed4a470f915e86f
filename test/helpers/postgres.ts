import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { PostgresDatabase } from '../../src/store/postgres/database.js';

/**
 * A throw-away PostgreSQL cluster for tests and benchmarks, from Debian's `postgresql` package
 * (binaries under /usr/lib/postgresql/<version>/bin): `initdb -A trust` in a temporary directory owned
 * by the `postgres` user (PostgreSQL refuses to run as root), `pg_ctl start` on an ephemeral port bound
 * to 127.0.0.1 with its socket in that directory; `stop()` stops it and removes the directory.
 *
 *   const pg = postgresAvailability();          // at module load: { bin } or { skip: reason }
 *   describe.skipIf(!pg.bin)(…)                 // outside CI only: in CI a missing PostgreSQL throws
 *   const cluster = await startPostgres();      // cluster.url = postgres://postgres@127.0.0.1:PORT/postgres
 */

export interface PostgresAvailability {
  /** Directory holding initdb and pg_ctl, when PostgreSQL is installed. */
  bin?: string;
  /** Why the PostgreSQL tests are skipped (never set in CI: there it throws instead). */
  skip?: string;
}

export interface PostgresCluster {
  url: string;
  port: number;
  /** Temporary directory (data in `data/`, socket and log beside it). */
  dir: string;
  /** Stops the server (fast shutdown) but keeps the data: `start()` brings it back on the same port. */
  stopServer(): void;
  /** Starts a stopped server again on the same port. */
  startServer(): void;
  /** Stops the server and removes the directory. Idempotent. */
  stop(): Promise<void>;
  /** Server log so far (for failure messages). */
  log(): string;
}

/** Highest installed version's bin directory under /usr/lib/postgresql, or undefined. */
export function findPostgresBin(root = '/usr/lib/postgresql'): string | undefined {
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

let availability: PostgresAvailability | undefined;

/**
 * Finds PostgreSQL, installing Debian's `postgresql` with apt-get when it is missing and we are root
 * (waiting for the apt lock if another install is running). In CI (`CI` set) a missing PostgreSQL is an
 * error, never a skip: CI installs it (.ci/run), so its absence means the run is not testing PostgreSQL.
 */
export function postgresAvailability(): PostgresAvailability {
  if (availability) return availability;
  let bin = findPostgresBin();
  if (!bin && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const lock = ['-o', 'DPkg::Lock::Timeout=600'];
    spawnSync('apt-get', [...lock, 'install', '-y', '-qq', '--no-install-recommends', 'postgresql'], {
      stdio: 'ignore',
      env,
      timeout: 600_000,
    });
    bin = findPostgresBin();
  }
  if (bin) availability = { bin };
  else {
    const reason =
      'PostgreSQL is not installed (no /usr/lib/postgresql/<version>/bin/pg_ctl): apt-get install postgresql';
    if (process.env.CI) throw new Error(`${reason} — CI must run the PostgreSQL tests, not skip them`);
    availability = { skip: reason };
  }
  return availability;
}

/** uid/gid of the `postgres` system user when running as root (initdb and postgres refuse root). */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root but there is no postgres user: apt-get install postgresql');
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

const live = new Set<PostgresCluster>();
let exitHook = false;

export interface StartPostgresOptions {
  /**
   * Durable like a production server (fsync on). Tests default to fsync off: the cluster is thrown
   * away, and no test kills PostgreSQL itself without a clean shutdown. Benchmarks pass true.
   */
  durable?: boolean;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
}

/** Creates and starts a cluster. Throws (with the server log) when it does not come up. */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresCluster> {
  const a = postgresAvailability();
  if (!a.bin) throw new Error(a.skip);
  const bin = a.bin;
  const user = postgresUser();
  // Dropping to the postgres user: its directory must sit where that user can reach it (a TMPDIR under
  // /root would not be), so /tmp.
  const dir = mkdtempSync(join(user ? '/tmp' : tmpdir(), 'sb-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(join(bin, cmd), args, {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' },
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
  };
  const init = run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-locale']);
  if (!init.ok) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.out}`);
  }
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    max_connections: '200',
    ...(opts.durable ? {} : { fsync: 'off', full_page_writes: 'off' }),
    ...opts.settings,
  };
  let port = 0;
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const startServer = () => {
    const o = [`-p ${port}`, `-k ${dir}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)];
    const r = run('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', o.join(' '), 'start']);
    if (!r.ok) throw new Error(`pg_ctl start failed: ${r.out}\n${log().slice(-2000)}`);
  };
  const stopServer = () => {
    run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  };
  // Another process may take the free port between the probe and the start: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    port = await freePort();
    try {
      startServer();
      lastError = undefined;
      break;
    } catch (e) {
      lastError = e;
    }
  }
  if (lastError) {
    rmSync(dir, { recursive: true, force: true });
    throw lastError;
  }
  let stopped = false;
  const cluster: PostgresCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    stopServer,
    startServer,
    log,
    async stop() {
      if (stopped) return;
      stopped = true;
      live.delete(cluster);
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(cluster);
  if (!exitHook) {
    exitHook = true;
    // pg_ctl starts a detached server: never leave one behind if the test process ends early.
    process.once('exit', () => {
      for (const c of live) void c.stop();
    });
  }
  return cluster;
}

/**
 * Creates database `name` in the cluster and answers its URL. A short-lived admin connection: a test may
 * restart the server under any long-lived one.
 */
export async function createDatabase(cluster: PostgresCluster, name: string): Promise<string> {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: cluster.url });
  admin.on('error', () => {});
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end().catch(() => {});
  }
  return cluster.url.replace(/\/postgres$/, `/${name}`);
}

/**
 * A describe() block with one throw-away cluster for the file (started before, removed after), skipped
 * outside CI when PostgreSQL is not installed. `db()` creates a fresh database and answers its URL.
 */
export function describePostgres(
  title: string,
  body: (pg: { cluster: () => PostgresCluster; db: () => Promise<string> }) => void,
): void {
  const avail = postgresAvailability();
  let cluster: PostgresCluster | undefined;
  const get = () => {
    if (!cluster) throw new Error('the PostgreSQL cluster is not started');
    return cluster;
  };
  describe.skipIf(!avail.bin)(`${title}${avail.skip ? ` (skipped: ${avail.skip})` : ''}`, () => {
    beforeAll(async () => {
      cluster = await startPostgres();
    }, 180_000);
    afterAll(async () => {
      await cluster?.stop();
    });
    body({ cluster: get, db: () => freshPostgresDatabase(get(), 'd') });
  });
}

let dbN = 0;

/** A new empty database in `cluster`, with a name no other test file of this run uses; answers its URL. */
export function freshPostgresDatabase(cluster: PostgresCluster, prefix = 't'): Promise<string> {
  return createDatabase(cluster, `${prefix}${process.pid}_${++dbN}`);
}

/**
 * Stores over a fresh, migrated database, for a contract suite: `peer()` opens another pool on the same
 * database (a second hub), `close()` closes every pool.
 */
export async function postgresStoreSets<S>(
  cluster: PostgresCluster,
  storesOf: (db: PostgresDatabase) => S,
): Promise<S & { peer(): Promise<S>; close(): Promise<void> }> {
  const url = await freshPostgresDatabase(cluster);
  const dbs: PostgresDatabase[] = [];
  const open = async () => {
    const db = new PostgresDatabase({ url, poolSize: 4 });
    dbs.push(db);
    await db.open();
    return storesOf(db);
  };
  return {
    ...(await open()),
    peer: open,
    async close() {
      for (const d of dbs) await d.close();
    },
  };
}
