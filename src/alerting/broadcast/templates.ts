import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { NotFoundError } from '../../core/errors.js';
import { assertValid, TemplateInputSchema } from './schema.js';
import { checkTemplate, renderTemplate } from './template.js';
import type { Priority, Template, TemplateStore, ToneName } from './types.js';

export interface TemplateInput {
  id: string;
  name?: string;
  title: string;
  text: string;
  priority?: Priority;
  tones?: ToneName;
  ack?: boolean;
  expiresInSeconds?: number | null;
  description?: string;
}

/**
 * The built-in on-site 911 alert (editable like any template; recreated when missing). Its lines come ready
 * made from core/emergency/alert-text.ts: `alert.headline` (911 CALL / TEST CALL 933 - NOT AN EMERGENCY /
 * DRILL - 911 CALL), `alert.caller`, `alert.callback` (external number and extension), `alert.location`
 * (what is known, "room unknown" for what is not), `alert.note` and `alert.time` (local, with zone).
 */
export const EMERGENCY_TEMPLATE: TemplateInput = {
  id: 'emergency-911',
  name: 'On-site 911 notification',
  title: '{{alert.headline}}',
  text: '{{alert.caller}}\nCall back: {{alert.callback}}\n{{alert.location}}\n{{alert.note}}\nTime: {{alert.time}}',
  priority: 'emergency',
  tones: 'urgent',
  ack: true,
  expiresInSeconds: 3600,
  description: "Sent to the security group when anyone dials 911 (Kari's Law notification).",
};

/** Earlier built-in versions: a stored copy still equal to one of them was never edited and is upgraded. */
const EMERGENCY_TEMPLATE_OLD: Array<Pick<TemplateInput, 'title' | 'text'>> = [
  {
    title: '{{test | }}911 CALL',
    text: '911 call from {{caller.name | unknown user}} (ext {{caller.extension}})\nCallback: {{caller.callbackNumber}}\nLocation: {{location.building | ?}} / floor {{location.floor | ?}} / room {{location.room | ?}}\n{{location.description}}\nTime: {{time}}',
  },
];

/**
 * Stored, reusable broadcast templates with {{variables}}. Read from the store by `load` and kept in memory
 * (a 911 alert renders one without waiting for a query); writes go to the store first.
 */
/** Checks a template from outside (an API body) against TemplateInputSchema: TEMPLATE_INVALID naming the field. */
export function assertTemplateInput(input: unknown): asserts input is TemplateInput {
  assertValid(TemplateInputSchema, input, 'TEMPLATE_INVALID');
}

export class TemplateService {
  private byId = new Map<string, Template>();

  constructor(
    private readonly store: TemplateStore,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Reads every template (at start, and when another hub changed them). */
  async load(): Promise<void> {
    this.byId = new Map((await this.store.list()).map((t) => [t.id, t] as const));
  }

  list(): Template[] {
    return [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(id: string): Template | undefined {
    return this.byId.get(id);
  }

  require(id: string): Template {
    const t = this.byId.get(id);
    if (!t)
      throw new NotFoundError('TEMPLATE_NOT_FOUND', `no template ${JSON.stringify(id)}`, {
        field: 'template',
      });
    return t;
  }

  async put(input: TemplateInput): Promise<Template> {
    assertTemplateInput(input);
    checkTemplate(input.title, 'title');
    checkTemplate(input.text, 'text');
    const now = new Date(this.clock.now()).toISOString();
    const cur = this.byId.get(input.id);
    const t: Template = {
      id: input.id,
      name: input.name ?? cur?.name ?? input.id,
      title: input.title,
      text: input.text,
      priority: input.priority ?? 'normal',
      tones: input.tones ?? (input.priority && input.priority !== 'normal' ? 'urgent' : 'chime'),
      ack: input.ack ?? input.priority === 'emergency',
      expiresInSeconds: input.expiresInSeconds ?? null,
      description: input.description ?? '',
      createdAt: cur?.createdAt ?? now,
      updatedAt: now,
    };
    await this.store.upsert(t);
    this.byId.set(t.id, t);
    return t;
  }

  async remove(id: string): Promise<void> {
    const removed = await this.store.remove(id);
    this.byId.delete(id);
    if (!removed)
      throw new NotFoundError('TEMPLATE_NOT_FOUND', `no template ${JSON.stringify(id)}`, { field: 'id' });
  }

  /** Reads the templates and creates the built-in ones that are missing. */
  async ensureBuiltins(): Promise<void> {
    await this.load();
    const cur = this.byId.get(EMERGENCY_TEMPLATE.id);
    const unedited = cur && EMERGENCY_TEMPLATE_OLD.some((o) => o.title === cur.title && o.text === cur.text);
    if (!cur || unedited) await this.put(EMERGENCY_TEMPLATE);
  }

  /** Renders a template's title and text against a context. */
  render(id: string, ctx: Record<string, unknown>): Template {
    const t = this.require(id);
    return {
      ...t,
      title: renderTemplate(t.title, ctx, 'title').trim().slice(0, 200),
      text:
        renderTemplate(t.text, ctx, 'text')
          .replace(/\n{2,}/g, '\n')
          .trim()
          .slice(0, 4000) || t.name,
    };
  }
}
