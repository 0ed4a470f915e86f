import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { broadcastRuntime } from '../alerting/broadcast-module.js';
import type { LocationEntry } from '../alerting/emergency/types.js';
import type { HubContext } from '../core/module.js';
import { UserService } from '../core/users.js';
import { demoModule, drillProviderFrom, registerDrillProvider } from '../server/demo.js';
import { startDemoAvaya } from '../sim/avaya/demo.js';
import { startDemoCisco } from '../sim/cisco/demo.js';
import { startDemoPubsub } from '../sim/cpaas/demo.js';
import { startDemoIpoffice } from '../sim/ipoffice/demo.js';
import { startDemoProvisioning } from '../sim/provisioning/demo.js';
import { action, type ConfigFlags, configFromFlags, withConfigOptions } from './common.js';
import { startHub } from './serve.js';

/** A simulator started by demo mode. */
export interface DemoPart {
  name: string;
  /** The simulator's JSON control/inspection URL, when it has one (printed for curl and the tests). */
  controlUrl?: string;
  stop(): Promise<void>;
}

/**
 * Demo parts: each module's simulators, started against the running hub and registered as devices.
 * Modules add their starter here (one line each).
 */
export const DEMO_STARTERS: Array<{
  name: string;
  start: (hub: HubContext) => Promise<{ stop(): Promise<void> }>;
}> = [
  { name: 'settings clients', start: startDemoProvisioning },
  { name: 'ipoffice', start: (hub) => startDemoIpoffice(hub) },
  { name: 'cisco phones', start: startDemoCisco },
  { name: 'avaya phones', start: (hub) => startDemoAvaya(hub) },
  {
    name: 'cpaas (PubSub)',
    start: async (hub) => {
      const d = await startDemoPubsub(hub);
      process.stdout.write(
        `PubSub demo account: AccountSid ${d.accountSid}  AuthToken ${d.authToken}  (CPaaS simulator ${d.simulatorUrl})\n`,
      );
      return d;
    },
  },
];

/** The demo PBX's users (the IP Office simulator's user list) and where they sit. */
const DEMO_CALLERS: Array<Omit<LocationEntry, 'updatedAt' | 'callback' | 'timeZone'>> = [
  { extension: '4001', name: 'Alice Able', site: 'HQ', building: 'Main', floor: '1', room: '101' },
  { extension: '4002', name: 'Bob Baker', site: 'HQ', building: 'Main', floor: '2', room: '214' },
  { extension: '4003', name: 'Carol Clark', site: 'HQ', building: 'Main', floor: '3', room: '310' },
  { extension: '4004', name: 'Dan Dunn', site: 'HQ', building: 'Annex', floor: '1', room: '12' },
  { extension: '4005', name: 'Erin Evans', site: 'HQ', building: 'Main', floor: '1', room: 'Reception' },
];

/**
 * A complete location table for the demo (Kari's Law data a real site must have): every PBX user and every
 * demo phone with an extension gets building, floor, room, an external callback number (fictional 555-01xx
 * numbers) and the site's time zone, so `GET /api/emergency` reports full coverage and no alert says
 * "unknown".
 */
export async function seedDemoLocations(hub: HubContext, timeZone = 'America/New_York'): Promise<number> {
  const now = new Date(hub.clock.now()).toISOString();
  const did = (i: number) => `+1202555${String(100 + (i % 100)).padStart(4, '0')}`;
  const rows: LocationEntry[] = DEMO_CALLERS.map((c, i) => ({
    ...c,
    callback: did(i + 1),
    timeZone,
    updatedAt: now,
  }));
  const seen = new Set(rows.map((r) => r.extension));
  for (const d of hub.devices.list()) {
    const label = d.labels.find((l) => l.startsWith('ext:'))?.slice(4);
    const ext = String((d.settings as Record<string, unknown>).extension ?? label ?? '');
    if (!/^[0-9]{2,15}$/.test(ext) || seen.has(ext)) continue;
    seen.add(ext);
    rows.push({
      extension: ext,
      name: d.name,
      site: d.location.site ?? 'HQ',
      building: d.location.building ?? 'Main',
      floor: d.location.floor ?? '1',
      room: d.location.room ?? d.name,
      callback: did(rows.length + 1),
      timeZone,
      updatedAt: now,
    });
  }
  await broadcastRuntime(hub).locations.upsertMany(rows);
  return rows.length;
}

