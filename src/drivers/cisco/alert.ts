import type { AlertPlanner, PlannedAlert, PlannedStep, ToneName } from '../../core/broadcast/types.js';
import { escapeXml } from '../../core/xml.js';

/**
 * How Cisco phones show broadcasts and alerts, in the action ids and params of specs/cisco.yaml:
 * - `object_text` (CiscoIPPhoneText) with the title, a priority prompt and the text; with an acknowledgement
 *   request, an `Ack` softkey whose URL is this phone's acknowledgement link (the phone GETs it) plus `Exit`;
 * - `play_audio` (`Play:<file>`) for the tone: a raw u-law file from the phone's TFTP path;
 * - multicast audio: `rtp_mrx` (RTPMRx:<group>:<port>:<volume>:0) to join the group's one stream.
 * Cisco phones render a pushed object at once, even during a call (the call is not affected), so the
 * busy-phone policy has nothing to suppress on the device side; `isBusy` never reports busy.
 */
export interface CiscoAlertOptions {
  /** Raw ring files (TFTP path) per tone. */
  tones: Partial<Record<ToneName, string>>;
  /** Volume for multicast audio (0-100). */
  volume: number;
}

export const DEFAULT_CISCO_ALERT: CiscoAlertOptions = {
  tones: {
    chime: 'Chime.raw',
    beep: 'Chime.raw',
    alert: 'Classic2.raw',
    attention: 'Classic2.raw',
    urgent: 'Classic2.raw',
  },
  volume: 100,
};

const PROMPT: Record<PlannedAlert['priority'], string> = {
  normal: 'Notice',
  urgent: 'URGENT',
  emergency: 'EMERGENCY - acknowledge',
};

export function ciscoAlertPlanner(o: Partial<CiscoAlertOptions> = {}): AlertPlanner {
  const opts = { ...DEFAULT_CISCO_ALERT, ...o, tones: { ...DEFAULT_CISCO_ALERT.tones, ...(o.tones ?? {}) } };
  return {
    kind: 'cisco',
    displaysOnAccept: true,
    multicastAudio: true,
    plan(alert): PlannedStep[] {
      const softkeys: Array<{ name: string; url: string; position: number }> = [];
      if (alert.ackUrl) softkeys.push({ name: 'Ack', url: alert.ackUrl, position: 1 });
      softkeys.push({ name: 'Exit', url: 'SoftKey:Exit', position: alert.ackUrl ? 3 : 1 });
      const steps: PlannedStep[] = [
        {
          actionId: 'object_text',
          role: 'display',
          params: {
            title: alert.title.slice(0, 512),
            prompt: alert.ackUrl
              ? PROMPT[alert.priority]
              : PROMPT[alert.priority].replace(' - acknowledge', ''),
            text: alert.text,
            softkeys,
          },
        },
      ];
      const file = alert.tones === 'none' ? undefined : opts.tones[alert.tones];
      if (file)
        steps.push({ actionId: 'play_audio', role: 'tone', optional: true, params: { filename: file } });
      if (alert.audio?.kind === 'multicast') {
        steps.push({
          actionId: 'rtp_mrx',
          role: 'audio',
          optional: true,
          params: { i: alert.audio.address, p: alert.audio.port, v: opts.volume, s: 0 },
        });
      }
      return steps;
    },
    isBusy: () => false,
    ackPage: (text) => ({
      contentType: 'text/xml; charset=utf-8',
      body: `<?xml version="1.0" encoding="utf-8"?>\n<CiscoIPPhoneText><Title>Acknowledged</Title><Text>${escapeXml(text)}</Text><SoftKeyItem><Name>Exit</Name><URL>SoftKey:Exit</URL><Position>1</Position></SoftKeyItem></CiscoIPPhoneText>`,
    }),
  };
}
