import type { AlertPlanner, PlannedAlert, PlannedStep, ToneName } from '../../alerting/broadcast/types.js';
import type { Device } from '../../core/devices.js';
import { type ModelProfile, modelProfile } from './models.js';
import { buildObject, type SoftKey } from './objects.js';

/**
 * How Cisco phones show broadcasts and alerts, in the action ids and params of specs/cisco.yaml:
 * - `object_text` (CiscoIPPhoneText) with the title, a priority prompt and the text; with an acknowledgement
 *   request, an `Ack` softkey whose URL is this phone's acknowledgement link (the phone GETs it), a
 *   `Call back` softkey (`Dial:<n>`, seed 003) when the broadcast names a number, and `Exit`;
 * - an alert repeated until acknowledged (911): its `Exit` softkey is an HTTP URL back to the hub, which
 *   answers with the alert again while it is open (the phone shows what an HTTP softkey URL returns), and
 *   each repeat pushes `CiscoIPPhoneExecute` with that URL at Priority 1 "Execute When Idle" (seed 003: the
 *   phone fetches it once it is idle, so a guard on the phone is not interrupted) plus `Play:` for the tone
 *   (internal URIs run at once). After the acknowledgement the same URL answers the closing page, whose
 *   `Close` key runs `Init:Services` (closes the pushed screens instead of stepping back into the alert);
 * - `play_audio` (`Play:<file>`) for the tone: a raw u-law file from the phone's TFTP path;
 * - multicast audio: `rtp_mrx` (RTPMRx:<group>:<port>:<volume>:0) to join the group's one stream.
 * - a recall: `init_services` (`Init:Services`) closes the pushed screens, `rtp_rx_stop` ends joined audio.
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

function profileOf(device: Device | undefined): ModelProfile | undefined {
  const m = (device?.settings as Record<string, unknown> | undefined)?.model;
  return typeof m === 'string' ? modelProfile(m) : undefined;
}

/**
 * Soft keys of an alert: Ack (1), Call back (2, a Dial: URI), Exit (3: back to the hub when the alert is
 * repeated, else SoftKey:Exit). The 8821 has two soft keys: Ack and Call back (its back key leaves the
 * screen; the repeats bring it back). Models without Dial URIs get no Call back key.
 */
export function alertSoftkeys(alert: PlannedAlert, prof: ModelProfile | undefined): SoftKey[] {
  const keys: SoftKey[] = [];
  const max = prof?.softKeys ?? 4;
  if (alert.ackUrl) keys.push({ name: 'Ack', url: alert.ackUrl, position: 1 });
  if (alert.dial && (!prof || prof.uris.includes('Dial')))
    keys.push({
      name: prof && prof.display.width < 200 ? 'Call' : 'Call back',
      url: `Dial:${alert.dial}`,
      position: 2,
    });
  // Exit stays away from Ack (position 3) where the phone has the keys.
  const exitAt = !alert.ackUrl ? 1 : Math.min(3, max);
  if (!keys.some((k) => k.position === exitAt))
    keys.push({ name: 'Exit', url: alert.showUrl ?? 'SoftKey:Exit', position: exitAt });
  return keys;
}

/** Displays narrower than this (about 33 columns of the 6-px font) get the broadcast's compact text. */
const NARROW_PX = 200;

function alertObject(alert: PlannedAlert, prof: ModelProfile | undefined) {
  const compact = prof && prof.display.width < NARROW_PX ? alert.compact : undefined;
  const prompt = alert.ackUrl ? PROMPT[alert.priority] : PROMPT[alert.priority].replace(' - acknowledge', '');
  return {
    type: 'CiscoIPPhoneText' as const,
    title: alert.title.slice(0, 512),
    prompt: compact?.prompt || prompt,
    text: compact?.text || alert.text,
    softkeys: alertSoftkeys(alert, prof),
  };
}

export function ciscoAlertPlanner(o: Partial<CiscoAlertOptions> = {}): AlertPlanner {
  const opts = { ...DEFAULT_CISCO_ALERT, ...o, tones: { ...DEFAULT_CISCO_ALERT.tones, ...(o.tones ?? {}) } };
  return {
    kind: 'cisco',
    displaysOnAccept: true,
    multicastAudio: true,
    plan(alert, device): PlannedStep[] {
      const { type: _t, ...params } = alertObject(alert, profileOf(device));
      const steps: PlannedStep[] = [{ actionId: 'object_text', role: 'display', params }];
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
    planRepeat(alert): PlannedStep[] {
      const file = alert.tones === 'none' ? undefined : opts.tones[alert.tones];
      const tone = file ? [{ uri: `Play:${file}`, priority: 0 }] : [];
      if (!alert.showUrl) {
        return file ? [{ actionId: 'play_audio', role: 'display', params: { filename: file } }] : [];
      }
      return [
        {
          actionId: 'push_execute',
          role: 'display',
          params: { uri: alert.showUrl, priority: 1, ...(tone.length ? { more: tone } : {}) },
        },
      ];
    },
    // A recall: `Init:Services` closes the pushed screens (seed 003, "close Services app"), so the phone
    // goes back to what it showed before; a multicast stream it joined is stopped too.
    planClear(_alert, _device, shown): PlannedStep[] {
      const steps: PlannedStep[] = [{ actionId: 'init_services', role: 'display', params: {} }];
      if (shown.some((s) => s.actionId === 'rtp_mrx' && s.ok))
        steps.push({ actionId: 'rtp_rx_stop', role: 'audio', optional: true, params: {} });
      return steps;
    },
    isBusy: () => false,
    alertPage: (alert, device) => {
      const prof = profileOf(device);
      return page(buildObject(alertObject(alert, prof), { charset: prof?.charset ?? 'utf-8' }), prof);
    },
    ackPage: (text, o = {}) =>
      page(
        buildObject({
          type: 'CiscoIPPhoneText',
          title: 'Acknowledged',
          text,
          softkeys: [
            o.close
              ? { name: 'Close', url: 'Init:Services', position: 1 }
              : { name: 'Exit', url: 'SoftKey:Exit', position: 1 },
          ],
        }),
        undefined,
      ),
  };
}

function page(xml: string, prof: ModelProfile | undefined): { contentType: string; body: string } {
  return {
    contentType: prof?.charset === 'iso-8859-1' ? 'text/xml; charset=ISO-8859-1' : 'text/xml; charset=utf-8',
    body: xml,
  };
}
