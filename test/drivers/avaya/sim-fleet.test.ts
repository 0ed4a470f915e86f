import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { startStandalonePushServer } from '../../../src/drivers/avaya/standalone.js';
import { startFleet } from '../../../src/sim/avaya/fleet.js';
import { isTrusted, pushCapDigit, stateVerdict } from '../../../src/sim/avaya/pushcap.js';

describe('push agent rules', () => {
  it('TPSLIST matching', () => {
    expect(isTrusted('http://anything/x', ['/'])).toBe(true);
    expect(isTrusted('http://192.0.2.10/push/a', ['192.0.2.10'])).toBe(true);
    expect(isTrusted('http://192.0.2.10:8080/push/a', ['192.0.2.10'])).toBe(true);
    expect(isTrusted('http://192.0.2.100/push/a', ['192.0.2.10'])).toBe(false);
    expect(isTrusted('http://PUSH.example.com/avaya/x', ['push.example.com/avaya'])).toBe(true);
    expect(isTrusted('http://push.example.com/other/x', ['push.example.com/avaya'])).toBe(false);
    expect(isTrusted('http://push.example.com/avaya2/x', ['push.example.com/avaya'])).toBe(false);
    expect(isTrusted('https://192.0.2.10/x', ['192.0.2.10'])).toBe(false);
    expect(isTrusted('http://x/y', [])).toBe(false);
  });
  it('PUSHCAP digits, rightmost is top line', () => {
    expect(
      ['topline', 'display', 'receive', 'transmit', 'phonexml'].map((c) =>
        pushCapDigit('21202', c as 'topline'),
      ),
    ).toEqual([2, 0, 2, 1, 2]);
    expect(pushCapDigit('122', 'transmit')).toBe(0);
    expect(pushCapDigit('bogus', 'topline')).toBe(0);
  });
  it('pushable states', () => {
    const idle = { call: 'idle' as const, textEdit: false, localProcedure: false, audioPlaying: false };
    expect(stateVerdict('topline', 'normal', { ...idle, textEdit: true })).toBe(205);
    expect(stateVerdict('topline', 'barge', { ...idle, textEdit: true })).toBe(200);
    expect(stateVerdict('display', 'normal', { ...idle, textEdit: true })).toBe(204);
    expect(stateVerdict('audio', 'normal', { ...idle, audioPlaying: true })).toBe(208);
    expect(stateVerdict('audio', 'barge', { ...idle, localProcedure: true })).toBe(208);
    expect(stateVerdict('subscribe', 'normal', { ...idle, localProcedure: true })).toBe(200);
  });
});

describe('simulated fleet', () => {
  it('serves /sim/state, changes activity over the control server, expires the top line after 30 s', async () => {
    const clock = new ManualClock(Date.now());
    const fleet = await startFleet({ phones: 3, controlPort: 0, clock });
    const srv = await startStandalonePushServer({ host: '127.0.0.1' });
    try {
      const all = (await fetch(`${fleet.controlUrl}/sim/state`).then((r) => r.json())) as {
        phones: Array<{ extension: string }>;
      };
      expect(all.phones.map((p) => p.extension)).toEqual(['2001', '2002', '2003']);
      const set = await fetch(`${fleet.controlUrl}/sim/phones/2002/activity`, {
        method: 'POST',
        body: JSON.stringify({ call: 'alerting' }),
      });
      expect(set.status).toBe(200);
      expect(
        (
          await fetch(`${fleet.controlUrl}/sim/phones/2002/activity`, {
            method: 'POST',
            body: '{"call":"ringing"}',
          })
        ).status,
      ).toBe(400);
      const [a, b] = [fleet.find('2001')!, fleet.find('2002')!];
      expect((await srv.run(a.address, 'push_topline', { text: 'Hi' })).outcome).toBe('accepted');
      expect((await srv.run(b.address, 'push_topline', { text: 'Hi' })).outcome).toBe('not_in_push_state');
      await a.waitFor((p) => p.screen.topline?.text === 'Hi');
      const one = (await fetch(`${fleet.controlUrl}/sim/state/2001`).then((r) => r.json())) as {
        screen: { topline?: { text: string } };
      };
      expect(one.screen.topline?.text).toBe('Hi');
      clock.advance(29_999);
      expect(a.screen.topline?.text).toBe('Hi');
      clock.advance(1);
      expect(a.screen.topline).toBeUndefined();
      expect((await fetch(`${fleet.controlUrl}/sim/state/9999`)).status).toBe(404);
    } finally {
      await srv.stop();
      await fleet.stop();
    }
  });

  it('every action of specs/avaya.yaml is implemented', async () => {
    const fleet = await startFleet({ phones: 1, phoneOptions: { audioTimerMs: 200, transmitSeconds: 0.2 } });
    const srv = await startStandalonePushServer({
      host: '127.0.0.1',
      config: { multicastInterface: '127.0.0.1', multicastLeadMs: 0, transmitIdleS: 1 },
    });
    try {
      const { avayaDriver } = await import('../../../src/drivers/avaya/driver.js');
      const spec = avayaDriver(() => srv.service).spec;
      const params: Record<string, Record<string, unknown>> = {
        push_topline: { text: 't' },
        push_display: { text: 'd' },
        push_audio: { tone: 'beep', mode: 'barge' },
        push_audio_multicast: { group: '239.255.88.1', port: 41000, tone: 'beep' },
        push_audio_transmit: {},
        push_audio_stop: {},
        push_subscribe: {},
        push_phonexml: { xml: '<P/>' },
      };
      expect(spec.actions.map((a) => a.id).sort()).toEqual(Object.keys(params).sort());
      for (const a of spec.actions) {
        const r = await srv.run(fleet.phones[0]!.address, a.id, params[a.id]!);
        // The phone has no SUBSCRIBELIST: subscribe is refused with 503, everything else is accepted.
        expect([a.id, r.data]).toMatchObject([a.id, { pushStatus: a.id === 'push_subscribe' ? 503 : 200 }]);
      }
    } finally {
      await srv.stop();
      await fleet.stop();
    }
  });
});

describe('simulated phone under random input', () => {
  it('answers every random or truncated push with a documented status and keeps serving', async () => {
    const fc = (await import('fast-check')).default;
    const { httpRequest } = await import('../../../src/net/http-client.js');
    const { encodePushForm, buildPushMessage } = await import('../../../src/drivers/avaya/push-message.js');
    const { PUSH_STATUS_CODES } = await import('../../../src/drivers/avaya/push-status.js');
    const fleet = await startFleet({ phones: 1, tpsList: ['127.0.0.1'] });
    const p = fleet.phones[0]!;
    const valid = buildPushMessage({
      type: 'display',
      mode: 'barge',
      alert: 1,
      href: 'http://127.0.0.1:1/a',
      method: 'post',
      postfields: [{ name: 'a', value: 'b' }],
    });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.string({ maxLength: 300 }).map((s) => encodePushForm(s)),
            fc.nat({ max: valid.length }).map((n) => encodePushForm(valid.slice(0, n))),
            fc.string({ maxLength: 200 }),
          ),
          async (body) => {
            const r = await httpRequest({
              url: `http://${p.address}/forms/push`,
              method: 'POST',
              body,
              timeoutMs: 5000,
            });
            const code = Number(r.headers['x-push-status']);
            expect(PUSH_STATUS_CODES[code]).toBeDefined();
            expect(r.status).toBe(code === 402 ? 403 : 200);
          },
        ),
        { numRuns: 60 },
      );
      expect(p.state().pushes.total).toBeGreaterThanOrEqual(60);
    } finally {
      await fleet.stop();
    }
  });
});
