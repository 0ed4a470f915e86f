import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertPlanner, PlannedAlert } from '../../../src/alerting/broadcast/types.js';
import { broadcastRuntime } from '../../../src/alerting/broadcast-module.js';
import type { Device } from '../../../src/core/devices.js';
import { findAction, loadSpecFile, validateParams } from '../../../src/core/spec.js';
import { avayaAlertPlanner } from '../../../src/drivers/avaya/alert.js';
import { ciscoAlertPlanner } from '../../../src/drivers/cisco/alert.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { phoneLogs, resetPhones, testphoneDriver, testphonePlanner } from '../../helpers/testphone-driver.js';

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

/** The broadcast module keeps no planner of its own: each driver brings its planner (Driver.alertPlanner). */
type Json = Record<string, unknown>;

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
  resetPhones();
});

describe('alert planners come from the drivers', () => {
  it('the Cisco driver is built with broadcast.ciscoTones; the Avaya driver has its planner', async () => {
    hub = await startTestHub({ config: { 'broadcast.ciscoTones': { urgent: 'Site911.raw' } } });
    const cisco = hub.hub.drivers.get('cisco')?.alertPlanner;
    expect(cisco?.kind).toBe('cisco');
    const tone = cisco!.plan(alert(), device('cisco')).find((s) => s.role === 'tone');
    expect(tone).toMatchObject({ actionId: 'play_audio', params: { filename: 'Site911.raw' } });
    expect(hub.hub.drivers.get('avaya')?.alertPlanner?.kind).toBe('avaya');
  });

  it("a broadcast runs the planner of the device's driver", async () => {
    const planned: string[] = [];
    const spy: AlertPlanner = {
      ...testphonePlanner,
      plan(a, d) {
        planned.push(d.id);
        return testphonePlanner.plan(a, d);
      },
    };
    hub = await startTestHub({ drivers: [{ ...testphoneDriver(), alertPlanner: spy }] });
    await hub.api('POST', '/api/devices', { id: 'p1', kind: 'testphone', address: '127.0.0.1:9401' });
    const r = await hub.api<{ broadcast: Json }>('POST', '/api/broadcasts', {
      title: 'Planner',
      text: 'from the driver',
      targets: { devices: ['p1'] },
    });
    expect(r.status).toBe(201);
    await broadcastRuntime(hub.hub).engine.wait(r.body.broadcast.id as string);
    expect(planned).toEqual(['p1']);
    expect(phoneLogs.get('p1')?.calls.map((c) => c.action)).toContain('show');
  });

  it('a kind without a planner: its phones fail with no_planner and say why', async () => {
    hub = await startTestHub({ drivers: [testphoneDriver({ withPlanner: false })] });
    await hub.api('POST', '/api/devices', { id: 'np', kind: 'testphone', address: '127.0.0.1:9402' });
    const r = await hub.api<{ broadcast: Json }>('POST', '/api/broadcasts', {
      title: 'No planner',
      text: 'x',
      targets: { devices: ['np'] },
    });
    expect(r.status).toBe(201);
    const id = r.body.broadcast.id as string;
    await broadcastRuntime(hub.hub).engine.wait(id);
    const g = await hub.api<{ deliveries: Json[] }>('GET', `/api/broadcasts/${id}`);
    expect(g.body.deliveries).toHaveLength(1);
    expect(g.body.deliveries[0]).toMatchObject({
      deviceId: 'np',
      state: 'failed',
      reason: 'no_planner',
      message: 'testphone devices cannot show alerts',
    });
    expect(phoneLogs.get('np')?.calls ?? []).toHaveLength(0);
  });
});
