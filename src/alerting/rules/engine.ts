import { Type } from 'typebox';
import type { EventBus, Subscription } from '../../core/bus.js';
import { type Clock, systemClock } from '../../core/clock.js';
import { getPath } from '../../core/condition.js';
import { ConflictError, errorMessage, NotFoundError, ValidationError } from '../../core/errors.js';
import type { HubEvent } from '../../core/events.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import {
  assertValid,
  BusyPolicySchema,
  PrioritySchema,
  TargetSchema,
  ToneSchema,
} from '../broadcast/schema.js';
import { renderTemplate, templateVariables } from '../broadcast/template.js';
import type { Template } from '../broadcast/types.js';
import { type EventCatalog, fieldsOf, knownEvent } from './catalog.js';
import type { Rule, RuleAction, RuleInput, RuleMatch, RuleRunners, RuleStore } from './types.js';

const ID = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' });
const Scalar = Type.Union([Type.String({ maxLength: 500 }), Type.Number(), Type.Boolean()]);
const MatchSchema = Type.Union([
  Scalar,
  Type.Object(
    {
      equals: Type.Optional(Scalar),
      in: Type.Optional(Type.Array(Scalar, { maxItems: 100 })),
      matches: Type.Optional(Type.String({ maxLength: 200 })),
      exists: Type.Optional(Type.Boolean()),
      not: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
]);

export const RuleActionSchema = Type.Union([
  Type.Object(
    {
      type: Type.Literal('broadcast'),
      template: ID,
      targets: TargetSchema,
      priority: Type.Optional(PrioritySchema),
      tones: Type.Optional(ToneSchema),
      ack: Type.Optional(Type.Boolean()),
      busyPolicy: Type.Optional(BusyPolicySchema),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('action'),
      device: ID,
      action: Type.String({ minLength: 1, maxLength: 64 }),
      params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('publish'),
      queue: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._~/-]+$' }),
      account: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      message: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 4000 }))),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('webhook'),
      url: Type.String({ minLength: 8, maxLength: 2000, pattern: '^https?://' }),
      secret: Type.Optional(Type.String({ minLength: 8, maxLength: 200 })),
      headers: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 1000 }))),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('screenpop'),
      title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      text: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
    },
    { additionalProperties: false },
  ),
]);

/** What a screen pop shows when the rule does not say (docs/click-to-dial.md). */
export const SCREEN_POP_DEFAULTS = {
  title: 'Call from {{from | unknown number}}',
  text: '{{fromName | Unknown caller}}\n{{from | no number}}\nTo {{to}} {{toName}}',
} as const;

export const RuleInputSchema = Type.Object(
  {
    id: ID,
    name: Type.Optional(Type.String({ maxLength: 200 })),
    enabled: Type.Optional(Type.Boolean()),
    event: Type.String({ minLength: 1, maxLength: 100 }),
    where: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 200 }), MatchSchema)),
    actions: Type.Array(RuleActionSchema, { minItems: 1, maxItems: 20 }),
    throttleSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400 })),
  },
  { additionalProperties: false },
);

/** What validation needs to look up. */
export interface RuleValidationContext {
  catalog: EventCatalog;
  template: (id: string) => Template | undefined;
  /** Validates a device action's params (throws naming the field); absent = not checked. */
  checkAction?: (deviceId: string, actionId: string, params: Record<string, unknown>) => void;
}

const CONTEXT_ROOTS = new Set(['event', 'data', 'type', 'time', 'source', 'id']);

function checkVars(text: string, field: string, fields: Set<string> | null): void {
  for (const v of templateVariables(text, field)) {
    const root = v.path.split('.')[0]!;
    if (CONTEXT_ROOTS.has(root) || fields === null || fields.has(root)) continue;
    throw new ValidationError(
      'RULE_UNKNOWN_FIELD',
      `${field}: {{${v.path}}} names no field of this event (known: ${[...fields].sort().join(', ')})`,
      { field },
    );
  }
}

