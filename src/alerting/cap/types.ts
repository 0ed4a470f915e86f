/**
 * CAP 1.2 (OASIS Common Alerting Protocol, 2010) as typed records. Field names are the element names of
 * the standard; repeated elements are arrays; optional elements are absent (never empty strings).
 */
export const CAP_NS = 'urn:oasis:names:tc:emergency:cap:1.2';

export const CAP_STATUS = ['Actual', 'Exercise', 'System', 'Test', 'Draft'] as const;
export const CAP_MSG_TYPE = ['Alert', 'Update', 'Cancel', 'Ack', 'Error'] as const;
export const CAP_SCOPE = ['Public', 'Restricted', 'Private'] as const;
export const CAP_CATEGORY = [
  'Geo',
  'Met',
  'Safety',
  'Security',
  'Rescue',
  'Fire',
  'Health',
  'Env',
  'Transport',
  'Infra',
  'CBRNE',
  'Other',
] as const;
export const CAP_RESPONSE_TYPE = [
  'Shelter',
  'Evacuate',
  'Prepare',
  'Execute',
  'Avoid',
  'Monitor',
  'Assess',
  'AllClear',
  'None',
] as const;
export const CAP_URGENCY = ['Immediate', 'Expected', 'Future', 'Past', 'Unknown'] as const;
export const CAP_SEVERITY = ['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown'] as const;
export const CAP_CERTAINTY = ['Observed', 'Likely', 'Possible', 'Unlikely', 'Unknown'] as const;

export type CapStatus = (typeof CAP_STATUS)[number];
export type CapMsgType = (typeof CAP_MSG_TYPE)[number];
export type CapScope = (typeof CAP_SCOPE)[number];
export type CapCategory = (typeof CAP_CATEGORY)[number];
export type CapResponseType = (typeof CAP_RESPONSE_TYPE)[number];
export type CapUrgency = (typeof CAP_URGENCY)[number];
export type CapSeverity = (typeof CAP_SEVERITY)[number];
export type CapCertainty = (typeof CAP_CERTAINTY)[number];

/** `valueName`/`value` pairs (eventCode, parameter, geocode). */
export interface CapValue {
  valueName: string;
  value: string;
}

/** One earlier message an Update/Cancel refers to: `sender,identifier,sent`. */
export interface CapReference {
  sender: string;
  identifier: string;
  sent: string;
}

export interface CapResource {
  resourceDesc: string;
  mimeType: string;
  size?: number;
  uri?: string;
  derefUri?: string;
  digest?: string;
}

/** A point of a polygon or the centre of a circle (WGS 84 degrees). */
export interface LatLon {
  lat: number;
  lon: number;
}

export interface CapCircle {
  center: LatLon;
  /** Kilometres. */
  radiusKm: number;
}

export interface CapArea {
  areaDesc: string;
  polygons: LatLon[][];
  circles: CapCircle[];
  geocodes: CapValue[];
  altitude?: number;
  ceiling?: number;
}

export interface CapInfo {
  /** RFC 3066 language; `en-US` when the element is absent. */
  language: string;
  categories: CapCategory[];
  event: string;
  responseTypes: CapResponseType[];
  urgency: CapUrgency;
  severity: CapSeverity;
  certainty: CapCertainty;
  audience?: string;
  eventCodes: CapValue[];
  effective?: string;
  onset?: string;
  expires?: string;
  senderName?: string;
  headline?: string;
  description?: string;
  instruction?: string;
  web?: string;
  contact?: string;
  parameters: CapValue[];
  resources: CapResource[];
  areas: CapArea[];
}

export interface CapAlert {
  identifier: string;
  sender: string;
  /** CAP date-time as written (`2002-05-24T16:49:00-07:00`). */
  sent: string;
  status: CapStatus;
  msgType: CapMsgType;
  source?: string;
  scope: CapScope;
  restriction?: string;
  addresses?: string;
  codes: string[];
  note?: string;
  references: CapReference[];
  incidents?: string;
  infos: CapInfo[];
}

/** The site a CAP area is tested against (`cap.site` in the config). */
export interface CapSite {
  /** WGS 84 degrees; both absent = polygons and circles cannot match. */
  latitude?: number;
  longitude?: number;
  /** The site's geocodes (`SAME` 006113, `UGC` CAZ017, `FIPS6` …); any equal pair matches. */
  geocodes: CapValue[];
}
