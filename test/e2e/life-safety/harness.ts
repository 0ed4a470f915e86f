import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SpawnedHub, spawnSwitchboard } from '../../helpers/process.js';

export { until } from '../../helpers/wait.js';

export type Json = Record<string, unknown>;

/**
 * One data directory and config file for a life-safety test, and the real `switchboard serve` process over
 * it (started, killed and restarted by the test). Everything listens on 127.0.0.1 with ephemeral ports.
 */
export class LifeSafetyHub {
  readonly dir = mkdtempSync(join(tmpdir(), 'sb-life-'));
  readonly key = `sbk_life_${randomBytes(16).toString('hex')}`;
  proc: SpawnedHub | undefined;
  url = '';

  constructor(yaml: string[]) {
    writeFileSync(
      join(this.dir, 'switchboard.yaml'),
      [
        `dataDir: ${JSON.stringify(join(this.dir, 'data'))}`,
        'http: { host: 127.0.0.1, port: 0 }',
        'log: { level: info }',
        `auth: { apiKeys: [${JSON.stringify(this.key)}] }`,
        ...yaml,
        '',
      ].join('\n'),
    );
  }

  async start(): Promise<this> {
    this.proc = spawnSwitchboard(['serve', '-c', join(this.dir, 'switchboard.yaml')]);
    this.url = (await this.proc.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/, 60_000))[1]!;
    return this;
  }

  /** All log lines so far (stdout and stderr), parsed where they are JSON. */
  logs(): Json[] {
    const out: Json[] = [];
    for (const l of [...(this.proc?.stdout ?? []), ...(this.proc?.stderr ?? [])]) {
      try {
        out.push(JSON.parse(l) as Json);
      } catch {
        out.push({ msg: l });
      }
    }
    return out;
  }

  async api<T = Json>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed as T };
  }

  /** Adds an IP Office (the DevLink3 simulator on 127.0.0.1:port) that reconnects quickly. */
  async addIpOffice(id: string, port: number, password: string): Promise<void> {
    const r = await this.api('POST', '/api/devices', {
      id,
      kind: 'ipoffice',
      address: `127.0.0.1:${port}`,
      settings: { user: 'switchboard', password, reconnectInitialMs: 200, reconnectMaxMs: 500 },
    });
    if (r.status !== 201) throw new Error(`adding ${id}: ${r.status} ${JSON.stringify(r.body)}`);
  }

  async events(type: string): Promise<Json[]> {
    return (await this.api<{ events: Json[] }>('GET', `/api/events?type=${type}&limit=500`)).body.events;
  }

  async incidents(): Promise<Json[]> {
    return (await this.api<{ incidents: Json[] }>('GET', '/api/incidents?limit=100')).body.incidents;
  }

  async incident(id: string): Promise<{ incident: Json; deliveries: Json[] }> {
    return (await this.api<{ incident: Json; deliveries: Json[] }>('GET', `/api/incidents/${id}`)).body;
  }

  async kill(signal: NodeJS.Signals): Promise<number | string> {
    const p = this.proc;
    if (!p) return -1;
    if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill(signal);
    return p.exited;
  }

  async close(): Promise<void> {
    await this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