/** Validates a rule completely: schema, event type, filter fields, templates and their variables, actions. */
export function validateRule(input: unknown, ctx: RuleValidationContext): RuleInput {
  assertValid(RuleInputSchema, input, 'RULE_INVALID');
  const r = input as RuleInput;
  if (!knownEvent(ctx.catalog, r.event)) {
    throw new ValidationError(
      'RULE_UNKNOWN_EVENT',
      `event: ${JSON.stringify(r.event)} is not a known event type (e.g. ${[...ctx.catalog.keys()].slice(0, 6).join(', ')} …)`,
      { field: 'event' },
    );
  }
  const fields = fieldsOf(ctx.catalog, r.event);
  for (const [path, m] of Object.entries(r.where ?? {})) {
    const root = path.replace(/^data\./, '').split('.')[0]!;
    if (path !== 'source' && fields !== null && !fields.has(root)) {
      throw new ValidationError(
        'RULE_UNKNOWN_FIELD',
        `where.${path}: ${r.event} events have no field ${JSON.stringify(root)} (known: ${[...fields].sort().join(', ')})`,
        { field: `where.${path}` },
      );
    }
    if (typeof m === 'object' && m.matches !== undefined) {
      try {
        new RegExp(m.matches);
      } catch {
        throw new ValidationError('RULE_INVALID', `where.${path}.matches: not a valid regular expression`, {
          field: `where.${path}.matches`,
        });
      }
    }
  }
  r.actions.forEach((a, i) => {
    const f = `actions.${i}`;
    if (a.type === 'broadcast') {
      if (r.event.startsWith('broadcast.') || r.event === '*')
        throw new ValidationError(
          'RULE_LOOP',
          `${f}: a broadcast rule on ${r.event} events would trigger itself`,
          {
            field: `${f}.type`,
          },
        );
      const t = ctx.template(a.template);
      if (!t)
        throw new ValidationError(
          'RULE_UNKNOWN_TEMPLATE',
          `${f}.template: no template ${JSON.stringify(a.template)}`,
          {
            field: `${f}.template`,
          },
        );
      checkVars(t.title, `${f}.template`, fields);
      checkVars(t.text, `${f}.template`, fields);
    } else if (a.type === 'action') {
      if (r.event.startsWith('device.') || r.event === '*')
        throw new ValidationError(
          'RULE_LOOP',
          `${f}: a device-action rule on ${r.event} events would trigger itself`,
          {
            field: `${f}.type`,
          },
        );
      for (const [k, v] of Object.entries(a.params ?? {}))
        if (typeof v === 'string') checkVars(v, `${f}.params.${k}`, fields);
      // Params with variables are checked at run time (after rendering); literal ones now.
      const literal = Object.values(a.params ?? {}).every((v) => typeof v !== 'string' || !v.includes('{{'));
      if (ctx.checkAction && literal) {
        try {
          ctx.checkAction(a.device, a.action, a.params ?? {});
        } catch (e) {
          const fe = (e as { field?: string }).field;
          throw new ValidationError('RULE_INVALID_ACTION', `${f}: ${errorMessage(e)}`, {
            field: `${f}.${fe === 'id' ? 'device' : fe === 'actionId' ? 'action' : (fe ?? 'params')}`,
          });
        }
      }
    } else if (a.type === 'publish') {
      for (const [k, v] of Object.entries(a.message ?? {})) checkVars(v, `${f}.message.${k}`, fields);
    } else if (a.type === 'screenpop') {
      if (!r.event.startsWith('call.'))
        throw new ValidationError(
          'RULE_INVALID',
          `${f}: a screen pop needs a call event (call.ringing, call.answered), not ${r.event}`,
          { field: `${f}.type` },
        );
      if (a.title) checkVars(a.title, `${f}.title`, fields);
      if (a.text) checkVars(a.text, `${f}.text`, fields);
    }
  });
  return r;
}

function matchOne(v: unknown, m: RuleMatch): boolean {
  const same = (a: unknown, b: unknown) =>
    a === b || (a !== null && a !== undefined && String(a) === String(b));
  if (typeof m !== 'object') return same(v, m);
  let ok = true;
  if (m.equals !== undefined) ok &&= same(v, m.equals);
  if (m.in !== undefined) ok &&= m.in.some((x) => same(v, x));
  if (m.exists !== undefined) ok &&= (v !== undefined && v !== null && v !== '') === m.exists;
  if (m.matches !== undefined)
    ok &&= v !== undefined && v !== null && new RegExp(m.matches).test(String(v).slice(0, 2000));
  return m.not ? !ok : ok;
}

