import { ValidationError } from '../../core/errors.js';
import type { ActionSpec } from '../../core/spec.js';
import {
  type ModelProfile,
  type ObjectType,
  objectUnsupportedReason,
  uriUnsupportedReason,
} from './models.js';
import type { CiscoObject, InputItem, MenuItem, SoftKey } from './objects.js';
import { buildErrorObject, validateObject } from './objects.js';
import {
  type AppVerb,
  appUri,
  dialUri,
  displayUri,
  editDialUri,
  notifyUri,
  numberedKeyUri,
  playUri,
  queryStringParamUri,
  resourceUri,
  rtpReceiveUri,
  rtpSendUri,
  sendDigitsUri,
  settingsMenuUri,
} from './uri.js';

/**
 * Turns a spec action + validated params into what goes on the wire (pure):
 * - `uri`: an internal URI, pushed inside a one-item CiscoIPPhoneExecute;
 * - `object`: an XML object pushed as is;
 * - `render`: text for softkeys/handlers/responses that is never posted (object_error, notify,
 *   query_string_param, resource_icon);
 * - `get`: an HTTP GET of an information page or the screenshot.
 */
export type Plan =
  | { kind: 'uri'; uri: string }
  | { kind: 'object'; object: CiscoObject }
  | { kind: 'render'; text: string }
  | { kind: 'get'; path: string; format: 'xml' | 'html' | 'image' };

export class UnsupportedByModelError extends ValidationError {
  constructor(actionId: string, reason: string, model: string) {
    super('CISCO_UNSUPPORTED_BY_MODEL', `${actionId}: ${reason}`, { field: 'actionId', details: { model } });
  }
}

type P = Record<string, unknown>;
const s = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));

function softkeys(v: unknown): SoftKey[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.map((k: P) => ({
    name: String(k.name ?? ''),
    url: String(k.url ?? ''),
    ...(k.url_down !== undefined ? { urlDown: String(k.url_down) } : {}),
    ...(k.position !== undefined ? { position: Number(k.position) } : {}),
  }));
}

function menuItems(v: unknown): MenuItem[] {
  if (!Array.isArray(v)) return [];
  return v.map((m: P) => ({
    name: String(m.name ?? ''),
    ...(m.url !== undefined ? { url: String(m.url) } : {}),
    ...(m.icon_index !== undefined ? { iconIndex: Number(m.icon_index) } : {}),
    ...(m.touch_area
      ? { touchArea: m.touch_area as { x1: number; y1: number; x2: number; y2: number } }
      : {}),
  }));
}

function screen(p: P): { title?: string; prompt?: string; softkeys?: SoftKey[] } {
  const out: { title?: string; prompt?: string; softkeys?: SoftKey[] } = {};
  if (p.title !== undefined) out.title = String(p.title);
  if (p.prompt !== undefined) out.prompt = String(p.prompt);
  const sk = softkeys(p.softkeys);
  if (sk) out.softkeys = sk;
  return out;
}
const loc = (p: P) => ({
  x: p.location_x === undefined ? 0 : Number(p.location_x),
  y: p.location_y === undefined ? 0 : Number(p.location_y),
});
const bmp = (p: P) => ({
  width: Number(p.width),
  height: Number(p.height),
  depth: Number(p.depth),
  data: String(p.data ?? ''),
});

