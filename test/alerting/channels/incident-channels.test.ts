import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelDispatcher, type ChannelLogEntry } from '../../../src/alerting/channels/dispatch.js';
import { EmailChannel } from '../../../src/alerting/channels/email.js';
import { PubSubChannel } from '../../../src/alerting/channels/pubsub.js';
import {
  type AlertChannel,
  type ChannelOutcome,
  incidentMessage,
} from '../../../src/alerting/channels/types.js';
import {
  IncidentWebhookChannel,
  verifyWebhook,
  type WebhookLogEntry,
  WebhookSender,
} from '../../../src/alerting/channels/webhook.js';
import type { IncidentMailer } from '../../../src/alerting/emergency/types.js';
import type { AlertPublisher } from '../../../src/alerting/rules/types.js';
import { ValidationError } from '../../../src/core/errors.js';
import type { HubEvent } from '../../../src/core/events.js';
import { pastIncident } from '../../helpers/incidents.js';

/**
 * Email, webhooks and PubSub behind the one channel interface: run by the dispatcher once per moment (they
 * retry themselves), never written to the channel log, recorded with their own timeline entries.
 */

const incident = pastIncident(7, Date.parse('2026-12-02T16:00:00Z'), { acknowledged: false });
const event: HubEvent = {
  id: '42',
  seq: 42,
  time: '2026-12-02T16:00:00.000Z',
  source: 'ipo-1',
  type: 'incident.opened',
  data: { callKey: 'ipo:7', dialled: '911' },
};

function dispatcher(channels: AlertChannel[]) {
  const log: ChannelLogEntry[] = [];
  const d = new ChannelDispatcher({
    registry: { list: () => channels },
    store: { save: async (e) => void log.push(e), list: async () => log, prune: async () => {} },
    options: { attempts: 3, backoffMs: 1, timeoutMs: 1000, logKeep: 100 },
    link: (id) => `http://hub/#/incidents/${id}`,
  });
  const run = async (kind: 'opened' | 'unnotified' | 'escalated' = 'opened', ev: HubEvent | null = event) => {
    const out: ChannelOutcome[] = [];
    await d.dispatch(kind, incident, (o) => out.push(o), ev ?? undefined);
    return out;
  };
  return { run, log };
}

describe('email as a channel', () => {
  it('one call per moment (the mailer retries itself); email.sent and email.failed as before', async () => {
    const calls: string[] = [];
    let fail = false;
    const mailer: IncidentMailer = {
      async send(kind, i) {
        calls.push(`${kind}:${i.id}`);
        if (fail) throw new Error('connect ECONNREFUSED 127.0.0.1:25 (after 3 attempts)');
        return { messageId: '<m1@hub>', attempts: 2 };
      },
    };
    const email = new EmailChannel(mailer, ['opened', 'escalated'], { host: 'mx', port: 25, recipients: 2 });
    const { run, log } = dispatcher([email]);
    expect(await run('opened')).toEqual([
      { type: 'email.sent', detail: { kind: 'opened', messageId: '<m1@hub>', attempts: 2 } },
    ]);
    fail = true;
    expect(await run('escalated')).toEqual([
      {
        type: 'email.failed',
        detail: { kind: 'escalated', reason: 'connect ECONNREFUSED 127.0.0.1:25 (after 3 attempts)' },
      },
    ]);
    expect(await run('unnotified')).toEqual([]);
    expect(calls).toEqual([`opened:${incident.id}`, `escalated:${incident.id}`]);
    expect(log).toHaveLength(0);
  });
});