export function ruleMatches(r: Pick<Rule, 'event' | 'where' | 'enabled'>, e: HubEvent): boolean {
  if (!r.enabled) return false;
  if (
    r.event !== '*' &&
    (r.event.endsWith('.*') ? !e.type.startsWith(r.event.slice(0, -1)) : r.event !== e.type)
  )
    return false;
  for (const [path, m] of Object.entries(r.where)) {
    const v = path === 'source' ? e.source : getPath(e.data, path.replace(/^data\./, ''));
    if (!matchOne(v, m)) return false;
  }
  return true;
}

/** The context templates of rule actions are rendered against. */
export function eventContext(e: HubEvent): Record<string, unknown> {
  return {
    ...e.data,
    data: e.data,
    event: { id: e.id, type: e.type, time: e.time, source: e.source },
    type: e.type,
    time: e.time,
    source: e.source,
    id: e.id,
  };
}

/**
 * The rules engine: watches the bus, runs the actions of every enabled rule whose event and filters
 * match. Rules come from the API (stored), the config file (read-only) and built-in modules.
 */
export class RuleEngine {
  private configRules = new Map<string, Rule>();
  private lastFired = new Map<string, number>();
  private sub: Subscription | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private inflight = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      store: RuleStore;
      bus: EventBus;
      runners: RuleRunners;
      validation: () => RuleValidationContext;
      templates: { render(id: string, ctx: Record<string, unknown>): Template };
      clock?: Clock;
      logger?: Logger;
    },
  ) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? silentLogger;
  }

  private toRule(r: RuleInput, origin: Rule['origin'], cur?: Rule): Rule {
    const now = new Date(this.clock.now()).toISOString();
    return {
      id: r.id,
      name: r.name ?? r.id,
      enabled: r.enabled ?? true,
      event: r.event,
      where: r.where ?? {},
      actions: r.actions,
      throttleSeconds: r.throttleSeconds ?? 0,
      origin,
      createdAt: cur?.createdAt ?? now,
      updatedAt: now,
    };
  }

  /** Loads the `rules:` section of the config; the first invalid rule fails with its index in the field. */
  loadConfigRules(list: unknown[]): void {
    const ctx = this.deps.validation();
    const next = new Map<string, Rule>();
    list.forEach((raw, i) => {
      try {
        const r = validateRule(raw, ctx);
        if (next.has(r.id))
          throw new ValidationError('RULE_DUPLICATE', `id: ${r.id} is used twice`, { field: 'id' });
        next.set(r.id, this.toRule(r, 'config'));
      } catch (e) {
        const err = e as ValidationError;
        throw new ValidationError(err.code ?? 'RULE_INVALID', `rules.${i}.${err.message}`, {
          field: `rules.${i}.${err.field ?? ''}`.replace(/\.$/, ''),
        });
      }
    });
    this.configRules = next;
  }

  /**
   * Stored rules, cached: every bus event is matched against them (thousands per second in a broadcast).
   * Read by `load` (at start, and again when another hub changed them); kept current by put/remove.
   */
  private stored: Rule[] = [];

  /** Reads the stored rules (at start, and when another hub changed them). */
  async load(): Promise<void> {
    this.stored = await this.deps.store.list();
  }

  list(): Rule[] {
    const stored = this.stored;
    return [...this.configRules.values(), ...stored.filter((r) => !this.configRules.has(r.id))];
  }

  get(id: string): Rule {
    const r = this.configRules.get(id) ?? this.stored.find((s) => s.id === id);
    if (!r) throw new NotFoundError('RULE_NOT_FOUND', `no rule ${JSON.stringify(id)}`, { field: 'id' });
    return r;
  }

  async put(input: unknown): Promise<Rule> {
    const r = validateRule(input, this.deps.validation());
    if (this.configRules.has(r.id))
      throw new ConflictError('RULE_FROM_CONFIG', `rule ${r.id} comes from the config file; edit it there`, {
        field: 'id',
      });
    const rule = this.toRule(r, 'api', await this.deps.store.get(r.id));
    await this.deps.store.upsert(rule);
    await this.load();
    return rule;
  }

  async remove(id: string): Promise<void> {
    if (this.configRules.has(id))
      throw new ConflictError('RULE_FROM_CONFIG', `rule ${id} comes from the config file; edit it there`, {
        field: 'id',
      });
    const removed = await this.deps.store.remove(id);
    await this.load();
    if (!removed) throw new NotFoundError('RULE_NOT_FOUND', `no rule ${JSON.stringify(id)}`, { field: 'id' });
  }

  async start(): Promise<void> {
    await this.load();
    this.sub ??= this.deps.bus.subscribe((e) => this.onEvent(e));
  }

  async stop(): Promise<void> {
    this.sub?.unsubscribe();
    this.sub = undefined;
    await Promise.allSettled([...this.inflight]);
  }

  /** Runs the matching rules of one event (exposed for tests; the bus calls it). */
  onEvent(e: HubEvent): void {
    if (e.type.startsWith('rule.')) return;
    for (const r of this.list()) {
      if (!ruleMatches(r, e)) continue;
      const now = this.clock.now();
      if (
        r.throttleSeconds > 0 &&
        now - (this.lastFired.get(r.id) ?? Number.NEGATIVE_INFINITY) < r.throttleSeconds * 1000
      )
        continue;
      this.lastFired.set(r.id, now);
      const p = this.fire(r, e).finally(() => this.inflight.delete(p));
      this.inflight.add(p);
    }
  }

  private async fire(r: Rule, e: HubEvent): Promise<void> {
    const ctx = eventContext(e);
    const results: Array<{ type: string; ok: boolean; id?: string; error?: string }> = [];
    for (const a of r.actions) {
      try {
        results.push({ type: a.type, ...(await this.runAction(r, a, e, ctx)) });
      } catch (err) {
        results.push({ type: a.type, ok: false, error: errorMessage(err) });
        this.log.warn({ rule: r.id, action: a.type, err: errorMessage(err) }, 'rule action failed');
      }
    }
    this.deps.bus.emit({
      source: 'hub',
      type: results.every((x) => x.ok) ? 'rule.fired' : 'rule.failed',
      data: { ruleId: r.id, eventId: e.id, eventType: e.type, results },
    });
  }

  private async runAction(
    r: Rule,
    a: RuleAction,
    e: HubEvent,
    ctx: Record<string, unknown>,
  ): Promise<{ id?: string; ok: boolean }> {
    const render = (v: unknown): unknown => (typeof v === 'string' ? renderTemplate(v, ctx) : v);
    switch (a.type) {
      case 'broadcast': {
        const t = this.deps.templates.render(a.template, ctx);
        const b = await this.deps.runners.broadcast(
          {
            title: t.title,
            text: t.text,
            priority: a.priority ?? t.priority,
            tones: a.tones ?? t.tones,
            ack: a.ack ?? t.ack,
            ...(t.expiresInSeconds ? { expiresInSeconds: t.expiresInSeconds } : {}),
            ...(a.busyPolicy ? { busyPolicy: a.busyPolicy } : {}),
            targets: a.targets,
            meta: { ruleId: r.id, eventId: e.id },
          },
          r.id,
        );
        return { id: b.id, ok: true };
      }
      case 'action': {
        const params = Object.fromEntries(Object.entries(a.params ?? {}).map(([k, v]) => [k, render(v)]));
        const res = await this.deps.runners.action(a.device, a.action, params);
        if (!res.ok) throw new Error(`${a.device} ${a.action}: ${res.outcome ?? 'failed'}`);
        return { ok: true };
      }
      case 'publish': {
        const message = a.message
          ? Object.fromEntries(Object.entries(a.message).map(([k, v]) => [k, renderTemplate(v, ctx)]))
          : { type: e.type, time: e.time, source: e.source, id: e.id, data: JSON.stringify(e.data) };
        const res = await this.deps.runners.publish({
          ...(a.account ? { account: a.account } : {}),
          queue: a.queue,
          message,
        });
        return { id: res.id, ok: true };
      }
      case 'webhook': {
        const res = await this.deps.runners.webhook({
          ruleId: r.id,
          url: a.url,
          ...(a.secret ? { secret: a.secret } : {}),
          ...(a.headers ? { headers: a.headers } : {}),
          event: e,
        });
        if (!res.ok) throw new Error(`webhook ${res.id} to ${new URL(a.url).host} failed`);
        return { id: res.id, ok: true };
      }
      case 'screenpop': {
        if (!this.deps.runners.screenPop) throw new Error('screen pops are not available in this hub');
        const res = await this.deps.runners.screenPop({
          ruleId: r.id,
          event: e,
          title: renderTemplate(a.title ?? SCREEN_POP_DEFAULTS.title, ctx),
          text: renderTemplate(a.text ?? SCREEN_POP_DEFAULTS.text, ctx),
        });
        return { ...(res.id ? { id: res.id } : {}), ok: res.ok };
      }
    }
  }
}
