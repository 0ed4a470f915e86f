import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { HubContext } from '../../core/module.js';
import { startRandomCalls } from './generator.js';
import { builtinScenarios, type Scenario } from './scenario.js';
import { DEFAULT_USERS, Devlink3Simulator } from './server.js';

export interface DemoIpoffice {
  sim: Devlink3Simulator;
  deviceId: string;
  /**
   * Plays the emergency scenario from `fromExtension` (the console's drill button). `test: true` dials a
   * test number (933) so the alert is marked as a test.
   */
  placeEmergencyCall(
    fromExtension: string,
    opts?: { test?: boolean; number?: string; locationId?: number },
  ): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Demo: starts the DevLink3 simulator on 127.0.0.1 (ephemeral port), plays the built-in scenarios in a
 * loop (not the emergency one) plus light random traffic, and registers it as device `ipo-demo`.
 */
export async function startDemoIpoffice(
  hub: HubContext,
  opts: { deviceId?: string; loopMs?: number; callsPerSecond?: number } = {},
): Promise<DemoIpoffice> {
  const password = randomBytes(9).toString('base64url');
  const sim = await new Devlink3Simulator({ credentials: { switchboard: password } }).start();
  const deviceId = opts.deviceId ?? 'ipo-demo';
  // SMDR too: the hub listens on a free loopback port and the simulator sends each played call's record.
  const smdrPort = await freePort();
  sim.enableSmdr({ host: '127.0.0.1', port: smdrPort, retryMs: 500 });
  await hub.devices.upsert({
    id: deviceId,
    kind: 'ipoffice',
    name: 'IP Office (simulated)',
    address: `127.0.0.1:${sim.port}`,
    labels: ['demo', 'pbx'],
    location: { site: 'Demo HQ', building: 'Main', floor: '1', description: 'DevLink3 simulator' },
    settings: {
      user: 'switchboard',
      password,
      flags: ['-CMExtn'],
      emergencyNumbers: ['911', '9911'],
      testNumbers: ['933', '9933'],
      reconnectInitialMs: 200,
      reconnectMaxMs: 5000,
      smdr: { enabled: true, port: smdrPort, listenHost: '127.0.0.1' },
    },
  });
  // Open the session now (the module also does this when the device is added after it started).
  hub.actions.session(deviceId);

  const scenarios = [...builtinScenarios().values()].filter(
    (s) => !['emergency', 'seed-examples', 'legacy-delta2'].includes(s.name),
  );
  const ac = new AbortController();
  let i = 0;
  const loop = async () => {
    while (!ac.signal.aborted) {
      const s = scenarios[i++ % scenarios.length]!;
      await sim.play(s, {}, { signal: ac.signal, speed: 0.1 }).catch(() => {});
      await new Promise((r) => setTimeout(r, opts.loopMs ?? 3000));
    }
  };
  void loop();
  const random = startRandomCalls(sim, { callsPerSecond: opts.callsPerSecond ?? 0.2, timeScaleMs: 1000 });
  const emergency = builtinScenarios().get('emergency') as Scenario;

  return {
    sim,
    deviceId,
    async placeEmergencyCall(fromExtension, o = {}) {
      const user = DEFAULT_USERS.find((u) => u.extension === fromExtension);
      await sim.play(
        emergency,
        {
          ext: fromExtension,
          name: user?.fullName ?? `Extension ${fromExtension}`,
          number: o.number ?? (o.test ? '933' : '911'),
          loc: String(o.locationId ?? 1),
        },
        { signal: ac.signal, speed: 0.1 },
      );
    },
    async stop() {
      ac.abort();
      random.stop();
      await sim.stop();
    },
  };
}

/** A TCP port free on 127.0.0.1 right now (for the demo's SMDR listener). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