describe('PubSub as a channel', () => {
  const publisherThat = (f: AlertPublisher['publish']) => ({ publish: f });

  it('published with the flat incident fields; skipped without any account; failed (loud) otherwise', async () => {
    const sent: Array<Record<string, unknown>> = [];
    let answer: 'ok' | 'no-account' | 'down' = 'ok';
    const pub = publisherThat(async (p) => {
      sent.push(p);
      if (answer === 'no-account')
        throw new ValidationError('PUBSUB_NO_ACCOUNT', 'no PubSub account to publish to', {
          field: 'account',
        });
      if (answer === 'down') throw new Error('queue store unreachable');
      return { id: 'msg-1' };
    });
    const warnings: unknown[] = [];
    const logger = { warn: (o: unknown) => warnings.push(o) } as never;
    const firstAccount = new PubSubChannel({
      queue: 'emergency',
      account: '',
      moments: ['opened'],
      publisher: () => pub,
      logger,
    });
    const named = new PubSubChannel({
      queue: 'emergency',
      account: 'AC1',
      moments: ['opened'],
      publisher: () => pub,
      logger,
    });

    expect(await dispatcher([firstAccount]).run()).toEqual([
      { type: 'published', detail: { queue: 'emergency', messageId: 'msg-1' } },
    ]);
    expect(sent[0]).toEqual({ queue: 'emergency', message: incidentMessage(incident) });

    answer = 'no-account';
    expect(await dispatcher([firstAccount]).run()).toEqual([
      { type: 'publish.skipped', detail: { queue: 'emergency', reason: 'no PubSub account' } },
    ]);
    expect(warnings).toHaveLength(0);
    // A configured account that fails is a failure, even for the same error code.
    expect((await dispatcher([named]).run())[0]).toMatchObject({ type: 'publish.failed' });
    expect(sent.at(-1)).toMatchObject({ account: 'AC1' });

    answer = 'down';
    const { run, log } = dispatcher([firstAccount]);
    expect(await run()).toEqual([
      { type: 'publish.failed', detail: { queue: 'emergency', error: 'queue store unreachable' } },
    ]);
    expect(warnings).toHaveLength(2);
    expect(sent).toHaveLength(4); // once per moment: no retry by the dispatcher
    expect(log).toHaveLength(0);
  });

  it('is not run while there is no relay (no publisher): nothing is noted', () => {
    let pub: AlertPublisher | undefined;
    const ch = new PubSubChannel({ queue: 'q', account: '', moments: ['opened'], publisher: () => pub });
    expect(ch.available()).toBe(false);
    pub = { publish: async () => ({ id: 'x' }) };
    expect(ch.available()).toBe(true);
  });
});

describe('webhooks as channels (a real receiver on 127.0.0.1)', () => {
  let server: Server;
  let url: string;
  const bodies: Array<{ body: string; signature: string }> = [];
  let status = 204;
  const entries: WebhookLogEntry[] = [];
  const sender = new WebhookSender(
    {
      save: async (e) => {
        const at = entries.findIndex((x) => x.id === e.id);
        if (at >= 0) entries[at] = e;
        else entries.push(e);
      },
      list: async () => entries,
      prune: async () => {},
    },
    { attempts: 2, backoffMs: 1, timeoutMs: 2000, logKeep: 100 },
  );

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        bodies.push({ body, signature: String(req.headers['x-switchboard-signature'] ?? '') });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=SECRETTOKEN`;
  });
  afterAll(() => server.close());

  const channel = () =>
    new IncidentWebhookChannel({
      id: 'webhook:1',
      url,
      secret: 'hook-secret',
      moments: ['opened', 'unnotified'],
      sender,
    });

  it('POSTs the moment’s event with the incident; webhook.sent with host and delivery id', async () => {
    bodies.length = 0;
    status = 204;
    const out = await dispatcher([channel()]).run('opened');
    const host = new URL(url).host;
    expect(out).toEqual([
      { type: 'webhook.sent', detail: { host, deliveryId: entries.at(-1)!.id, event: 'incident.opened' } },
    ]);
    expect(bodies).toHaveLength(1);
    const body = JSON.parse(bodies[0]!.body) as { id: string; type: string; data: Record<string, unknown> };
    expect(body).toMatchObject({
      id: '42',
      type: 'incident.opened',
      data: { callKey: 'ipo:7', ...incidentMessage(incident) },
    });
    expect((body.data.incident as { id: string; timeline: unknown[] }).id).toBe(incident.id);
    expect((body.data.incident as { timeline: unknown[] }).timeline).toEqual([]);
    expect(
      verifyWebhook('hook-secret', bodies[0]!.signature, bodies[0]!.body, Math.floor(Date.now() / 1000)),
    ).toBe(true);
    expect(JSON.stringify(out)).not.toContain('SECRETTOKEN');
  });

  it('a receiver that keeps failing: the sender’s attempts only (no dispatcher retry), webhook.failed, logged', async () => {
    bodies.length = 0;
    status = 503;
    const out = await dispatcher([channel()]).run('unnotified', { ...event, type: 'incident.unnotified' });
    expect(bodies).toHaveLength(2); // broadcast.webhook.attempts, not channels.attempts
    const last = entries.at(-1)!;
    expect(last.state).toBe('failed');
    expect(out).toEqual([
      {
        type: 'webhook.failed',
        detail: { host: new URL(url).host, deliveryId: last.id, event: 'incident.unnotified' },
      },
    ]);
    expect(JSON.stringify(out)).not.toContain('SECRETTOKEN');
  });

  it('not told about moments it did not ask for; a moment without its event fails loudly', async () => {
    bodies.length = 0;
    expect(await dispatcher([channel()]).run('escalated')).toEqual([]);
    const out = await dispatcher([channel()]).run('opened', null);
    expect(out).toEqual([
      { type: 'webhook.failed', detail: { host: new URL(url).host, deliveryId: '', event: '' } },
    ]);
    expect(bodies).toHaveLength(0);
  });
});
