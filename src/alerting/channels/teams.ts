import { JsonWebhookChannel } from './http.js';
import type { AlertNotice } from './types.js';
import { noticeFacts } from './types.js';

/**
 * Microsoft Teams through a Workflows webhook ("When a Teams webhook request is received" → post a card;
 * the Office 365 connectors are retired). The body is a message with one Adaptive Card attachment: title,
 * caller, callback number, location, time, state, and an "Acknowledge" button opening the incident in the
 * console (where the operator signs in and acknowledges: a link in a chat must not acknowledge by itself).
 * Workflows answers 202 Accepted. The webhook URL carries its signature (`sig=`): it is a secret.
 */

/** Adaptive Card TextBlocks render Markdown: a caller name must not become a link or a heading. */
export function escapeCardMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!<>|~]/g, (c) => `\\${c}`);
}

/** The Workflows webhook body for a notice (pure). */
export function teamsMessage(n: AlertNotice): Record<string, unknown> {
  const f = noticeFacts(n);
  const urgent = n.kind !== 'acknowledged';
  const md = escapeCardMarkdown;
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          msteams: { width: 'Full' },
          body: [
            {
              type: 'TextBlock',
              text: md(f.title),
              size: 'Large',
              weight: 'Bolder',
              color: urgent ? 'Attention' : 'Good',
              wrap: true,
            },
            {
              type: 'FactSet',
              facts: [
                { title: 'Caller', value: md(f.caller) },
                { title: 'Callback number', value: md(f.callback) },
                { title: 'Location', value: md(f.location) },
                { title: 'Time', value: md(f.time) },
                { title: 'State', value: md(f.state) },
              ],
            },
          ],
          actions: [
            {
              type: 'Action.OpenUrl',
              title: n.kind === 'acknowledged' ? 'Open incident' : 'Acknowledge',
              url: n.link,
            },
          ],
        },
      },
    ],
  };
}

export class TeamsChannel extends JsonWebhookChannel {
  readonly kind = 'teams';
  protected readonly errorCode = 'TEAMS_SEND_FAILED';
  protected message(n: AlertNotice): Record<string, unknown> {
    return teamsMessage(n);
  }
}
