/**
 * Model profiles: what each Cisco phone family supports, from the seed's Notes and parameter descriptions
 * (003_24407eed9e154a59.txt) plus the research note (part A). Where the seed is silent the choice is marked
 * `inferred` in a comment. Pure data + lookups; the driver refuses an unsupported action before sending, and
 * the simulator answers the way such a phone would.
 */
export type Charset = 'utf-8' | 'iso-8859-1';

export type ObjectType =
  | 'CiscoIPPhoneExecute'
  | 'CiscoIPPhoneMenu'
  | 'CiscoIPPhoneText'
  | 'CiscoIPPhoneInput'
  | 'CiscoIPPhoneDirectory'
  | 'CiscoIPPhoneImage'
  | 'CiscoIPPhoneImageFile'
  | 'CiscoIPPhoneGraphicMenu'
  | 'CiscoIPPhoneGraphicFileMenu'
  | 'CiscoIPPhoneIconMenu'
  | 'CiscoIPPhoneIconFileMenu'
  | 'CiscoIPPhoneStatus'
  | 'CiscoIPPhoneStatusFile'
  | 'startMedia'
  | 'stopMedia'
  | 'getDeviceCaps';

export const ALL_OBJECTS: ObjectType[] = [
  'CiscoIPPhoneExecute',
  'CiscoIPPhoneMenu',
  'CiscoIPPhoneText',
  'CiscoIPPhoneInput',
  'CiscoIPPhoneDirectory',
  'CiscoIPPhoneImage',
  'CiscoIPPhoneImageFile',
  'CiscoIPPhoneGraphicMenu',
  'CiscoIPPhoneGraphicFileMenu',
  'CiscoIPPhoneIconMenu',
  'CiscoIPPhoneIconFileMenu',
  'CiscoIPPhoneStatus',
  'CiscoIPPhoneStatusFile',
  'startMedia',
  'stopMedia',
  'getDeviceCaps',
];

/** URI families as they appear before the first colon (`Key`, `RTPRx` …). */
export type UriFamily =
  | 'Key'
  | 'SoftKey'
  | 'Display'
  | 'Init'
  | 'Device'
  | 'Dial'
  | 'EditDial'
  | 'SendDigits'
  | 'Play'
  | 'RTPRx'
  | 'RTPTx'
  | 'RTPMRx'
  | 'RTPMTx'
  | 'App'
  | 'Notify'
  | 'QueryStringParam'
  | 'SettingsMenu'
  | 'Button'
  | 'Resource';

export interface ModelProfile {
  /** Profile id used in device settings (`8845`, `8845-mpp`). */
  id: string;
  /** Value of x-CiscoIPPhoneModelName / modelNumber (`CP-8845`). */
  modelNumber: string;
  series:
    | '6800'
    | '6900'
    | '7800'
    | '7900'
    | '8800'
    | '8821'
    | '8875'
    | '8900'
    | '9900'
    | '9800'
    | '7832'
    | '8832';
  /** CUCM (Enterprise) or Multiplatform (3PCC) firmware. */
  firmware: 'enterprise' | 'multiplatform';
  /** Encoding declared in pushed objects; Latin-1 models get transliterated text. */
  charset: Charset;
  acceptCharset: string;
  /** Area usable by services (x-CiscoIPPhoneDisplay). */
  display: { width: number; height: number; depth: number; color: boolean };
  /** Number of soft keys Key:Soft<n> addresses (seed: 5 on 8800, 4 on most, 2 on 8821). */
  softKeys: number;
  sdkVersion: string;
  /** Answers pushes with CiscoIPPhoneResponse / CiscoIPPhoneError (false on Multiplatform, per the seed). */
  xmlResponses: boolean;
  objects: ObjectType[];
  uris: UriFamily[];
  /** Named URIs exclusive to some models, allowed here (`Key:Offhook`, `Device:GeneratePRT` …). */
  exclusive: string[];
  /** Input objects may use `<URL method="post">` (seed: 7800, 8800, 7832, 8832). */
  inputPost: boolean;
  /** Dial's useAppUI/audibleFeedback fields (seed: 8800 Series only). */
  dialAppUi: boolean;
  /** Dial's applicationId field (seed: 7900/8800/8900/9900). */
  dialApplicationId: boolean;
  ethernetPorts: number;
  /** Server header of the phone's web server. */
  serverHeader: string;
}

const ALL_URIS: UriFamily[] = [
  'Key',
  'SoftKey',
  'Display',
  'Init',
  'Device',
  'Dial',
  'EditDial',
  'SendDigits',
  'Play',
  'RTPRx',
  'RTPTx',
  'RTPMRx',
  'RTPMTx',
  'App',
  'Notify',
  'QueryStringParam',
  'Resource',
];
/** Seed Notes: Multiplatform phones do NOT support Display, Notify, SendDigits, Application, QueryStringParam, RTP. */
const MPP_URIS: UriFamily[] = ['Key', 'SoftKey', 'Init', 'Device', 'Dial', 'EditDial', 'Play', 'Resource'];