const NUMBERED: Record<string, string> = {
  key_feature: 'Feature',
  key_fixed_feature: 'FixedFeature',
  key_keypad_digit: 'KeyPad',
  key_line: 'Line',
  key_session: 'Session',
  key_soft: 'Soft',
  settings_key_digit: 'Key_',
};
const APP: Record<string, AppVerb> = {
  app_request_focus: 'RequestFocus',
  app_release_focus: 'ReleaseFocus',
  app_minimize: 'Minimize',
  app_close: 'Close',
};
const INFO: Record<string, [string, 'xml' | 'html']> = {
  query_device_information: ['/DeviceInformation', 'html'],
  query_device_information_xml: ['/DeviceInformationX', 'xml'],
  query_network_configuration: ['/NetworkConfiguration', 'html'],
  query_network_configuration_xml: ['/NetworkConfigurationX', 'xml'],
  query_ethernet_information: ['/EthernetInformation', 'html'],
  query_ethernet_information_xml: ['/EthernetInformationX', 'xml'],
  query_port_information: ['/PortInformation', 'html'],
  query_port_information_xml: ['/PortInformationX', 'xml'],
  query_device_log: ['/DeviceLog', 'html'],
  query_device_log_xml: ['/DeviceLogX', 'xml'],
  query_streaming_statistics: ['/StreamingStatistics', 'html'],
  query_streaming_statistics_xml: ['/StreamingStatisticsX', 'xml'],
};

export interface PlanOptions {
  profile?: ModelProfile;
  /** Default onStopped URL for startMedia (the hub's media event receiver). */
  mediaNotifyUrl?: string;
}

/** Builds the plan for an action; throws ValidationError (CISCO_* codes) or UnsupportedByModelError. */
export function planAction(action: Pick<ActionSpec, 'id' | 'command'>, p: P, opts: PlanOptions = {}): Plan {
  const plan = planRaw(action, p, opts);
  const prof = opts.profile;
  if (prof) {
    if (
      plan.kind === 'uri' ||
      (plan.kind === 'render' && /^[A-Za-z]+:/.test(plan.text) && !plan.text.startsWith('<'))
    ) {
      const uri = plan.kind === 'uri' ? plan.uri : plan.text;
      const why = uriUnsupportedReason(prof, uri);
      if (why) throw new UnsupportedByModelError(action.id, why, prof.id);
    }
    if (plan.kind === 'object') {
      const why = objectUnsupportedReason(prof, plan.object.type as ObjectType);
      if (why) throw new UnsupportedByModelError(action.id, why, prof.id);
      if (plan.object.type === 'CiscoIPPhoneExecute') {
        for (const it of plan.object.items) {
          const w = uriUnsupportedReason(prof, it.url);
          if (w) throw new UnsupportedByModelError(action.id, w, prof.id);
        }
      }
      validateObject(plan.object, { inputPost: prof.inputPost });
    }
    if (action.id === 'object_error' && !prof.xmlResponses) {
      throw new UnsupportedByModelError(
        action.id,
        `CiscoIPPhoneError is not supported on Multiplatform model ${prof.id}`,
        prof.id,
      );
    }
    if (action.id === 'dial') {
      if (!prof.dialAppUi && (p.useAppUI === true || p.audibleFeedback === false)) {
        throw new UnsupportedByModelError(
          action.id,
          `useAppUI/audibleFeedback are 8800 Series fields (model ${prof.id})`,
          prof.id,
        );
      }
      if (!prof.dialApplicationId && p.applicationId) {
        throw new UnsupportedByModelError(
          action.id,
          `applicationId is supported on 7900/8800/8900/9900 only (model ${prof.id})`,
          prof.id,
        );
      }
    }
  } else if (plan.kind === 'object') validateObject(plan.object);
  return plan;
}

