import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { PlannedAlert } from '../../../src/alerting/broadcast/types.js';
import type { Device } from '../../../src/core/devices.js';
import { findAction, loadSpecFile, validateParams } from '../../../src/core/spec.js';
import { avayaAlertPlanner } from '../../../src/drivers/avaya/alert.js';
import { ciscoAlertPlanner } from '../../../src/drivers/cisco/alert.js';

/** The drivers' specs (specs/<kind>.yaml); SPEC_DIR points elsewhere while they are not merged yet. */
const specDir = process.env.SPEC_DIR ?? fileURLToPath(new URL('../../../specs/', import.meta.url));
const specOf = (kind: string) => {
  const p = `${specDir.replace(/\/?$/, '/')}${kind}.yaml`;
  return existsSync(p) ? loadSpecFile(p) : undefined;
};

const device = (kind: string): Device => ({
  id: `${kind}-1`,
  kind,
  name: 'x',
  address: '127.0.0.1',
  labels: [],
  groups: ['security'],
  location: {},
  settings: {},
  createdAt: '',
  updatedAt: '',
});

const alert = (o: Partial<PlannedAlert> = {}): PlannedAlert => ({
  broadcastId: 'bc_1',
  title: '911 CALL',
  text: '911 call from Ann (ext 201)\nCallback: 5550100\nLocation: HQ / floor 2 / room 214',
  priority: 'emergency',
  tones: 'urgent',
  ackUrl: 'http://10.0.0.2:8080/alerts/ack/dl_1/tok_abc',
  audio: null,
  expiresAt: null,
  whisper: false,
  ...o,
});

function checkAgainstSpec(kind: string, steps: Array<{ actionId: string; params: Record<string, unknown> }>) {
  const spec = specOf(kind);
  if (!spec) return;
  for (const s of steps) {
    const a = findAction(spec, s.actionId);
    expect(a, `${kind} spec has ${s.actionId}`).toBeDefined();
    expect(() => validateParams(a!, s.params)).not.toThrow();
  }
}

describe('Cisco alert planner', () => {
  const p = ciscoAlertPlanner();
  it('CiscoIPPhoneText with an Ack softkey to the ack URL, then Play: chime', () => {
    const steps = p.plan(alert(), device('cisco'));
    expect(steps.map((s) => [s.actionId, s.role])).toEqual([
      ['object_text', 'display'],
      ['play_audio', 'tone'],
    ]);
    expect(steps[0]!.params).toMatchObject({
      title: '911 CALL',
      prompt: 'EMERGENCY - acknowledge',
      softkeys: [
        { name: 'Ack', url: 'http://10.0.0.2:8080/alerts/ack/dl_1/tok_abc', position: 1 },
        { name: 'Exit', url: 'SoftKey:Exit', position: 3 },
      ],
    });
    expect(steps[0]!.params.text).toContain('room 214');
    expect(steps[1]!.params).toEqual({ filename: 'Classic2.raw' });
    checkAgainstSpec('cisco', steps);
  });
  it('normal notice: no ack softkey, chime; multicast audio joins the group stream', () => {
    const steps = p.plan(
      alert({
        priority: 'normal',
        tones: 'chime',
        ackUrl: null,
        audio: { kind: 'multicast', address: '239.255.40.1', port: 24000, request: { source: 'tone' } },
      }),
      device('cisco'),
    );
    expect(steps[0]!.params.softkeys).toEqual([{ name: 'Exit', url: 'SoftKey:Exit', position: 1 }]);
    expect(steps[1]!.params).toEqual({ filename: 'Chime.raw' });
    expect(steps[2]).toMatchObject({
      actionId: 'rtp_mrx',
      params: { i: '239.255.40.1', p: 24000, v: 100, s: 0 },
    });
    checkAgainstSpec('cisco', steps);
  });
  it('acknowledgement page is a CiscoIPPhoneText with escaped text', () => {
    const page = p.ackPage!('A & <B>');
    expect(page.contentType).toMatch(/^text\/xml/);
    expect(page.body).toContain('<Text>A &amp; &lt;B&gt;</Text>');
  });
});

describe('Avaya alert planner', () => {
  const p = avayaAlertPlanner();
  it('alert with ack: Display WML with an Ack link, barge, 3 pings', () => {
    const steps = p.plan(alert(), device('avaya'));
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({
      actionId: 'push_display',
      role: 'display',
      params: {
        title: '911 CALL',
        mode: 'barge',
        alert: 3,
        softkeys: [{ label: 'Ack', href: 'http://10.0.0.2:8080/alerts/ack/dl_1/tok_abc' }],
      },
    });
    checkAgainstSpec('avaya', steps);
  });
  it('short normal notice: Top Line, normal mode, 1 ping; whisper turns it into barge', () => {
    const a = alert({
      priority: 'normal',
      tones: 'chime',
      ackUrl: null,
      title: 'Lunch',
      text: 'Cake in the kitchen',
    });
    const steps = p.plan(a, device('avaya'));
    expect(steps[0]).toMatchObject({
      actionId: 'push_topline',
      params: { text: 'Lunch: Cake in the kitchen', mode: 'normal', alert: 1 },
    });
    expect(p.plan({ ...a, whisper: true }, device('avaya'))[0]!.params.mode).toBe('barge');
    expect(p.plan({ ...a, tones: 'none' }, device('avaya'))[0]!.params.alert).toBe(0);
    checkAgainstSpec('avaya', steps);
  });
  it('audio: multicast session or unicast push', () => {
    const m = p.plan(
      alert({
        audio: {
          kind: 'multicast',
          address: '239.255.40.2',
          port: 24002,
          request: { source: 'tone', tone: 'alert', repeat: 2 },
        },
      }),
      device('avaya'),
    );
    expect(m[1]).toMatchObject({
      actionId: 'push_audio_multicast',
      optional: true,
      params: { group: '239.255.40.2', port: 24002, source: 'tone', tone: 'alert', repeat: 2 },
    });
    const u = p.plan(
      alert({ audio: { kind: 'unicast', request: { source: 'tts', text: 'Evacuate' } } }),
      device('avaya'),
    );
    expect(u[1]).toMatchObject({
      actionId: 'push_audio',
      params: { source: 'tts', text: 'Evacuate', mode: 'barge' },
    });
    checkAgainstSpec('avaya', [...m, ...u]);
  });
  it('busy = not in (audio) push state; ack page is WML', () => {
    expect(p.isBusy!({ ok: false, outcome: 'not_in_push_state' })).toBe(true);
    expect(p.isBusy!({ ok: false, outcome: 'not_in_audio_push_state' })).toBe(true);
    expect(p.isBusy!({ ok: false, outcome: 'forbidden' })).toBe(false);
    expect(p.ackPage!('ok').body).toMatch(/<wml>\s*<card[^>]*title="Acknowledged"/);
  });
});
