import type { AlertPlanner, PlannedAlert, PlannedStep } from '../../alerting/broadcast/types.js';
import { buildDisplayDeck, charLength, MAX_TOPLINE_CHARS, type Softkey, truncateChars } from './content.js';
import { modelSupports } from './models.js';

/**
 * How Avaya 96x1/J100 phones show broadcasts and alerts, in the action ids and params of specs/avaya.yaml:
 * - short text without an acknowledgement request: `push_topline` (one line, 312 characters at most);
 * - otherwise `push_display` (a WML card) with an `Ack` softkey linking to this phone's acknowledgement URL;
 * - `mode: barge` for urgent and emergency alerts and for the `whisper` busy policy (shows at once, even on a
 *   call), `normal` otherwise; `alert` ring pings by priority (normal 1, urgent 2, emergency 3; 0 for `none`);
 * - multicast audio: `push_audio_multicast` with the group's address and port (the Avaya module streams once
 *   per group:port session itself); unicast audio: `push_audio` (tone, file or TTS).
 * - a `Call back` softkey (WTAI click-to-dial) when the broadcast names a number;
 * - an alert repeated until acknowledged (911): the first delivery adds a Top Line copy, and every repeat
 *   pushes the Top Line again as barge with the ring pings (pushed top-line text expires after 30 s, 4600
 *   API guide, so repeats under 30 s keep it on the phone even when the guard leaves the browser) and the
 *   WML deck again as `normal` (shown when the phone is in a pushable state; a phone in a call or in text
 *   entry answers 205 and keeps what it shows).
 * Decks are built only with content.ts's builders (escaping and WML rules live there).
 * - a recall replaces the card and/or Top Line with a "withdrawn" text (barge) and stops pushed audio.
 * A phone answering 205/208 (not in (audio) push state) is busy: the engine applies the busy policy.
 * A model without a WML browser (J129/J139/J159, models.ts) gets the message on the Top Line instead of a
 * Display card (cut to 312 characters; no Ack softkey is possible there), and a model without multicast
 * receive gets unicast audio.
 */
export const TOPLINE_MAX = 80;
/** What a recalled alert is replaced with (card text and Top Line). */
export const WITHDRAWN = 'This message was withdrawn.';

const PINGS: Record<PlannedAlert['priority'], number> = { normal: 1, urgent: 2, emergency: 3 };

function alertSoftkeys(alert: PlannedAlert): Softkey[] {
  return [
    ...(alert.ackUrl ? [{ label: 'Ack', href: alert.ackUrl }] : []),
    ...(alert.dial ? [{ label: 'Call back', dial: alert.dial }] : []),
  ];
}

/** The alert on the top line: the title first (TEST/DRILL stay in front), then the first lines of text. */
export function toplineText(alert: PlannedAlert): string {
  const lines = alert.text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 3);
  const s = [alert.title, ...lines].filter(Boolean).join(' | ').replace(/\s+/g, ' ');
  const more = alert.ackUrl ? ' | press Ack' : '';
  const chars = [...s];
  return chars.length + more.length <= MAX_TOPLINE_CHARS
    ? s + more
    : `${chars.slice(0, MAX_TOPLINE_CHARS - more.length - 1).join('')}…${more}`;
}

function displayParams(alert: PlannedAlert, mode: 'normal' | 'barge', pings: number) {
  return {
    title: truncateChars(alert.title, 64),
    text: truncateChars(alert.text, 4000),
    softkeys: alertSoftkeys(alert),
    mode,
    alert: pings,
  };
}

