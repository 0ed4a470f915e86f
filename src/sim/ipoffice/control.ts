import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { builtinScenarios, type Scenario } from './scenario.js';
import type { Devlink3Simulator } from './server.js';

/**
 * The control port of `switchboard sim ipoffice`: an HTTP server on loopback that places a call on
 * demand (`POST /call {"from":"201","to":"911"}`, what `switchboard sim ipoffice call` sends). An
 * emergency or test number plays the `emergency` scenario; any other number the `internal` one.
 */

export interface CallRequest {
  from: string;
  to: string;
  name?: string;
}

/** Numbers that play the emergency scenario (the hub's defaults: emergency and test numbers). */
const EMERGENCY = new Set(['911', '9911', '112', '999', '933', '9933']);
const DIGITS = /^[0-9*#+]{1,32}$/;
const MAX_BODY = 4096;

/** The scenario and variables that place this call. Pure: tested on its own. */
export function callScenario(
  req: CallRequest,
  scenarios: ReadonlyMap<string, Scenario> = builtinScenarios(),
): { scenario: Scenario; vars: Record<string, string> } {
  if (!DIGITS.test(req.from)) throw new Error(`from: ${JSON.stringify(req.from)} is not an extension`);
  if (!DIGITS.test(req.to)) throw new Error(`to: ${JSON.stringify(req.to)} is not a number`);
  const name = (req.name ?? `Extension ${req.from}`).replace(/["<>&,]/g, '').slice(0, 64);
  if (EMERGENCY.has(req.to))
    return { scenario: scenarios.get('emergency')!, vars: { ext: req.from, name, number: req.to } };
  return {
    scenario: scenarios.get('internal')!,
    vars: { a: req.from, aname: name, b: req.to, bname: `Extension ${req.to}` },
  };
}

export interface SimControl {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Starts the control server on `host` (loopback only) and `port` (0 = any free port). */
export async function startSimControl(
  sim: Devlink3Simulator,
  o: { host: string; port: number; speed?: number; signal?: AbortSignal },
): Promise<SimControl> {
  const scenarios = builtinScenarios();
  const server: Server = createServer((req, res) => {
    const answer = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
    };
    if (req.method !== 'POST' || req.url !== '/call')
      return answer(404, { error: 'POST /call {"from":"201","to":"911"}' });
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY) req.destroy();
    });
    req.on('end', () => {
      let call: { scenario: Scenario; vars: Record<string, string> };
      try {
        const parsed = JSON.parse(body) as Partial<CallRequest>;
        call = callScenario({
          from: String(parsed.from ?? ''),
          to: String(parsed.to ?? ''),
          ...(typeof parsed.name === 'string' ? { name: parsed.name } : {}),
        });
      } catch (e) {
        return answer(400, { error: (e as Error).message });
      }
      if (sim.subscriberCount === 0) return answer(409, { error: 'no DevLink3 client is subscribed yet' });
      void sim.play(call.scenario, call.vars, {
        speed: o.speed ?? 1,
        ...(o.signal ? { signal: o.signal } : {}),
      });
      answer(202, { scenario: call.scenario.name, vars: call.vars, subscribers: sim.subscriberCount });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${o.host}:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
