import { describe, expect, it } from 'vitest';
import {
  ChannelDispatcher,
  type ChannelLogEntry,
  type ChannelOutcome,
} from '../../../src/alerting/channels/dispatch.js';
import { slackMessage } from '../../../src/alerting/channels/slack.js';
import { smsText } from '../../../src/alerting/channels/sms.js';
import { escapeCardMarkdown } from '../../../src/alerting/channels/teams.js';
import {
  type AlertChannel,
  type AlertNotice,
  ChannelRegistry,
} from '../../../src/alerting/channels/types.js';
import { voiceXml } from '../../../src/alerting/channels/voice.js';
import type { Incident } from '../../../src/alerting/emergency/types.js';
import { DeviceError } from '../../../src/core/errors.js';

/** An incident as the service stores it (keys in alphabetical order). */
const incident = (over: Partial<Incident> = {}): Incident => ({
  acknowledgedAt: null,
  acknowledgedBy: null,
  broadcasts: [],
  callEndedAt: null,
  callKey: 'k',
  caller: { callbackNumber: '+13125550142', detectedBy: 'x', dialled: '911', extension: '214', name: 'Ann' },
  createdAt: '2026-12-02T16:00:00.000Z',
  detectLagMs: 0,
  escalations: 0,
  id: 'inc_1',
  location: { building: 'HQ', floor: '2', from: 'table', room: '214' },
  notifiedGroups: ['security'],
  pbx: 'ipo-1',
  state: 'notifying',
  test: false,
  timeline: [],
  ...over,
});

/** A channel whose attempts fail as scripted (`retry`, `final`), then succeed. */
function scripted(
  id: string,
  script: Array<'retry' | 'final'>,
  moments: AlertChannel['moments'] = ['opened'],
) {
  const calls: AlertNotice[] = [];
  const ch: AlertChannel = {
    id,
    kind: 'test',
    moments,
    async send(n) {
      calls.push(n);
      const step = script.shift();
      if (step)
        throw new DeviceError('TEST_FAILED', `attempt ${calls.length} failed`, {
          retryable: step === 'retry',
        });
      return { id: `msg-${calls.length}` };
    },
    describe: () => ({}),
  };
  return { ch, calls };
}

function setup(channels: AlertChannel[]) {
  const registry = new ChannelRegistry();
  for (const c of channels) registry.register(c);
  const log = new Map<string, ChannelLogEntry>();
  const d = new ChannelDispatcher({
    registry,
    store: {
      save: async (e) => {
        log.set(e.id, structuredClone(e));
      },
      list: async () => [...log.values()],
      prune: async () => {},
    },
    options: { attempts: 3, backoffMs: 1, timeoutMs: 1000, logKeep: 100 },
    link: (id) => `http://hub/#/incidents/${id}`,
  });
  return { d, log };
}

describe('ChannelDispatcher', () => {
  it('retries retryable failures, stops at a final one, reports one outcome per channel, logs every attempt', async () => {
    const ok = scripted('a', ['retry', 'retry']);
    const bad = scripted('b', ['final']);
    const never = scripted('c', [], ['acknowledged']);
    const { d, log } = setup([ok.ch, bad.ch, never.ch]);
    const out: ChannelOutcome[] = [];
    await d.dispatch('opened', incident(), (o) => out.push(o));
    expect(ok.calls).toHaveLength(3);
    expect(bad.calls).toHaveLength(1);
    expect(never.calls).toHaveLength(0);
    const byCh = Object.fromEntries(out.map((o) => [o.detail.channel, o]));
    expect(byCh.a).toMatchObject({
      type: 'channel.sent',
      detail: { attempts: 3, messageId: 'msg-3', moment: 'opened' },
    });
    expect(byCh.b).toMatchObject({
      type: 'channel.failed',
      detail: { attempts: 1, error: 'attempt 1 failed' },
    });
    expect(out).toHaveLength(2);
    const entries = [...log.values()];
    expect(entries.find((e) => e.channelId === 'a')?.attempts.map((a) => a.error)).toEqual([
      'attempt 1 failed',
      'attempt 2 failed',
      null,
    ]);
    expect(ok.calls[0]!.link).toBe('http://hub/#/incidents/inc_1');
  });

  it('gives up after the configured attempts', async () => {
    const flaky = scripted('f', ['retry', 'retry', 'retry', 'retry']);
    const { d } = setup([flaky.ch]);
    const out: ChannelOutcome[] = [];
    await d.dispatch('opened', incident(), (o) => out.push(o));
    expect(flaky.calls).toHaveLength(3);
    expect(out[0]!.type).toBe('channel.failed');
  });

  it('refuses two channels with one id', () => {
    const r = new ChannelRegistry();
    r.register(scripted('x', []).ch);
    expect(() => r.register(scripted('x', []).ch)).toThrow(/twice/);
  });
});

describe('message builders (pure)', () => {
  const n: AlertNotice = {
    kind: 'escalated',
    incident: incident({ escalations: 2, caller: { ...incident().caller, name: '[x](http://evil) <b>' } }),
    link: 'http://hub/#/incidents/inc_1',
  };
  it('Teams escapes Markdown, Slack escapes its three characters', () => {
    expect(escapeCardMarkdown('[x](http://evil) *b*')).toBe('\\[x\\]\\(http://evil\\) \\*b\\*');
    const s = JSON.stringify(slackMessage(n));
    expect(s).toContain('&lt;b&gt;');
    expect(s).toContain('ESCALATION 2');
  });
  it('SMS stays within three segments even with a long location', () => {
    const long = { ...n, incident: incident({ location: { description: 'y'.repeat(2000), from: 'table' } }) };
    const t = smsText(long);
    expect(t.length).toBeLessThanOrEqual(459);
    expect(t.endsWith(' http://hub/#/incidents/inc_1')).toBe(true);
  });
  it('voice InboundXML escapes the text and the action URL', () => {
    const x = voiceXml({
      kind: 'alert',
      text: 'a <b> & "c"',
      action: 'http://h/v?token=a&b',
      voice: 'woman',
      last: true,
    });
    expect(x).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(x).toContain('action="http://h/v?token=a&amp;b"');
    expect(x).toContain('<Hangup/>');
  });
});