/** Exclusive named URIs and the profiles that have them. */
export const EXCLUSIVE_URIS: Record<string, string> = {
  'Key:Offhook': '8821',
  'Key:Onhook': '8821',
  'Key:PTT': '8821',
  'Device:GeneratePRT': '8821',
  'Device:PRTStatus': '8821',
  'Key:FixedFeature': '9800',
};

const NO_STATUS: ObjectType[] = ALL_OBJECTS.filter(
  (o) => o !== 'CiscoIPPhoneStatus' && o !== 'CiscoIPPhoneStatusFile',
);

function profile(
  p: Partial<ModelProfile> & Pick<ModelProfile, 'id' | 'modelNumber' | 'series' | 'display'>,
): ModelProfile {
  const mpp = p.firmware === 'multiplatform';
  return {
    firmware: 'enterprise',
    charset: 'utf-8',
    acceptCharset: 'utf-8,iso-8859-1;q=0.8',
    softKeys: 4,
    sdkVersion: '12.0.1',
    xmlResponses: !mpp,
    objects: mpp ? ALL_OBJECTS.filter((o) => o !== 'startMedia' && o !== 'stopMedia') : ALL_OBJECTS,
    uris: mpp ? MPP_URIS : ALL_URIS,
    exclusive: [],
    inputPost: false,
    dialAppUi: false,
    dialApplicationId: false,
    ethernetPorts: 2,
    serverHeader: mpp ? 'Cisco-3PCC-WebServer' : 'Allegro-Software-RomPager/4.34',
    ...p,
  };
}

const gray78 = { width: 396, height: 162, depth: 4, color: false };
const color88 = { width: 800, height: 480, depth: 24, color: true };

export const MODELS: ModelProfile[] = [
  profile({ id: '7821', modelNumber: 'CP-7821', series: '7800', display: gray78, inputPost: true }),
  profile({ id: '7841', modelNumber: 'CP-7841', series: '7800', display: gray78, inputPost: true }),
  profile({ id: '7861', modelNumber: 'CP-7861', series: '7800', display: gray78, inputPost: true }),
  profile({
    id: '7832',
    modelNumber: 'CP-7832',
    series: '7832',
    display: { width: 384, height: 128, depth: 1, color: false },
    inputPost: true,
    ethernetPorts: 1,
  }),
  profile({
    id: '8811',
    modelNumber: 'CP-8811',
    series: '8800',
    display: { width: 800, height: 480, depth: 4, color: false },
    softKeys: 5,
    inputPost: true,
    dialAppUi: true,
    dialApplicationId: true,
  }),
  profile({
    id: '8841',
    modelNumber: 'CP-8841',
    series: '8800',
    display: color88,
    softKeys: 5,
    inputPost: true,
    dialAppUi: true,
    dialApplicationId: true,
  }),
  profile({
    id: '8845',
    modelNumber: 'CP-8845',
    series: '8800',
    display: color88,
    softKeys: 5,
    inputPost: true,
    dialAppUi: true,
    dialApplicationId: true,
  }),
  profile({
    id: '8851',
    modelNumber: 'CP-8851',
    series: '8800',
    display: color88,
    softKeys: 5,
    inputPost: true,
    dialAppUi: true,
    dialApplicationId: true,
  }),
  profile({
    id: '8861',
    modelNumber: 'CP-8861',
    series: '8800',
    display: color88,
    softKeys: 5,
    inputPost: true,
    dialAppUi: true,
    dialApplicationId: true,
  }),
  profile({
    id: '8865',
    modelNumber: 'CP-8865',
    series: '8800',
    display: color88,
    softKeys: 5,
    inputPost: true,
    dialAppUi: true,
    dialApplicationId: true,
  }),
  profile({
    id: '8832',
    modelNumber: 'CP-8832',
    series: '8832',
    display: { width: 384, height: 128, depth: 1, color: false },
    inputPost: true,
    ethernetPorts: 1,
  }),
  profile({
    id: '8821',
    modelNumber: 'CP-8821',
    series: '8821',
    display: { width: 240, height: 320, depth: 16, color: true },
    softKeys: 2,
    exclusive: ['Key:Offhook', 'Key:Onhook', 'Key:PTT', 'Device:GeneratePRT', 'Device:PRTStatus'],
    ethernetPorts: 0,
  }),
  // 8875 on CUCM: SettingsMenu / Button / Key:Key_* drive its touch UI (seed).
  profile({
    id: '8875',
    modelNumber: 'CP-8875',
    series: '8875',
    display: { width: 1280, height: 720, depth: 24, color: true },
    softKeys: 4,
    uris: [...ALL_URIS, 'SettingsMenu', 'Button'],
  }),
  // Legacy 7900: Latin-1 rendering only (research A5), 1 HTTP port.
  profile({
    id: '7940',
    modelNumber: 'CP-7940G',
    series: '7900',
    display: { width: 133, height: 65, depth: 2, color: false },
    charset: 'iso-8859-1',
    acceptCharset: 'iso-8859-1,utf-8;q=0.8',
    dialApplicationId: true,
    sdkVersion: '8.0.4',
  }),
  profile({
    id: '7960',
    modelNumber: 'CP-7960G',
    series: '7900',
    display: { width: 133, height: 65, depth: 2, color: false },
    charset: 'iso-8859-1',
    acceptCharset: 'iso-8859-1,utf-8;q=0.8',
    dialApplicationId: true,
    sdkVersion: '8.0.4',
  }),
  profile({
    id: '7970',
    modelNumber: 'CP-7970G',
    series: '7900',
    display: { width: 298, height: 168, depth: 12, color: true },
    dialApplicationId: true,
    sdkVersion: '5.0.3',
  }),
  profile({
    id: '6941',
    modelNumber: 'CP-6941',
    series: '6900',
    display: { width: 396, height: 81, depth: 1, color: false },
  }),
  // Research A4: Status/StatusFile not supported on 9951/9971/8961.
  profile({
    id: '8961',
    modelNumber: 'CP-8961',
    series: '8900',
    display: { width: 640, height: 480, depth: 24, color: true },
    objects: NO_STATUS,
    dialApplicationId: true,
  }),
  profile({
    id: '9971',
    modelNumber: 'CP-9971',
    series: '9900',
    display: { width: 640, height: 480, depth: 24, color: true },
    objects: NO_STATUS,
    dialApplicationId: true,
  }),
  // Desk 9800 (PhoneOS): FixedFeature1-3 keys (seed: PhoneOS 3.1(1)+).
  profile({
    id: '9841',
    modelNumber: 'DP-9841',
    series: '9800',
    display: { width: 640, height: 400, depth: 4, color: false },
    exclusive: ['Key:FixedFeature'],
  }),
  profile({
    id: '9871',
    modelNumber: 'DP-9871',
    series: '9800',
    display: { width: 800, height: 480, depth: 24, color: true },
    softKeys: 5,
    exclusive: ['Key:FixedFeature'],
  }),
  // Multiplatform (3PCC) firmware: no CiscoIPPhoneResponse/Error, Display, Notify, SendDigits, App, QueryStringParam, RTP.
  profile({
    id: '6851-mpp',
    modelNumber: 'CP-6851-3PCC',
    series: '6800',
    display: { width: 396, height: 162, depth: 4, color: false },
    firmware: 'multiplatform',
  }),
  profile({
    id: '7841-mpp',
    modelNumber: 'CP-7841-3PCC',
    series: '7800',
    display: gray78,
    firmware: 'multiplatform',
    inputPost: true,
  }),
  profile({
    id: '8845-mpp',
    modelNumber: 'CP-8845-3PCC',
    series: '8800',
    display: color88,
    firmware: 'multiplatform',
    softKeys: 5,
    inputPost: true,
  }),
];

