import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpaasSimulator, startCpaasControlServer } from '../../src/sim/cpaas/simulator.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { phoneLogs, testphoneDriver } from '../helpers/testphone-driver.js';
import { until, waitFor } from '../helpers/wait.js';

/**
 * Issue 19, "Channels beyond phones", over real sockets on 127.0.0.1: a 911 incident goes to a Teams
 * Workflows webhook (Adaptive Card), a Slack incoming webhook (Block Kit), SMS and a voice call-out through
 * the CPaaS simulator (the callee presses 1 and the incident is acknowledged). Each channel is retried,
 * recorded in the incident timeline and the channel log, never delays the phone alert, and never shows
 * its secret (webhook URL token, CPaaS auth token).
 */

type Json = Record<string, unknown>;

interface Received {
  path: string;
  body: string;
  at: number;
}

/** A local webhook receiver: answers each path from a script (status list; `hold` = never answer). */
async function receiver(script: Record<string, Array<number | 'hold'>>) {
  const got: Received[] = [];
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      const path = req.url ?? '/';
      got.push({ path, body, at: Date.now() });
      const steps = script[path.split('?')[0]!] ?? [200];
      const step = steps.length > 1 ? steps.shift()! : steps[0]!;
      if (step === 'hold') {
        held.push(res);
        return;
      }
      res.writeHead(step, { 'content-type': 'text/plain' });
      res.end(step < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    got,
    release() {
      for (const r of held.splice(0)) r.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const TEAMS_SECRET = 'sig-TEAMSSECRET0123456789';
const SLACK_SECRET = 'T000/B000/SLACKSECRET0123456789';
const AUTH_TOKEN = 'cpaas-auth-token-0123456789abcdef';
const SID = 'AC0123456789abcdef0123456789abcdef';

let hub: TestHub;
let hooks: Awaited<ReturnType<typeof receiver>>;
let sim: CpaasSimulator;
let control: Awaited<ReturnType<typeof startCpaasControlServer>>;

beforeAll(async () => {
  // Teams fails once (503: retried), Slack is stalled on its first incident (hold: never delays phones).
  hooks = await receiver({ '/teams': [503, 202], '/slack/stall': ['hold'], '/slack': [200], '/down': [400] });
  sim = new CpaasSimulator({
    accountSid: SID,
    authToken: AUTH_TOKEN,
    answerDigits: { '+15550002222': ['1'], '+15550003333': ['9', ''] },
  });
  control = await startCpaasControlServer(sim);
  hub = await startTestHub({
    drivers: [testphoneDriver()],
    config: {
      'emergency.escalateAfterSeconds': 0,
      'channels.backoffMs': 10,
      'channels.attempts': 3,
      'channels.timeoutMs': 2000,
      'channels.teams': [{ id: 'desk', url: `${hooks.url}/teams?${TEAMS_SECRET}` }],
      'channels.slack': [
        { id: 'ops', url: `${hooks.url}/slack/${SLACK_SECRET}` },
        { id: 'stalled', url: `${hooks.url}/slack/stall`, moments: ['opened'] },
        { id: 'broken', url: `${hooks.url}/down`, moments: ['opened'] },
      ],
      'channels.cpaas': {
        apiUrl: `${control.url}/v2`,
        accountSid: SID,
        authToken: AUTH_TOKEN,
        from: '+15550000000',
      },
      'channels.sms': [{ id: 'guards', to: ['+15550001111'] }],
      'channels.voice': [{ id: 'oncall', to: ['+15550002222'], moments: ['opened'] }],
    },
  });
  expect(
    (
      await hub.api('POST', '/api/devices', {
        id: 'chguard',
        kind: 'testphone',
        address: '127.0.0.1:9471',
        groups: ['security'],
      })
    ).status,
  ).toBe(201);
});

afterAll(async () => {
  hooks?.release();
  await hub?.close();
  await control?.close();
  await hooks?.close();
  phoneLogs.delete('chguard');
});

let n = 0;
async function emergency(): Promise<Json> {
  n++;
  const callKey = `ipo:ch-${n}`;
  hub.hub.bus.emit({
    source: 'ipo-1',
    type: 'call.emergency',
    data: {
      callKey,
      callerExtension: `21${n}`,
      callerName: `Jane <b>*Doe*</b> ${n}`,
      dialled: '911',
      callbackNumber: '+13125550142',
    },
  });
  return until('incident', async () => {
    const l = await hub.api<{ incidents: Json[] }>('GET', '/api/incidents?limit=50');
    return l.body.incidents.find((i) => i.callKey === callKey);
  });
}

const timeline = async (id: unknown) =>
  (
    await hub.api<{ incident: { timeline: Array<{ type: string; detail: Json; at: string }> } }>(
      'GET',
      `/api/incidents/${id}`,
    )
  ).body.incident.timeline;

describe('911 incident → channels', () => {
  let inc: Json;
  beforeAll(async () => {
    inc = await emergency();
  });

  it('the phone alert is not held up by a channel that never answers', async () => {
    await until('the phone took the alert', async () =>
      (await timeline(inc.id)).find((t) => t.type === 'delivery.report'),
    );
    // The stalled Slack channel is still pending: the phones did not wait for it.
    const t = await timeline(inc.id);
    expect(
      t.find((x) => x.type.startsWith('channel.') && x.detail.channel === 'slack:stalled'),
    ).toBeUndefined();
    expect(t.findIndex((x) => x.type === 'notified')).toBeGreaterThanOrEqual(0);
  });

  it('Teams: an Adaptive Card with caller, callback number, location, time and an acknowledge link; retried after a 503', async () => {
    const t = await until('teams sent', async () =>
      (await timeline(inc.id)).find(
        (x) => x.type === 'channel.sent' && x.detail.channel === 'teams:desk' && x.detail.moment === 'opened',
      ),
    );
    expect(t.detail.attempts).toBe(2);
    const req = hooks.got.find((g) => g.path.startsWith('/teams') && g.body.includes(String(inc.id)));
    const msg = JSON.parse(req!.body) as {
      type: string;
      attachments: Array<{ contentType: string; content: Json }>;
    };
    expect(msg.type).toBe('message');
    const card = msg.attachments[0]!;
    expect(card.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card.content.type).toBe('AdaptiveCard');
    const facts = ((card.content.body as Json[])[1]!.facts as Array<{ title: string; value: string }>).map(
      (f) => f.title,
    );
    expect(facts).toEqual(['Caller', 'Callback number', 'Location', 'Time', 'State']);
    const body = JSON.stringify(card.content.body);
    expect(body).toContain('+13125550142');
    // Markdown in a caller name is escaped (no bold, no HTML)
    expect(body).toContain('\\\\*Doe\\\\*');
    const action = (card.content.actions as Json[])[0]!;
    expect(action).toMatchObject({ type: 'Action.OpenUrl', title: 'Acknowledge' });
    expect(String(action.url)).toBe(`${hub.hub.hub.publicUrl}/#/incidents/${inc.id}`);
  });

  it('Slack: Block Kit header, fields and a button; a channel answering 400 fails once (not retried), recorded', async () => {
    await until('slack sent', async () =>
      (await timeline(inc.id)).find((x) => x.type === 'channel.sent' && x.detail.channel === 'slack:ops'),
    );
    const req = hooks.got.find((g) => g.path.startsWith('/slack/T000') && g.body.includes('Jane'))!;
    const msg = JSON.parse(req.body) as { text: string; blocks: Json[] };
    expect(msg.blocks.map((b) => b.type)).toEqual(['header', 'section', 'actions']);
    expect(msg.text).toContain('&lt;b&gt;');
    const failed = await until('broken failed', async () =>
      (await timeline(inc.id)).find(
        (x) => x.type === 'channel.failed' && x.detail.channel === 'slack:broken',
      ),
    );
    expect(failed.detail).toMatchObject({ attempts: 1 });
    expect(String(failed.detail.error)).toMatch(/HTTP 400/);
  });

  it('SMS through the CPaaS platform: one message with caller, location, callback and the link', async () => {
    await until('sms', () => sim.sent.find((s) => s.body.includes(String(inc.id))));
    const sms = sim.sent.find((s) => s.body.includes(String(inc.id)))!;
    expect(sms).toMatchObject({ to: '+15550001111', from: '+15550000000' });
    expect(sms.body).toMatch(/911 CALL: Jane .* \(ext 211\) at .*Callback \+13125550142/);
    expect(sms.body.length).toBeLessThanOrEqual(459);
  });

  it('voice call-out reads the alert with <Say> and pressing 1 acknowledges the incident', async () => {
    await until('acknowledged by voice', async () => {
      const d = await hub.api<{ incident: Json }>('GET', `/api/incidents/${inc.id}`);
      return d.body.incident.state === 'acknowledged' ? d.body.incident : undefined;
    });
    const d = await hub.api<{ incident: Json }>('GET', `/api/incidents/${inc.id}`);
    expect(d.body.incident.acknowledgedBy).toBe('voice +155…2222');
    await waitFor(() => sim.calls.length > 0);
    const call = sim.calls[0]!;
    const say = call.transcript.find((t) => t.verb === 'Say');
    expect(say && 'text' in say ? say.text : '').toMatch(
      /911 CALL\. Jane .*Callback number \+1 3 1 2 5 5 5 0 1 4 2.*Press 1 to acknowledge/,
    );
    expect(call.transcript.map((t) => t.verb)).toContain('Gather');
    expect(call.transcript.at(-1)?.verb).toBe('Hangup');
  });

  it('the acknowledgement is told to the channels too; secrets appear nowhere', async () => {
    await until('ack to teams', async () =>
      (await timeline(inc.id)).find(
        (x) =>
          x.type === 'channel.sent' &&
          x.detail.moment === 'acknowledged' &&
          x.detail.channel === 'teams:desk',
      ),
    );
    const ch = await hub.api<{ channels: Json[]; log: Json[] }>('GET', `/api/channels?incidentId=${inc.id}`);
    expect(ch.status).toBe(200);
    expect(ch.body.channels.map((c) => c.id).sort()).toEqual(
      ['slack:broken', 'slack:ops', 'slack:stalled', 'sms:guards', 'teams:desk', 'voice:oncall'].sort(),
    );
    expect(ch.body.log.length).toBeGreaterThanOrEqual(6);
    const everything = JSON.stringify([ch.body, await timeline(inc.id)]);
    for (const secret of [TEAMS_SECRET, 'SLACKSECRET', AUTH_TOKEN, '+15550001111'])
      expect(everything).not.toContain(secret);
  });
});

describe('voice route: attacker first', () => {
  it('an unknown, malformed or missing token gets a goodbye, never an acknowledgement or a 5xx', async () => {
    for (const q of ['?token=AAAAAAAAAAAAAAAAAAAAAA', '?token=%3Cx%3E', '?token=' + 'x'.repeat(100), '']) {
      const res = await fetch(`${hub.url}/alerting/voice${q}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'Digits=1&CallSid=CA1',
      });
      expect(res.status, q).toBeLessThan(500);
      const text = await res.text();
      if (res.status === 200) expect(text).toContain('no longer available');
      else expect(res.status).toBe(400);
    }
  });

  it('another key replays the alert; the call ends after its repeats', async () => {
    const rt = await import('../../src/alerting/module.js');
    const a = rt.alertingRuntime(hub.hub);
    const token = a.voiceBook.add({
      incidentId: 'inc_x',
      to: '+15550003333',
      text: 'Test <alert> & more',
      voice: 'woman',
      repeats: 2,
    });
    const r = await sim.call({
      url: `${hub.hub.hub.publicUrl}/alerting/voice?token=${token}`,
      digits: ['9', ''],
    });
    expect(r.status).toBe('completed');
    const says = r.transcript.filter((t) => t.verb === 'Say').map((t) => ('text' in t ? t.text : ''));
    expect(says[0]).toContain('Test <alert> & more');
    expect(says.filter((s) => s.includes('Test <alert>'))).toHaveLength(2);
    expect(says.at(-1)).toContain('No key was pressed');
  });
});
