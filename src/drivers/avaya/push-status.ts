import type { IncomingHttpHeaders } from 'node:http';
import type { PushMode } from './push-message.js';

/**
 * Push status: the phone answers a push with an HTTP status and a push-status extension header. The
 * guides name it both `x-Push-Status` (code tables, glossary) and `x-Avaya-Push-Status` (flow overview);
 * we read either, case-insensitively. The header value format is not documented: we accept a bare code,
 * a code followed by a reason phrase, and a quoted reason phrase.
 */
export type PushOutcomeName =
  | 'accepted'
  | 'push_disabled'
  | 'internal_error'
  | 'background'
  | 'not_in_push_state'
  | 'not_in_audio_push_state'
  | 'xml_not_valid'
  | 'xml_not_well_formed'
  | 'no_element_found'
  | 'unknown_encoding'
  | 'invalid_root'
  | 'empty_post_content'
  | 'content_too_large'
  | 'security_failure'
  | 'invalid_uri'
  | 'subscription_unavailable'
  | 'forbidden'
  | 'unknown_status'
  | 'no_status';

export interface PushStatusInfo {
  code: number;
  reason: string;
  outcome: PushOutcomeName;
  /** The phone took the push (it will fetch the content, or has queued it in the background). */
  delivered: boolean;
  /** Retrying the same push later may succeed. */
  retryable: boolean;
}

/** Every documented x-Push-Status code (4600 API guide p.67–68; same table in the 9600 guide). */
export const PUSH_STATUS_CODES: Readonly<Record<number, PushStatusInfo>> = Object.freeze({
  200: { code: 200, reason: 'Push Message Accepted', outcome: 'accepted', delivered: true, retryable: false },
  201: {
    code: 201,
    reason: 'Push Services Disabled',
    outcome: 'push_disabled',
    delivered: false,
    retryable: false,
  },
  202: {
    code: 202,
    reason: 'Internal Error: Push Aborted',
    outcome: 'internal_error',
    delivered: false,
    retryable: true,
  },
  204: {
    code: 204,
    reason: 'Not in Push State: Push Accepted',
    outcome: 'background',
    delivered: true,
    retryable: false,
  },
  205: {
    code: 205,
    reason: 'Not In Push State: Push Aborted',
    outcome: 'not_in_push_state',
    delivered: false,
    retryable: true,
  },
  208: {
    code: 208,
    reason: 'Not in Audio Push State: Push Aborted',
    outcome: 'not_in_audio_push_state',
    delivered: false,
    retryable: true,
  },
  301: {
    code: 301,
    reason: 'XML document not valid',
    outcome: 'xml_not_valid',
    delivered: false,
    retryable: false,
  },
  302: {
    code: 302,
    reason: 'XML document not well-formed',
    outcome: 'xml_not_well_formed',
    delivered: false,
    retryable: false,
  },
  303: {
    code: 303,
    reason: 'No element found',
    outcome: 'no_element_found',
    delivered: false,
    retryable: false,
  },
  304: {
    code: 304,
    reason: 'Unknown encoding',
    outcome: 'unknown_encoding',
    delivered: false,
    retryable: false,
  },
  305: {
    code: 305,
    reason: 'Invalid root element',
    outcome: 'invalid_root',
    delivered: false,
    retryable: false,
  },
  306: {
    code: 306,
    reason: 'Empty Post Content',
    outcome: 'empty_post_content',
    delivered: false,
    retryable: false,
  },
  307: {
    code: 307,
    reason: 'Push Content too large',
    outcome: 'content_too_large',
    delivered: false,
    retryable: false,
  },
  402: {
    code: 402,
    reason: 'Push security failure',
    outcome: 'security_failure',
    delivered: false,
    retryable: false,
  },
  501: { code: 501, reason: 'Invalid Push URI', outcome: 'invalid_uri', delivered: false, retryable: false },
  503: {
    code: 503,
    reason: 'Subscription Service Unavailable',
    outcome: 'subscription_unavailable',
    delivered: false,
    retryable: true,
  },
});

export const PUSH_STATUS_HEADERS = ['x-push-status', 'x-avaya-push-status'] as const;

/** Parses a push-status header value. Returns undefined when no 3-digit code can be found. */
export function parsePushStatusValue(value: string): { code: number; reason?: string } | undefined {
  const m = /^\s*"?(\d{3})"?(?:[\s:;,-]+"?([^"]{0,200}?)"?)?\s*$/.exec(value.slice(0, 300));
  if (!m) return undefined;
  const reason = m[2]?.trim();
  return { code: Number(m[1]), ...(reason ? { reason } : {}) };
}

/** The typed result of one push request. */
export interface PushOutcome {
  ok: boolean;
  outcome: PushOutcomeName;
  /** The push-status code (from the header), or undefined when the phone sent none. */
  pushStatus: number | undefined;
  reason: string;
  httpStatus: number;
  /** Which header carried the status. */
  header: string | undefined;
  delivered: boolean;
  retryable: boolean;
  /** A normal push refused because the phone is busy (205/208): the same push in barge mode may be shown. */
  retryAsBarge: boolean;
}

/**
 * Interprets a phone's answer. With a push-status header the header decides. Without one [inferred]:
 * HTTP 403 → `forbidden` (untrusted href or wrong path), HTTP 200 → `accepted` (older firmware that
 * sends no header), anything else → `no_status`.
 */
export function interpretPushResponse(
  httpStatus: number,
  headers: IncomingHttpHeaders,
  mode: PushMode | undefined,
): PushOutcome {
  let header: string | undefined;
  let parsed: { code: number; reason?: string } | undefined;
  for (const h of PUSH_STATUS_HEADERS) {
    const raw = headers[h];
    const v = Array.isArray(raw) ? raw[0] : raw;
    if (v === undefined) continue;
    const p = parsePushStatusValue(v);
    if (p) {
      header = h;
      parsed = p;
      break;
    }
  }
  if (parsed) {
    const info = PUSH_STATUS_CODES[parsed.code];
    if (info) {
      const busy = parsed.code === 205 || parsed.code === 208;
      return {
        ok: info.delivered,
        outcome: info.outcome,
        pushStatus: parsed.code,
        reason: parsed.reason ?? info.reason,
        httpStatus,
        header,
        delivered: info.delivered,
        retryable: info.retryable,
        retryAsBarge: busy && (mode ?? 'normal') === 'normal',
      };
    }
    return {
      ok: false,
      outcome: 'unknown_status',
      pushStatus: parsed.code,
      reason: parsed.reason ?? `undocumented push status ${parsed.code}`,
      httpStatus,
      header,
      delivered: false,
      retryable: false,
      retryAsBarge: false,
    };
  }
  if (httpStatus === 403) {
    return {
      ok: false,
      outcome: 'forbidden',
      pushStatus: undefined,
      reason: 'HTTP 403 Forbidden (untrusted href or not /forms/push)',
      httpStatus,
      header: undefined,
      delivered: false,
      retryable: false,
      retryAsBarge: false,
    };
  }
  const ok = httpStatus === 200;
  return {
    ok,
    outcome: ok ? 'accepted' : 'no_status',
    pushStatus: undefined,
    reason: ok ? 'HTTP 200 without push status header' : `HTTP ${httpStatus} without push status header`,
    httpStatus,
    header: undefined,
    delivered: ok,
    retryable: httpStatus >= 500,
    retryAsBarge: false,
  };
}
