import { fileURLToPath } from 'node:url';
import type { AlertPlanner } from '../../src/alerting/broadcast/types.js';
import { sleep } from '../../src/core/clock.js';
import type { ActionResult, Driver } from '../../src/core/driver.js';
import { DeviceError } from '../../src/core/errors.js';
import { loadSpecFile } from '../../src/core/spec.js';

export const TESTPHONE_SPEC_PATH = fileURLToPath(
  new URL('../fixtures/specs/testphone.yaml', import.meta.url),
);

/**
 * How a test phone behaves (its `settings.behavior`):
 * ok; busy (refuses normal pushes as busy, takes barge); busy-always (refuses everything as busy);
 * flaky:<n> (fails n times retryably, then ok); down (always unreachable, retryable; thrown error);
 * refuse (non-retryable refusal); slow:<ms> (answers after ms); tone-fails (display ok, tone refused);
 * confirm (display accepted with a `displayRef` = `ref-<device id>`, for drivers that confirm display later).
 */
export interface PhoneLog {
  calls: Array<{ action: string; params: Record<string, unknown> }>;
  inFlight: number;
  maxInFlight: number;
  failuresLeft: number | undefined;
}

export const phoneLogs = new Map<string, PhoneLog>();
export const concurrency = { now: 0, max: 0 };
/** Every call any test phone answered, in the order they answered. */
export const callOrder: Array<{ deviceId: string; action: string }> = [];

export function resetPhones(): void {
  phoneLogs.clear();
  callOrder.length = 0;
  concurrency.now = 0;
  concurrency.max = 0;
}

export const testphonePlanner: AlertPlanner = {
  kind: 'testphone',
  multicastAudio: true,
  displaysOnAccept: true,
  plan(alert) {
    return [
      {
        actionId: 'show',
        role: 'display',
        params: {
          title: alert.title.slice(0, 64),
          text: alert.text,
          ...(alert.ackUrl ? { ack_url: alert.ackUrl } : {}),
          mode: alert.whisper || alert.priority === 'emergency' ? 'barge' : 'normal',
        },
      },
      ...(alert.tones !== 'none'
        ? [{ actionId: 'tone', role: 'tone' as const, optional: true, params: { name: alert.tones } }]
        : []),
      ...(alert.audio?.kind === 'multicast'
        ? [
            {
              actionId: 'listen',
              role: 'audio' as const,
              optional: true,
              params: { address: alert.audio.address, port: alert.audio.port },
            },
          ]
        : []),
    ];
  },
  planClear: () => [{ actionId: 'clear', role: 'display', params: {} }],
  isBusy: (r) => r.outcome === 'busy',
  ackPage: (text) => ({ contentType: 'text/plain; charset=utf-8', body: `ACK: ${text}` }),
};

export function testphoneDriver(opts: { withPlanner?: boolean } = {}): Driver<{ behavior?: string }> {
  const spec = loadSpecFile(TESTPHONE_SPEC_PATH);
  return {
    kind: 'testphone',
    spec,
    configSchema: {
      type: 'object',
      properties: { behavior: { type: 'string', maxLength: 40 } },
      additionalProperties: false,
    },
    ...(opts.withPlanner === false ? {} : { alertPlanner: testphonePlanner }),
    open(device) {
      const behavior = device.settings.behavior ?? 'ok';
      const log: PhoneLog = phoneLogs.get(device.id) ?? {
        calls: [],
        inFlight: 0,
        maxInFlight: 0,
        failuresLeft: undefined,
      };
      phoneLogs.set(device.id, log);
      const [mode, arg] = behavior.split(':');
      if (mode === 'flaky' && log.failuresLeft === undefined) log.failuresLeft = Number(arg ?? 1);
      const run = async (
        action: string,
        params: Record<string, unknown>,
        opts: { signal?: AbortSignal } = {},
      ): Promise<ActionResult> => {
        log.inFlight++;
        log.maxInFlight = Math.max(log.maxInFlight, log.inFlight);
        concurrency.now++;
        concurrency.max = Math.max(concurrency.max, concurrency.now);
        try {
          // Like a real driver, an aborted request stops waiting for the phone.
          await sleep(mode === 'slow' ? Number(arg ?? 50) : 1, opts.signal ? { signal: opts.signal } : {});
          log.calls.push({ action, params });
          callOrder.push({ deviceId: device.id, action });
          if (mode === 'down')
            throw new DeviceError('HTTP_CONNECT_FAILED', `${device.address}: connection refused`, {
              retryable: true,
            });
          if (mode === 'refuse')
            return { ok: false, outcome: 'forbidden', message: 'push refused', retryable: false };
          if (mode === 'flaky' && (log.failuresLeft ?? 0) > 0) {
            log.failuresLeft!--;
            return { ok: false, outcome: 'internal_error', message: 'try again', retryable: true };
          }
          if (mode === 'busy-always') return { ok: false, outcome: 'busy', retryable: true };
          if (mode === 'busy' && action === 'show' && params.mode !== 'barge')
            return { ok: false, outcome: 'busy', retryable: true };
          if (mode === 'tone-fails' && action === 'tone')
            return { ok: false, outcome: 'unsupported', retryable: false };
          if (mode === 'confirm' && action === 'show')
            return { ok: true, outcome: 'accepted', data: { displayRef: `ref-${device.id}` } };
          return { ok: true, outcome: 'accepted' };
        } finally {
          log.inFlight--;
          concurrency.now--;
        }
      };
      return {
        execute: run,
        query: run,
        variables: () => ({}),
        async close() {},
      };
    },
  };
}