export const MODEL_IDS = MODELS.map((m) => m.id);

export function modelProfile(id: string): ModelProfile | undefined {
  return MODELS.find((m) => m.id === id);
}

/** Finds a profile by the phone's model name header (`CP-8845`, `CP-7960G`, `CP-8845-3PCC`). */
export function profileByModelName(name: string | undefined): ModelProfile | undefined {
  if (!name) return undefined;
  const n = name.trim().toUpperCase();
  return (
    MODELS.find((m) => m.modelNumber.toUpperCase() === n) ??
    MODELS.find((m) => n.startsWith(m.modelNumber.toUpperCase()))
  );
}

/** The x-CiscoIPPhoneDisplay header value: `width, height, depth, C|G`. */
export function displayHeader(p: ModelProfile): string {
  return `${p.display.width}, ${p.display.height}, ${p.display.depth}, ${p.display.color ? 'C' : 'G'}`;
}

/**
 * Why a URI cannot run on a model (undefined when it can). Checks the URI family, exclusive URIs and the
 * soft-key count.
 */
export function uriUnsupportedReason(p: ModelProfile, uri: string): string | undefined {
  if (/^https?:/i.test(uri)) return undefined;
  const family = uri.split(':')[0] as UriFamily;
  if (family === 'Key' && /^Key:Key_/.test(uri)) {
    return p.series === '8875'
      ? undefined
      : `${uri} is a SettingsMenu key of the Cisco Video Phone 8875 only (model ${p.id})`;
  }
  if (!p.uris.includes(family))
    return `${family} URIs are not supported on model ${p.id} (${p.modelNumber}${p.firmware === 'multiplatform' ? ', Multiplatform firmware' : ''})`;
  for (const [prefix, owner] of Object.entries(EXCLUSIVE_URIS)) {
    if (
      (uri === prefix || (prefix === 'Key:FixedFeature' && uri.startsWith(prefix))) &&
      !p.exclusive.includes(prefix)
    ) {
      return `${prefix} is exclusive to the ${owner} (model ${p.id} does not have it)`;
    }
  }
  const soft = /^Key:Soft(\d+)$/.exec(uri);
  if (soft && Number(soft[1]) > p.softKeys)
    return `model ${p.id} has ${p.softKeys} soft keys (Key:Soft${soft[1]} does not exist)`;
  return undefined;
}

export function objectUnsupportedReason(p: ModelProfile, type: ObjectType): string | undefined {
  return p.objects.includes(type)
    ? undefined
    : `${type} is not supported on model ${p.id} (${p.modelNumber})`;
}
