import type { BusyPolicy, Priority, TargetSpec, ToneName } from '../broadcast/types.js';

/** A field filter: a value (equals), or an operator object. Paths are relative to the event's `data`. */
export type RuleMatch =
  | string
  | number
  | boolean
  | {
      equals?: string | number | boolean;
      in?: Array<string | number | boolean>;
      matches?: string;
      exists?: boolean;
      not?: boolean;
    };

export interface BroadcastRuleAction {
  type: 'broadcast';
  /** Template id; its title/text are rendered against the event. */
  template: string;
  targets: TargetSpec;
  priority?: Priority;
  tones?: ToneName;
  ack?: boolean;
  busyPolicy?: BusyPolicy;
}
export interface DeviceRuleAction {
  type: 'action';
  device: string;
  action: string;
  /** String values are templates rendered against the event. */
  params?: Record<string, unknown>;
}
export interface PublishRuleAction {
  type: 'publish';
  queue: string;
  /** PubSub account (default: the relay's default account). */
  account?: string;
  /** Form parameters to publish; string values are templates. Default: the event (type, time, source, data). */
  message?: Record<string, string>;
}
export interface WebhookRuleAction {
  type: 'webhook';
  url: string;
  /** HMAC-SHA256 key; the request carries `X-Switchboard-Signature: t=<unix>,v1=<hex>`. */
  secret?: string;
  headers?: Record<string, string>;
}
/**
 * Screen pop: the caller's details to the phone of the extension a call rings (or that answered it) and to
 * the console (a `screen.pop` event). Title and text are templates rendered against the event.
 */
export interface ScreenPopRuleAction {
  type: 'screenpop';
  title?: string;
  text?: string;
}
export type RuleAction =
  | BroadcastRuleAction
  | DeviceRuleAction
  | PublishRuleAction
  | WebhookRuleAction
  | ScreenPopRuleAction;

export interface RuleInput {
  id: string;
  name?: string;
  enabled?: boolean;
  /** Event type (`call.emergency`) or prefix (`call.*`). */
  event: string;
  where?: Record<string, RuleMatch>;
  actions: RuleAction[];
  /** At most one firing per this many seconds (0 = every event). */
  throttleSeconds?: number;
}

export interface Rule extends Required<Omit<RuleInput, 'where'>> {
  where: Record<string, RuleMatch>;
  /** Where the rule came from: the API (stored), the config file (read-only) or built in. */
  origin: 'api' | 'config' | 'builtin';
  createdAt: string;
  updatedAt: string;
}

export interface RuleStore {
  list(): Promise<Rule[]>;
  get(id: string): Promise<Rule | undefined>;
  upsert(r: Rule): Promise<void>;
  remove(id: string): Promise<boolean>;
}

/** What rules can do; each is satisfied by another module (broadcast engine, action runner, PubSub, webhooks). */
export interface RuleRunners {
  broadcast(
    input: import('../broadcast/types.js').BroadcastInput,
    ruleId: string,
  ): Promise<{ id: string }> | { id: string };
  action(
    deviceId: string,
    actionId: string,
    params: Record<string, unknown>,
  ): Promise<{ ok: boolean; outcome?: string }>;
  publish(p: { account?: string; queue: string; message: Record<string, string> }): Promise<{ id: string }>;
  webhook(p: {
    ruleId: string;
    url: string;
    secret?: string;
    headers?: Record<string, string>;
    event: import('../../core/events.js').HubEvent;
  }): Promise<{ id: string; ok: boolean }>;
  /** Screen pops (absent: the action fails with a message). */
  screenPop?(p: {
    ruleId: string;
    event: import('../../core/events.js').HubEvent;
    title: string;
    text: string;
  }): Promise<{ id?: string; ok: boolean }>;
}

/** A message publisher (the PubSub relay satisfies it). */
export interface AlertPublisher {
  publish(p: { account?: string; queue: string; message: Record<string, string> }): Promise<{ id: string }>;
}

declare module '../../core/module.js' {
  interface StorePorts {
    rules: RuleStore;
  }
}
