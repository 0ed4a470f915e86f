import { JsonWebhookChannel } from './http.js';
import type { AlertNotice } from './types.js';
import { noticeFacts } from './types.js';

/**
 * Slack incoming webhooks with Block Kit: a header, the facts as section fields, and an "Acknowledge"
 * button opening the incident in the console. `text` is the notification fallback. Slack answers 200 `ok`.
 * The webhook URL is the secret (its path is the token).
 */

/** Slack `mrkdwn` control characters (its docs ask for exactly these three). */
export function escapeSlack(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The incoming-webhook body for a notice (pure). */
export function slackMessage(n: AlertNotice): Record<string, unknown> {
  const f = noticeFacts(n);
  const e = escapeSlack;
  const field = (label: string, v: string) => ({ type: 'mrkdwn', text: `*${label}*\n${e(v)}` });
  return {
    text: e(`${f.title}: ${f.caller}, ${f.location}, callback ${f.callback}`).slice(0, 3000),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: f.title.slice(0, 150), emoji: false } },
      {
        type: 'section',
        fields: [
          field('Caller', f.caller),
          field('Callback number', f.callback),
          field('Location', f.location),
          field('Time', f.time),
          field('State', f.state),
        ],
      },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            text: { type: 'plain_text', text: n.kind === 'acknowledged' ? 'Open incident' : 'Acknowledge' },
            url: n.link,
            ...(n.kind === 'acknowledged' ? {} : { style: 'danger' }),
          },
        ],
      },
    ],
  };
}

export class SlackChannel extends JsonWebhookChannel {
  readonly kind = 'slack';
  protected readonly errorCode = 'SLACK_SEND_FAILED';
  protected message(n: AlertNotice): Record<string, unknown> {
    return slackMessage(n);
  }
}
