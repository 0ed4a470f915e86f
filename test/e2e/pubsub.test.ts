import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PubSubMessage } from '../../src/pubsub/protocol.js';
import { CpaasSimulator } from '../../src/sim/cpaas/simulator.js';
import { type SpawnedHub, spawnSwitchboard } from '../helpers/process.js';

/**
 * End-to-end: the real `switchboard serve` process, accounts made with the real CLI against its data
 * directory, and the seed's curl scripts (test/e2e/pubsub/*.sh) run with `curl` and `sh`.
 */
const SCRIPTS = fileURLToPath(new URL('./pubsub/', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'sb-e2e-pubsub-'));
const ENV = { SWITCHBOARD_PUBSUB_HOSTNAME: 'relay-e2e', SWITCHBOARD_PUBSUB_LEASE: '2s' };

/** Runs a seed script with `sh`; `out()` reads what it has printed so far while it runs. */
function run(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> & { out: () => string } {
  let stdout = '';
  let stderr = '';
  const child = spawn('sh', [join(SCRIPTS, script)], { env: { ...process.env, ...env } });
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
  return Object.assign(done, { out: () => stdout });
}

async function createAccount(): Promise<{ accountSid: string; authToken: string }> {
  const cli = spawnSwitchboard([
    'pubsub',
    'accounts',
    'create',
    '--json',
    '--name',
    'e2e',
    '--data-dir',
    dataDir,
  ]);
  const line = await cli.waitFor(/^\{.*"authToken".*\}$/);
  expect(await cli.exited).toBe(0);
  return JSON.parse(line[0]) as { accountSid: string; authToken: string };
}

async function serve(): Promise<{ hub: SpawnedHub; url: string }> {
  const hub = spawnSwitchboard(
    ['serve', '--data-dir', dataDir, '--port', '0', '--host', '127.0.0.1', '--log-level', 'info'],
    ENV,
  );
  const m = await hub.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/);
  return { hub, url: m[1]! };
}

let hub: SpawnedHub;
let url: string;
let acc: { accountSid: string; authToken: string };
let env: Record<string, string>;

beforeAll(async () => {
  acc = await createAccount();
  ({ hub, url } = await serve());
  env = { PUBSUB_URL: url, ZANG_ACCOUNT_SID: acc.accountSid, ZANG_AUTH_TOKEN: acc.authToken };
}, 120_000);

