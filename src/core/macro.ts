import type { MacroEventSource } from './actions.js';
import { type Clock, sleep } from './clock.js';
import { evaluateCondition } from './condition.js';
import type { ActionResult, DeviceSession, ExecuteOptions } from './driver.js';
import { DeviceError, TimeoutError, ValidationError } from './errors.js';
import { type Condition, type MacroSpec, type MacroStep, renderCommand } from './spec.js';

export interface MacroStepRecord {
  index: number;
  verb: 'push' | 'action' | 'wait_for' | 'poll' | 'sleep';
  detail: string;
  ok: boolean;
  attempts?: number;
  result?: ActionResult;
  ms: number;
}

export interface MacroRunResult {
  macroId: string;
  ok: boolean;
  steps: MacroStepRecord[];
  last?: ActionResult;
}

export interface MacroContext {
  session: DeviceSession;
  /** Runs a spec action by id (validated). */
  run: (actionId: string, params: unknown, opts?: ExecuteOptions) => Promise<ActionResult>;
  clock: Clock;
  deviceId: string;
  signal?: AbortSignal;
  events?: MacroEventSource;
  defaultPollIntervalMs?: number;
  defaultTimeoutMs?: number;
}

function isEventWait(
  w: MacroStep['wait_for'],
): w is { event: string; where?: Condition; timeout_ms?: number } {
  return typeof w === 'object' && w !== null && 'event' in w;
}

/**
 * The generic macro runner for spec macros: `push` (raw driver command), `action`, `wait_for` (a condition
 * on the last result, or a bus event from the device), `poll … until` (repeat until a condition holds,
 * with interval and timeout), `sleep_ms`. Stops at the first failing step with a typed error.
 */
export async function runMacro(
  macro: MacroSpec,
  params: Record<string, unknown>,
  ctx: MacroContext,
): Promise<MacroRunResult> {
  const steps: MacroStepRecord[] = [];
  let last: ActionResult | undefined;
  const opts: ExecuteOptions = ctx.signal ? { signal: ctx.signal } : {};
  const push = async (cmd: string): Promise<ActionResult> => {
    if (!ctx.session.push)
      throw new ValidationError(
        'MACRO_PUSH_UNSUPPORTED',
        `this driver does not accept raw push steps (macro ${macro.id})`,
      );
    return ctx.session.push(renderCommand(cmd, params), opts);
  };
  for (const [index, step] of macro.steps.entries()) {
    if (ctx.signal?.aborted) throw ctx.signal.reason;
    const t0 = ctx.clock.now();
    if (step.push !== undefined) {
      last = await push(step.push);
      steps.push({
        index,
        verb: 'push',
        detail: step.push,
        ok: last.ok,
        result: last,
        ms: ctx.clock.now() - t0,
      });
      if (!last.ok) return { macroId: macro.id, ok: false, steps, last };
    } else if (step.action !== undefined) {
      last = await ctx.run(step.action, substitute(step.params ?? {}, params), opts);
      steps.push({
        index,
        verb: 'action',
        detail: step.action,
        ok: last.ok,
        result: last,
        ms: ctx.clock.now() - t0,
      });
      if (!last.ok) return { macroId: macro.id, ok: false, steps, last };
    } else if (step.wait_for !== undefined) {
      const w = step.wait_for;
      if (isEventWait(w)) {
        const data = await waitForEvent(
          ctx,
          w.event,
          w.where,
          w.timeout_ms ?? ctx.defaultTimeoutMs ?? 30_000,
        );
        last = { ok: true, outcome: 'event', data };
        steps.push({
          index,
          verb: 'wait_for',
          detail: `event ${w.event}`,
          ok: true,
          result: last,
          ms: ctx.clock.now() - t0,
        });
      } else {
        const ok = last !== undefined && evaluateCondition(w, last);
        steps.push({ index, verb: 'wait_for', detail: JSON.stringify(w), ok, ms: 0 });
        if (!ok) {
          throw new DeviceError(
            'MACRO_CONDITION_FAILED',
            `macro ${macro.id} step ${index}: the device answered ${describe(last)}, which is not what the step waits for`,
            {
              details: { step: index },
            },
          );
        }
      }
    } else if (step.poll !== undefined) {
      const interval = step.interval_ms ?? ctx.defaultPollIntervalMs ?? 2_000;
      const timeout = step.timeout_ms ?? ctx.defaultTimeoutMs ?? 120_000;
      const until = step.until!;
      let attempts = 0;
      for (;;) {
        attempts++;
        last =
          typeof step.poll === 'string'
            ? await push(step.poll)
            : await ctx.run(step.poll.action, substitute(step.poll.params ?? {}, params), opts);
        if (evaluateCondition(until, last)) break;
        if (ctx.clock.now() - t0 + interval > timeout) {
          steps.push({
            index,
            verb: 'poll',
            detail: describePoll(step),
            ok: false,
            attempts,
            result: last,
            ms: ctx.clock.now() - t0,
          });
          throw new TimeoutError(
            'MACRO_POLL_TIMEOUT',
            `macro ${macro.id} step ${index}: condition not met after ${attempts} polls in ${timeout} ms (last answer: ${describe(last)})`,
            {
              details: { step: index, attempts },
            },
          );
        }
        await sleep(interval, { clock: ctx.clock, ...(ctx.signal ? { signal: ctx.signal } : {}) });
      }
      steps.push({
        index,
        verb: 'poll',
        detail: describePoll(step),
        ok: true,
        attempts,
        result: last,
        ms: ctx.clock.now() - t0,
      });
    } else if (step.sleep_ms !== undefined) {
      await sleep(step.sleep_ms, { clock: ctx.clock, ...(ctx.signal ? { signal: ctx.signal } : {}) });
      steps.push({ index, verb: 'sleep', detail: `${step.sleep_ms} ms`, ok: true, ms: ctx.clock.now() - t0 });
    }
  }
  return { macroId: macro.id, ok: true, steps, ...(last ? { last } : {}) };
}

function describePoll(s: MacroStep): string {
  return typeof s.poll === 'string' ? s.poll : `action ${s.poll?.action}`;
}

function describe(r: ActionResult | undefined): string {
  if (!r) return 'nothing yet';
  return JSON.stringify({ ok: r.ok, outcome: r.outcome, message: r.message, data: r.data }).slice(0, 300);
}

function substitute(p: Record<string, unknown>, params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) out[k] = typeof v === 'string' ? renderCommand(v, params) : v;
  return out;
}

function waitForEvent(
  ctx: MacroContext,
  type: string,
  where: Condition | undefined,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const events = ctx.events;
  if (!events)
    return Promise.reject(
      new ValidationError('MACRO_EVENTS_UNAVAILABLE', 'this runner cannot wait for events'),
    );
  return new Promise((resolve, reject) => {
    const off = events({ type, source: ctx.deviceId }, (data) => {
      if (where && !evaluateCondition(where, data)) return;
      ctx.clock.clearTimeout(timer);
      off();
      resolve(data);
    });
    const timer = ctx.clock.setTimeout(() => {
      off();
      reject(
        new TimeoutError(
          'MACRO_EVENT_TIMEOUT',
          `no ${type} event from ${ctx.deviceId} within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
  });
}