function planRaw(action: Pick<ActionSpec, 'id' | 'command'>, p: P, opts: PlanOptions): Plan {
  const id = action.id;
  const numbered = NUMBERED[id];
  if (numbered) return { kind: 'uri', uri: numberedKeyUri(numbered, p.n) };
  const app = APP[id];
  if (app)
    return {
      kind: 'uri',
      uri: appUri(app, { priority: p.priority, idleTimer: p.idleTimer, applicationId: p.applicationId }),
    };
  const info = INFO[id];
  if (info)
    return { kind: 'get', path: p.n === undefined ? info[0] : `${info[0]}?${Number(p.n)}`, format: info[1] };
  switch (id) {
    case 'push_execute': {
      const more = Array.isArray(p.more) ? (p.more as P[]) : [];
      return {
        kind: 'object',
        object: {
          type: 'CiscoIPPhoneExecute',
          items: [
            { url: String(p.uri ?? ''), priority: Number(p.priority ?? 0) as 0 | 1 | 2 },
            ...more.map((m) => ({
              url: String(m.uri ?? ''),
              priority: Number(m.priority ?? 0) as 0 | 1 | 2,
            })),
          ],
        },
      };
    }
    case 'object_menu':
      return {
        kind: 'object',
        object: { type: 'CiscoIPPhoneMenu', ...screen(p), items: menuItems(p.items) },
      };
    case 'object_text':
      return {
        kind: 'object',
        object: { type: 'CiscoIPPhoneText', ...screen(p), text: String(p.text ?? '') },
      };
    case 'object_input': {
      const items: InputItem[] = (Array.isArray(p.items) ? (p.items as P[]) : []).map((i) => ({
        displayName: String(i.display_name ?? ''),
        queryStringParam: String(i.query_string_param ?? ''),
        ...(i.default_value !== undefined ? { defaultValue: String(i.default_value) } : {}),
        inputFlags: String(i.input_flags ?? p.input_flags ?? 'A'),
      }));
      return {
        kind: 'object',
        object: {
          type: 'CiscoIPPhoneInput',
          ...screen(p),
          url: String(p.url ?? ''),
          method: p.method === 'post' ? 'post' : 'get',
          items,
        },
      };
    }
    case 'object_directory':
      return {
        kind: 'object',
        object: {
          type: 'CiscoIPPhoneDirectory',
          ...screen(p),
          entries: (Array.isArray(p.entries) ? (p.entries as P[]) : []).map((e) => ({
            name: String(e.name ?? ''),
            telephone: String(e.telephone ?? ''),
          })),
        },
      };
    case 'object_image':
      return { kind: 'object', object: { type: 'CiscoIPPhoneImage', ...screen(p), ...loc(p), ...bmp(p) } };
    case 'object_image_file':
      return {
        kind: 'object',
        object: { type: 'CiscoIPPhoneImageFile', ...screen(p), ...loc(p), url: String(p.url ?? '') },
      };
    case 'object_graphic_menu':
      return {
        kind: 'object',
        object: {
          type: 'CiscoIPPhoneGraphicMenu',
          ...(p.window_mode ? { windowMode: p.window_mode as 'Normal' } : {}),
          ...screen(p),
          ...loc(p),
          ...bmp(p),
          items: menuItems(p.items),
        },
      };
    case 'object_graphic_file_menu':
      return {
        kind: 'object',
        object: {
          type: 'CiscoIPPhoneGraphicFileMenu',
          ...(p.window_mode ? { windowMode: p.window_mode as 'Normal' } : {}),
          ...screen(p),
          ...loc(p),
          url: String(p.url ?? ''),
          items: menuItems(p.items),
        },
      };
    case 'object_icon_menu':
    case 'object_icon_file_menu':
      return {
        kind: 'object',
        object: {
          type: id === 'object_icon_menu' ? 'CiscoIPPhoneIconMenu' : 'CiscoIPPhoneIconFileMenu',
          ...screen(p),
          items: menuItems(p.items),
          icons: (Array.isArray(p.icons) ? (p.icons as P[]) : []).map((i) => ({
            index: Number(i.index),
            ...(i.width !== undefined ? { width: Number(i.width) } : {}),
            ...(i.height !== undefined ? { height: Number(i.height) } : {}),
            ...(i.depth !== undefined ? { depth: Number(i.depth) } : {}),
            ...(i.data !== undefined ? { data: String(i.data) } : {}),
            ...(i.url !== undefined ? { url: String(i.url) } : {}),
          })),
        },
      };
    case 'object_status_push':
      return {
        kind: 'object',
        object: {
          type: 'CiscoIPPhoneStatus',
          text: String(p.text ?? ''),
          timer: Number(p.timer ?? 0),
          ...loc(p),
          ...bmp(p),
        },
      };
    case 'object_status_file_push':
      return {
        kind: 'object',
        object: {
          type: 'CiscoIPPhoneStatusFile',
          text: String(p.text ?? ''),
          timer: Number(p.timer ?? 0),
          ...loc(p),
          url: String(p.url ?? ''),
        },
      };
    case 'object_error': {
      const n = Number(p.number);
      if (![1, 2, 3, 4].includes(n))
        throw new ValidationError('CISCO_ERROR_NUMBER_INVALID', `number: ${p.number} is not 1-4`, {
          field: 'number',
        });
      return { kind: 'render', text: buildErrorObject(n as 1 | 2 | 3 | 4) };
    }
    case 'display_off':
      return { kind: 'uri', uri: displayUri('Off', p.interval) };
    case 'display_on':
      return { kind: 'uri', uri: displayUri('On', p.interval) };
    case 'dial':
      return {
        kind: 'uri',
        uri: dialUri(p as { dialSequence: unknown }, { long: opts.profile ? opts.profile.dialAppUi : true }),
      };
    case 'edit_dial':
      return { kind: 'uri', uri: editDialUri(p.n) };
    case 'send_digits':
      return { kind: 'uri', uri: sendDigitsUri(p as { dtmfSequence: unknown }) };
    case 'play_audio':
      return { kind: 'uri', uri: playUri(p.filename) };
    case 'rtp_rx_start':
      return { kind: 'uri', uri: rtpReceiveUri(false, p as { i: unknown; p: unknown }) };
    case 'rtp_mrx':
      return { kind: 'uri', uri: rtpReceiveUri(true, p as { i: unknown; p: unknown }) };
    case 'rtp_tx_start':
      return { kind: 'uri', uri: rtpSendUri(false, p as { i: unknown; p: unknown }) };
    case 'rtp_mtx':
      return { kind: 'uri', uri: rtpSendUri(true, p as { i: unknown; p: unknown }) };
    case 'start_media': {
      const onStopped = s(p.notifyURI) ?? opts.mediaNotifyUrl;
      return {
        kind: 'object',
        object: {
          type: 'startMedia',
          stream: {
            type: (p.type ?? 'audio') as 'audio',
            codec: (p.codec ?? 'G.711') as 'G.711',
            mode: (p.mode ?? 'receiveOnly') as 'receiveOnly',
            address: String(p.ip ?? ''),
            port: Number(p.port),
            ...(onStopped ? { onStopped } : {}),
            ...(p.volume !== undefined ? { receiveVolume: Number(p.volume) } : {}),
          },
        },
      };
    }
    case 'stop_media':
      return { kind: 'object', object: { type: 'stopMedia', id: String(p.streamId ?? '') } };
    case 'notify':
      return { kind: 'render', text: notifyUri(p as { host: unknown; port: unknown; path: unknown }) };
    case 'query_string_param':
      return { kind: 'render', text: queryStringParamUri(p.data) };
    case 'settings_menu_open':
      return { kind: 'uri', uri: settingsMenuUri(p.menuname) };
    case 'resource_icon':
      return { kind: 'render', text: resourceUri(p.iconName) };
    case 'get_device_caps':
      return { kind: 'object', object: { type: 'getDeviceCaps' } };
    case 'get_screenshot':
      return { kind: 'get', path: '/CGI/Screenshot', format: 'image' };
    default: {
      // Fixed URIs: the seed's command is the URI itself (Key:Services, SoftKey:<<, Init:AppStatus, RTPRx:Stop …).
      const cmd = action.command?.trim() ?? '';
      if (/^[A-Za-z]+:[^\s{}]+$/.test(cmd)) return { kind: 'uri', uri: cmd };
      throw new ValidationError('CISCO_ACTION_UNKNOWN', `no Cisco command for action ${JSON.stringify(id)}`, {
        field: 'actionId',
      });
    }
  }
}
