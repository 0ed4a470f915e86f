import {
  AuthError,
  ConflictError,
  DeviceError,
  LimitError,
  ProtocolError,
  TimeoutError,
} from '../../core/errors.js';

/**
 * DevLink3 error codes. Every failure of the codec, the client or the simulator surfaces as one of these
 * (stable `code`, never a secret in the message).
 */
export type Devlink3Code =
  | 'DEVLINK3_BAD_FRAME'
  | 'DEVLINK3_FRAME_TOO_LARGE'
  | 'DEVLINK3_BAD_PACKET'
  | 'DEVLINK3_BAD_RECORD'
  | 'DEVLINK3_AUTH_FAILED'
  | 'DEVLINK3_LIMITS_EXCEEDED'
  | 'DEVLINK3_RETRY_LATER'
  | 'DEVLINK3_LICENCE_MISSING'
  | 'DEVLINK3_EVENT_REQUEST_FAILED'
  | 'DEVLINK3_STREAM_ERROR'
  | 'DEVLINK3_READ_FILE_FAILED'
  | 'DEVLINK3_TIMEOUT'
  | 'DEVLINK3_NOT_CONNECTED'
  | 'DEVLINK3_LINK_ELSEWHERE'
  | 'DEVLINK3_CONNECT_FAILED';

/** Bytes or text from the PBX that do not follow the DevLink3 description. */
export class Devlink3ProtocolError extends ProtocolError {
  constructor(
    code: Devlink3Code,
    message: string,
    opts: { field?: string; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, opts);
  }
}

/** A Delta3/Delta2/SIPTrack/CMExtn record that cannot be parsed. */
export class Devlink3RecordError extends Devlink3ProtocolError {
  constructor(message: string, field?: string) {
    super('DEVLINK3_BAD_RECORD', message, field === undefined ? {} : { field });
  }
}

/** The PBX refused our credentials (never retried automatically: IP Office locks out repeated failures). */
export class Devlink3AuthError extends AuthError {}

/** The PBX refused for a reason that a later attempt may fix (limits, retry later) or not (licence). */
export class Devlink3RefusedError extends DeviceError {}

export class Devlink3TimeoutError extends TimeoutError {}

export class Devlink3LimitError extends LimitError {}

/**
 * Several hubs: another hub holds this IP Office's DevLink3 link (this hub has neither the active nor the
 * standby link), so this hub does not know the PBX's calls (HTTP 409, `DEVLINK3_LINK_ELSEWHERE`).
 */
export class Devlink3ElsewhereError extends ConflictError {
  constructor(deviceId: string) {
    super(
      'DEVLINK3_LINK_ELSEWHERE',
      `another hub holds the DevLink3 link of ${deviceId} (this hub has no link to it): ask a hub whose link_role (GET /api/devices/${deviceId}/variables) is active or standby; every hub's event stream carries the call events`,
      { retryable: true },
    );
  }
}

export function isDevlink3Code(e: unknown, code: Devlink3Code): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}
