import type { TemplateService } from './templates.js';
import type { BroadcastInput } from './types.js';

/**
 * The body of `POST /api/broadcasts` (and of a schedule's `broadcast`) as engine input: a `template` id
 * with `vars` fills title, text, priority, tones, ack and expiry where the body does not set them.
 */
export function broadcastFromBody(
  input: Record<string, unknown>,
  templates: TemplateService,
): BroadcastInput {
  const body = { ...input };
  if (typeof body.template === 'string') {
    const t = templates.render(body.template, (body.vars as Record<string, unknown>) ?? {});
    body.title ??= t.title;
    body.text ??= t.text;
    body.priority ??= t.priority;
    body.tones ??= t.tones;
    body.ack ??= t.ack;
    if (t.expiresInSeconds && body.expiresAt === undefined) body.expiresInSeconds ??= t.expiresInSeconds;
    body.meta = { ...((body.meta as Record<string, string>) ?? {}), template: body.template };
  }
  delete body.template;
  delete body.vars;
  if (body.title === undefined) body.title = '';
  return body as unknown as BroadcastInput;
}
