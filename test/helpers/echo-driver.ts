import { fileURLToPath } from 'node:url';
import type { ActionResult, Driver } from '../../src/core/driver.js';
import { loadSpecFile, renderCommand } from '../../src/core/spec.js';

export const ECHO_SPEC_PATH = fileURLToPath(new URL('../fixtures/specs/echo.yaml', import.meta.url));

/** Per-device state the tests can inspect. */
export const echoState = new Map<
  string,
  { commands: string[]; polls: number; opened: number; closed: number }
>();

/** A small in-memory driver used only by the tests to prove the driver contract. */
export function echoDriver(
  opts: { pollsUntilDone?: number } = {},
): Driver<{ greeting?: string; password?: string }> {
  const spec = loadSpecFile(ECHO_SPEC_PATH);
  return {
    kind: 'echo',
    spec,
    configSchema: {
      type: 'object',
      properties: {
        greeting: { type: 'string', maxLength: 20 },
        password: { type: 'string' },
        speed: { type: 'integer', minimum: 1, maximum: 10 },
      },
      additionalProperties: false,
    },
    secretKeys: ['password'],
    open(device, ctx) {
      const st = echoState.get(device.id) ?? { commands: [], polls: 0, opened: 0, closed: 0 };
      st.opened++;
      echoState.set(device.id, st);
      const run = async (id: string, params: Record<string, unknown>): Promise<ActionResult> => {
        const action = spec.actions.find((a) => a.id === id)!;
        if (id === 'fail')
          return { ok: false, outcome: 'refused', message: 'the echo device refuses this', retryable: false };
        const cmd = renderCommand(action.command ?? id, params);
        st.commands.push(cmd);
        if (id === 'say') ctx.bus.emit({ source: device.id, type: 'echo.said', data: { text: params.text } });
        if (id === 'start_job') {
          st.polls = 0;
          return { ok: true, outcome: 'started' };
        }
        if (id === 'job_status') {
          st.polls++;
          return {
            ok: true,
            outcome: 'status',
            data: { state: st.polls >= (opts.pollsUntilDone ?? 3) ? 'done' : 'running', polls: st.polls },
          };
        }
        return { ok: true, outcome: 'done', data: { command: cmd } };
      };
      return {
        execute: run,
        query: run,
        async push(command) {
          st.commands.push(command);
          return { ok: true, outcome: 'pushed', data: { command } };
        },
        variables: () => ({ said: st.commands.filter((c) => c.startsWith('SAY:')).map((c) => c.slice(4)) }),
        async close() {
          st.closed++;
        },
      };
    },
  };
}