export function avayaAlertPlanner(): AlertPlanner {
  return {
    kind: 'avaya',
    displaysOnAccept: false,
    multicastAudio: true,
    streamsOwnMulticast: true,
    plan(alert, device): PlannedStep[] {
      const model = (device.settings as { model?: unknown }).model;
      const modelName = typeof model === 'string' ? model : undefined;
      const mode = alert.whisper || alert.priority !== 'normal' ? 'barge' : 'normal';
      const alertPings = alert.tones === 'none' ? 0 : PINGS[alert.priority];
      const oneLine = alert.title ? `${alert.title}: ${alert.text}` : alert.text;
      const steps: PlannedStep[] = [];
      if (!modelSupports(modelName, 'display')) {
        steps.push({
          actionId: 'push_topline',
          role: 'display',
          params: {
            text: truncateChars(oneLine.replace(/\s*\n\s*/g, ' '), MAX_TOPLINE_CHARS),
            mode,
            alert: alertPings,
          },
        });
      } else if (!alert.ackUrl && !oneLine.includes('\n') && charLength(oneLine) <= TOPLINE_MAX) {
        steps.push({
          actionId: 'push_topline',
          role: 'display',
          params: { text: oneLine, mode, alert: alertPings },
        });
      } else {
        steps.push({
          actionId: 'push_display',
          role: 'display',
          params: displayParams(alert, mode, alertPings),
        });
        if (alert.showUrl)
          steps.push({
            actionId: 'push_topline',
            role: 'other',
            optional: true,
            params: { text: toplineText(alert), mode: 'barge', alert: 0 },
          });
      }
      const a = alert.audio;
      // Live audio is relayed by the hub to its own group streams; Avaya phones get the text and pings.
      if (a && a.request.source !== 'live') {
        const src = {
          source: a.request.source,
          ...(a.request.tone ? { tone: a.request.tone } : {}),
          ...(a.request.file ? { file: a.request.file } : {}),
          ...(a.request.text ? { text: a.request.text } : {}),
          ...(a.request.repeat ? { repeat: a.request.repeat } : {}),
        };
        steps.push(
          a.kind === 'multicast' && modelSupports(modelName, 'audio_multicast')
            ? {
                actionId: 'push_audio_multicast',
                role: 'audio',
                optional: true,
                params: { group: a.address, port: a.port, ...src, mode: 'barge' },
              }
            : { actionId: 'push_audio', role: 'audio', optional: true, params: { ...src, mode } },
        );
      }
      return steps;
    },
    planRepeat(alert): PlannedStep[] {
      const pings = alert.tones === 'none' ? 0 : PINGS[alert.priority];
      return [
        {
          actionId: 'push_topline',
          role: 'display',
          params: { text: toplineText(alert), mode: 'barge', alert: pings },
        },
        {
          actionId: 'push_display',
          role: 'other',
          optional: true,
          params: displayParams(alert, 'normal', 0),
        },
      ];
    },
    // A recall: no push removes content, but a new push replaces the old (4600 API guide): the card is
    // replaced by a short "withdrawn" card, the Top Line by a "withdrawn" line (which itself expires after
    // 30 s), pushed audio is stopped. Barge, so that a phone in a call is cleared too.
    planClear(alert, _device, shown): PlannedStep[] {
      const ran = (id: string) => shown.some((s) => s.actionId === id && s.ok);
      const steps: PlannedStep[] = [];
      if (ran('push_display'))
        steps.push({
          actionId: 'push_display',
          role: 'display',
          params: {
            title: truncateChars(alert.title || 'Message', 64),
            text: WITHDRAWN,
            softkeys: [],
            mode: 'barge',
            alert: 0,
          },
        });
      if (ran('push_topline') || steps.length === 0)
        steps.push({
          actionId: 'push_topline',
          role: steps.length === 0 ? 'display' : 'other',
          optional: steps.length > 0,
          params: { text: WITHDRAWN, mode: 'barge', alert: 0 },
        });
      if (ran('push_audio') || ran('push_audio_multicast'))
        steps.push({ actionId: 'push_audio_stop', role: 'audio', optional: true, params: {} });
      return steps;
    },
    isBusy: (r) => r.outcome === 'not_in_push_state' || r.outcome === 'not_in_audio_push_state',
    alertPage: (alert) => ({
      contentType: 'text/vnd.wap.wml; charset=utf-8',
      body: buildDisplayDeck({
        title: truncateChars(alert.title, 64),
        text: alert.text.split(/\n{2,}/),
        softkeys: alertSoftkeys(alert),
      }),
    }),
    ackPage: (text) => ({
      contentType: 'text/vnd.wap.wml; charset=utf-8',
      body: buildDisplayDeck({ title: 'Acknowledged', text }),
    }),
  };
}