afterAll(async () => {
  if (hub && hub.proc.exitCode === null) {
    hub.proc.kill('SIGTERM');
    await hub.exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('PubSub relay, real process, seed curl scripts', () => {
  it('session token, subscribe with timeout, publish form params, receive them', async () => {
    const out = join(dataDir, 'sub.json');
    const r = await run('subscribe.sh', { ...env, OUT: out });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ Queue: 'a/b', Delivered: true, Duplicate: false });
    const list = JSON.parse(readFileSync(out, 'utf8')) as PubSubMessage[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      Hostname: 'relay-e2e',
      AccountSid: acc.accountSid,
      Url: `/${acc.accountSid}/a/b`,
      FormParams: { Custom: '123', Param: 'abc' },
    });
    expect(list[0]!.Created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  });

  it('the SMS example: the until-loop prints "No messages yet." until the platform posts an SMS', async () => {
    const sim = new CpaasSimulator({ accountSid: acc.accountSid });
    const script = run('sms.sh', env);
    // The SMS is posted once the loop has polled at least once in vain (however slow the machine is).
    await expect.poll(() => script.out(), { timeout: 30_000, interval: 100 }).toContain('No messages yet.');
    const sms = await sim.sms({ url: `${url}/${acc.accountSid}/SMS`, body: 'Hello from my cell phone' });
    expect(sms.status).toBe(200);
    const r = await script;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('No messages yet.');
    expect(r.stdout).toContain(`"SmsSid":"${sms.smsSid}"`);
    expect(r.stdout).toContain('"Body":"Hello from my cell phone"');
  });

  it('a CLI-created account works against the running hub (same data directory)', async () => {
    const second = await createAccount();
    const res = await fetch(`${url}/auth`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${second.accountSid}:${second.authToken}`).toString('base64')}`,
      },
    });
    expect(res.status).toBe(200);
  });

  it('Call XML "Hello World" against the CPaaS simulator', async () => {
    const sim = new CpaasSimulator({ accountSid: acc.accountSid });
    const script = run('hello.sh', env);
    await new Promise((r) => setTimeout(r, 700));
    const call = await sim.call({ url: `${url}/${acc.accountSid}/call.xml` });
    const r = await script;
    expect(r.code).toBe(0);
    expect(call.status).toBe('completed');
    expect(call.transcript).toEqual([
      { verb: 'Request', method: 'POST', url: `${url}/${acc.accountSid}/call.xml`, status: 200 },
      { verb: 'Say', text: 'Unit test successful', loop: 1 },
      { verb: 'Hangup' },
    ]);
  });

  it('Call XML "Gather" against the CPaaS simulator: digits travel back and the thank-you is spoken', async () => {
    const sim = new CpaasSimulator({ accountSid: acc.accountSid });
    const script = run('gather.sh', env);
    await new Promise((r) => setTimeout(r, 700));
    const call = await sim.call({ url: `${url}/${acc.accountSid}/call.xml`, digits: ['12'] });
    const r = await script;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Call Call Answered: ${call.callSid}`);
    expect(r.stdout).toContain('Got Digits: 12');
    const action = `${url}/${acc.accountSid}/calls/events/NodeId-11/${call.callSid}.xml?event-type=gather-action&callId=callID&routeId=routeId&mediaRequestID=requestId`;
    expect(call.status).toBe('completed');
    expect(call.transcript).toEqual([
      { verb: 'Request', method: 'POST', url: `${url}/${acc.accountSid}/call.xml`, status: 200 },
      { verb: 'Say', text: 'hello hello I am here', voice: 'woman', loop: 2 },
      { verb: 'Gather', digits: '12', action, numDigits: 2, finishOnKey: '#' },
      { verb: 'Request', method: 'POST', url: action, status: 200 },
      { verb: 'Say', text: 'You pressed 12. Good bye.', loop: 1 },
      { verb: 'Hangup' },
    ]);
  });

  it('kill -9 while publishing: every acknowledged publish is delivered after restart', async () => {
    const q = `durability/${Date.now()}`;
    const session = await (
      await fetch(`${url}/auth?ttl=1h`, {
        headers: {
          authorization: `Basic ${Buffer.from(`${acc.accountSid}:${acc.authToken}`).toString('base64')}`,
        },
      })
    ).text();
    const acked = new Set<string>();
    const received = new Set<string>();
    // A subscriber drains concurrently (its leases are in flight when the process dies).
    let subscribing = true;
    const subscriber = (async () => {
      while (subscribing) {
        try {
          const res = await fetch(`${url}/${acc.accountSid}/${q}?timeout=1s&session=${session}`);
          for (const m of JSON.parse(await res.text()) as PubSubMessage[])
            received.add(m.FormParams.i as string);
        } catch {
          return;
        }
      }
    })();
    const publish = (i: number) =>
      fetch(`${url}/${acc.accountSid}/${q}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `i=${i}`,
      })
        .then(async (r) => {
          const body = (await r.json()) as { Id?: string };
          if (r.status === 200 && body.Id) acked.add(String(i));
        })
        .catch(() => {});
    // 16 publishers in a loop; kill -9 once at least 100 publishes were acknowledged, while others are in
    // flight; the publishers go on (now failing) for a moment, then stop.
    let sent = 0;
    let publishing = true;
    const publisher = async () => {
      while (publishing && sent < 5000) await publish(sent++);
    };
    const publishers = Array.from({ length: 16 }, publisher);
    for (let i = 0; i < 600 && acked.size < 100; i++) await new Promise((r) => setTimeout(r, 50));
    hub.proc.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    publishing = false;
    await Promise.all(publishers);
    subscribing = false;
    await subscriber;
    expect(await hub.exited).toBe('SIGKILL');
    expect(acked.size).toBeGreaterThanOrEqual(100);
    // The kill landed while publishes were in flight (some were never answered).
    expect(acked.size, `${acked.size} acknowledged of ${sent} sent`).toBeLessThan(sent);

    ({ hub, url } = await serve());
    // Same session after the restart: sessions are durable too. Drain until two empty polls in a row
    // (leases of the killed process run out after pubsub.lease = 2s and are delivered again).
    let empty = 0;
    for (let round = 0; round < 60 && empty < 2; round++) {
      const res = await fetch(`${url}/${acc.accountSid}/${q}?timeout=3s&session=${session}`);
      expect(res.status).toBe(200);
      const list = JSON.parse(await res.text()) as PubSubMessage[];
      for (const m of list) received.add(m.FormParams.i as string);
      empty = list.length === 0 ? empty + 1 : 0;
    }
    const lost = [...acked].filter((i) => !received.has(i));
    expect(lost, `${lost.length} of ${acked.size} acknowledged publishes lost`).toEqual([]);
  });
});

describe('switchboard pubsub accounts (CLI)', () => {
  it('lists, rotates and deletes accounts in the data directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-cli-pubsub-'));
    try {
      const runCli = async (...a: string[]) => {
        const p = spawnSwitchboard(['pubsub', 'accounts', ...a, '--data-dir', dir]);
        const code = await p.exited;
        return { code, out: p.stdout.join('\n'), err: p.stderr.join('\n') };
      };
      const created = JSON.parse((await runCli('create', '--name', 'ops', '--json')).out) as {
        accountSid: string;
        authToken: string;
      };
      const listed = JSON.parse((await runCli('list', '--json')).out) as Array<{
        accountSid: string;
        name: string;
      }>;
      expect(listed).toEqual([expect.objectContaining({ accountSid: created.accountSid, name: 'ops' })]);
      expect(JSON.stringify(listed)).not.toContain(created.authToken);
      const rotated = JSON.parse((await runCli('rotate', created.accountSid, '--json')).out) as {
        authToken: string;
      };
      expect(rotated.authToken).toMatch(/^[0-9a-f]{32}$/);
      expect(rotated.authToken).not.toBe(created.authToken);
      expect((await runCli('delete', created.accountSid)).out).toContain(`deleted ${created.accountSid}`);
      const again = await runCli('delete', created.accountSid);
      expect(again.code).toBe(1);
      expect(again.err).toContain('PUBSUB_UNKNOWN_ACCOUNT');
      expect((await runCli('list')).out).toContain('no PubSub accounts');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