export function registerDemoCommand(program: Command): void {
  withConfigOptions(
    program
      .command('demo')
      .description(
        'Run the hub with a throw-away data directory and simulated PBX and phones (what `npm start` runs)',
      )
      .option('-p, --port <port>', 'HTTP port', '8080')
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--keep', 'keep the throw-away data directory on exit')
      .option('--no-sims', 'start no simulators')
      .addHelpText(
        'after',
        '\nOpen the printed URL in a browser and sign in with the printed API key, or as the printed admin user.\n',
      ),
  ).action(
    action(async (o: ConfigFlags & { keep?: boolean; sims: boolean }) => {
      const tmp = o.dataDir ? undefined : mkdtempSync(join(tmpdir(), 'switchboard-demo-'));
      const config = configFromFlags(
        { ...o, dataDir: o.dataDir ?? tmp },
        // The simulated phones live on 127.0.0.1: let them subscribe (refused by default, see docs/security.md).
        {
          'log.level': process.env.SWITCHBOARD_LOG_LEVEL ?? 'warn',
          'avaya.subscription.allowLoopback': true,
        },
      );
      const running = await startHub(config, { handleSignals: false, modules: [demoModule()] });
      const key = await running.hub.apiKeys.create('demo');
      // A local admin user for the console's username/password sign-in (a fresh random password each run;
      // with a kept --data-dir the existing user and its password stay).
      const users = new UserService(running.hub.stores.users);
      let admin: { name: string; password: string } | undefined;
      try {
        const password = randomBytes(15).toString('base64url');
        await users.create('admin', password);
        admin = { name: 'admin', password };
      } catch {
        admin = undefined;
      }
      const parts: DemoPart[] = [];
      if (o.sims) {
        for (const s of DEMO_STARTERS) {
          try {
            const p = await s.start(running.hub);
            const drill = drillProviderFrom(s.name, p);
            if (drill) registerDrillProvider(running.hub, drill);
            const controlUrl = (p as { controlUrl?: unknown }).controlUrl;
            parts.push({
              name: s.name,
              stop: () => p.stop(),
              ...(typeof controlUrl === 'string' ? { controlUrl } : {}),
            });
          } catch (e) {
            process.stderr.write(`demo: could not start the ${s.name} simulator: ${(e as Error).message}\n`);
          }
        }
      }
      if (o.sims) await seedDemoLocations(running.hub);
      process.stdout.write(
        [
          '',
          `Switchboard demo is running at ${running.url}/`,
          `  API key:   ${key.key}`,
          admin
            ? `  Admin user: ${admin.name}  password: ${admin.password}`
            : '  Admin user: admin (already existed in this data directory; password unchanged)',
          `  API docs:  ${running.url}/api/docs`,
          `  Data dir:  ${config.dataDir}${tmp && !o.keep ? ' (deleted on exit)' : ''}`,
          `  Simulators: ${parts.map((p) => p.name).join(', ') || 'none'}`,
          ...parts.filter((p) => p.controlUrl).map((p) => `  ${p.name} simulator control: ${p.controlUrl}`),
          '',
          `Try: curl -H "Authorization: Bearer ${key.key}" ${running.url}/api/devices`,
          'Stop with Ctrl-C.',
          '',
        ].join('\n'),
      );
      const shutdown = async () => {
        for (const p of parts.reverse()) await p.stop().catch(() => {});
        await running.stop();
        if (tmp && !o.keep) rmSync(tmp, { recursive: true, force: true });
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown());
      process.once('SIGTERM', () => void shutdown());
    }),
  );
}
